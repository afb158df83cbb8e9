//! The options of `mmdiff fuzz` and their parsing.

use std::path::PathBuf;
use std::time::Duration;

use mmdiff_core::op::OpKind;
use mmdiff_core::{bytes, Config, KernelVersion};

use crate::args::{self, Opt, UsageError};
use crate::kernel_replay::Engine;
use crate::profile;

/// Campaign settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Wall-clock budget; `None`: until `runs` inputs ran, or until
    /// stopped (Ctrl-C).
    pub time: Option<Duration>,
    /// Stop after this many inputs (over all workers).
    pub runs: Option<u64>,
    pub seed: u64,
    /// Ops per generated or mutated sequence, at most.
    pub max_ops: usize,
    /// Where the raw failing inputs go.
    pub out: PathBuf,
    /// Scenarios to mutate, and where new divergences are promoted
    /// (`<corpus>/regressions/`); `None`: neither.
    pub corpus: Option<PathBuf>,
    /// Minimize each new divergence and promote it into the corpus.
    pub promote: bool,
    /// Show live progress on stderr.
    pub progress: bool,
    /// Print the final summary as one JSON object on stdout (everything
    /// else goes to stderr).
    pub json: bool,
    /// Where inputs come from.
    pub mode: Mode,
    /// Op kinds the swarm generator and the mutator may use.
    pub allowed: Vec<OpKind>,
    /// Worker threads.
    pub jobs: usize,
    /// Stop at the first divergence (after saving and promoting it), as
    /// libFuzzer does: for measuring time to detection.
    pub stop_on_divergence: bool,
    /// What the oracle is compared with: the subject, or the running
    /// kernel ([`crate::kernel_fuzz`]).
    pub engine: Engine,
    /// `--kernel` as given; a kernel engine checks it against its kernel.
    pub kernel: Option<KernelVersion>,
    /// The machine both models run every input on: the default one, with
    /// `--kernel`'s profile (6.19 without the option). A kernel engine
    /// uses its kernel's own config instead.
    pub config: Config,
}

/// How a campaign makes its inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Ops drawn from the state with swarm weights ([`crate::gen`]), and
    /// mutations of corpus entries and of sequences that reached new state
    /// transitions.
    Swarm,
    /// Random byte strings through the shared decoder
    /// ([`mmdiff_harness::run_bytes`]).
    Bytes,
}

/// The corpus a campaign uses when none is named: the repository's.
pub const DEFAULT_CORPUS: &str = "corpus";

impl Default for Options {
    fn default() -> Self {
        Options {
            time: None,
            runs: None,
            seed: 0,
            max_ops: 32,
            out: PathBuf::from("artifacts/fuzz"),
            corpus: None,
            promote: true,
            progress: true,
            json: false,
            mode: Mode::Swarm,
            allowed: OpKind::ALL.to_vec(),
            jobs: 1,
            stop_on_divergence: false,
            engine: Engine::Subject,
            kernel: None,
            config: Config::default(),
        }
    }
}

pub const USAGE: &str = "\
usage: mmdiff fuzz [--time SECS] [--seed N] [--jobs N] [--runs N] [--max-ops N]
                   [--allow KIND,...] [--deny KIND,...] [--gen swarm|bytes]
                   [--corpus DIR] [--no-promote] [--out DIR] [--stop-on-divergence]
                   [--kernel V] [--engine subject|kernel|qemu] [--json] [--quiet]

Runs op sequences on the oracle and the subject in lockstep (digests
compared after every op, full states and invariants at the end, an exact
re-run on any difference; panics are caught) until the time budget is
spent, --runs inputs ran, or Ctrl-C. Each divergence with a new signature
(`<op>/<what>:<field>`) is saved as <kind>-<hash>.mms and .bin in the
output directory, minimized, and promoted to <corpus>/regressions/ unless
the corpus already records that signature.

  --time SECS    wall-clock budget (default: until stopped or --runs)
  --seed N       decimal or 0x-hex (default 0); same seed, same inputs
  --jobs N       worker threads (default 1); worker k's inputs depend on
                 the seed and k only
  --runs N       stop after N inputs (over all workers)
  --max-ops N    ops per sequence at most (default 32; up to 256)
  --allow LIST   op kinds to use, comma-separated (default: all)
  --deny LIST    op kinds to leave out
  --gen MODE     swarm (default): ops drawn from the current state with
                 per-sequence swarm weights, and mutated corpus entries;
                 bytes: random bytes through the shared decoder (what cargo
                 fuzz and AFL start from)
  --corpus DIR   scenarios to mutate and where regressions go (default
                 ./corpus when it exists)
  --no-promote   save raw divergences only: no minimization, no promotion
  --out DIR      where raw divergences go (default artifacts/fuzz)
  --stop-on-divergence
                 stop at the first divergence (time-to-detection trials)
  --kernel V     the models' semantics profile, 6.12 to 6.19 (default
                 6.19); printed with the seed, and recorded in what is
                 saved (`#! config: kernel=V`) so that it replays alone
  --engine E     what the oracle is compared with: subject (default) or
                 kernel: the running Linux kernel. A kernel campaign draws
                 swarm sequences of the kernel-expressible op kinds only
                 (--allow/--deny narrow them further), runs each on the
                 oracle and on the kernel side by side, and saves each new
                 disagreement raw and minimized (with the kernel's view in
                 comments) under <out>/kernel/; it mutates no corpus and
                 promotes nothing. --json reports execs, ops, ops skipped
                 and draws rejected by kind, page observations and the
                 disagreements. qemu: the same against a qemu guest kernel
                 (scripts/guest; one guest per job and one per
                 minimization; saved under <out>/qemu/). A kernel is
                 compared on its own version's profile: --kernel, if
                 given, must name it
  --json         final summary as JSON on stdout
  --quiet        no progress display

