//! `mmdiff bench`: how fast the subject is next to the oracle, how much
//! heap each needs, and what lockstep comparison costs.
//!
//! Each workload ([`workloads::WORKLOADS`]) runs on the oracle alone, on the
//! subject alone and in lockstep (`run_lockstep::<Oracle, Subject>` with
//! digest checks); each timing is the best of `--repeat` runs, because the
//! minimum is the figure least disturbed by the rest of the machine. Peak
//! heap is measured in a child process per model (`mmdiff bench-child
//! <workload> <model>`, not in the usage), which turns on the binary's
//! counting allocator ([`alloc`]) and resets the peak once the model and
//! the input exist, so the figure is the workload's own and no earlier
//! allocation of the parent hides in it.
//!
//! Every op of a scripted workload must succeed (or return what its line
//! expects) on both models: a workload that stops early measures nothing,
//! so that is an error, as is a lockstep divergence on one. The bench
//! never fails because a target is missed: it measures, it does not gate.

pub mod alloc;
pub mod workloads;

use std::fmt::Write as _;
use std::io::Write;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use mmdiff_core::lockstep::{self, run_lockstep};
use mmdiff_core::text;
use mmdiff_core::{Model, Op};
use mmdiff_oracle::Oracle;
use mmdiff_subject::Subject;

use crate::args::{self, Opt, UsageError};
use crate::files;
use workloads::{Kind, Script, Sequences, Workload, WORKLOADS};

pub const USAGE: &str = "\
usage: mmdiff bench [--quick] [--json] [--only NAME] [--repeat N]

Times every workload on the oracle alone, the subject alone and both in
lockstep (digest checks after every op), best of N runs, and measures each
model's peak heap in a child process. Prints a table and whether each
performance target is met; the exit status is 0 whether or not they are.

