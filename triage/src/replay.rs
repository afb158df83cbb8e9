//! `mmdiff replay`: run scenario files and fuzz artifacts, check their
//! expectations and the invariants, and report one line per file.

use std::io::Write;
use std::path::{Path, PathBuf};

use mmdiff_core::run::{run_lines, run_ops, Failure, FailureKind, RunReport};
use mmdiff_core::text::{self, Scenario};
use mmdiff_core::{bytes, Config, Model};
use mmdiff_oracle::Oracle;

use crate::args::{self, Opt, UsageError};
use crate::files::{self, Found};

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

/// Replays one file on the oracle: `*.mms` as scenario text, anything else
/// as fuzz bytes.
pub fn replay_path(path: &Path) -> FileReport {
    replay_path_with::<Oracle>(path)
}

/// Replays one file on the oracle, naming it `display` in messages (the
/// corpus tests name files relative to the repository root, as `mmdiff
/// replay corpus/` run from there does).
pub fn replay_path_as(path: &Path, display: &str) -> FileReport {
    replay_named::<Oracle>(path, display.to_string())
}

/// Replays one file on model `M`.
pub fn replay_path_with<M: Model>(path: &Path) -> FileReport {
    replay_named::<M>(path, path.display().to_string())
}

fn replay_named<M: Model>(path: &Path, display: String) -> FileReport {
    let verdict = match std::fs::read(path) {
        Err(e) => fail(format!("{display}: cannot read: {e}")),
        Ok(data) if files::is_scenario(path) => match String::from_utf8(data) {
            Ok(text) => replay_text::<M>(&display, &text),
            Err(e) => fail(format!(
                "{display}: not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            )),
        },
        Ok(data) => replay_bytes::<M>(&display, &data),
    };
    FileReport {
        path: display,
        verdict,
    }
}

/// Parses and runs scenario text; `path` is only used in messages.
pub fn replay_text<M: Model>(path: &str, src: &str) -> Verdict {
    let scenario = match text::parse(src) {
        Ok(s) => s,
        Err(e) => return fail(e.with_file(path)),
    };
    let report = run_lines::<M>(&Config::default(), &scenario.lines);
    verdict(path, &report, Some(&scenario))
}

/// Decodes and runs fuzz bytes; `path` is only used in messages.
pub fn replay_bytes<M: Model>(path: &str, data: &[u8]) -> Verdict {
    let ops = bytes::decode(data);
    let report = run_ops::<M>(&Config::default(), &ops);
    verdict(path, &report, None)
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
/// below them) on the oracle, writing one line per file (passing files only
/// when not `quiet`, details of failures only when not `quiet`) and the
/// summary line.
pub fn replay_all(paths: &[PathBuf], quiet: bool, out: &mut dyn Write) -> Totals {
    let mut totals = Totals::default();
    for found in files::collect(paths, files::is_test_file) {
        let report = match found {
            Found::File(p) => replay_path(&p),
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
usage: mmdiff replay <files or dirs...> [--quiet]

Runs scenario files (*.mms) and fuzz byte files (any other name; in
directories: *.bin) on the oracle, checking every expectation and the
invariants after every op. Directories are searched recursively.

  -q, --quiet   print only failures and the summary

Exit status: 0 when everything passed, 1 on any failure, 2 on usage errors.";

const OPTS: &[Opt] = &[Opt {
    names: &["--quiet", "-q"],
    takes_value: false,
}];

/// `mmdiff replay ...`; returns the exit code.
pub fn command(argv: &[String], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let parsed = match args::parse(argv, OPTS) {
        Ok(p) if !p.positional.is_empty() => p,
        Ok(_) => return crate::usage_error(err, &UsageError("no files given".into()), USAGE),
        Err(e) => return crate::usage_error(err, &e, USAGE),
    };
    let paths: Vec<PathBuf> = parsed.positional.iter().map(PathBuf::from).collect();
    let totals = replay_all(&paths, parsed.has("--quiet"), out);
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