Exit status: 0 when nothing diverged, 1 on any divergence (or kernel
engine error), 2 on usage errors or when the kernel engine cannot run here.";

const OPTS: &[Opt] = &[
    Opt {
        names: &["--time"],
        takes_value: true,
    },
    Opt {
        names: &["--seed"],
        takes_value: true,
    },
    Opt {
        names: &["--jobs", "-j"],
        takes_value: true,
    },
    Opt {
        names: &["--runs"],
        takes_value: true,
    },
    Opt {
        names: &["--max-ops"],
        takes_value: true,
    },
    Opt {
        names: &["--allow"],
        takes_value: true,
    },
    Opt {
        names: &["--deny"],
        takes_value: true,
    },
    Opt {
        names: &["--gen"],
        takes_value: true,
    },
    Opt {
        names: &["--corpus"],
        takes_value: true,
    },
    Opt {
        names: &["--no-promote"],
        takes_value: false,
    },
    Opt {
        names: &["--out", "-o"],
        takes_value: true,
    },
    Opt {
        names: &["--stop-on-divergence"],
        takes_value: false,
    },
    Opt {
        names: &["--json"],
        takes_value: false,
    },
    Opt {
        names: &["--engine"],
        takes_value: true,
    },
    Opt {
        names: &["--quiet", "-q"],
        takes_value: false,
    },
    profile::OPT,
];

/// A comma-separated list of op keywords.
pub fn parse_op_kinds(flag: &str, list: &str) -> Result<Vec<OpKind>, UsageError> {
    let mut kinds = Vec::new();
    for word in list.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        let kind = OpKind::from_keyword(word)
            .ok_or_else(|| UsageError(format!("{flag}: unknown op kind `{word}`")))?;
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    Ok(kinds)
}

