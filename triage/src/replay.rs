//! `mmdiff replay`: run scenario files and fuzz artifacts, check their
//! expectations and the invariants, and report one line per file.
//!
//! By default each file runs on the oracle and the subject in lockstep
//! ([`lockstep::run_lockstep_lines`], [`Check::Full`]): the first op where
//! the two differ, where either breaks an invariant or panics, or where the
//! oracle misses the line's expectation fails the file. `--model oracle`
//! or `--model subject` runs one model alone, checking its invariants and
//! the expectations. `--engine kernel` compares the oracle with the
//! running Linux kernel instead ([`crate::kernel_replay`]).

use std::io::Write;
use std::path::{Path, PathBuf};

use mmdiff_core::lockstep::{self, Check, LockstepReport};
use mmdiff_core::run::{run_lines, run_ops, Failure, FailureKind, RunReport};
use mmdiff_core::text::{self, Scenario};
use mmdiff_core::{bytes, Config, KernelVersion, Model};
use mmdiff_oracle::Oracle;
use mmdiff_subject::Subject;

use crate::args::{self, Opt, UsageError};
use crate::files::{self, Found};
use crate::profile;

/// The result of replaying one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass {
        ops: usize,
    },
    Fail {
        /// One line, starting with the file's path: `path: op #3 `read p0
        /// m0[0..4]`: outcome: expected ..., found ...`, or a parse error
        /// `path:line:column: expected ..., found ...`. `mmdiff replay`
        /// prints it after `FAIL `; the corpus tests fail with it.
        message: String,
        /// More lines for a person: where in the file, the outcome, ...
        details: Vec<String>,
    },
}

/// One replayed file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileReport {
    pub path: String,
    pub verdict: Verdict,
}

impl FileReport {
    pub fn passed(&self) -> bool {
        matches!(self.verdict, Verdict::Pass { .. })
    }

    /// `PASS path (N ops)` or `FAIL <message>`.
    pub fn line(&self) -> String {
        match &self.verdict {
            Verdict::Pass { ops } => format!(
                "PASS {} ({ops} op{})",
                self.path,
                if *ops == 1 { "" } else { "s" }
            ),
            Verdict::Fail { message, .. } => format!("FAIL {message}"),
        }
    }
}

/// Which models a replay runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Models {
    /// The oracle and the subject in lockstep (the default).
    #[default]
    Lockstep,
    /// The oracle alone.
    Oracle,
    /// The subject alone.
    Subject,
}

/// Replays one file on the oracle and the subject in lockstep: `*.mms` as
/// scenario text, anything else as fuzz bytes.
pub fn replay_path(path: &Path) -> FileReport {
    replay_path_models(path, &path.display().to_string(), Models::Lockstep)
}

/// Like [`replay_path`], naming the file `display` in messages (the corpus
/// tests name files relative to the repository root, as `mmdiff replay
/// corpus/` run from there does).
pub fn replay_path_as(path: &Path, display: &str) -> FileReport {
    replay_path_models(path, display, Models::Lockstep)
}

/// Replays one file on `models`, naming it `display` in messages.
pub fn replay_path_models(path: &Path, display: &str, models: Models) -> FileReport {
    replay_path_on(path, display, models, KernelVersion::BASELINE)
}

/// Replays one file on `models` with profile `kernel` (`--kernel`) where
/// the file names none, naming it `display` in messages.
pub fn replay_path_on(
    path: &Path,
    display: &str,
    models: Models,
    kernel: KernelVersion,
) -> FileReport {
    let display = display.to_string();
    match models {
        Models::Lockstep => replay_named(
            path,
            display,
            kernel,
            replay_text_lockstep::<Oracle, Subject>,
            replay_bytes_lockstep::<Oracle, Subject>,
        ),
        Models::Oracle => replay_named(
            path,
            display,
            kernel,
            replay_text::<Oracle>,
            replay_bytes::<Oracle>,
        ),
        Models::Subject => replay_named(
            path,
            display,
            kernel,
            replay_text::<Subject>,
            replay_bytes::<Subject>,
        ),
    }
}

