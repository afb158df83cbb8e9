//! The minimizer measured on planted faults (`--features planted`).
//!
//! Each `corpus/zoo/<fault>.mms` is the shortest known repro of one planted
//! fault, with its signature and length in the header. For every one:
//! the unplanted subject agrees with the oracle on it, the planted one
//! diverges with that signature, and the repro buried in 200+ unrelated
//! ops ([`planted::wrap_in_noise`], several seeds) minimizes back to a
//! 1-minimal scenario with the same signature and the known length.
//!
//!     cargo test -p mmdiff-triage --features planted --test planted -- --nocapture
#![cfg(feature = "planted")]

use std::path::{Path, PathBuf};

use mmdiff_core::lockstep::{run_lockstep, Check};
use mmdiff_core::text::Scenario;
use mmdiff_core::Op;
use mmdiff_oracle::Oracle;
use mmdiff_subject::planted::{self as faults, Fault};
use mmdiff_subject::Subject;
use mmdiff_triage::input::{self, Input, Source};
use mmdiff_triage::minimize;
use mmdiff_triage::planted::wrap_in_noise;

/// Noise ops around each repro, and how many noise seeds each repro is
/// buried with.
const NOISE: usize = 200;
const SEEDS: usize = 3;
/// Noise seeds tried per repro, from 1 on.
const SEEDS_TRIED: u64 = 400;

struct Zoo {
    fault: Fault,
    signature: String,
    known_minimum: usize,
    input: Input,
}

fn zoo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus/zoo")
}

fn zoo() -> Vec<Zoo> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(zoo_dir())
        .expect("corpus/zoo exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "mms"))
        .collect();
    entries.sort();
    entries
        .into_iter()
        .map(|path| {
            let input = input::load(&path).expect("zoo file loads");
            let header = |key| {
                input
                    .header(key)
                    .unwrap_or_else(|| panic!("{}: no `#! {key}:` header", input.path))
                    .to_string()
            };
            let fault = Fault::from_name(&header("planted"))
                .unwrap_or_else(|| panic!("{}: unknown planted fault", input.path));
            Zoo {
                fault,
                signature: header("signature"),
                known_minimum: header("known-minimum").parse().expect("a number"),
                input,
            }
        })
        .collect()
}

/// The repro buried in noise, with the first [`SEEDS`] noise seeds under
/// which it still fails with its own signature: noise that trips the
/// fault first (a pin among the noise ops, for a fault every pin shows)
/// would measure the noise, not the repro.
fn buried(z: &Zoo) -> Vec<(u64, Vec<Op>)> {
    let repro = z.input.scenario.ops();
    let found: Vec<(u64, Vec<Op>)> = (1..=SEEDS_TRIED)
        .map(|seed| (seed, wrap_in_noise(&repro, NOISE, seed)))
        .filter(|(_, ops)| {
            signature(Some(z.fault), &z.input, ops).as_deref() == Some(z.signature.as_str())
        })
        .take(SEEDS)
        .collect();
    assert_eq!(
        found.len(),
        SEEDS,
        "{}: the noise of only {} of {SEEDS_TRIED} seeds keeps the signature",
        z.input.path,
        found.len()
    );
    found
}

fn signature(fault: Option<Fault>, input: &Input, ops: &[Op]) -> Option<String> {
    faults::with(fault, || {
        run_lockstep::<Oracle, Subject>(&input.config, ops, Check::Full)
            .divergence
            .map(|d| d.signature)
    })
}

#[test]
fn every_fault_has_a_zoo_repro() {
    let zoo = zoo();
    for &f in Fault::ALL {
        assert!(
            zoo.iter().any(|z| z.fault == f),
            "no corpus/zoo repro for {}",
            f.name()
        );
    }
}

#[test]
fn repros_diverge_only_with_their_fault() {
    for z in zoo() {
        let ops = z.input.scenario.ops();
        assert_eq!(ops.len(), z.known_minimum, "{}: length", z.input.path);
        assert_eq!(signature(None, &z.input, &ops), None, "{}", z.input.path);
        assert_eq!(
            signature(Some(z.fault), &z.input, &ops).as_deref(),
            Some(z.signature.as_str()),
            "{}",
            z.input.path
        );
    }
}

/// The fraction of reductions that must reach the known minimum; every
/// one must keep the signature and be 1-minimal.
const AT_MINIMUM: f64 = 0.9;

