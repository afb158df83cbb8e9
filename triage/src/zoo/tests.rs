use std::path::PathBuf;
use std::time::Duration;

use super::bugs::{Bug, Repro};
use super::engine::Engine;
use super::options::parse_options;
use super::plot;
use super::report::{self, RunInfo, Trial};
use crate::files::TempDir;

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

#[test]
fn options_default_and_lists() {
    let o = parse_options(&[]).expect("defaults parse");
    assert_eq!(o.trials, 5);
    assert_eq!(o.budget, Duration::from_secs(120));
    assert_eq!(o.engines, Engine::ALL.to_vec());
    assert_eq!(o.bugs, None);
    assert!(!o.require_detection);

    let o = parse_options(&words(
        "--engines proptest,fuzz,fuzz --bugs canary,,x --trials 2 --budget 30 --seed 0x10 --out o --require-detection",
    ))
    .expect("parses");
    assert_eq!(o.engines, vec![Engine::Fuzz, Engine::Proptest]);
    assert_eq!(o.bugs, Some(vec!["canary".to_string(), "x".to_string()]));
    assert_eq!((o.trials, o.budget.as_secs(), o.first_seed), (2, 30, 16));
    assert_eq!(o.out, PathBuf::from("o"));
    assert!(o.require_detection);
}

#[test]
fn options_reject_what_cannot_run() {
    for (argv, needle) in [
        ("--engines afl", "unknown engine `afl`"),
        ("--engines ,", "no engine"),
        ("--trials 0", "--trials"),
        ("--budget 0", "--budget"),
        ("--bugs ,", "no fault"),
        ("extra", "unexpected argument"),
        ("--trials x", "not a number"),
    ] {
        let e = parse_options(&words(argv)).expect_err(argv);
        assert!(e.0.contains(needle), "{argv}: {e}");
    }
}

fn bug(name: &'static str, signature: &str, min: usize) -> Bug {
    Bug {
        name,
        signature: signature.into(),
        known_minimum: min,
        repros: vec![
            Repro {
                signature: signature.into(),
                known_minimum: min,
                path: PathBuf::from(format!("{name}.mms")),
            },
            Repro {
                signature: format!("other-{signature}"),
                known_minimum: min + 2,
                path: PathBuf::from(format!("{name}.other.mms")),
            },
        ],
    }
}

fn trial(bug: &'static str, engine: Engine, seed: u64, found: Option<(f64, &str, usize)>) -> Trial {
    Trial {
        bug,
        engine,
        seed,
        seconds: found.map(|f| f.0),
        found_ops: found.map(|_| 20),
        minimized: found.map(|f| (f.1.to_string(), f.2)),
        error: None,
    }
}

#[test]
fn a_find_matches_any_repro_of_its_bug_within_one_op() {
    let b = bug("b", "write/x", 3);
    let t = |sig: &str, ops| trial("b", Engine::Fuzz, 1, Some((1.0, sig, ops))).matches(&b);
    assert!(t("write/x", 3));
    assert!(t("write/x", 4));
    assert!(!t("write/x", 5));
    assert!(
        t("other-write/x", 6),
        "the other repro's own minimum counts"
    );
    assert!(!t("other-write/x", 7));
    assert!(!t("read/x", 3));
    assert!(!trial("b", Engine::Fuzz, 1, None).matches(&b));
}

#[test]
fn median_counts_misses_as_never() {
    let b = bug("b", "s", 2);
    let run = |found: &[Option<f64>]| {
        let trials: Vec<Trial> = found
            .iter()
            .enumerate()
            .map(|(i, f)| trial("b", Engine::Proptest, i as u64, f.map(|s| (s, "s", 2))))
            .collect();
        report::cell(&b, Engine::Proptest, &trials)
    };
    let c = run(&[Some(3.0), None, Some(1.0), Some(2.0), None]);
    assert_eq!((c.trials, c.detected, c.median), (5, 3, Some(3.0)));
    assert_eq!(run(&[Some(1.0), None, None, Some(2.0), None]).median, None);
    assert_eq!(run(&[Some(1.0), Some(4.0)]).median, Some(2.5));
    assert_eq!(run(&[Some(1.0), None]).median, None);
}

