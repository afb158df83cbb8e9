use super::*;
use crate::files::TempDir;
use mmdiff_core::op::ProcId;
use mmdiff_core::text;
use mmdiff_core::{bytes, Config, Op, Outcome, State};

/// A model whose state is empty and consistent and whose ops all return
/// `ok`; with `BUG` it panics on `exit p2`.
struct Toy<const BUG: bool>(Config);

type Clean = Toy<false>;
type PanicsOnExitP2 = Toy<true>;

impl<const BUG: bool> Model for Toy<BUG> {
    fn new(c: &Config) -> Self {
        Toy(c.clone())
    }
    fn name(&self) -> &'static str {
        if BUG {
            "toy"
        } else {
            "clean"
        }
    }
    fn apply(&mut self, op: &Op) -> Outcome {
        if BUG && *op == (Op::Exit { p: ProcId(2) }) {
            panic!("toy bug");
        }
        Outcome::OK
    }
    fn raw_state(&self) -> State {
        State::empty(&self.0)
    }
}

fn quiet(runs: u64, seed: u64, out: &Path) -> Options {
    Options {
        runs: Some(runs),
        seed,
        out: out.to_path_buf(),
        progress: false,
        ..Options::default()
    }
}

#[test]
fn identical_models_never_diverge() {
    for mode in [Mode::Swarm, Mode::Bytes] {
        let t = TempDir::new("fuzz-clean");
        let opts = Options {
            mode,
            jobs: 2,
            ..quiet(50, 3, &t.path().join("out"))
        };
        let s = campaign_with::<Clean, Clean>(&opts, &mut Vec::new(), &mut Vec::new());
        assert_eq!((s.execs, s.found.len()), (50, 0), "{mode:?}");
        assert!(s.ops > 0);
        assert!(!t.path().join("out").exists());
    }
}

#[test]
fn runs_are_shared_between_workers() {
    assert_eq!(share(Some(10), 0, 3), Some(4));
    assert_eq!(share(Some(10), 1, 3), Some(3));
    assert_eq!(share(Some(10), 2, 3), Some(3));
    assert_eq!(share(None, 0, 3), None);
}

#[test]
fn divergences_are_saved_once_per_signature_and_replay() {
    let t = TempDir::new("fuzz");
    let opts = quiet(200, 3, &t.path().join("out"));
    let mut out = Vec::new();
    let s = campaign_with::<Clean, PanicsOnExitP2>(&opts, &mut out, &mut Vec::new());
    let out = String::from_utf8(out).unwrap();
    assert!(out.starts_with("seed: 3\n"), "{out}");
    assert_eq!(s.execs, 200);
    assert_eq!(s.found.len(), 1, "{:?}", s.found);
    let f = &s.found[0];
    assert_eq!(f.signature, "exit/panic@toy");
    assert_eq!(f.promotion, Promotion::NotPromoted("no corpus".into()));
    assert!(
        out.contains("new divergence exit/panic@toy after "),
        "{out}"
    );
    assert!(out.contains("1 divergence signature"), "{out}");
    let mms = f.artifact.clone().unwrap();
    let name = mms.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("panic-") && name.ends_with(".mms"),
        "{name}"
    );
    // Only the two files, no temporaries.
    assert_eq!(std::fs::read_dir(t.path().join("out")).unwrap().count(), 2);
    let src = std::fs::read_to_string(&mms).unwrap();
    assert!(
        src.starts_with("#! found-by: mmdiff fuzz --seed 3\n"),
        "{src}"
    );
    assert!(src.contains("#! failure: op #"), "{src}");
    assert!(src.contains("\n#! signature: exit/panic@toy\n"), "{src}");
    assert!(src.contains("exit p2 # <- toy fails here\n"), "{src}");
    let ops = text::parse(&src).unwrap().ops();
    assert_eq!(ops.last(), Some(&Op::Exit { p: ProcId(2) }));
    // The bytes decode to the same ops, and the shared entry point fails
    // on them with the same signature.
    let data = std::fs::read(mms.with_extension("bin")).unwrap();
    assert_eq!(bytes::decode(&data), ops);
    let failure = mmdiff_harness::run_bytes_with::<Clean, PanicsOnExitP2>(&data).unwrap_err();
    assert_eq!(failure.signature(), "exit/panic@toy");
    // Same seed, same campaign.
    let t2 = TempDir::new("fuzz2");
    let s2 = campaign_with::<Clean, PanicsOnExitP2>(
        &quiet(200, 3, t2.path()),
        &mut Vec::new(),
        &mut Vec::new(),
    );
    assert_eq!((s.execs, s.ops), (s2.execs, s2.ops));
    assert_eq!(s.found[0].description, s2.found[0].description);
    assert_eq!(s.found[0].exec, s2.found[0].exec);
}