#[test]
fn buried_repros_minimize_back_to_the_known_minimum() {
    let mut runs = 0;
    let mut at_minimum = 0;
    let mut report = String::new();
    for z in zoo() {
        for (seed, wrapped) in buried(&z) {
            assert!(wrapped.len() >= NOISE + z.known_minimum);
            let input = Input {
                path: format!("{} + {NOISE} noise ops (seed {seed})", z.input.path),
                source: Source::Text,
                scenario: Scenario::from_ops(&wrapped),
                config: z.input.config.clone(),
            };
            let m = faults::with(Some(z.fault), || {
                minimize::minimize(&input, &mut |_, _, _| {})
            })
            .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                m.signature(),
                z.signature,
                "{}: signature drifted",
                input.path
            );
            let ops = m.scenario.ops();
            for i in 0..ops.len() {
                let mut fewer = ops.clone();
                fewer.remove(i);
                assert_ne!(
                    signature(Some(z.fault), &input, &fewer).as_deref(),
                    Some(z.signature.as_str()),
                    "{}: not 1-minimal, op #{i} can go:\n{}",
                    input.path,
                    mmdiff_core::text::print(&m.scenario)
                );
            }
            runs += 1;
            if ops.len() == z.known_minimum {
                at_minimum += 1;
            } else {
                report.push_str(&mmdiff_core::text::print(&m.scenario));
            }
            report.push_str(&format!(
                "{:<40} seed {seed}: {} -> {} ops (known minimum {}), {} tests, {:.2} s\n",
                z.fault.name(),
                m.ops_before,
                m.ops_after,
                z.known_minimum,
                m.tests,
                m.seconds
            ));
        }
    }
    println!("{report}");
    assert!(
        at_minimum as f64 >= AT_MINIMUM * runs as f64,
        "only {at_minimum} of {runs} reductions reach the known minimum:\n{report}"
    );
}

fn run(fault: Fault, args: &[&str]) -> (i32, String, String) {
    let argv: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = faults::with(Some(fault), || {
        mmdiff_triage::main_with_args(&argv, &mut out, &mut err)
    });
    let text = |b: Vec<u8>| String::from_utf8(b).expect("UTF-8 output");
    (code, text(out), text(err))
}

fn write_buried(dir: &Path, name: &str, zoo_name: &str, noise: usize, seed: u64) -> PathBuf {
    let z = zoo()
        .into_iter()
        .find(|z| z.fault.name() == zoo_name)
        .expect("in the zoo");
    let ops = wrap_in_noise(&z.input.scenario.ops(), noise, seed);
    let path = dir.join(name);
    let contents = if name.ends_with(".mms") {
        mmdiff_core::text::print(&Scenario::from_ops(&ops)).into_bytes()
    } else {
        mmdiff_core::bytes::encode(&ops).expect("fits the byte format")
    };
    std::fs::write(&path, contents).expect("write artifact");
    path
}

