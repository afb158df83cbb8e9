//! `mmdiff fuzz`: a differential campaign, the oracle against the subject.
//! Inputs come from the state-aware swarm generator ([`crate::gen`], the
//! default) or are random byte strings through the one decoder
//! ([`bytes::decode`], `--gen bytes`, what coverage-guided fuzzers see).
//! Each sequence runs on both models in lockstep with digest checks
//! ([`Check::Digest`]: cheap per op, full comparison at the end, and an
//! exact re-run when anything differs); a divergence (different outcomes or
//! states, a broken invariant, a panic) is saved as a scenario and its
//! bytes, once per [`Divergence::signature`].
//!
//! The swarm generator draws each op from the oracle's canonical state
//! ([`run_lockstep_generated`]: the oracle steps through a runner, which
//! also checks its invariants after every op, and the subject is compared
//! by digest).
//!
//! What runs is decided by the seed only: input `i` of seed `s` is the same
//! on every machine. The clock decides only when to print progress and when
//! the `--time` budget is spent.

use std::collections::BTreeSet;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mmdiff_core::bytes;
use mmdiff_core::lockstep::{run_lockstep, run_lockstep_generated, Check, Divergence};
use mmdiff_core::op::OpKind;
use mmdiff_core::text::{self, Line, Scenario};
use mmdiff_core::{Config, Model, Op};
use mmdiff_oracle::Oracle;
use mmdiff_subject::Subject;

use crate::args::{self, Opt, UsageError};
use crate::files;
pub use mmdiff_core::rng::SplitMix64;

/// Shortest and longest generated input.
pub const MIN_LEN: usize = 16;
pub const MAX_LEN: usize = 2048;

/// The next input of a campaign: a length in `MIN_LEN..=MAX_LEN`, then
/// that many random bytes.
pub fn next_input(rng: &mut SplitMix64) -> Vec<u8> {
    let len = MIN_LEN + rng.below((MAX_LEN - MIN_LEN + 1) as u64) as usize;
    let mut buf = vec![0; len];
    rng.fill(&mut buf);
    buf
}

/// FNV-1a, 64 bits: names artifacts by their contents.
pub fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Campaign settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Wall-clock budget; `None`: until `runs` inputs ran.
    pub time: Option<Duration>,
    /// Stop after this many inputs.
    pub runs: Option<u64>,
    pub seed: u64,
    /// Ops per input, at most (decoded ops beyond it are dropped).
    pub max_ops: usize,
    /// Where failing inputs go.
    pub out: PathBuf,
    /// Show progress on stderr.
    pub progress: bool,
    /// Where inputs come from.
    pub mode: Mode,
    /// Op kinds the swarm generator may use.
    pub allowed: Vec<OpKind>,
}

/// How a campaign makes its inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Ops drawn from the state with swarm weights ([`crate::gen`]).
    Swarm,
    /// Random byte strings through [`bytes::decode`].
    Bytes,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            time: Some(Duration::from_secs(60)),
            runs: None,
            seed: 0,
            max_ops: bytes::MAX_OPS,
            out: PathBuf::from("artifacts/fuzz"),
            progress: true,
            mode: Mode::Swarm,
            allowed: OpKind::ALL.to_vec(),
        }
    }
}

/// One distinct divergence the campaign saved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    /// Index of the input (0-based) that first showed it.
    pub exec: u64,
    /// [`Divergence::signature`].
    pub signature: String,
    /// `op #k `...`: reason`.
    pub description: String,
    /// The scenario written, if writing worked.
    pub artifact: Option<PathBuf>,
}

/// What a campaign did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub execs: u64,
    pub ops: u64,
    /// Failing inputs (all of them, not only distinct ones).
    pub failures: u64,
    /// Distinct failures by signature, in the order found.
    pub found: Vec<Found>,
    /// Problems writing artifacts.
    pub write_errors: Vec<String>,
}

/// At most this many distinct failures are saved per campaign.
pub const MAX_SAVED: usize = 1000;

/// Runs one input on `A` and `B` in lockstep: decode, cap at `max_ops`,
/// run. Returns the ops and the first divergence.
pub fn exec_one<A: Model, B: Model>(
    data: &[u8],
    max_ops: usize,
) -> (Vec<Op>, Option<Box<Divergence>>) {
    let mut ops = bytes::decode(data);
    ops.truncate(max_ops);
    let report = run_lockstep::<A, B>(&Config::default(), &ops, Check::Digest);
    (ops, report.divergence)
}

