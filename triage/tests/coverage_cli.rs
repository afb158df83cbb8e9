//! `mmdiff coverage` end to end, and the cost of `StateCoverage::record`.
//!
//!     cargo test -p mmdiff-triage --test coverage_cli
//!     cargo test --release -p mmdiff-triage --test coverage_cli -- --ignored --nocapture

use std::path::PathBuf;
use std::time::Instant;

use mmdiff_core::coverage::StateCoverage;
use mmdiff_core::op::OpKind;
use mmdiff_core::rng::SplitMix64;
use mmdiff_core::run::Runner;
use mmdiff_core::{text, Config, Op, State};
use mmdiff_oracle::Oracle;
use mmdiff_triage::files::TempDir;
use mmdiff_triage::gen::Generator;

mod support;
use support::mmdiff;

fn repo(rel: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(rel)
        .display()
        .to_string()
}

#[test]
fn corpus_coverage_table() {
    let (code, out, err) = mmdiff(&["coverage", &repo("corpus")]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.starts_with("state coverage of "), "{out}");
    // Rows the corpus is written to reach, on both models. (The fork of a
    // writable device-private entry is only in zoo/, not conformance/.)
    for row in [
        "fork: devpriv-w -> devpriv-r",
        "migrate-to-dev: page-w -> devpriv-w",
        "migrate-setup: page-w -> migration-w",
        "migrate-finalize: migration-w -> devpriv-w",
        "dev-exclusive: page-w -> devexcl",
        "reclaim: page-w -> swap-excl",
        "write: page-r -> page-w",
    ] {
        let line = out
            .lines()
            .find(|l| l.starts_with(&format!("{row} ")))
            .unwrap_or_else(|| panic!("no row `{row}`:\n{out}"));
        let counts: Vec<&str> = line[row.len()..].split_whitespace().collect();
        assert_eq!(counts.len(), 2, "{line}");
        assert!(counts.iter().all(|c| *c != "-"), "{line}");
    }
    let summary = out
        .lines()
        .find(|l| l.starts_with("distinct transitions: oracle "))
        .expect("summary line");
    assert!(summary.contains(", subject "), "{summary}");
    // The models agree on the corpus, so they reach the same transitions.
    assert!(
        out.contains("transitions seen by only one model: none"),
        "{out}"
    );

    let (code, json, _) = mmdiff(&["coverage", "--json", &repo("corpus")]);
    assert_eq!(code, 0);
    assert!(json.starts_with("{\"inputs\": "), "{json}");
    assert!(
        json.contains("\"fork: devpriv-w -> devpriv-r\": "),
        "{json}"
    );
    assert!(json.trim_end().ends_with('}'));
}

#[test]
fn bad_inputs_exit_1_naming_the_place_and_usage_errors_exit_2() {
    let t = TempDir::new("cli-coverage");
    std::fs::write(
        t.path().join("bad.mms"),
        "mmap p0 m0 anon rw pages=1\nwrite p0 m0[0] = x\n",
    )
    .unwrap();
    let dir = t.path().display().to_string();
    let (code, out, err) = mmdiff(&["coverage", &dir]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(err.contains(&format!("error: {dir}/bad.mms:2:")), "{err}");
    let (code, _, err) = mmdiff(&["coverage"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("usage: mmdiff coverage"), "{err}");
    assert_eq!(mmdiff(&["coverage", "--frob", &dir]).0, 2);
    let (code, out, _) = mmdiff(&["help", "coverage"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("usage: mmdiff coverage"), "{out}");
}

/// (op, before, after) triples of the oracle on `n` swarm sequences of up
/// to 64 ops, as `mmdiff fuzz` generates them.
fn swarm_steps(n: usize, seed: u64) -> Vec<(Op, State, State)> {
    let mut rng = SplitMix64::new(seed);
    let mut steps = Vec::new();
    for _ in 0..n {
        let mut gen = Generator::new(&mut rng, &OpKind::ALL);
        let mut runner = Runner::<Oracle>::new(&Config::default()).expect("oracle starts");
        for _ in 0..64 {
            let before = runner.state().clone();
            let op = gen.next_op(&mut rng, &before);
            if runner.step(&op, None).is_err() {
                break;
            }
            steps.push((op, before, runner.state().clone()));
        }
    }
    steps
}

fn scenario_steps(path: &str) -> Vec<(Op, State, State)> {
    let src = std::fs::read_to_string(repo(path)).expect("read the workload");
    let scenario = text::parse(&src).expect("parses");
    let config = scenario.config().expect("config");
    let mut runner = Runner::<Oracle>::new(&config).expect("oracle starts");
    let mut steps = Vec::new();
    for op in scenario.ops() {
        let before = runner.state().clone();
        runner.step(&op, None).expect("runs");
        steps.push((op, before, runner.state().clone()));
    }
    steps
}

/// Mean time of one `record` call over `steps` (best of 5 passes), with
/// the number of entry runs per state for scale.
fn time_record(name: &str, steps: &[(Op, State, State)]) {
    let runs: usize = steps
        .iter()
        .map(|(_, _, a)| a.procs.iter().map(|p| p.entries.len()).sum::<usize>())
        .sum();
    let mut best = f64::MAX;
    let mut clone_best = f64::MAX;
    let mut cov = StateCoverage::new();
    for _ in 0..5 {
        let t = Instant::now();
        for (op, b, a) in steps {
            cov.record(op, b, a);
        }
        best = best.min(t.elapsed().as_secs_f64() / steps.len() as f64);
        let t = Instant::now();
        for (_, _, a) in steps {
            std::hint::black_box(a.clone());
        }
        clone_best = clone_best.min(t.elapsed().as_secs_f64() / steps.len() as f64);
    }
    println!(
        "{name}: {} records, {:.1} entry runs per state: record {:.0} ns/op, State::clone {:.0} ns/op, {} transitions",
        steps.len(),
        runs as f64 / steps.len() as f64,
        best * 1e9,
        clone_best * 1e9,
        cov.len()
    );
}

#[test]
#[ignore = "a measurement: run with --release --ignored --nocapture"]
fn record_cost() {
    time_record("swarm seq64 x 300", &swarm_steps(300, 1));
    time_record(
        "fork-cow-4k (16384 pages)",
        &scenario_steps("triage/bench-workloads/fork-cow-4k.mms"),
    );
}