/// Reads the options of `mmdiff fuzz`. `corpus_exists` says whether the
/// default corpus directory is there (the caller looks; tests pretend).
pub fn parse_options(argv: &[String], corpus_exists: bool) -> Result<Options, UsageError> {
    let p = args::parse(argv, OPTS)?;
    if let Some(extra) = p.positional.first() {
        return Err(UsageError(format!("unexpected argument `{extra}`")));
    }
    let mut o = Options::default();
    if let Some(t) = p.number("--time")? {
        o.time = (t > 0).then(|| Duration::from_secs(t));
    }
    if let Some(s) = p.number("--seed")? {
        o.seed = s;
    }
    if let Some(j) = p.number("--jobs")? {
        if j == 0 || j > 256 {
            return Err(UsageError("--jobs must be in 1..=256".into()));
        }
        o.jobs = j as usize;
    }
    o.runs = p.number("--runs")?;
    if let Some(m) = p.number("--max-ops")? {
        if m == 0 || m > bytes::MAX_OPS as u64 {
            return Err(UsageError(format!(
                "--max-ops must be in 1..={} (what the byte format holds)",
                bytes::MAX_OPS
            )));
        }
        o.max_ops = m as usize;
    }
    if let Some(d) = p.value("--out") {
        o.out = PathBuf::from(d);
    }
    o.corpus = match p.value("--corpus") {
        Some(d) => Some(PathBuf::from(d)),
        None => corpus_exists.then(|| PathBuf::from(DEFAULT_CORPUS)),
    };
    o.promote = !p.has("--no-promote");
    o.progress = !p.has("--quiet");
    o.json = p.has("--json");
    o.stop_on_divergence = p.has("--stop-on-divergence");
    if let Some(m) = p.value("--gen") {
        o.mode = match m {
            "swarm" => Mode::Swarm,
            "bytes" => Mode::Bytes,
            other => {
                return Err(UsageError(format!(
                    "--gen: expected swarm or bytes, found `{other}`"
                )))
            }
        };
    }
    if let Some(list) = p.value("--allow") {
        o.allowed = parse_op_kinds("--allow", list)?;
    }
    if let Some(list) = p.value("--deny") {
        let deny = parse_op_kinds("--deny", list)?;
        o.allowed.retain(|k| !deny.contains(k));
    }
    if o.allowed.is_empty() {
        return Err(UsageError("--allow/--deny leave no op kind".into()));
    }
    o.kernel = profile::parse(p.value("--kernel"))?;
    o.config = profile::default_config(profile::or_baseline(o.kernel));
    o.engine = crate::kernel_replay::parse_engine(p.value("--engine"))?;
    if o.engine.is_kernel() {
        if o.mode == Mode::Bytes {
            return Err(UsageError(format!(
                "--gen bytes does not go with --engine {} (it generates swarm sequences)",
                o.engine.name()
            )));
        }
        if crate::kernel_fuzz::kernel_kinds(&o.allowed).is_empty() {
            return Err(UsageError(
                "--allow/--deny leave no op kind the kernel engine can run".into(),
            ));
        }
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn options() {
        let o = parse_options(
            &words("--seed 0x10 --time 5 --max-ops 3 --out d --jobs 2 --json"),
            true,
        )
        .unwrap();
        assert_eq!(o.seed, 16);
        assert_eq!(o.time, Some(Duration::from_secs(5)));
        assert_eq!(o.max_ops, 3);
        assert_eq!(o.jobs, 2);
        assert!(o.json);
        assert_eq!(o.out, PathBuf::from("d"));
        assert_eq!(o.corpus, Some(PathBuf::from("corpus")));
        assert_eq!(parse_options(&[], false).unwrap(), Options::default());
        for bad in [
            "--max-ops 0",
            "--max-ops 257",
            "--jobs 0",
            "extra",
            "--gen x",
            "--allow nope",
        ] {
            assert!(parse_options(&words(bad), true).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_kernel_engine_is_an_option() {
        assert_eq!(parse_options(&[], false).unwrap().engine, Engine::Subject);
        let o = parse_options(&words("--engine kernel --runs 3 --json"), false).unwrap();
        assert_eq!((o.engine, o.runs, o.json), (Engine::Kernel, Some(3), true));
        let o = parse_options(&words("--engine qemu --time 60"), false).unwrap();
        assert_eq!(o.engine, Engine::Qemu);
        for bad in [
            "--engine guest",
            "--engine qemu --gen bytes",
            "--engine kernel --gen bytes",
            "--engine kernel --allow reclaim,hmm-fault",
        ] {
            assert!(parse_options(&words(bad), false).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_kernel_option_sets_the_models_config() {
        let o = parse_options(&[], false).unwrap();
        assert_eq!((o.kernel, &o.config), (None, &Config::default()));
        let o = parse_options(&words("--kernel 6.12 --seed 7"), false).unwrap();
        let v612 = KernelVersion::new(6, 12);
        assert_eq!(o.kernel, Some(v612));
        assert_eq!(
            o.config,
            Config {
                kernel: v612,
                ..Config::default()
            }
        );
        let o = parse_options(&words("--kernel=6.19"), false).unwrap();
        assert_eq!(
            (o.kernel, &o.config),
            (Some(KernelVersion::BASELINE), &Config::default())
        );
        // With a kernel engine the option is kept, to be checked against
        // the kernel once it is known.
        let o = parse_options(&words("--engine qemu --kernel 6.12"), false).unwrap();
        assert_eq!((o.engine, o.kernel), (Engine::Qemu, Some(v612)));
        let e = parse_options(&words("--kernel abc"), false).unwrap_err();
        assert_eq!(e.0, "--kernel: expected a version like 6.12, found `abc`");
        let e = parse_options(&words("--kernel 6"), false).unwrap_err();
        assert_eq!(e.0, "--kernel: expected a version like 6.12, found `6`");
        let e = parse_options(&words("--kernel 6.11"), false).unwrap_err();
        assert!(e.0.contains("6.12 to 6.19"), "{e:?}");
        assert!(parse_options(&words("--kernel"), false).is_err());
    }

    #[test]
    fn allow_and_deny_combine() {
        let o = parse_options(&words("--allow mmap,write,fork --deny fork"), false).unwrap();
        assert_eq!(o.allowed, vec![OpKind::Mmap, OpKind::Write]);
        let o = parse_options(&words("--deny exit,fork"), false).unwrap();
        assert_eq!(o.allowed.len(), OpKind::ALL.len() - 2);
        assert!(!o.allowed.contains(&OpKind::Exit));
        let e = parse_options(&words("--allow fork --deny fork"), false).unwrap_err();
        assert!(e.0.contains("leave no op kind"), "{e:?}");
    }
}