/// Runs one generated sequence on `A` and `B` in lockstep: a swarm
/// configuration and a length (1..=`max_ops`) from `rng`, then each op
/// drawn from `A`'s canonical state after the previous one, stopping at
/// the first divergence.
pub fn exec_generated<A: Model, B: Model>(
    rng: &mut SplitMix64,
    allowed: &[OpKind],
    max_ops: usize,
) -> (Vec<Op>, Option<Box<Divergence>>) {
    let mut gen = crate::gen::Generator::new(rng, allowed);
    let len = 1 + rng.below(max_ops.max(1) as u64) as usize;
    let (ops, report) = run_lockstep_generated::<A, B>(&Config::default(), len, |state| {
        Some(gen.next_op(rng, state))
    });
    (ops, report.divergence)
}

/// The scenario saved for a divergence: the ops up to and including the
/// divergent one, with provenance headers and a comment on that line.
pub fn artifact_scenario(ops: &[Op], d: &Divergence, seed: u64, exec: u64) -> Scenario {
    let index = d.op.as_ref().map(|_| d.index);
    let keep = index.map_or(0, |i| i + 1).min(ops.len());
    let mut s = Scenario::from_ops(&ops[..keep]);
    s.header = vec![
        ("found-by".into(), format!("mmdiff fuzz --seed {seed}")),
        ("input".into(), format!("#{exec} of the campaign")),
        ("failure".into(), d.to_string()),
        ("signature".into(), d.signature.clone()),
    ];
    if let Some(Line::Op { comment, .. }) = index.and_then(|i| s.lines.get_mut(i)) {
        *comment = Some(format!(" <- {}", d.blame()));
    }
    s
}

/// Writes `<kind>-<hash>.mms` and `.bin` (the bytes of the same ops) into
/// `dir`, atomically; returns the scenario's path. `<kind>` is
/// [`mmdiff_core::lockstep::DivergenceKind::name`].
pub fn save_artifact(
    dir: &Path,
    ops: &[Op],
    raw: &[u8],
    d: &Divergence,
    seed: u64,
    exec: u64,
) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let scenario = artifact_scenario(ops, d, seed, exec);
    // The bytes of exactly the ops in the scenario; the raw input when they
    // cannot be encoded (they always can: they came from the decoder).
    let data = bytes::encode(&scenario.ops()).unwrap_or_else(|_| raw.to_vec());
    let stem = format!("{}-{:016x}", d.kind.name(), fnv1a(&data));
    files::write_atomic(&dir.join(format!("{stem}.bin")), &data)?;
    let mms = dir.join(format!("{stem}.mms"));
    files::write_atomic(&mms, text::print(&scenario).as_bytes())?;
    Ok(mms)
}

/// Runs a campaign: the oracle against the subject.
pub fn campaign(opts: &Options, out: &mut dyn Write, err: &mut dyn Write) -> Summary {
    campaign_with::<Oracle, Subject>(opts, out, err)
}