fn sample() -> (Vec<Bug>, Vec<Trial>) {
    let bugs = vec![bug("fast", "write/a", 2), bug("slow", "fork/b", 3)];
    let mut trials = Vec::new();
    for seed in 1..=5 {
        trials.push(trial(
            "fast",
            Engine::Fuzz,
            seed,
            Some((0.01 * seed as f64, "write/a", 2)),
        ));
        trials.push(trial(
            "fast",
            Engine::Proptest,
            seed,
            Some((0.5, "write/a", 3)),
        ));
        let fuzz_slow = (seed <= 4).then_some((40.0 + seed as f64, "fork/c", 3));
        trials.push(trial("slow", Engine::Fuzz, seed, fuzz_slow));
        trials.push(trial(
            "slow",
            Engine::Proptest,
            seed,
            Some((5.0, "fork/b", 3)),
        ));
    }
    (bugs, trials)
}

fn info<'a>(engines: &'a [Engine], excluded: &'a [(&'static str, Vec<String>)]) -> RunInfo<'a> {
    RunInfo {
        trials: 5,
        budget_seconds: 120,
        first_seed: 1,
        engines,
        skipped: &[],
        seed_count: 10,
        excluded_seeds: excluded,
    }
}

#[test]
fn summary_compares_engines_bug_by_bug() {
    let (bugs, trials) = sample();
    let engines = [Engine::Fuzz, Engine::Proptest];
    let lines = report::summary(&info(&engines, &[]), &bugs, &trials);
    assert_eq!(
        lines,
        vec![
            "mmdiff fuzz: found in at least 80% of trials: 2/2 bugs; median under 30 s: 1/2; minimized finds with the bug's signature and length: 5/9".to_string(),
            "proptest-state-machine: found in at least 80% of trials: 2/2 bugs; median under 30 s: 2/2; minimized finds with the bug's signature and length: 10/10".to_string(),
            "mmdiff fuzz at least as fast as proptest-state-machine (median) on 1/2 bugs; slower on slow".to_string(),
        ]
    );
}

#[test]
fn markdown_and_json_carry_every_cell() {
    let (bugs, trials) = sample();
    let engines = [Engine::Fuzz, Engine::Proptest];
    let excluded = vec![("fast", vec!["a.mms".to_string(), "b.mms".to_string()])];
    let md = report::markdown(&info(&engines, &excluded), &bugs, &trials);
    assert!(
        md.contains("| fast | 2 | 2 | 0.03 (5/5) | 0.50 (5/5) |"),
        "{md}"
    );
    assert!(
        md.contains("| slow | 0 | 3 | 43.0 (4/5) | 5.00 (5/5) |"),
        "{md}"
    );
    assert!(
        md.contains("| fast | 2 | 2 | 5/5, 2 ops | 5/5, 3 ops |"),
        "{md}"
    );
    assert!(
        md.contains("| slow | 2 | 3 | 0/4, 3 ops | 5/5, 3 ops |"),
        "{md}"
    );
    assert!(
        md.contains(
            "slow / mmdiff fuzz: minimized to a signature the zoo has no repro for: fork/c"
        ),
        "{md}"
    );

    let json: serde_json::Value =
        serde_json::from_str(&report::json(&info(&engines, &excluded), &bugs, &trials))
            .expect("valid JSON");
    assert_eq!(json["trials"].as_array().map(Vec::len), Some(20));
    let fast = &json["bugs"][0];
    assert_eq!(fast["name"], "fast");
    assert_eq!(fast["excluded_seeds"][1], "b.mms");
    assert_eq!(fast["repros"].as_array().map(Vec::len), Some(2));
    assert_eq!(fast["engines"]["proptest"]["median_seconds"], 0.5);
    assert_eq!(json["bugs"][1]["engines"]["fuzz"]["detected"], 4);
    assert!(json["bugs"][1]["engines"]["fuzz"]["median_seconds"].is_number());
    assert_eq!(json["trials"][2]["minimized_signature"], "fork/c");
}