#[test]
fn minimize_writes_the_reduced_scenario() {
    let dir = mmdiff_triage::files::TempDir::new("planted-minimize");
    let buried = write_buried(
        dir.path(),
        "buried.mms",
        "seed001-fork-keeps-device-write",
        150,
        9,
    );
    let out = dir.path().join("min.mms");
    let (code, stdout, stderr) = run(
        Fault::Seed001ForkKeepsDeviceWrite,
        &[
            "minimize",
            &buried.display().to_string(),
            "-o",
            &out.display().to_string(),
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains("minimize: fork/invariant:devpriv-write-exclusive@subject: 15"),
        "{stderr}"
    );
    let min = input::load(&out).expect("the result parses");
    assert_eq!(min.scenario.ops().len(), 3);
    assert_eq!(
        min.header("signature"),
        Some("fork/invariant:devpriv-write-exclusive@subject")
    );
}

#[test]
fn explain_shows_the_op_what_broke_and_the_state_lines() {
    let path = zoo_dir().join("fork-shares-pinned-page.mms");
    let path = path.display().to_string();
    let (code, out, _) = run(
        Fault::ForkSharesPinnedPage,
        &["explain", &path, "--color", "never"],
    );
    assert_eq!(code, 1, "{out}");
    for want in [
        "signature: fork/invariant:pinned-anon-exclusive@subject\n",
        "> #2    fork p0 -> p1",
        "<- subject fails here",
        "  oracle   ok\n  subject  ok\n",
        "subject broke invariants:\n  pinned-anon-exclusive: h0 page 0: pinned anon page F0[0] not anon-exclusive\n",
        "  p1\n    vma m0[0..1) anon rw",
        "+ F0 order=0 normal ref=1026 map=2",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    assert!(!out.contains('\x1b'), "no colour when asked for none");
    let (code, out, _) = run(Fault::Canary, &["explain", &path]);
    assert_eq!(code, 0);
    assert!(
        out.contains("no divergence: the oracle and the subject agree on all 3 ops"),
        "{out}"
    );
}

#[test]
fn triage_promotes_each_new_signature_once() {
    let dir = mmdiff_triage::files::TempDir::new("planted-triage");
    let artifacts = dir.path().join("artifacts");
    let corpus = dir.path().join("corpus");
    std::fs::create_dir_all(&artifacts).expect("mkdir");
    write_buried(&artifacts, "a.mms", "canary", 120, 1);
    write_buried(&artifacts, "b.mms", "canary", 60, 2);
    write_buried(&artifacts, "c.bin", "canary", 100, 3);
    // Fuzz artifacts come in pairs; the scenario stands for both.
    write_buried(&artifacts, "b.bin", "canary", 60, 2);
    std::fs::write(artifacts.join("quiet.mms"), "mmap p0 m0 anon rw pages=1\n").expect("write");
    let args = [
        "triage",
        artifacts.to_str().expect("UTF-8 path"),
        "--corpus",
        corpus.to_str().expect("UTF-8 path"),
    ];
    let (code, out, err) = run(Fault::Canary, &args);
    assert_eq!(code, 0, "{err}");
    let promoted = corpus.join("regressions/write-state-folio-contents.mms");
    assert!(
        out.contains(&format!(
            "new    write/state:folio.contents  {} (2 ops, from ",
            promoted.display()
        )),
        "{out}"
    );
    assert!(out.contains("; 3 artifacts)"), "{out}");
    assert!(
        out.contains("skip   ") && out.contains("quiet.mms: "),
        "{out}"
    );
    assert!(
        out.ends_with("1 signatures: 1 new, 0 known; 1 artifacts skipped\n"),
        "{out}"
    );
    let repro = input::load(&promoted).expect("the promoted repro parses");
    assert_eq!(repro.scenario.ops().len(), 2);
    assert_eq!(repro.header("planted"), Some("canary"));
    assert_eq!(
        repro.header("signature"),
        Some("write/state:folio.contents")
    );
    // Unplanted, the repro passes: it is a regression test of a fixed bug.
    assert_eq!(signature(None, &repro, &repro.scenario.ops()), None);
    let (_, again, _) = run(Fault::Canary, &args);
    assert!(
        again.contains(&format!(
            "known  write/state:folio.contents  {}",
            promoted.display()
        )),
        "{again}"
    );
    assert_eq!(
        std::fs::read_dir(corpus.join("regressions"))
            .expect("dir")
            .count(),
        1
    );
}

/// `mmdiff fuzz` with `--stop-on-divergence --json`: finds the fault,
/// saves the raw input, minimizes it to the zoo's known minimum with the
/// zoo's signature, and promotes it; a second campaign finds it known.
#[test]
fn fuzz_finds_minimizes_and_promotes_a_planted_fault() {
    for name in ["canary", "seed001-fork-keeps-device-write"] {
        let z = zoo()
            .into_iter()
            .find(|z| z.fault.name() == name)
            .expect("in the zoo");
        let dir = mmdiff_triage::files::TempDir::new("planted-fuzz");
        let corpus = dir.path().join("corpus");
        std::fs::create_dir_all(&corpus).expect("mkdir");
        let out = dir.path().join("out");
        let path = |p: &Path| p.to_str().expect("UTF-8 path").to_string();
        let args = [
            "fuzz",
            "--seed",
            "7",
            "--time",
            "120",
            "--stop-on-divergence",
            "--json",
            "--quiet",
            "--corpus",
            &path(&corpus),
            "--out",
            &path(&out),
        ];
        let json = |text: &str| -> serde_json::Value {
            serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text}"))
        };
        let (code, stdout, stderr) = run(z.fault, &args);
        assert_eq!(code, 1, "{stderr}");
        let v = json(&stdout);
        let found = &v["signatures"][0];
        assert_eq!(found["signature"], z.signature.as_str(), "{stderr}");
        assert_eq!(found["status"], "new", "{stderr}");
        let regression = PathBuf::from(found["regression"].as_str().expect("a path"));
        assert_eq!(v["new_regressions"][0], found["regression"]);
        let repro = input::load(&regression).expect("the regression loads");
        assert_eq!(repro.scenario.ops().len(), z.known_minimum, "{name}");
        assert_eq!(repro.header("planted"), Some(name));
        let raw = PathBuf::from(found["artifact"].as_str().expect("a path"));
        assert!(raw.exists() && raw.with_extension("bin").exists());
        let (code, stdout, stderr) = run(z.fault, &args);
        assert_eq!(code, 1, "{stderr}");
        assert_eq!(json(&stdout)["signatures"][0]["status"], "known");
    }
}