/// Runs a campaign: `A` (the reference side) against `B`.
pub fn campaign_with<A: Model, B: Model>(
    opts: &Options,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Summary {
    let _ = writeln!(out, "seed: {}", opts.seed);
    let _ = out.flush();
    let mut rng = SplitMix64::new(opts.seed);
    let mut summary = Summary::default();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let start = Instant::now();
    let mut next_progress = Duration::from_secs(1);
    let terminal = std::io::stderr().is_terminal();
    loop {
        if opts.runs.is_some_and(|r| summary.execs >= r) {
            break;
        }
        let elapsed = start.elapsed();
        if opts.time.is_some_and(|t| elapsed >= t) {
            break;
        }
        if opts.progress && elapsed >= next_progress {
            progress(err, &summary, elapsed, terminal);
            next_progress = elapsed + Duration::from_secs(1);
        }
        let exec = summary.execs;
        let (input, (ops, failure)) = match opts.mode {
            Mode::Bytes => {
                let input = next_input(&mut rng);
                let result = exec_one::<A, B>(&input, opts.max_ops);
                (input, result)
            }
            Mode::Swarm => (
                Vec::new(),
                exec_generated::<A, B>(&mut rng, &opts.allowed, opts.max_ops),
            ),
        };
        summary.execs += 1;
        summary.ops += match &failure {
            Some(d) => d.op.as_ref().map_or(0, |_| d.index as u64 + 1),
            None => ops.len() as u64,
        };
        let Some(failure) = failure else { continue };
        summary.failures += 1;
        let signature = failure.signature.clone();
        if seen.len() >= MAX_SAVED || !seen.insert(signature.clone()) {
            continue;
        }
        let artifact = match save_artifact(&opts.out, &ops, &input, &failure, opts.seed, exec) {
            Ok(p) => Some(p),
            Err(e) => {
                summary
                    .write_errors
                    .push(format!("{}: {e}", opts.out.display()));
                None
            }
        };
        if opts.progress && terminal {
            let _ = write!(err, "\r\x1b[2K");
        }
        let _ = writeln!(
            out,
            "new divergence {signature}: {}{}",
            failure,
            artifact
                .as_ref()
                .map(|p| format!("\n  saved: {}", p.display()))
                .unwrap_or_default()
        );
        let _ = out.flush();
        summary.found.push(Found {
            exec,
            signature,
            description: failure.to_string(),
            artifact,
        });
    }
    let elapsed = start.elapsed();
    if opts.progress {
        progress(err, &summary, elapsed, terminal);
        if terminal {
            let _ = writeln!(err);
        }
    }
    report(out, &summary, elapsed);
    summary
}

fn rate(n: u64, elapsed: Duration) -> u64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 {
        (n as f64 / secs) as u64
    } else {
        0
    }
}

fn progress(err: &mut dyn Write, s: &Summary, elapsed: Duration, terminal: bool) {
    let line = format!(
        "[{:>4}s] execs {} ({}/s)  ops {} ({}/s)  failures {} ({} distinct)",
        elapsed.as_secs(),
        s.execs,
        rate(s.execs, elapsed),
        s.ops,
        rate(s.ops, elapsed),
        s.failures,
        s.found.len()
    );
    if terminal {
        let _ = write!(err, "\r\x1b[2K{line}");
    } else {
        let _ = writeln!(err, "{line}");
    }
    let _ = err.flush();
}

fn report(out: &mut dyn Write, s: &Summary, elapsed: Duration) {
    let _ = writeln!(
        out,
        "fuzz: {} execs, {} ops in {:.1}s ({} execs/s, {} ops/s); {} failing input{}, {} distinct",
        s.execs,
        s.ops,
        elapsed.as_secs_f64(),
        rate(s.execs, elapsed),
        rate(s.ops, elapsed),
        s.failures,
        if s.failures == 1 { "" } else { "s" },
        s.found.len()
    );
    for f in &s.found {
        match &f.artifact {
            Some(p) => {
                let _ = writeln!(out, "  {} -> mmdiff replay {}", f.signature, p.display());
            }
            None => {
                let _ = writeln!(out, "  {} (input #{}, not saved)", f.signature, f.exec);
            }
        }
    }
    for e in &s.write_errors {
        let _ = writeln!(out, "  cannot save: {e}");
    }
}

pub const USAGE: &str = "\
usage: mmdiff fuzz [--time SECS] [--seed N] [--runs N] [--max-ops N] [--out DIR]
                   [--gen swarm|bytes] [--ops KIND,...|-KIND,...]

Runs generated op sequences on the oracle and the subject in lockstep
(digests compared after every op, full states and invariants at the end,
an exact re-run on any difference; panics are caught). Each divergence
with a new signature (`<op>/<what>:<field>`) is saved as <kind>-<hash>.mms
(scenario) and .bin (bytes) in the output directory; replay it with
`mmdiff replay <file>`.

  --time SECS    wall-clock budget (default 60; 0: no limit, needs --runs)
  --seed N       decimal or 0x-hex (default 0); same seed, same inputs
  --runs N       stop after N inputs
  --max-ops N    ops per input at most (default 256)
  --out DIR      where divergences go (default artifacts/fuzz)
  --gen MODE     swarm (default): ops drawn from the current state with
                 per-sequence swarm weights; bytes: random bytes through the
                 shared decoder (what cargo fuzz and AFL see)
  --ops LIST     op kinds the swarm may use: `mmap,write,gup` allows only
                 those, `-exit,-fork` allows all but those
  --quiet        no progress lines