#[test]
fn byte_inputs_diverge_too() {
    let t = TempDir::new("fuzz-bytes");
    let opts = Options {
        mode: Mode::Bytes,
        ..quiet(300, 5, &t.path().join("out"))
    };
    let s = campaign_with::<Clean, PanicsOnExitP2>(&opts, &mut Vec::new(), &mut Vec::new());
    assert_eq!(s.found.len(), 1, "{:?}", s.found);
    assert_eq!(s.found[0].signature, "exit/panic@toy");
}

#[test]
fn several_workers_report_each_signature_once() {
    let t = TempDir::new("fuzz-jobs");
    let opts = Options {
        jobs: 3,
        ..quiet(300, 11, &t.path().join("out"))
    };
    let s = campaign_with::<Clean, PanicsOnExitP2>(&opts, &mut Vec::new(), &mut Vec::new());
    assert_eq!(s.execs, 300);
    assert_eq!(s.found.len(), 1, "{:?}", s.found);
}

#[test]
fn json_summary_is_the_only_thing_on_stdout() {
    let t = TempDir::new("fuzz-json");
    let opts = Options {
        json: true,
        ..quiet(300, 3, &t.path().join("out"))
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    campaign_with::<Clean, PanicsOnExitP2>(&opts, &mut out, &mut err);
    let out = String::from_utf8(out).unwrap();
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON object");
    assert_eq!(v["execs"], 300);
    assert!(v["ops"].as_u64().unwrap() > 0);
    assert!(v["seconds"].as_f64().is_some());
    assert_eq!(v["signatures"][0]["signature"], "exit/panic@toy");
    assert_eq!(v["signatures"][0]["status"], "not-promoted");
    assert_eq!(v["new_regressions"].as_array().unwrap().len(), 0);
    assert!(v["state_coverage"]["transitions"].is_object());
    let err = String::from_utf8(err).unwrap();
    assert!(err.contains("new divergence exit/panic@toy"), "{err}");
}

#[test]
fn an_oracle_campaign_mutates_the_corpus_and_covers_state() {
    let t = TempDir::new("fuzz-oracle");
    let corpus = t.path().join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    std::fs::write(
        corpus.join("a.mms"),
        "mmap p0 m0 anon rw pages=4\nwrite p0 m0[0..4] = 1\nfork p0 -> p1\nwrite p1 m0[0] = 2\n",
    )
    .unwrap();
    let opts = Options {
        corpus: Some(corpus),
        ..quiet(60, 1, &t.path().join("out"))
    };
    let s = campaign(&opts, &mut Vec::new(), &mut Vec::new());
    assert_eq!(s.execs, 60);
    assert!(s.found.is_empty(), "{:?}", s.found);
    assert!(s.pairs > 20, "{}", s.pairs);
    assert!(s.coverage.len() > 5, "{}", s.coverage.len());
    assert!(s.problems.is_empty(), "{:?}", s.problems);
}

#[test]
fn stop_on_divergence_ends_an_unbounded_campaign() {
    let t = TempDir::new("fuzz-stop");
    let opts = Options {
        runs: None,
        stop_on_divergence: true,
        jobs: 2,
        ..quiet(0, 3, t.path())
    };
    let s = campaign_with::<Clean, PanicsOnExitP2>(&opts, &mut Vec::new(), &mut Vec::new());
    assert_eq!(s.found.len(), 1);
    assert!(s.execs > 0);
}

#[test]
fn the_corpus_is_read_when_a_worker_first_mutates() {
    let t = TempDir::new("fuzz-lazy-corpus");
    let corpus = t.path().join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    std::fs::write(corpus.join("a.mms"), "mmap p0 m0 nonsense\n").unwrap();
    let opts = |runs| Options {
        corpus: Some(corpus.clone()),
        ..quiet(runs, 1, &t.path().join("out"))
    };
    // Within the warm-up every input is generated: the corpus is not read.
    let s = campaign_with::<Clean, Clean>(&opts(8), &mut Vec::new(), &mut Vec::new());
    assert!(s.problems.is_empty(), "{:?}", s.problems);
    let s = campaign_with::<Clean, Clean>(&opts(400), &mut Vec::new(), &mut Vec::new());
    assert_eq!(s.problems.len(), 1, "{:?}", s.problems);
    assert!(s.problems[0].contains("a.mms:1:"), "{:?}", s.problems);
}

/// Like [`PanicsOnExitP2`], but only on profiles before 6.19: a bug the
/// campaign finds only when `--kernel` reaches the models.
struct OldKernelBug(Config);

impl Model for OldKernelBug {
    fn new(c: &Config) -> Self {
        OldKernelBug(c.clone())
    }
    fn name(&self) -> &'static str {
        "old"
    }
    fn apply(&mut self, op: &Op) -> Outcome {
        if self.0.kernel < mmdiff_core::KernelVersion::BASELINE
            && *op == (Op::Exit { p: ProcId(2) })
        {
            panic!("6.12 bug");
        }
        Outcome::OK
    }
    fn raw_state(&self) -> State {
        State::empty(&self.0)
    }
}