/// Replays one file on model `M` alone.
pub fn replay_path_with<M: Model>(path: &Path) -> FileReport {
    replay_named(
        path,
        path.display().to_string(),
        KernelVersion::BASELINE,
        replay_text::<M>,
        replay_bytes::<M>,
    )
}

/// How a replay runs a file's contents: `(path, contents, profile)`.
type RunText = fn(&str, &str, KernelVersion) -> Verdict;
type RunBytes = fn(&str, &[u8], KernelVersion) -> Verdict;

fn replay_named(
    path: &Path,
    display: String,
    kernel: KernelVersion,
    on_text: RunText,
    on_bytes: RunBytes,
) -> FileReport {
    let verdict = match std::fs::read(path) {
        Err(e) => fail(format!("{display}: cannot read: {e}")),
        Ok(data) if files::is_scenario(path) => match String::from_utf8(data) {
            Ok(text) => on_text(&display, &text, kernel),
            Err(e) => fail(format!(
                "{display}: not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            )),
        },
        Ok(data) => on_bytes(&display, &data, kernel),
    };
    FileReport {
        path: display,
        verdict,
    }
}

/// Parses scenario text and its config, with profile `kernel` unless the
/// text names a kernel ([`profile::scenario_config`]).
fn parse_scenario(
    path: &str,
    src: &str,
    kernel: KernelVersion,
) -> Result<(Scenario, Config), Verdict> {
    let s = text::parse(src).map_err(|e| fail(e.with_file(path)))?;
    let config = profile::scenario_config(&s, kernel).map_err(|e| fail(e.with_file(path)))?;
    Ok((s, config))
}

/// Parses and runs scenario text, with profile `kernel` unless the text
/// names a kernel; `path` is only used in messages.
pub fn replay_text<M: Model>(path: &str, src: &str, kernel: KernelVersion) -> Verdict {
    let (scenario, config) = match parse_scenario(path, src, kernel) {
        Ok(parsed) => parsed,
        Err(v) => return v,
    };
    let report = run_lines::<M>(&config, &scenario.lines);
    verdict(path, &report, Some(&scenario))
}

/// Decodes and runs fuzz bytes with profile `kernel`; `path` is only used
/// in messages.
pub fn replay_bytes<M: Model>(path: &str, data: &[u8], kernel: KernelVersion) -> Verdict {
    let ops = bytes::decode(data);
    let report = run_ops::<M>(&profile::default_config(kernel), &ops);
    verdict(path, &report, None)
}

/// Parses scenario text and runs it on `A` and `B` in lockstep
/// ([`Check::Full`], expectations checked on `A`), with profile `kernel`
/// unless the text names a kernel; `path` is only used in messages.
pub fn replay_text_lockstep<A: Model, B: Model>(
    path: &str,
    src: &str,
    kernel: KernelVersion,
) -> Verdict {
    let (scenario, config) = match parse_scenario(path, src, kernel) {
        Ok(parsed) => parsed,
        Err(v) => return v,
    };
    let report = lockstep::run_lockstep_lines::<A, B>(&config, &scenario.lines, Check::Full);
    lockstep_verdict(path, &report, Some(&scenario))
}

/// Decodes fuzz bytes and runs them on `A` and `B` in lockstep
/// ([`Check::Full`]) with profile `kernel`; `path` is only used in
/// messages.
pub fn replay_bytes_lockstep<A: Model, B: Model>(
    path: &str,
    data: &[u8],
    kernel: KernelVersion,
) -> Verdict {
    let ops = bytes::decode(data);
    let config = profile::default_config(kernel);
    let report = lockstep::run_lockstep::<A, B>(&config, &ops, Check::Full);
    lockstep_verdict(path, &report, None)
}

/// Turns a lockstep run into a verdict: the message is the divergence's
/// one-line form, the details its [`lockstep::Divergence::explain`] text
/// (after the line number, when `scenario` gives one).
pub fn lockstep_verdict(
    path: &str,
    report: &LockstepReport,
    scenario: Option<&Scenario>,
) -> Verdict {
    let Some(d) = &report.divergence else {
        return Verdict::Pass {
            ops: report.ops_run,
        };
    };
    let mut details = Vec::new();
    if let (Some(_), Some(s)) = (&d.op, scenario) {
        if let Some(line) = op_line_number(s, d.index) {
            details.push(format!("at line {line}"));
        }
    }
    // The explanation's first line is the message itself.
    details.extend(d.explain().lines().skip(1).map(str::to_string));
    Verdict::Fail {
        message: format!("{path}: {d}"),
        details,
    }
}

fn fail(message: String) -> Verdict {
    Verdict::Fail {
        message,
        details: Vec::new(),
    }
}

/// Turns a run into a verdict; `scenario` gives line numbers.
pub fn verdict(path: &str, report: &RunReport, scenario: Option<&Scenario>) -> Verdict {
    let failures = report.failures();
    let Some(first) = failures.first() else {
        return Verdict::Pass {
            ops: report.ops_run(),
        };
    };
    Verdict::Fail {
        message: format!("{path}: {first}"),
        details: details(first, failures.len() - 1, scenario),
    }
}

fn details(f: &Failure, later: usize, scenario: Option<&Scenario>) -> Vec<String> {
    let mut d = Vec::new();
    if let (Some(index), Some(s)) = (f.index, scenario) {
        if let Some(line) = op_line_number(s, index) {
            d.push(format!("at line {line}"));
        }
    }
    if let Some(outcome) = &f.outcome {
        d.push(format!(
            "{} returned {}",
            f.model,
            text::outcome_to_string(outcome)
        ));
    }
    match &f.kind {
        FailureKind::Invariant {
            violations,
            mismatches,
        } if violations.len() + mismatches.len() > 1 => {
            d.extend(
                violations
                    .iter()
                    .map(|v| format!("invariant {}: {}", v.invariant, v.detail)),
            );
            d.extend(mismatches.iter().cloned());
        }
        FailureKind::Expectation { mismatches } if mismatches.len() > 1 => {
            d.extend(mismatches.iter().cloned());
        }
        _ => {}
    }
    if later > 0 {
        d.push(format!(
            "{later} later failure{} not shown",
            if later == 1 { "" } else { "s" }
        ));
    }
    d
}

/// The 1-based file line of op `index` (every file line is one header
/// entry or one scenario line).
pub fn op_line_number(s: &Scenario, index: usize) -> Option<usize> {
    s.lines
        .iter()
        .enumerate()
        .filter(|(_, l)| matches!(l, text::Line::Op { .. }))
        .nth(index)
        .map(|(i, _)| s.header.len() + i + 1)
}

/// Totals of a replay.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub passed: usize,
    pub failed: usize,
}

impl Totals {
    /// Exactly `N passed, N failed`.
    pub fn line(&self) -> String {
        format!("{} passed, {} failed", self.passed, self.failed)
    }
}

/// Replays everything `paths` name (directories: every `*.mms` and `*.bin`
/// below them) on `models` with profile `kernel` where a file names none,
/// writing one line per file (passing files only when not `quiet`, details
/// of failures only when not `quiet`) and the summary line.
pub fn replay_all(
    paths: &[PathBuf],
    models: Models,
    kernel: KernelVersion,
    quiet: bool,
    out: &mut dyn Write,
) -> Totals {
    let mut totals = Totals::default();
    for found in files::collect(paths, files::is_test_file) {
        let report = match found {
            Found::File(p) => replay_path_on(&p, &p.display().to_string(), models, kernel),
            Found::Error(p, e) => FileReport {
                path: p.display().to_string(),
                verdict: fail(format!("{}: cannot read: {e}", p.display())),
            },
        };
        if report.passed() {
            totals.passed += 1;
            if !quiet {
                let _ = writeln!(out, "{}", report.line());
            }
        } else {
            totals.failed += 1;
            let _ = writeln!(out, "{}", report.line());
            if let (false, Verdict::Fail { details, .. }) = (quiet, &report.verdict) {
                for d in details {
                    let _ = writeln!(out, "    {d}");
                }
            }
        }
    }
    let _ = writeln!(out, "{}", totals.line());
    totals
}

pub const USAGE: &str = "\
usage: mmdiff replay <files or dirs...> [--model oracle|subject] [--kernel V]
                     [--engine subject|kernel|qemu] [--table FILE.md] [--quiet]

Runs scenario files (*.mms) and fuzz byte files (any other name; in
directories: *.bin) on the oracle and the subject in lockstep: after every
op it compares their outcomes and canonical states, checks the invariants
on both, and checks the scenario's expectations on the oracle. A failure
names the first op that went wrong and shows both outcomes and the state
diff. Directories are searched recursively.

  --model M     run one model alone (oracle or subject), checking its
                invariants and the expectations
  --kernel V    the models' semantics profile, 6.12 to 6.19 (default
                6.19), for byte files and scenarios without `kernel=` in
                their `#! config:` line (the others keep their own).
  --engine E    what the oracle is compared with: subject (default, the
                lockstep above) or kernel: the running Linux kernel, the
                system-call subset of each scenario run in forked processes
                and observed through /proc after every op (prints the
                machine's facts first, then PASS or DISAGREE per file with
                the ops skipped by kind and the page observations
                compared; expectations are not checked); or qemu: the same
                against a qemu guest kernel with the HMM test driver
                (scripts/guest/build.sh builds it or reuses its cache; one
                boot for all files). A kernel is compared on its own
                version's profile: --kernel, if given, must name it.
  --table F     with --engine kernel or qemu: also write a markdown table,
                one row per file (agree / disagree / not expressible /
                failed, ops run, observations, ops skipped by kind)
  -q, --quiet   print only failures and the summary

