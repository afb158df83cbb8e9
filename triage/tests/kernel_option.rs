//! `--kernel V`, end to end: the profile reaches the models of a replay,
//! a scenario that names its kernel keeps it, and bad values are usage
//! errors in every command that takes the option.

use std::path::{Path, PathBuf};

use mmdiff_triage::files::TempDir;

mod support;
use support::mmdiff;

/// A 6.12 conformance scenario: its expectations hold on 6.12 only.
fn v612_scenario() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../corpus/conformance/v6.12/mremap_one_vma_only.mms")
}

/// The scenario without its `#! config: kernel=6.12` line, in `dir`.
fn without_kernel_header(dir: &Path) -> String {
    let src = std::fs::read_to_string(v612_scenario()).expect("the corpus file reads");
    assert!(src.contains("\n#! config: kernel=6.12\n"), "{src}");
    let stripped: String = src
        .lines()
        .filter(|l| *l != "#! config: kernel=6.12")
        .map(|l| format!("{l}\n"))
        .collect();
    let path = dir.join("mremap.mms");
    std::fs::write(&path, stripped).expect("write");
    path.display().to_string()
}

#[test]
fn a_scenario_without_a_kernel_replays_on_the_chosen_profile() {
    let t = TempDir::new("kernel-option-replay");
    let file = without_kernel_header(t.path());
    let (code, out, err) = mmdiff(&["replay", "--kernel", "6.12", &file]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with(&format!("PASS {file} (")), "{out}");
    // The expectations were written for 6.12: on the default profile (and
    // on 6.19 named) the oracle misses them.
    for args in [
        vec!["replay", &file],
        vec!["replay", "--kernel", "6.19", &file],
    ] {
        let (code, out, _) = mmdiff(&args);
        assert_eq!(code, 1, "{args:?}: {out}");
        assert!(out.starts_with(&format!("FAIL {file}: op #")), "{out}");
    }
    // One model alone follows the option too.
    let (code, out, _) = mmdiff(&["replay", "--model", "oracle", "--kernel=6.12", &file]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn a_scenario_that_names_its_kernel_keeps_it_and_says_nothing_more() {
    let own = v612_scenario().display().to_string();
    let plain = mmdiff(&["replay", &own]);
    assert_eq!(plain.0, 0, "{}", plain.1);
    for kernel in ["6.19", "6.15", "6.12"] {
        assert_eq!(
            mmdiff(&["replay", "--kernel", kernel, &own]),
            plain,
            "{kernel}"
        );
    }
}

#[test]
fn bad_values_are_usage_errors_in_every_command() {
    let t = TempDir::new("kernel-option-bad");
    let file = without_kernel_header(t.path());
    let out = t.path().join("out").display().to_string();
    let commands: [Vec<&str>; 6] = [
        vec!["replay", &file],
        vec![
            "fuzz",
            "--runs",
            "1",
            "--no-promote",
            "--quiet",
            "--out",
            &out,
        ],
        vec!["minimize", &file],
        vec!["explain", &file],
        vec!["triage", "--dry-run", &file],
        vec!["coverage", &file],
    ];
    for command in &commands {
        for (bad, message) in [
            ("abc", "--kernel: expected a version like 6.12, found `abc`"),
            ("6", "--kernel: expected a version like 6.12, found `6`"),
            (
                "6.12.0",
                "--kernel: expected a version like 6.12, found `6.12.0`",
            ),
            (
                "6.11",
                "--kernel: 6.11 is not supported: the models know the rules of Linux 6.12 to 6.19",
            ),
            (
                "7.0",
                "--kernel: 7.0 is not supported: the models know the rules of Linux 6.12 to 6.19",
            ),
        ] {
            let mut args = command.clone();
            args.extend(["--kernel", bad]);
            let (code, stdout, err) = mmdiff(&args);
            assert_eq!(code, 2, "{args:?}: {stdout}{err}");
            assert!(
                err.starts_with(&format!("error: {message}\n")),
                "{args:?}: {err}"
            );
            assert!(!err.contains("panicked"), "{err}");
        }
        let mut args = command.clone();
        args.push("--kernel");
        assert_eq!(mmdiff(&args).0, 2, "{args:?}: a missing value");
    }
}

#[test]
fn every_command_takes_a_supported_version() {
    let t = TempDir::new("kernel-option-good");
    let file = without_kernel_header(t.path());
    let out = t.path().join("out").display().to_string();
    let (code, stdout, err) = mmdiff(&[
        "fuzz",
        "--kernel",
        "6.12",
        "--runs",
        "20",
        "--seed",
        "9",
        "--no-promote",
        "--quiet",
        "--out",
        &out,
    ]);
    assert_eq!(code, 0, "{stdout}{err}");
    assert!(stdout.starts_with("seed: 9; kernel: 6.12\n"), "{stdout}");
    let (code, stdout, _) = mmdiff(&["explain", "--kernel", "6.12", &file]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains(": no divergence: "), "{stdout}");
    let (code, stdout, _) = mmdiff(&["coverage", "--kernel", "6.12", "--json", &file]);
    assert_eq!(code, 0, "{stdout}");
    // The models agree on the file: nothing to minimize or triage, but the
    // option was taken.
    let (code, _, err) = mmdiff(&["minimize", "--kernel", "6.12", "--quiet", &file]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("no divergence"), "{err}");
    let corpus = t.path().join("corpus").display().to_string();
    let (code, stdout, _) = mmdiff(&[
        "triage",
        "--kernel",
        "6.12",
        "--dry-run",
        "--corpus",
        &corpus,
        &file,
    ]);
    assert_eq!(code, 0, "{stdout}");
}