fn on_kernel(kernel: &str, mode: &str, out: &Path) -> Options {
    let argv: Vec<String> = ["--kernel", kernel, "--gen", mode, "--runs", "300"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let parsed = parse_options(&argv, false).expect("options parse");
    Options {
        seed: 3,
        out: out.to_path_buf(),
        progress: false,
        ..parsed
    }
}

#[test]
fn the_kernel_option_reaches_the_models_of_every_generator() {
    let v612 = mmdiff_core::KernelVersion::new(6, 12);
    for mode in ["swarm", "bytes"] {
        let t = TempDir::new("fuzz-kernel");
        let opts = on_kernel("6.12", mode, &t.path().join("out"));
        assert_eq!(opts.config, crate::profile::default_config(v612));
        let mut out = Vec::new();
        let s = campaign_with::<Clean, OldKernelBug>(&opts, &mut out, &mut Vec::new());
        let out = String::from_utf8(out).unwrap();
        assert!(out.starts_with("seed: 3; kernel: 6.12\n"), "{out}");
        assert_eq!(s.found.len(), 1, "{mode}: {:?}", s.found);
        assert_eq!(s.found[0].signature, "exit/panic@old");
        assert_eq!(s.kernel, v612);
        let v: serde_json::Value = serde_json::from_str(&display::json(&s)).unwrap();
        assert_eq!(v["kernel"], "6.12");

        // On the default profile the same campaign finds nothing.
        let t = TempDir::new("fuzz-kernel-default");
        let opts = on_kernel("6.19", mode, &t.path().join("out"));
        assert_eq!(opts.config, Config::default());
        let mut out = Vec::new();
        let s = campaign_with::<Clean, OldKernelBug>(&opts, &mut out, &mut Vec::new());
        assert!(s.found.is_empty(), "{mode}: {:?}", s.found);
        let out = String::from_utf8(out).unwrap();
        assert!(out.starts_with("seed: 3\n"), "{out}");
        let v: serde_json::Value = serde_json::from_str(&display::json(&s)).unwrap();
        assert!(v.get("kernel").is_none(), "{v}");
    }
}

#[test]
fn an_artifact_found_on_another_profile_records_it_and_replays_on_it() {
    let t = TempDir::new("fuzz-kernel-artifact");
    let opts = on_kernel("6.12", "swarm", &t.path().join("out"));
    let s = campaign_with::<Clean, OldKernelBug>(&opts, &mut Vec::new(), &mut Vec::new());
    let mms = s.found[0].artifact.clone().expect("saved");
    let src = std::fs::read_to_string(&mms).unwrap();
    assert!(
        src.starts_with("#! found-by: mmdiff fuzz --seed 3 --kernel 6.12\n"),
        "{src}"
    );
    assert!(src.contains("\n#! config: kernel=6.12\n"), "{src}");
    // Loaded without --kernel, the header gives the profile back ...
    let input = crate::input::load(&mms).expect("the artifact loads");
    assert_eq!(input.config, opts.config);
    // ... so a plain replay reproduces the divergence, and a replay of the
    // same ops without the header does not.
    let baseline = mmdiff_core::KernelVersion::BASELINE;
    let v = crate::replay::replay_text_lockstep::<Clean, OldKernelBug>("a.mms", &src, baseline);
    assert!(
        matches!(&v, crate::replay::Verdict::Fail { message, .. } if message.contains("old panicked")),
        "{v:?}"
    );
    let bare = text::print(&text::Scenario::from_ops(&input.scenario.ops()));
    let v = crate::replay::replay_text_lockstep::<Clean, OldKernelBug>("a.mms", &bare, baseline);
    assert!(matches!(v, crate::replay::Verdict::Pass { .. }), "{v:?}");
}

#[test]
fn artifacts_of_the_default_profile_name_no_kernel() {
    let t = TempDir::new("fuzz-default-artifact");
    let opts = quiet(200, 3, &t.path().join("out"));
    let s = campaign_with::<Clean, PanicsOnExitP2>(&opts, &mut Vec::new(), &mut Vec::new());
    let src = std::fs::read_to_string(s.found[0].artifact.as_ref().unwrap()).unwrap();
    assert!(!src.contains("config") && !src.contains("kernel"), "{src}");
}