Exit status: 0 when everything passed, 1 on any failure or disagreement,
2 on usage errors or when the kernel engine cannot run on this machine.";

const OPTS: &[Opt] = &[
    Opt {
        names: &["--quiet", "-q"],
        takes_value: false,
    },
    Opt {
        names: &["--model"],
        takes_value: true,
    },
    Opt {
        names: &["--engine"],
        takes_value: true,
    },
    Opt {
        names: &["--table"],
        takes_value: true,
    },
    profile::OPT,
];

/// Parses `--model`.
pub fn parse_models(value: Option<&str>) -> Result<Models, UsageError> {
    match value {
        None => Ok(Models::Lockstep),
        Some("oracle") => Ok(Models::Oracle),
        Some("subject") => Ok(Models::Subject),
        Some(other) => Err(UsageError(format!(
            "--model: expected oracle or subject, found `{other}`"
        ))),
    }
}

/// `mmdiff replay ...`; returns the exit code.
pub fn command(argv: &[String], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let parsed = match args::parse(argv, OPTS) {
        Ok(p) if !p.positional.is_empty() => p,
        Ok(_) => return crate::usage_error(err, &UsageError("no files given".into()), USAGE),
        Err(e) => return crate::usage_error(err, &e, USAGE),
    };
    let models = match parse_models(parsed.value("--model")) {
        Ok(m) => m,
        Err(e) => return crate::usage_error(err, &e, USAGE),
    };
    let engine = match crate::kernel_replay::parse_engine(parsed.value("--engine")) {
        Ok(e) => e,
        Err(e) => return crate::usage_error(err, &e, USAGE),
    };
    let kernel = match profile::parse(parsed.value("--kernel")) {
        Ok(k) => k,
        Err(e) => return crate::usage_error(err, &e, USAGE),
    };
    let paths: Vec<PathBuf> = parsed.positional.iter().map(PathBuf::from).collect();
    if engine.is_kernel() {
        if models != Models::Lockstep {
            let e = UsageError(format!(
                "--model runs the models alone; it does not go with --engine {}",
                engine.name()
            ));
            return crate::usage_error(err, &e, USAGE);
        }
        let table = parsed.value("--table").map(PathBuf::from);
        let quiet = parsed.has("--quiet");
        let run = crate::kernel_replay::Run {
            engine,
            kernel,
            table: table.as_deref(),
            quiet,
        };
        return crate::kernel_replay::command(&run, &paths, out, err);
    }
    if parsed.value("--table").is_some() {
        let e = UsageError("--table goes with --engine kernel or qemu".into());
        return crate::usage_error(err, &e, USAGE);
    }
    let kernel = profile::or_baseline(kernel);
    let totals = replay_all(&paths, models, kernel, parsed.has("--quiet"), out);
    if totals.passed + totals.failed == 0 {
        let _ = writeln!(err, "mmdiff replay: warning: no *.mms or *.bin files found");
    }
    i32::from(totals.failed > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::TempDir;

    const PASSING: &str = "\
#! note: a scenario that holds
# map four pages and read them back
mmap p0 m0 anon rw pages=4
write p0 m0[0..4] = index
read p0 m0[0..4]  => ok data=index
";

    const FAILING: &str = "\
mmap p0 m0 anon rw pages=4
write p0 m0[0..4] = 7
read p0 m0[0..4]  => ok data=index
";

    #[test]
    fn one_passing_one_failing() {
        let t = TempDir::new("replay");
        std::fs::write(t.path().join("a_pass.mms"), PASSING).unwrap();
        std::fs::write(t.path().join("b_fail.mms"), FAILING).unwrap();
        let mut out = Vec::new();
        let mut err = Vec::new();
        let code = command(&[t.path().display().to_string()], &mut out, &mut err);
        let out = String::from_utf8(out).unwrap();
        assert_eq!(code, 1, "{out}");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.last(), Some(&"1 passed, 1 failed"), "{out}");
        let a = t.path().join("a_pass.mms").display().to_string();
        let b = t.path().join("b_fail.mms").display().to_string();
        assert_eq!(lines[0], format!("PASS {a} (3 ops)"));
        assert!(
            lines[1].starts_with(&format!("FAIL {b}: op #2 `read p0 m0[0..4]`: ")),
            "{out}"
        );
        assert!(out.contains("at line 3"), "{out}");
    }

    #[test]
    fn quiet_prints_only_failures() {
        let t = TempDir::new("replay-quiet");
        std::fs::write(t.path().join("a.mms"), PASSING).unwrap();
        let mut out = Vec::new();
        let code = command(
            &[t.path().display().to_string(), "--quiet".into()],
            &mut out,
            &mut Vec::new(),
        );
        assert_eq!(code, 0);
        assert_eq!(String::from_utf8(out).unwrap(), "1 passed, 0 failed\n");
    }

    #[test]
    fn parse_error_names_path_line_and_column() {
        let t = TempDir::new("replay-parse");
        let p = t.path().join("bad.mms");
        std::fs::write(&p, "mmap p0 m0 anon rw pages=4\nread q7 m0[0..4]\n").unwrap();
        let r = replay_path(&p);
        let Verdict::Fail { message, .. } = &r.verdict else {
            panic!("{r:?}")
        };
        let prefix = format!("{}:2:6: expected ", p.display());
        assert!(message.starts_with(&prefix), "{message}");
        assert!(message.contains("found `q7`"), "{message}");
    }

    #[test]
    fn usage_errors_exit_2() {
        assert_eq!(command(&[], &mut Vec::new(), &mut Vec::new()), 2);
        assert_eq!(
            command(&["--bogus".into()], &mut Vec::new(), &mut Vec::new()),
            2
        );
    }

    #[test]
    fn missing_file_is_a_failure() {
        let mut out = Vec::new();
        let code = command(
            &["/nonexistent/mmdiff/x.mms".into()],
            &mut out,
            &mut Vec::new(),
        );
        assert_eq!(code, 1);
        assert!(String::from_utf8(out)
            .unwrap()
            .ends_with("0 passed, 1 failed\n"));
    }

    /// Returns `count(N)` for every op; its state is empty and consistent.
    struct Echo<const N: u64>(Config);

    impl<const N: u64> Model for Echo<N> {
        fn new(c: &Config) -> Self {
            Echo(c.clone())
        }
        fn name(&self) -> &'static str {
            if N == 1 {
                "oracle"
            } else {
                "subject"
            }
        }
        fn apply(&mut self, _: &mmdiff_core::Op) -> mmdiff_core::Outcome {
            mmdiff_core::Outcome::count(N)
        }
        fn raw_state(&self) -> mmdiff_core::State {
            mmdiff_core::State::empty(&self.0)
        }
    }

    #[test]
    fn a_divergence_fails_with_its_explanation() {
        let src = "# two ops\nreclaim\nreclaim\n";
        assert_eq!(
            replay_text_lockstep::<Echo<1>, Echo<1>>("x.mms", src, KernelVersion::BASELINE),
            Verdict::Pass { ops: 2 }
        );
        let v = replay_text_lockstep::<Echo<1>, Echo<2>>("x.mms", src, KernelVersion::BASELINE);
        let Verdict::Fail { message, details } = &v else {
            panic!("{v:?}")
        };
        assert_eq!(
            message,
            "x.mms: op #0 `reclaim`: oracle and subject outcomes differ"
        );
        assert_eq!(
            details[..4],
            [
                "at line 2",
                "signature: reclaim/outcome:count",
                "  oracle   ok 1",
                "  subject  ok 2",
            ]
        );
        let data = bytes::encode(&text::parse(src).unwrap().ops()).unwrap();
        let v = replay_bytes_lockstep::<Echo<1>, Echo<2>>("x.bin", &data, KernelVersion::BASELINE);
        assert!(
            matches!(&v, Verdict::Fail { message, .. } if message.starts_with("x.bin: op #0 ")),
            "{v:?}"
        );
    }

    #[test]
    fn one_model_alone() {
        let t = TempDir::new("replay-model");
        std::fs::write(t.path().join("b_fail.mms"), FAILING).unwrap();
        let b = t.path().join("b_fail.mms").display().to_string();
        let mut first = None;
        for model in [None, Some("oracle"), Some("subject")] {
            let mut argv = vec![t.path().display().to_string()];
            if let Some(m) = model {
                argv.extend(["--model".to_string(), m.to_string()]);
            }
            let mut out = Vec::new();
            assert_eq!(command(&argv, &mut out, &mut Vec::new()), 1);
            let out = String::from_utf8(out).unwrap();
            let line = out.lines().next().unwrap().to_string();
            assert!(
                line.starts_with(&format!("FAIL {b}: op #2 `read p0 m0[0..4]`: ")),
                "{out}"
            );
            // The expectation fails the same way whoever runs it.
            assert_eq!(first.get_or_insert(line.clone()), &line);
        }
        let mut err = Vec::new();
        let argv = [b.clone(), "--model".into(), "both".into()];
        assert_eq!(command(&argv, &mut Vec::new(), &mut err), 2);
        assert!(String::from_utf8(err).unwrap().contains("--model"));
    }

    #[test]
    fn byte_files_replay() {
        let t = TempDir::new("replay-bytes");
        let ops = text::parse(PASSING).unwrap().ops();
        let data = bytes::encode(&ops).unwrap();
        let p = t.path().join("x.bin");
        std::fs::write(&p, data).unwrap();
        assert_eq!(replay_path(&p).verdict, Verdict::Pass { ops: 3 });
    }
}