Exit status: 0 when nothing diverged, 1 on any divergence, 2 on usage errors.";

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
        names: &["--runs"],
        takes_value: true,
    },
    Opt {
        names: &["--max-ops"],
        takes_value: true,
    },
    Opt {
        names: &["--out", "-o"],
        takes_value: true,
    },
    Opt {
        names: &["--quiet", "-q"],
        takes_value: false,
    },
    Opt {
        names: &["--gen"],
        takes_value: true,
    },
    Opt {
        names: &["--ops"],
        takes_value: true,
    },
];

/// Parses `--ops`: a comma-separated list of op keywords to allow, or of
/// `-keyword`s to leave out of the full set (not both).
pub fn parse_op_kinds(list: &str) -> Result<Vec<OpKind>, UsageError> {
    let words: Vec<&str> = list
        .split(',')
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .collect();
    let minus = words.iter().filter(|w| w.starts_with('-')).count();
    if minus != 0 && minus != words.len() {
        return Err(UsageError(
            "--ops: either kinds to allow or -kinds to leave out, not both".into(),
        ));
    }
    let mut named = Vec::new();
    for w in &words {
        let name = w.trim_start_matches('-');
        let kind = OpKind::from_keyword(name)
            .ok_or_else(|| UsageError(format!("--ops: unknown op kind `{name}`")))?;
        named.push(kind);
    }
    let allowed: Vec<OpKind> = if minus > 0 {
        OpKind::ALL
            .iter()
            .copied()
            .filter(|k| !named.contains(k))
            .collect()
    } else {
        named
    };
    if allowed.is_empty() {
        return Err(UsageError("--ops leaves no op kind".into()));
    }
    Ok(allowed)
}

/// Reads the options of `mmdiff fuzz`.
pub fn parse_options(argv: &[String]) -> Result<Options, UsageError> {
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
    o.runs = p.number("--runs")?;
    if let Some(m) = p.number("--max-ops")? {
        if m == 0 {
            return Err(UsageError("--max-ops must be at least 1".into()));
        }
        o.max_ops = usize::try_from(m).unwrap_or(usize::MAX);
    }
    if let Some(d) = p.value("--out") {
        o.out = PathBuf::from(d);
    }
    if o.time.is_none() && o.runs.is_none() {
        return Err(UsageError("--time 0 runs forever: give --runs N".into()));
    }
    o.progress = !p.has("--quiet");
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
    if let Some(list) = p.value("--ops") {
        o.allowed = parse_op_kinds(list)?;
    }
    Ok(o)
}