workloads (ops in triage/bench-workloads/*.mms):
  thp1g-hmm-fault     1 GiB MADV_HUGEPAGE anon region: write all, hmm-fault
                      snapshot of all
  thp1g-pin-longterm  same region: write all, gup pin longterm of all, release
  thp1g-migrate-dev   same region: write all, migrate-to-dev dev0 and back
  fork-cow-4k         64 MiB of 4 KiB pages: write, fork, child rewrites all
                      (COW), hmm-fault in both
  seq64               10,000 swarm-generated 64-op sequences (fixed seed)

targets: subject >= 20x oracle on each thp1g workload and >= 2x on
fork-cow-4k; subject peak <= oracle peak / 10 on the thp1g workloads;
seq64 in lockstep >= 5,000 sequences/s and <= 1.5 x (oracle + subject).

  --quick      1/16 of the page counts and 100 sequences, one run each
               (a smoke test; the targets are for full-size runs)
  --json       print one JSON object instead of the table
  --only NAME  run one workload
  --repeat N   runs per timing, best taken (default 3; 1 with --quick)

Exit status: 0 when every workload ran, 1 on errors, 2 on usage errors.";

const OPTS: &[Opt] = &[
    Opt {
        names: &["--quick"],
        takes_value: false,
    },
    Opt {
        names: &["--json"],
        takes_value: false,
    },
    Opt {
        names: &["--only"],
        takes_value: true,
    },
    Opt {
        names: &["--repeat"],
        takes_value: true,
    },
];

/// What `mmdiff bench` was asked to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    pub quick: bool,
    pub json: bool,
    /// The one workload to run (a name from [`WORKLOADS`]).
    pub only: Option<&'static str>,
    /// Runs per timing; the minimum is reported.
    pub repeat: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            quick: false,
            json: false,
            only: None,
            repeat: 3,
        }
    }
}

impl Options {
    /// The workloads this run measures, in order.
    pub fn selected(&self) -> Vec<&'static Workload> {
        WORKLOADS
            .iter()
            .filter(|w| self.only.is_none_or(|o| o == w.name))
            .collect()
    }
}

fn workload_names() -> String {
    WORKLOADS
        .iter()
        .map(|w| w.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads the options of `mmdiff bench`.
pub fn parse_options(argv: &[String]) -> Result<Options, UsageError> {
    let p = args::parse(argv, OPTS)?;
    if let Some(extra) = p.positional.first() {
        return Err(UsageError(format!("unexpected argument `{extra}`")));
    }
    let quick = p.has("--quick");
    let repeat = match p.number("--repeat")? {
        Some(0) => return Err(UsageError("--repeat must be at least 1".into())),
        Some(n) => {
            u32::try_from(n).map_err(|_| UsageError(format!("--repeat {n} is too large")))?
        }
        None if quick => 1,
        None => 3,
    };
    let only = match p.value("--only") {
        None => None,
        Some(name) => Some(
            workloads::find(name)
                .ok_or_else(|| {
                    UsageError(format!(
                        "--only: unknown workload `{name}` (one of {})",
                        workload_names()
                    ))
                })?
                .name,
        ),
    };
    Ok(Options {
        quick,
        json: p.has("--json"),
        only,
        repeat,
    })
}

/// Which model a child process measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    Oracle,
    Subject,
}

impl Which {
    pub fn name(self) -> &'static str {
        match self {
            Which::Oracle => "oracle",
            Which::Subject => "subject",
        }
    }

    pub fn from_name(s: &str) -> Option<Which> {
        match s {
            "oracle" => Some(Which::Oracle),
            "subject" => Some(Which::Subject),
            _ => None,
        }
    }
}

/// The generated-sequence part of a measurement.
#[derive(Clone, Debug, PartialEq)]
pub struct SeqFigures {
    pub seed: u64,
    pub count: u64,
    pub len: u64,
    /// Sequences the generator dropped (the oracle panicked).
    pub skipped: u64,
    /// Sequences on which the lockstep run found a divergence (and so
    /// stopped early).
    pub divergent: u64,
    /// Ops the lockstep runs executed.
    pub lockstep_ops: u64,
    /// Sequences that panicked when run on one model alone.
    pub oracle_panicked: u64,
    pub subject_panicked: u64,
}

/// What one workload measured.
#[derive(Clone, Debug, PartialEq)]
pub struct Measurement {
    pub name: &'static str,
    /// Ops per run (all sequences together for `seq64`).
    pub ops: u64,
    pub oracle_s: f64,
    pub subject_s: f64,
    pub lockstep_s: f64,
    pub oracle_peak_bytes: u64,
    pub subject_peak_bytes: u64,
    pub seqs: Option<SeqFigures>,
}

impl Measurement {
    pub fn speedup(&self) -> f64 {
        self.oracle_s / self.subject_s
    }

    /// What lockstep costs over running the two models one after another.
    pub fn lockstep_ratio(&self) -> f64 {
        self.lockstep_s / (self.oracle_s + self.subject_s)
    }
}

/// How a target compares its value with its threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    AtLeast,
    AtMost,
}

impl Bound {
    pub fn symbol(self) -> &'static str {
        match self {
            Bound::AtLeast => ">=",
            Bound::AtMost => "<=",
        }
    }
}

/// One performance target and whether this run met it.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    pub workload: &'static str,
    /// E.g. `subject >= 20x oracle`.
    pub what: &'static str,
    /// The measured quantity (speedup, peak ratio, sequences/s, ...).
    pub value: f64,
    pub bound: Bound,
    pub threshold: f64,
    pub met: bool,
    /// The measured value, for the report line.
    pub shown: String,
}

/// The targets that apply to the measured workloads.
pub fn targets(ms: &[Measurement]) -> Vec<Target> {
    let mut out = Vec::new();
    let mut target = |m: &Measurement, what, value: f64, bound, threshold: f64, shown: String| {
        let met = match bound {
            Bound::AtLeast => value >= threshold,
            Bound::AtMost => value <= threshold,
        };
        out.push(Target {
            workload: m.name,
            what,
            value,
            bound,
            threshold,
            met,
            shown,
        });
    };
    for m in ms {
        let speedup = format!("{:.2}x", m.speedup());
        if m.name.starts_with("thp1g-") {
            target(
                m,
                "subject >= 20x oracle",
                m.speedup(),
                Bound::AtLeast,
                20.0,
                speedup,
            );
            let ratio = m.subject_peak_bytes as f64 / m.oracle_peak_bytes as f64;
            target(
                m,
                "subject peak <= oracle peak / 10",
                ratio,
                Bound::AtMost,
                0.1,
                format!(
                    "{} vs {}, subject/oracle = {ratio:.3}",
                    mib(m.subject_peak_bytes),
                    mib(m.oracle_peak_bytes)
                ),
            );
        } else if m.name == "fork-cow-4k" {
            target(
                m,
                "subject >= 2x oracle",
                m.speedup(),
                Bound::AtLeast,
                2.0,
                speedup,
            );
        } else if let Some(s) = &m.seqs {
            let rate = s.count as f64 / m.lockstep_s;
            target(
                m,
                "lockstep >= 5,000 sequences/s",
                rate,
                Bound::AtLeast,
                5000.0,
                format!("{rate:.0} seq/s"),
            );
            let ratio = m.lockstep_ratio();
            target(
                m,
                "lockstep <= 1.5 x (oracle + subject)",
                ratio,
                Bound::AtMost,
                1.5,
                format!("{ratio:.2} x"),
            );
        }
    }
    out
}

/// Runs `f` `repeat` times; returns the shortest wall time and the last
/// result. A panic is an error like any other (the bench never crashes on
/// a model's panic).
fn best_of<T>(repeat: u32, mut f: impl FnMut() -> Result<T, String>) -> Result<(f64, T), String> {
    let mut best = f64::INFINITY;
    let mut last = None;
    for _ in 0..repeat.max(1) {
        let start = Instant::now();
        let result = panic::catch_unwind(AssertUnwindSafe(&mut f))
            .map_err(|p| format!("panicked: {}", panic_message(p.as_ref())))??;
        best = best.min(start.elapsed().as_secs_f64());
        last = Some(result);
    }
    last.map(|r| (best, r)).ok_or_else(|| "no run".to_string())
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}

/// One scripted run on `M` from a fresh start, checking every outcome.
fn run_script<M: Model>(s: &Script) -> Result<(), String> {
    let mut model = M::new(&s.config);
    run_script_on(&mut model, s)
}

fn run_script_on<M: Model>(model: &mut M, s: &Script) -> Result<(), String> {
    for (i, (op, expected)) in s.ops.iter().zip(&s.expects).enumerate() {
        let outcome = model.apply(op);
        workloads::check_outcome(op, expected.as_ref(), &outcome)
            .map_err(|e| format!("{}: op #{i} {e}", model.name()))?;
    }
    Ok(())
}

fn lockstep_script(s: &Script) -> Result<(), String> {
    let r = run_lockstep::<Oracle, Subject>(&s.config, &s.ops, lockstep::Check::Digest);
    if let Some(d) = &r.divergence {
        return Err(format!(
            "lockstep diverged at op #{}: {}",
            d.index, d.signature
        ));
    }
    if r.ops_run != s.ops.len() {
        return Err(format!("lockstep ran {} of {} ops", r.ops_run, s.ops.len()));
    }
    Ok(())
}

/// Every sequence on a fresh `M`; returns the ops run and how many
/// sequences panicked. A panic ends its sequence only: one bug in ten
/// thousand sequences should not cost the whole measurement (lockstep
/// reports the same sequence as a divergence).
fn run_seqs<M: Model>(seqs: &Sequences) -> (u64, u64) {
    let (mut ops, mut panicked) = (0, 0);
    for seq in &seqs.seqs {
        let run = panic::catch_unwind(AssertUnwindSafe(|| {
            let mut model = M::new(&seqs.config);
            for op in seq {
                std::hint::black_box(model.apply(op));
            }
        }));
        match run {
            Ok(()) => ops += seq.len() as u64,
            Err(_) => panicked += 1,
        }
    }
    (ops, panicked)
}

/// Every sequence in lockstep; returns the ops run and how many sequences
/// diverged.
fn lockstep_seqs(seqs: &Sequences) -> (u64, u64) {
    let (mut ops, mut divergent) = (0, 0);
    for seq in &seqs.seqs {
        let r = run_lockstep::<Oracle, Subject>(&seqs.config, seq, lockstep::Check::Digest);
        ops += r.ops_run as u64;
        divergent += u64::from(r.divergence.is_some());
    }
    (ops, divergent)
}

/// The sequences of a [`Kind::Sequences`] workload.
fn sequences(w: &Workload, quick: bool) -> Result<Sequences, String> {
    let count = if quick {
        workloads::SEQS / w.quick_factor.max(1) as usize
    } else {
        workloads::SEQS
    };
    workloads::generate(workloads::SEQ_SEED, count, workloads::SEQ_LEN)
}

fn script(w: &Workload, quick: bool) -> Result<Script, String> {
    match w.kind {
        Kind::Script(src) => Script::load(src, if quick { w.quick_factor } else { 1 })
            .map_err(|e| format!("triage/bench-workloads/{}.mms: {e}", w.name)),
        Kind::Sequences => Err(format!("{} is not a script", w.name)),
    }
}

/// Measures peak heap: of a model on a workload, given the file that holds
/// the workload's generated sequences (if it has any).
pub type PeakProbe<'a> = &'a dyn Fn(&Workload, Which, Option<&Path>) -> Result<u64, String>;

/// Measures one workload: timings here, peaks through `peak`.
pub fn measure(
    w: &'static Workload,
    opts: &Options,
    peak: PeakProbe,
    err: &mut dyn Write,
) -> Result<Measurement, String> {
    let note = |err: &mut dyn Write, what: &str, s: f64| {
        let _ = writeln!(err, "bench: {}: {what} {s:.4} s", w.name);
        let _ = err.flush();
    };
    let _ = writeln!(err, "bench: {}: {}", w.name, w.about);
    let r = opts.repeat;
    // The generated sequences, saved for the child processes: generating
    // them again there would cost more than all of their timed runs.
    let mut seq_file = None;
    let m = match w.kind {
        Kind::Script(_) => {
            let s = script(w, opts.quick)?;
            let (oracle_s, ()) = best_of(r, || run_script::<Oracle>(&s))?;
            note(err, "oracle", oracle_s);
            let (subject_s, ()) = best_of(r, || run_script::<Subject>(&s))?;
            note(err, "subject", subject_s);
            let (lockstep_s, ()) = best_of(r, || lockstep_script(&s))?;
            note(err, "lockstep", lockstep_s);
            Measurement {
                name: w.name,
                ops: s.ops.len() as u64,
                oracle_s,
                subject_s,
                lockstep_s,
                oracle_peak_bytes: 0,
                subject_peak_bytes: 0,
                seqs: None,
            }
        }
        Kind::Sequences => {
            let start = Instant::now();
            let seqs = sequences(w, opts.quick)?;
            let _ = writeln!(
                err,
                "bench: {}: {} sequences of {} ops from seed {:#x}",
                w.name,
                seqs.seqs.len(),
                workloads::SEQ_LEN,
                workloads::SEQ_SEED
            );
            note(
                err,
                "generating them (untimed)",
                start.elapsed().as_secs_f64(),
            );
            seq_file = Some(SeqFile::write(&seqs)?);
            let (oracle_s, (ops, oracle_panicked)) = best_of(r, || Ok(run_seqs::<Oracle>(&seqs)))?;
            note(err, "oracle", oracle_s);
            let (subject_s, (_, subject_panicked)) = best_of(r, || Ok(run_seqs::<Subject>(&seqs)))?;
            note(err, "subject", subject_s);
            let (lockstep_s, (lockstep_ops, divergent)) = best_of(r, || Ok(lockstep_seqs(&seqs)))?;
            note(err, "lockstep", lockstep_s);
            Measurement {
                name: w.name,
                ops,
                oracle_s,
                subject_s,
                lockstep_s,
                oracle_peak_bytes: 0,
                subject_peak_bytes: 0,
                seqs: Some(SeqFigures {
                    seed: workloads::SEQ_SEED,
                    count: seqs.seqs.len() as u64,
                    len: workloads::SEQ_LEN as u64,
                    skipped: seqs.skipped as u64,
                    divergent,
                    lockstep_ops,
                    oracle_panicked,
                    subject_panicked,
                }),
            }
        }
    };
    let path = seq_file.as_ref().map(|f| f.0.as_path());
    let oracle_peak_bytes = peak(w, Which::Oracle, path)?;
    let subject_peak_bytes = peak(w, Which::Subject, path)?;
    let _ = writeln!(
        err,
        "bench: {}: peak heap oracle {}, subject {}",
        w.name,
        mib(oracle_peak_bytes),
        mib(subject_peak_bytes)
    );
    Ok(Measurement {
        oracle_peak_bytes,
        subject_peak_bytes,
        ..m
    })
}

/// Generated sequences as scenario text in a temporary file, removed on
/// drop: one op per line, [`workloads::SEQ_LEN`] lines per sequence.
struct SeqFile(PathBuf);

impl SeqFile {
    fn write(seqs: &Sequences) -> Result<SeqFile, String> {
        let path =
            std::env::temp_dir().join(format!("mmdiff-bench-seqs-{}.mms", std::process::id()));
        let mut src = format!("#! seed: {:#x}\n", workloads::SEQ_SEED);
        for (i, seq) in seqs.seqs.iter().enumerate() {
            let _ = writeln!(src, "# sequence {i}");
            for op in seq {
                src.push_str(&text::op_to_string(op));
                src.push('\n');
            }
        }
        files::write_atomic(&path, src.as_bytes())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(SeqFile(path))
    }

    fn read(path: &Path) -> Result<Sequences, String> {
        let src = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let ops = text::parse(&src)
            .map_err(|e| e.with_file(&path.display().to_string()))?
            .ops();
        if ops.len() % workloads::SEQ_LEN != 0 {
            return Err(format!(
                "{}: {} ops is not a whole number of {}-op sequences",
                path.display(),
                ops.len(),
                workloads::SEQ_LEN
            ));
        }
        Ok(Sequences {
            config: mmdiff_core::Config::default(),
            seqs: ops.chunks(workloads::SEQ_LEN).map(<[Op]>::to_vec).collect(),
            skipped: 0,
        })
    }
}

impl Drop for SeqFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Peak heap of `which` on `w`, from a child process of this binary.
pub fn child_peak(
    w: &Workload,
    which: Which,
    quick: bool,
    seqs: Option<&Path>,
) -> Result<u64, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this binary: {e}"))?;
    let mut cmd = Command::new(&exe);
    cmd.args(["bench-child", w.name, which.name()]);
    if quick {
        cmd.arg("--quick");
    }
    if let Some(path) = seqs {
        cmd.arg("--seqs").arg(path);
    }
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {}: {e}", exe.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!(
            "peak heap of the {} ({}): {}",
            which.name(),
            out.status,
            stderr.trim()
        ));
    }
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("peak_bytes "))
        .and_then(|n| n.trim().parse::<u64>().ok())
        .ok_or_else(|| {
            format!(
                "peak heap of the {}: no `peak_bytes N` line in `{}`",
                which.name(),
                stdout.trim()
            )
        })
}

/// `mmdiff bench-child <workload> oracle|subject [--quick]`: runs the
/// workload once on one model and prints `peak_bytes N`, the most heap it
/// held above what the model and the input took before the first op.
pub fn child_command(argv: &[String], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    const CHILD_USAGE: &str =
        "usage: mmdiff bench-child <workload> oracle|subject [--quick] [--seqs FILE]";
    alloc::enable();
    let opts = [
        Opt {
            names: &["--quick"],
            takes_value: false,
        },
        Opt {
            names: &["--seqs"],
            takes_value: true,
        },
    ];
    let parsed = match args::parse(argv, &opts) {
        Ok(p) => p,
        Err(e) => return crate::usage_error(err, &e, CHILD_USAGE),
    };
    let (w, which) = match parsed.positional.as_slice() {
        [w, m] => match (workloads::find(w), Which::from_name(m)) {
            (Some(w), Some(m)) => (w, m),
            _ => {
                let e = UsageError(format!("unknown workload or model `{w} {m}`"));
                return crate::usage_error(err, &e, CHILD_USAGE);
            }
        },
        _ => {
            let e = UsageError("expected a workload and a model".into());
            return crate::usage_error(err, &e, CHILD_USAGE);
        }
    };
    let quick = parsed.has("--quick");
    let seqs = parsed.value("--seqs").map(Path::new);
    let result = match which {
        Which::Oracle => child_run::<Oracle>(w, quick, seqs),
        Which::Subject => child_run::<Subject>(w, quick, seqs),
    };
    match result {
        Ok(bytes) if !alloc::installed() => {
            let _ = writeln!(
                err,
                "error: the counting allocator is not installed (peak {bytes} is meaningless)"
            );
            1
        }
        Ok(bytes) => {
            let _ = writeln!(out, "peak_bytes {bytes}");
            0
        }
        Err(e) => {
            let _ = writeln!(err, "error: {}: {e}", w.name);
            1
        }
    }
}

fn child_run<M: Model>(w: &Workload, quick: bool, seq_file: Option<&Path>) -> Result<u64, String> {
    match w.kind {
        Kind::Script(_) => {
            let s = script(w, quick)?;
            let mut model = M::new(&s.config);
            let base = alloc::reset_peak();
            run_script_on(&mut model, &s)?;
            let peak = alloc::peak_since(base);
            drop(model);
            Ok(peak)
        }
        Kind::Sequences => {
            let seqs = match seq_file {
                Some(path) => SeqFile::read(path)?,
                None => sequences(w, quick)?,
            };
            let base = alloc::reset_peak();
            run_seqs::<M>(&seqs);
            Ok(alloc::peak_since(base))
        }
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// A JSON string literal.
fn json_str(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// A JSON number; `null` for what JSON cannot say (inf, NaN).
fn json_num(v: f64) -> String {
    if v.is_finite() {
        // Rust's shortest round-trip form never uses an exponent, and
        // always parses as a JSON number.
        format!("{v}")
    } else {
        "null".into()
    }
}

/// The `--json` report: one object, `workloads` first.
pub fn to_json(opts: &Options, ms: &[Measurement], ts: &[Target], errors: &[String]) -> String {
    let mut o = String::from("{\"workloads\": [");
    for (i, m) in ms.iter().enumerate() {
        if i > 0 {
            o.push_str(", ");
        }
        let _ = write!(
            o,
            "{{\"name\": {}, \"oracle_s\": {}, \"subject_s\": {}, \"lockstep_s\": {}, \
             \"speedup\": {}, \"oracle_peak_bytes\": {}, \"subject_peak_bytes\": {}, \
             \"lockstep_ratio\": {}, \"ops\": {}",
            json_str(m.name),
            json_num(m.oracle_s),
            json_num(m.subject_s),
            json_num(m.lockstep_s),
            json_num(m.speedup()),
            m.oracle_peak_bytes,
            m.subject_peak_bytes,
            json_num(m.lockstep_ratio()),
            m.ops,
        );
        if let Some(s) = &m.seqs {
            let _ = write!(
                o,
                ", \"seed\": {}, \"seqs\": {}, \"seq_len\": {}, \"skipped_seqs\": {}, \
                 \"divergent_seqs\": {}, \"seqs_per_s\": {}, \"ops_per_s\": {}, \
                 \"oracle_seqs_per_s\": {}, \"subject_seqs_per_s\": {}, \
                 \"oracle_ops_per_s\": {}, \"subject_ops_per_s\": {}, \
                 \"oracle_panicked_seqs\": {}, \"subject_panicked_seqs\": {}",
                s.seed,
                s.count,
                s.len,
                s.skipped,
                s.divergent,
                json_num(s.count as f64 / m.lockstep_s),
                json_num(s.lockstep_ops as f64 / m.lockstep_s),
                json_num(s.count as f64 / m.oracle_s),
                json_num(s.count as f64 / m.subject_s),
                json_num(m.ops as f64 / m.oracle_s),
                json_num(m.ops as f64 / m.subject_s),
                s.oracle_panicked,
                s.subject_panicked,
            );
        }
        o.push('}');
    }
    let _ = write!(
        o,
        "], \"quick\": {}, \"repeat\": {}, \"targets\": [",
        opts.quick, opts.repeat
    );
    for (i, t) in ts.iter().enumerate() {
        if i > 0 {
            o.push_str(", ");
        }
        let _ = write!(
            o,
            "{{\"workload\": {}, \"target\": {}, \"value\": {}, \"bound\": {}, \
             \"threshold\": {}, \"met\": {}}}",
            json_str(t.workload),
            json_str(t.what),
            json_num(t.value),
            json_str(t.bound.symbol()),
            json_num(t.threshold),
            t.met
        );
    }
    o.push_str("], \"errors\": [");
    let errors: Vec<String> = errors.iter().map(|e| json_str(e)).collect();
    o.push_str(&errors.join(", "));
    o.push_str("]}");
    o
}

/// The human report: the table, the sequence figures, the targets.
pub fn to_table(opts: &Options, ms: &[Measurement], ts: &[Target]) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{:<20} {:>10} {:>10} {:>11} {:>8} {:>12} {:>12} {:>9}",
        "workload",
        "oracle s",
        "subject s",
        "lockstep s",
        "speedup",
        "oracle peak",
        "subject peak",
        "ls/(o+s)"
    );
    for m in ms {
        let _ = writeln!(
            o,
            "{:<20} {:>10.4} {:>10.4} {:>11.4} {:>7.2}x {:>12} {:>12} {:>9.2}",
            m.name,
            m.oracle_s,
            m.subject_s,
            m.lockstep_s,
            m.speedup(),
            mib(m.oracle_peak_bytes),
            mib(m.subject_peak_bytes),
            m.lockstep_ratio()
        );
    }
    for m in ms {
        let Some(s) = &m.seqs else { continue };
        let _ = writeln!(
            o,
            "\n{}: {} sequences of {} ops (seed {:#x}{}): lockstep {:.0} seq/s ({:.0} ops/s), \
             oracle {:.0} seq/s ({:.0} ops/s), subject {:.0} seq/s ({:.0} ops/s); \
             {} divergent sequence{}",
            m.name,
            s.count,
            s.len,
            s.seed,
            if s.skipped > 0 {
                format!(
                    ", {} skipped: the oracle panicked generating them",
                    s.skipped
                )
            } else {
                String::new()
            },
            s.count as f64 / m.lockstep_s,
            s.lockstep_ops as f64 / m.lockstep_s,
            s.count as f64 / m.oracle_s,
            m.ops as f64 / m.oracle_s,
            s.count as f64 / m.subject_s,
            m.ops as f64 / m.subject_s,
            s.divergent,
            if s.divergent == 1 { "" } else { "s" }
        );
        if s.oracle_panicked + s.subject_panicked > 0 {
            let _ = writeln!(
                o,
                "{}: sequences that panicked alone: oracle {}, subject {}",
                m.name, s.oracle_panicked, s.subject_panicked
            );
        }
    }
    if !ts.is_empty() {
        let _ = writeln!(
            o,
            "\ntargets{}:",
            if opts.quick {
                " (--quick: sizes are scaled down, the targets are for full runs)"
            } else {
                ""
            }
        );
        for t in ts {
            let _ = writeln!(
                o,
                "  {:<8} {}: {} ({})",
                if t.met { "MET" } else { "NOT MET" },
                t.workload,
                t.what,
                t.shown
            );
        }
    }
    o
}

/// `mmdiff bench ...`; returns the exit code.
pub fn command(argv: &[String], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let opts = match parse_options(argv) {
        Ok(o) => o,
        Err(e) => return crate::usage_error(err, &e, USAGE),
    };
    let _ = writeln!(
        err,
        "bench: {}, best of {}",
        if opts.quick {
            "--quick (scaled down)"
        } else {
            "full size"
        },
        opts.repeat,
    );
    let quick = opts.quick;
    let peak =
        move |w: &Workload, which: Which, seqs: Option<&Path>| child_peak(w, which, quick, seqs);
    let mut ms = Vec::new();
    let mut errors = Vec::new();
    for w in opts.selected() {
        match measure(w, &opts, &peak, err) {
            Ok(m) => ms.push(m),
            Err(e) => {
                let _ = writeln!(err, "error: {}: {e}", w.name);
                errors.push(format!("{}: {e}", w.name));
            }
        }
    }
    let ts = targets(&ms);
    if opts.json {
        let _ = writeln!(out, "{}", to_json(&opts, &ms, &ts, &errors));
    } else {
        let _ = write!(out, "{}", to_table(&opts, &ms, &ts));
        for e in &errors {
            let _ = writeln!(out, "error: {e}");
        }
    }
    let _ = out.flush();
    i32::from(!errors.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn options() {
        assert_eq!(parse_options(&[]).unwrap(), Options::default());
        let o = parse_options(&w("--quick --json --only seq64")).unwrap();
        assert_eq!(
            o,
            Options {
                quick: true,
                json: true,
                only: Some("seq64"),
                repeat: 1
            }
        );
        assert_eq!(o.selected().len(), 1);
        assert_eq!(parse_options(&w("--quick --repeat 5")).unwrap().repeat, 5);
        assert_eq!(parse_options(&w("--repeat=2")).unwrap().repeat, 2);
        assert_eq!(Options::default().selected().len(), WORKLOADS.len());
        for bad in [
            "--repeat 0",
            "--repeat x",
            "--repeat 99999999999",
            "--only nope",
            "--only",
            "extra",
            "--json=1",
            "--fast",
        ] {
            assert!(parse_options(&w(bad)).is_err(), "{bad}");
        }
        let e = parse_options(&w("--only nope")).unwrap_err();
        assert!(e.0.contains("thp1g-hmm-fault"), "{e}");
        for wl in WORKLOADS {
            assert!(USAGE.contains(&format!("  {} ", wl.name)), "{}", wl.name);
        }
    }

    fn sample() -> Vec<Measurement> {
        vec![
            Measurement {
                name: "thp1g-hmm-fault",
                ops: 4,
                oracle_s: 2.0,
                subject_s: 0.05,
                lockstep_s: 2.5,
                oracle_peak_bytes: 1000,
                subject_peak_bytes: 200,
                seqs: None,
            },
            Measurement {
                name: "seq64",
                ops: 640,
                oracle_s: 1.0,
                subject_s: 1.0,
                lockstep_s: 2.0,
                oracle_peak_bytes: 10,
                subject_peak_bytes: 10,
                seqs: Some(SeqFigures {
                    seed: 7,
                    count: 10,
                    len: 64,
                    skipped: 0,
                    divergent: 1,
                    lockstep_ops: 600,
                    oracle_panicked: 0,
                    subject_panicked: 0,
                }),
            },
        ]
    }

    #[test]
    fn targets_are_met_or_not() {
        let ts = targets(&sample());
        let met: Vec<(&str, bool)> = ts.iter().map(|t| (t.what, t.met)).collect();
        assert_eq!(
            met,
            [
                ("subject >= 20x oracle", true),
                ("subject peak <= oracle peak / 10", false),
                ("lockstep >= 5,000 sequences/s", false),
                ("lockstep <= 1.5 x (oracle + subject)", true),
            ]
        );
    }

    /// The JSON shape: one object, every workload with the required keys,
    /// and nothing JSON cannot parse (checked by a tiny recursive-descent
    /// validator below).
    #[test]
    fn json_shape() {
        let ms = sample();
        let mut bad = ms[0].clone();
        bad.name = "weird \"name\"\n";
        bad.subject_s = 0.0;
        let all = [ms.clone(), vec![bad]].concat();
        let j = to_json(
            &Options::default(),
            &all,
            &targets(&ms),
            &["x: \"y\"".into()],
        );
        assert!(
            j.starts_with("{\"workloads\": [{\"name\": \"thp1g-hmm-fault\", \"oracle_s\": 2,"),
            "{j}"
        );
        validate_json(&j).unwrap_or_else(|e| panic!("{e}: {j}"));
        for key in [
            "name",
            "oracle_s",
            "subject_s",
            "lockstep_s",
            "speedup",
            "oracle_peak_bytes",
            "subject_peak_bytes",
        ] {
            assert_eq!(j.matches(&format!("\"{key}\": ")).count(), 3, "{key}: {j}");
        }
        assert!(j.contains("\"speedup\": 40,"), "{j}");
        assert!(j.contains("\"speedup\": null"), "{j}");
        assert!(j.contains("\"seqs_per_s\": 5,"), "{j}");
        assert!(j.contains("\"divergent_seqs\": 1,"), "{j}");
        assert!(j.contains("\"name\": \"weird \\\"name\\\"\\n\""), "{j}");
        assert!(j.ends_with("\"errors\": [\"x: \\\"y\\\"\"]}"), "{j}");
        assert_eq!(json_num(0.25), "0.25");
        assert_eq!(json_num(1e-9), "0.000000001");
        assert_eq!(json_num(f64::NAN), "null");
    }

    #[test]
    fn table_lists_workloads_and_targets() {
        let ms = sample();
        let t = to_table(&Options::default(), &ms, &targets(&ms));
        assert!(t.starts_with("workload "), "{t}");
        assert!(t.contains("thp1g-hmm-fault"), "{t}");
        assert!(
            t.contains("  MET      thp1g-hmm-fault: subject >= 20x oracle (40.00x)"),
            "{t}"
        );
        assert!(
            t.contains("  NOT MET  seq64: lockstep >= 5,000 sequences/s (5 seq/s)"),
            "{t}"
        );
        assert!(t.contains("1 divergent sequence\n"), "{t}");
    }

    #[test]
    fn a_quick_script_runs_on_both_models() {
        let wl = workloads::find("fork-cow-4k").unwrap();
        let s = script(wl, true).unwrap();
        run_script::<Oracle>(&s).unwrap();
        run_script::<Subject>(&s).unwrap();
    }

    #[test]
    fn the_child_refuses_without_the_counting_allocator() {
        // Unit tests run without the binary's global allocator.
        let argv = w("fork-cow-4k oracle --quick");
        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(child_command(&argv, &mut out, &mut err), 1);
        assert!(String::from_utf8_lossy(&err).contains("not installed"));
        assert_eq!(child_command(&w("nope oracle"), &mut out, &mut err), 2);
        assert_eq!(child_command(&w("seq64"), &mut out, &mut err), 2);
    }

    /// Panics on `exit`; otherwise does nothing.
    struct PanicsOnExit;

    impl Model for PanicsOnExit {
        fn new(_: &mmdiff_core::Config) -> Self {
            PanicsOnExit
        }
        fn name(&self) -> &'static str {
            "toy"
        }
        fn apply(&mut self, op: &Op) -> mmdiff_core::Outcome {
            assert!(!matches!(op, Op::Exit { .. }), "toy bug");
            mmdiff_core::Outcome::OK
        }
        fn raw_state(&self) -> mmdiff_core::State {
            unreachable!("the bench never asks a model alone for its state")
        }
    }

    #[test]
    fn a_panicking_sequence_is_counted_not_fatal() {
        let ops = |s: &str| -> Vec<Op> { text::parse(s).unwrap().ops() };
        let seqs = Sequences {
            config: mmdiff_core::Config::default(),
            seqs: vec![
                ops("reclaim\nreclaim\n"),
                ops("reclaim\nexit p0\n"),
                ops("reclaim\n"),
            ],
            skipped: 0,
        };
        assert_eq!(run_seqs::<PanicsOnExit>(&seqs), (3, 1));
    }

    #[test]
    fn sequences_survive_the_file_the_children_read() {
        let seqs = workloads::generate(workloads::SEQ_SEED, 3, workloads::SEQ_LEN).unwrap();
        let f = SeqFile::write(&seqs).unwrap();
        let back = SeqFile::read(&f.0).unwrap();
        assert_eq!(back.seqs, seqs.seqs);
        assert_eq!(back.config, seqs.config);
        let path = f.0.clone();
        drop(f);
        assert!(!path.exists());
    }

    #[test]
    fn help_names_bench_but_not_the_child() {
        let run = |args: &[&str]| {
            let argv: Vec<String> = args.iter().map(|s| s.to_string()).collect();
            let (mut out, mut err) = (Vec::new(), Vec::new());
            let code = crate::main_with_args(&argv, &mut out, &mut err);
            (code, String::from_utf8_lossy(&out).into_owned())
        };
        let (code, out) = run(&["help"]);
        assert_eq!(code, 0);
        assert!(out.contains("  bench "), "{out}");
        assert!(!out.contains("bench-child"), "{out}");
        for args in [&["help", "bench"][..], &["bench", "--help"]] {
            let (code, out) = run(args);
            assert_eq!(code, 0);
            assert!(out.starts_with("usage: mmdiff bench"), "{out}");
        }
        assert_eq!(run(&["bench", "--only", "nope"]).0, 2);
    }

    /// Accepts exactly the JSON grammar (RFC 8259) on one value.
    fn validate_json(s: &str) -> Result<(), String> {
        let b = s.as_bytes();
        let mut i = 0;
        value(b, &mut i)?;
        ws(b, &mut i);
        if i != b.len() {
            return Err(format!("trailing text at {i}"));
        }
        Ok(())
    }

    fn ws(b: &[u8], i: &mut usize) {
        while *i < b.len() && b" \t\n\r".contains(&b[*i]) {
            *i += 1;
        }
    }

    fn value(b: &[u8], i: &mut usize) -> Result<(), String> {
        ws(b, i);
        let err = |i: &usize| Err(format!("bad JSON at {i}"));
        match b.get(*i) {
            Some(b'{') => {
                *i += 1;
                ws(b, i);
                if b.get(*i) == Some(&b'}') {
                    *i += 1;
                    return Ok(());
                }
                loop {
                    ws(b, i);
                    string(b, i)?;
                    ws(b, i);
                    if b.get(*i) != Some(&b':') {
                        return err(i);
                    }
                    *i += 1;
                    value(b, i)?;
                    ws(b, i);
                    match b.get(*i) {
                        Some(b',') => *i += 1,
                        Some(b'}') => {
                            *i += 1;
                            return Ok(());
                        }
                        _ => return err(i),
                    }
                }
            }
            Some(b'[') => {
                *i += 1;
                ws(b, i);
                if b.get(*i) == Some(&b']') {
                    *i += 1;
                    return Ok(());
                }
                loop {
                    value(b, i)?;
                    ws(b, i);
                    match b.get(*i) {
                        Some(b',') => *i += 1,
                        Some(b']') => {
                            *i += 1;
                            return Ok(());
                        }
                        _ => return err(i),
                    }
                }
            }
            Some(b'"') => string(b, i),
            Some(_) => {
                for lit in ["true", "false", "null"] {
                    if b[*i..].starts_with(lit.as_bytes()) {
                        *i += lit.len();
                        return Ok(());
                    }
                }
                let start = *i;
                while *i < b.len() && b"+-0123456789.eE".contains(&b[*i]) {
                    *i += 1;
                }
                let text = std::str::from_utf8(&b[start..*i]).map_err(|e| e.to_string())?;
                let int = text.strip_prefix('-').unwrap_or(text);
                let leading_zero = int.len() > 1 && int.starts_with('0') && !int.starts_with("0.");
                if text.is_empty() || text.parse::<f64>().is_err() || leading_zero {
                    return err(&start);
                }
                Ok(())
            }
            None => err(i),
        }
    }

    fn string(b: &[u8], i: &mut usize) -> Result<(), String> {
        if b.get(*i) != Some(&b'"') {
            return Err(format!("expected a string at {i}"));
        }
        *i += 1;
        while let Some(&c) = b.get(*i) {
            *i += 1;
            match c {
                b'"' => return Ok(()),
                b'\\' => match b.get(*i) {
                    Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => *i += 1,
                    Some(b'u') => *i += 5,
                    _ => return Err(format!("bad escape at {i}")),
                },
                c if c < 0x20 => return Err(format!("control character at {i}")),
                _ => {}
            }
        }
        Err("unterminated string".into())
    }
}
