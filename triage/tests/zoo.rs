//! `mmdiff zoo` end to end on the planted faults (`--features planted`):
//! the zoo's repros load as one bug per fault, and short real trials of
//! `mmdiff fuzz` and the proptest engine find the canary and a pin bug
//! with their signatures and write the three reports.
//!
//!     cargo test --release -p mmdiff-triage --features planted --test zoo
#![cfg(feature = "planted")]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use mmdiff_subject::planted::Fault;
use mmdiff_triage::files::TempDir;
use mmdiff_triage::zoo::engine::Engine;
use mmdiff_triage::zoo::{self, bugs, Options};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn every_fault_is_one_bug_with_its_main_repro_first() {
    let bugs = bugs::load(&repo().join("corpus/zoo")).expect("the zoo loads");
    assert_eq!(bugs.len(), Fault::ALL.len());
    for f in Fault::ALL {
        let bug = bugs
            .iter()
            .find(|b| b.name == f.name())
            .unwrap_or_else(|| panic!("no bug for {}", f.name()));
        let main = &bug.repros[0];
        assert_eq!(
            main.path.file_name().and_then(|n| n.to_str()),
            Some(format!("{}.mms", f.name()).as_str())
        );
        assert_eq!(
            (&bug.signature, bug.known_minimum),
            (&main.signature, main.known_minimum)
        );
        assert!(bug.matches(&main.signature, main.known_minimum + 1));
        assert!(!bug.matches(&main.signature, main.known_minimum + 2));
    }
}

#[test]
fn seeds_that_already_find_a_bug_are_left_out() {
    let seeds = bugs::seeds(&repo().join("corpus"));
    assert!(seeds.problems.is_empty(), "{:?}", seeds.problems);
    assert!(
        seeds
            .scenarios
            .iter()
            .all(|(name, _)| !name.starts_with("zoo__")),
        "the zoo's repros are answers, not seeds"
    );
    let all = bugs::load(&repo().join("corpus/zoo")).expect("the zoo loads");
    let canary = all.iter().find(|b| b.name == "canary").expect("canary");
    let (kept, excluded) = seeds.without_repros_of(canary);
    assert_eq!(kept.scenarios.len() + excluded.len(), seeds.scenarios.len());
    // The canary corrupts any write to page 1: the fork conformance
    // scenarios write there.
    assert!(
        excluded
            .iter()
            .any(|n| n == "conformance__fork_anon_shared.mms"),
        "{excluded:?}"
    );
    let (again, _) = kept.without_repros_of(canary);
    assert_eq!(
        again.scenarios.len(),
        kept.scenarios.len(),
        "kept seeds agree"
    );
}

#[test]
fn trials_find_minimize_and_report() {
    let out = TempDir::new("zoo-run");
    let opts = Options {
        trials: 2,
        budget: Duration::from_secs(30),
        engines: vec![Engine::Fuzz, Engine::Proptest],
        bugs: Some(vec!["canary".into(), "seed003-pin-without-bias".into()]),
        zoo: repo().join("corpus/zoo"),
        corpus: repo().join("corpus"),
        fuzz_dir: repo().join("fuzz"),
        out: out.path().to_path_buf(),
        ..Options::default()
    };
    let mut log = Vec::new();
    let results = zoo::run(&opts, &mut log).expect("runs");
    let log = String::from_utf8_lossy(&log);
    assert_eq!(results.trials.len(), 2 * 2 * 2, "{log}");
    for t in &results.trials {
        let bug = results
            .bugs
            .iter()
            .find(|b| b.name == t.bug)
            .expect("a bug");
        assert!(t.detected(), "{log}");
        assert!(t.matches(bug), "{t:?}\n{log}");
        assert!(t.seconds.is_some_and(|s| s <= 30.0), "{t:?}");
    }
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.path().join("zoo.json")).expect("zoo.json"),
    )
    .expect("valid JSON");
    assert_eq!(json["trials"].as_array().map(Vec::len), Some(8));
    assert_eq!(json["bugs"][0]["name"], "canary");
    assert_eq!(json["bugs"][0]["engines"]["fuzz"]["detected"], 2);
    let md = std::fs::read_to_string(out.path().join("zoo.md")).expect("zoo.md");
    assert!(md.contains("| canary |"), "{md}");
    let svg = std::fs::read_to_string(out.path().join("zoo.svg")).expect("zoo.svg");
    assert!(svg.contains("<svg") && svg.contains("proptest-state-machine"));
}

#[test]
fn the_command_requires_detection_when_asked() {
    let out = TempDir::new("zoo-cli");
    let o = Command::new(env!("CARGO_BIN_EXE_mmdiff"))
        .current_dir(repo())
        .args([
            "zoo",
            "--engines",
            "fuzz",
            "--bugs",
            "canary",
            "--trials",
            "1",
        ])
        .args(["--budget", "20", "--require-detection", "--out"])
        .arg(out.path())
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("| canary |"), "{stdout}");
    assert!(stderr.contains("zoo: canary"), "{stderr}");

    let o = Command::new(env!("CARGO_BIN_EXE_mmdiff"))
        .current_dir(repo())
        .args(["zoo", "--bugs", "no-such-bug", "--out"])
        .arg(out.path())
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("no zoo repro for `no-such-bug`"),
        "{stderr}"
    );
}