#[test]
fn survival_curve_steps_down_at_each_detection() {
    let (_, trials) = sample();
    let curve = plot::survival(Engine::Fuzz, &trials, 120.0);
    assert_eq!(curve.first(), Some(&(0.001, 1.0)));
    // 10 fuzz trials, 9 detections: ends at 1/10 undetected.
    assert_eq!(curve.last(), Some(&(120.0, 0.1)));
    assert_eq!(curve.len(), 1 + 2 * 9 + 1);
    for w in curve.windows(2) {
        assert!(w[0].0 <= w[1].0 && w[0].1 >= w[1].1, "{w:?}");
    }
    let svg = plot::svg(&[Engine::Fuzz, Engine::Proptest], &trials, 120.0).expect("plots");
    assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(80)]);
    assert!(svg.contains("mmdiff fuzz") && svg.contains("proptest-state-machine"));
}

#[test]
fn libfuzzer_engine_needs_a_fuzz_crate() {
    let dir = TempDir::new("zoo-nofuzz");
    let why = super::libfuzzer::unavailable(dir.path()).expect("no Cargo.toml there");
    assert!(why.contains("no cargo-fuzz crate"), "{why}");
}

#[test]
fn zoo_files_without_headers_are_refused() {
    let dir = TempDir::new("zoo-bad");
    std::fs::write(dir.path().join("x.mms"), "mmap p0 m0 anon rw pages=1\n").expect("write");
    let e = super::bugs::load(dir.path()).expect_err("no headers");
    assert!(e.contains("x.mms") && e.contains("#! planted:"), "{e}");
    let empty = TempDir::new("zoo-empty");
    let e = super::bugs::load(empty.path()).expect_err("no repros");
    assert!(e.contains("no zoo repros"), "{e}");
}

#[test]
fn merged_runs_report_together_and_rescore() {
    let (bugs, trials) = sample();
    let dir = TempDir::new("zoo-merge");
    let (fuzz, proptest): (Vec<Trial>, Vec<Trial>) =
        trials.into_iter().partition(|t| t.engine == Engine::Fuzz);
    let write = |name: &str, engines: &[Engine], trials: &[Trial], budget: u64| {
        let mut i = info(engines, &[]);
        i.budget_seconds = budget;
        let path = dir.path().join(name);
        std::fs::write(&path, report::json(&i, &bugs, trials)).expect("write");
        path
    };
    let a = write("a.json", &[Engine::Fuzz], &fuzz, 120);
    let b = write("b.json", &[Engine::Proptest], &proptest, 120);
    // The zoo has since learned the fork/c path of `slow`.
    let mut now = bugs.clone();
    now[1].repros.push(Repro {
        signature: "fork/c".into(),
        known_minimum: 3,
        path: PathBuf::from("slow.c.mms"),
    });
    let m = super::merge::merge(&[a.as_path(), b.as_path()], now.clone()).expect("merges");
    assert_eq!(m.results.trials.len(), 20);
    assert_eq!((m.budget_seconds, m.trials_per_cell), (120, 5));
    let slow = report::cell(&now[1], Engine::Fuzz, &m.results.trials);
    assert_eq!((slow.detected, slow.matching), (4, 4), "rescored");

    let c = write("c.json", &[Engine::Fuzz], &fuzz, 60);
    let e = super::merge::merge(&[a.as_path(), c.as_path()], now.clone())
        .err()
        .expect("budgets differ");
    assert!(e.contains("budget 60 s"), "{e}");
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{}").expect("write");
    let e = super::merge::merge(&[bad.as_path()], now)
        .err()
        .expect("no fields");
    assert!(
        e.contains("bad.json") && e.contains("budget_seconds"),
        "{e}"
    );
}

#[test]
fn merge_takes_files_and_nothing_else_does() {
    let o = parse_options(&words("--merge a.json b.json --out o")).expect("parses");
    assert_eq!(
        o.merge,
        vec![PathBuf::from("a.json"), PathBuf::from("b.json")]
    );
    let e = parse_options(&words("--merge")).expect_err("no files");
    assert!(e.0.contains("no zoo.json"), "{e}");
}