/// `mmdiff fuzz ...`; returns the exit code.
pub fn command(argv: &[String], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    match parse_options(argv) {
        Ok(o) => i32::from(campaign(&o, out, err).failures > 0),
        Err(e) => crate::usage_error(err, &e, USAGE),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::TempDir;
    use mmdiff_core::op::ProcId;
    use mmdiff_core::{Outcome, State};

    #[test]
    fn inputs_depend_on_the_seed_only() {
        let mut a = SplitMix64::new(7);
        let mut b = SplitMix64::new(7);
        for _ in 0..20 {
            let x = next_input(&mut a);
            assert!((MIN_LEN..=MAX_LEN).contains(&x.len()));
            assert_eq!(x, next_input(&mut b));
        }
        assert_ne!(
            next_input(&mut SplitMix64::new(1)),
            next_input(&mut SplitMix64::new(2))
        );
    }

    #[test]
    fn options() {
        let w = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
        let o = parse_options(&w("--seed 0x10 --time 5 --max-ops 3 --out d")).unwrap();
        assert_eq!(o.seed, 16);
        assert_eq!(o.time, Some(Duration::from_secs(5)));
        assert_eq!(o.max_ops, 3);
        assert_eq!(o.out, PathBuf::from("d"));
        assert_eq!(parse_options(&[]).unwrap(), Options::default());
        assert!(parse_options(&w("--time 0")).is_err());
        assert!(parse_options(&w("--max-ops 0")).is_err());
        assert!(parse_options(&w("extra")).is_err());
    }

    /// A model whose state is empty and consistent and whose ops all
    /// return `ok`; with `BUG` it panics on `exit p2`.
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

    #[test]
    fn identical_models_never_diverge() {
        for mode in [Mode::Swarm, Mode::Bytes] {
            let t = TempDir::new("fuzz-clean");
            let opts = Options {
                time: None,
                runs: Some(50),
                seed: 3,
                out: t.path().join("out"),
                progress: false,
                mode,
                ..Options::default()
            };
            let s = campaign_with::<Clean, Clean>(&opts, &mut Vec::new(), &mut Vec::new());
            assert_eq!((s.execs, s.failures), (50, 0), "{mode:?}");
            assert!(!t.path().join("out").exists());
        }
    }

    #[test]
    fn failures_are_saved_once_per_signature_and_replay() {
        let t = TempDir::new("fuzz");
        let opts = Options {
            time: None,
            runs: Some(200),
            seed: 3,
            out: t.path().join("out"),
            progress: false,
            ..Options::default()
        };
        let mut out = Vec::new();
        let s = campaign_with::<Clean, PanicsOnExitP2>(&opts, &mut out, &mut Vec::new());
        let out = String::from_utf8(out).unwrap();
        assert!(out.starts_with("seed: 3\n"), "{out}");
        assert_eq!(s.execs, 200);
        assert!(s.failures > 1, "random inputs contain `exit p2`: {out}");
        assert_eq!(s.found.len(), 1, "{:?}", s.found);
        assert_eq!(s.found[0].signature, "exit/panic@toy");
        assert!(out.contains("new divergence exit/panic@toy: op #"), "{out}");
        let mms = s.found[0].artifact.clone().unwrap();
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
        let scenario = text::parse(&src).unwrap();
        let ops = scenario.ops();
        assert_eq!(ops.last(), Some(&Op::Exit { p: ProcId(2) }));
        // The bytes decode to the same ops, and both replay to the failure.
        let bin = mms.with_extension("bin");
        let data = std::fs::read(&bin).unwrap();
        assert_eq!(bytes::decode(&data), ops);
        use crate::replay::{replay_bytes_lockstep, replay_text_lockstep, Verdict};
        for v in [
            replay_text_lockstep::<Clean, PanicsOnExitP2>("x.mms", &src),
            replay_bytes_lockstep::<Clean, PanicsOnExitP2>("x.bin", &data),
        ] {
            assert!(
                matches!(&v, Verdict::Fail { message, .. } if message.contains("toy panicked in apply: toy bug")),
                "{v:?}"
            );
        }
        // Same seed, same campaign.
        let t2 = TempDir::new("fuzz2");
        let s2 = campaign_with::<Clean, PanicsOnExitP2>(
            &Options {
                out: t2.path().to_path_buf(),
                ..opts
            },
            &mut Vec::new(),
            &mut Vec::new(),
        );
        assert_eq!(
            (s.execs, s.ops, s.failures),
            (s2.execs, s2.ops, s2.failures)
        );
        assert_eq!(s.found[0].description, s2.found[0].description);
    }

    #[test]
    fn byte_inputs_diverge_too() {
        let t = TempDir::new("fuzz-bytes");
        let opts = Options {
            time: None,
            runs: Some(300),
            seed: 5,
            out: t.path().join("out"),
            progress: false,
            mode: Mode::Bytes,
            ..Options::default()
        };
        let s = campaign_with::<Clean, PanicsOnExitP2>(&opts, &mut Vec::new(), &mut Vec::new());
        assert!(s.failures > 0);
        assert_eq!(s.found.len(), 1, "{:?}", s.found);
        assert_eq!(s.found[0].signature, "exit/panic@toy");
    }

    #[test]
    fn a_short_oracle_campaign_runs() {
        let t = TempDir::new("fuzz-oracle");
        let opts = Options {
            time: None,
            runs: Some(20),
            seed: 1,
            out: t.path().to_path_buf(),
            progress: false,
            ..Options::default()
        };
        let s = campaign(&opts, &mut Vec::new(), &mut Vec::new());
        assert_eq!(s.execs, 20);
        assert!(s.ops > 0);
    }
}
