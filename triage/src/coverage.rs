//! `mmdiff coverage`: which entry-kind transitions ([`StateCoverage`]) the
//! oracle and the subject each go through on a set of inputs.
//!
//! Each input runs on each model alone, not in lockstep: a divergence must
//! not hide what the other model does after it, and a transition only one
//! model reaches is exactly what this command exists to show (one model
//! takes a path the other never takes on the same ops). Expectations and
//! invariants are not checked; `mmdiff replay` does that.

use std::io::Write;
use std::path::PathBuf;

use mmdiff_core::coverage::{json_string, render_table, StateCoverage, Transition};
use mmdiff_core::run::Runner;
use mmdiff_core::{Config, KernelVersion, Model, Op};
use mmdiff_oracle::Oracle;
use mmdiff_subject::Subject;

use crate::args::{self, Opt, UsageError};
use crate::files::{self, Found};
use crate::{input, profile};

/// Coverage of a set of inputs, per model.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Inputs that loaded and ran.
    pub inputs: usize,
    pub oracle: StateCoverage,
    pub subject: StateCoverage,
    /// Inputs a model could not run to the end (it panicked): one line
    /// each, `path: model stopped at op #k: reason`. Their transitions up
    /// to that op are counted.
    pub stopped: Vec<String>,
    /// Inputs that could not be read or parsed: `path[:line:col]: reason`.
    pub errors: Vec<String>,
}

impl Report {
    /// Transitions only the oracle saw, then those only the subject saw.
    pub fn only(&self) -> (Vec<Transition>, Vec<Transition>) {
        (
            self.oracle.only_here(&self.subject).copied().collect(),
            self.subject.only_here(&self.oracle).copied().collect(),
        )
    }

    /// The table of both models and the transitions only one of them saw.
    pub fn text(&self) -> String {
        let total = self.oracle.ops().max(self.subject.ops());
        let mut o = format!(
            "state coverage of {} input{} ({total} ops), each model run alone\n\n",
            self.inputs,
            plural(self.inputs)
        );
        o.push_str(&render_table(&[
            ("oracle", &self.oracle),
            ("subject", &self.subject),
        ]));
        let (oracle_only, subject_only) = self.only();
        if oracle_only.is_empty() && subject_only.is_empty() {
            o.push_str("\ntransitions seen by only one model: none\n");
        } else {
            o.push_str("\ntransitions seen by only one model:\n");
            for (model, ts) in [("oracle", &oracle_only), ("subject", &subject_only)] {
                for t in ts.iter() {
                    o.push_str(&format!("  {model:<8} {t}\n"));
                }
            }
        }
        o
    }

    /// One JSON object: `inputs`, per model `ops`, `distinct` and
    /// `transitions` (transition -> ops that exercised it), `only` (per
    /// model, the transitions only it saw), `stopped` and `errors`.
    pub fn json(&self) -> String {
        let (oracle_only, subject_only) = self.only();
        let list = |items: &mut dyn Iterator<Item = String>| {
            let v: Vec<String> = items.map(|s| json_string(&s)).collect();
            format!("[{}]", v.join(", "))
        };
        let model = |c: &StateCoverage| {
            format!(
                "{{\"ops\": {}, \"distinct\": {}, \"transitions\": {}}}",
                c.ops(),
                c.len(),
                c.to_json()
            )
        };
        format!(
            "{{\"inputs\": {}, \"models\": {{\"oracle\": {}, \"subject\": {}}}, \
             \"only\": {{\"oracle\": {}, \"subject\": {}}}, \"stopped\": {}, \"errors\": {}}}",
            self.inputs,
            model(&self.oracle),
            model(&self.subject),
            list(&mut oracle_only.iter().map(Transition::to_string)),
            list(&mut subject_only.iter().map(Transition::to_string)),
            list(&mut self.stopped.iter().cloned()),
            list(&mut self.errors.iter().cloned()),
        )
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Runs `ops` on a fresh `M` alone, recording each op's transitions from
/// `M`'s own canonical states into `cov`. `Err` names the op where the
/// model panicked (the transitions before it are recorded).
pub fn record_run<M: Model>(
    config: &Config,
    ops: &[Op],
    cov: &mut StateCoverage,
) -> Result<(), String> {
    // No invariant checks: coverage is about where a model goes, and
    // `replay` is the tool that judges it.
    let mut runner = Runner::<M>::with_invariants(config, |_| Vec::new())
        .map_err(|f| format!("{} stopped before the first op: {}", f.model, f.reason()))?;
    for op in ops {
        match runner.step(op, None) {
            Ok(_) => cov.record(op, runner.previous_state(), runner.state()),
            Err(f) => return Err(format!("{} stopped at {f}", f.model)),
        }
    }
    Ok(())
}

/// Loads every input `paths` name (directories: every `*.mms` and `*.bin`
/// below them, in sorted order) and records both models' coverage, with
/// profile `kernel` for the inputs that do not name their own.
pub fn coverage_of(paths: &[PathBuf], kernel: KernelVersion) -> Report {
    let mut report = Report::default();
    for found in files::collect(paths, files::is_test_file) {
        let path = match found {
            Found::File(p) => p,
            Found::Error(p, e) => {
                report
                    .errors
                    .push(format!("{}: cannot read: {e}", p.display()));
                continue;
            }
        };
        let input = match input::load_with(&path, kernel) {
            Ok(i) => i,
            Err(e) => {
                report.errors.push(e);
                continue;
            }
        };
        let ops = input.scenario.ops();
        report.inputs += 1;
        let runs = [
            record_run::<Oracle>(&input.config, &ops, &mut report.oracle),
            record_run::<Subject>(&input.config, &ops, &mut report.subject),
        ];
        for r in runs {
            if let Err(e) = r {
                report.stopped.push(format!("{}: {e}", input.path));
            }
        }
    }
    report
}

pub const USAGE: &str = "\
usage: mmdiff coverage <files or dirs...> [--kernel V] [--json]

Runs scenario files (*.mms) and fuzz byte files (any other name; in
directories: *.bin, searched recursively) on the oracle alone and on the
subject alone, and counts the entry-kind transitions each model went
through: after each op, every page whose page-table entry changed class
(`page-w`, `pmd-page-r`, `swap-excl`, `migration-w`, `devpriv-r`,
`devexcl`, `none`, ...) gives a transition such as
`fork: devpriv-w -> devpriv-r`. A count is the number of ops that
exercised the transition. Prints a table with one column per model and
the transitions only one model saw. See docs/coverage.md.

  --kernel V    the models' semantics profile, 6.12 to 6.19 (default
                6.19), for byte files and scenarios without `kernel=` in
                their `#! config:` line (the others keep their own)
  --json        print one JSON object instead of the table

Exit status: 0 on success, 1 when an input cannot be read or parsed
(the others are still counted), 2 on usage errors.";

const OPTS: &[Opt] = &[
    Opt {
        names: &["--json"],
        takes_value: false,
    },
    profile::OPT,
];

/// `mmdiff coverage ...`; returns the exit code.
pub fn command(argv: &[String], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let parsed = match args::parse(argv, OPTS) {
        Ok(p) if !p.positional.is_empty() => p,
        Ok(_) => return crate::usage_error(err, &UsageError("no files given".into()), USAGE),
        Err(e) => return crate::usage_error(err, &e, USAGE),
    };
    let kernel = match profile::parse(parsed.value("--kernel")) {
        Ok(k) => profile::or_baseline(k),
        Err(e) => return crate::usage_error(err, &e, USAGE),
    };
    let paths: Vec<PathBuf> = parsed.positional.iter().map(PathBuf::from).collect();
    let report = coverage_of(&paths, kernel);
    for e in &report.errors {
        let _ = writeln!(err, "error: {e}");
    }
    for s in &report.stopped {
        let _ = writeln!(err, "warning: {s}");
    }
    if report.inputs == 0 && report.errors.is_empty() {
        let _ = writeln!(
            err,
            "mmdiff coverage: warning: no *.mms or *.bin files found"
        );
    }
    if parsed.has("--json") {
        let _ = writeln!(out, "{}", report.json());
    } else {
        let _ = write!(out, "{}", report.text());
    }
    i32::from(!report.errors.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::TempDir;
    use mmdiff_core::text;

    fn oracle_transitions(src: &str) -> Vec<String> {
        let ops = text::parse(src).expect("parses").ops();
        let mut cov = StateCoverage::new();
        record_run::<Oracle>(&Config::default(), &ops, &mut cov).expect("runs");
        assert_eq!(cov.ops(), ops.len() as u64);
        cov.iter().map(|(t, _)| t.to_string()).collect()
    }

    #[test]
    fn oracle_fork_of_device_private_write_entries() {
        let got = oracle_transitions(
            "mmap p0 m0 anon rw pages=1\n\
             write p0 m0[0] = 1\n\
             migrate-to-dev dev0 p0 m0[0]\n\
             fork p0 -> p1\n",
        );
        assert_eq!(
            got,
            // In `OpKind` order: fork, write, ..., migrate-to-dev.
            [
                "fork: none -> devpriv-r",
                "fork: devpriv-w -> devpriv-r",
                "write: none -> page-w",
                "migrate-to-dev: page-w -> devpriv-w",
            ]
        );
    }

    #[test]
    fn both_models_agree_on_a_thp_split_and_reclaim() {
        let src = "mmap p0 m0 anon rw pages=512\n\
                   madvise p0 m0[0..512] hugepage\n\
                   write p0 m0[0..512] = 1\n\
                   split-thp p0 m0[0]\n\
                   madvise p0 m0[0..2] pageout\n";
        let ops = text::parse(src).expect("parses").ops();
        let (mut o, mut s) = (StateCoverage::new(), StateCoverage::new());
        record_run::<Oracle>(&Config::default(), &ops, &mut o).expect("oracle runs");
        record_run::<Subject>(&Config::default(), &ops, &mut s).expect("subject runs");
        assert_eq!(o, s);
        let got: Vec<String> = o.iter().map(|(t, _)| t.to_string()).collect();
        assert!(
            got.contains(&"write: none -> pmd-page-w".to_string()),
            "{got:?}"
        );
        assert!(
            got.contains(&"split-thp: pmd-page-w -> page-w".to_string()),
            "{got:?}"
        );
    }

    #[test]
    fn command_prints_table_json_and_fails_on_bad_inputs() {
        let t = TempDir::new("coverage");
        std::fs::write(
            t.path().join("a.mms"),
            "mmap p0 m0 anon rw pages=1\nwrite p0 m0[0] = 1\nfork p0 -> p1\n",
        )
        .unwrap();
        let dir = t.path().display().to_string();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(command(std::slice::from_ref(&dir), &mut out, &mut err), 0);
        let out = String::from_utf8(out).unwrap();
        assert!(
            out.starts_with("state coverage of 1 input (3 ops)"),
            "{out}"
        );
        assert!(out.contains("fork: page-w -> page-r"), "{out}");
        assert!(
            out.contains("transitions seen by only one model: none"),
            "{out}"
        );

        let mut out = Vec::new();
        let argv = [dir.clone(), "--json".into()];
        assert_eq!(command(&argv, &mut out, &mut Vec::new()), 0);
        let json = String::from_utf8(out).unwrap();
        assert!(json.starts_with("{\"inputs\": 1, \"models\": {\"oracle\": {\"ops\": 3, "));
        assert!(json.contains("\"fork: page-w -> page-r\": 1"), "{json}");
        assert!(json.trim_end().ends_with("\"errors\": []}"), "{json}");

        std::fs::write(
            t.path().join("b.mms"),
            "mmap p0 m0 anon rw pages=1\nfork p9\n",
        )
        .unwrap();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(command(std::slice::from_ref(&dir), &mut out, &mut err), 1);
        let err = String::from_utf8(err).unwrap();
        assert!(err.contains("b.mms:2:6: expected"), "{err}");
        // The good input is still counted.
        assert!(String::from_utf8(out).unwrap().contains("1 input (3 ops)"));
    }

    #[test]
    fn usage_errors_exit_2() {
        assert_eq!(command(&[], &mut Vec::new(), &mut Vec::new()), 2);
        let argv = ["x".to_string(), "--frob".into()];
        assert_eq!(command(&argv, &mut Vec::new(), &mut Vec::new()), 2);
    }

    #[test]
    fn one_model_only_transitions_are_listed() {
        let mut r = Report::default();
        let base = mmdiff_core::State::empty(&Config::default());
        let mut forked = base.clone();
        forked.procs.push(mmdiff_core::state::ProcState {
            id: mmdiff_core::op::ProcId(1),
            has_pinned: false,
            vmas: Vec::new(),
            entries: vec![mmdiff_core::state::EntryRun {
                start: 0,
                len: 1,
                entry: mmdiff_core::state::Entry::DeviceExclusive {
                    write: false,
                    target: mmdiff_core::state::Target::Zero,
                    soft_dirty: false,
                    uffd_wp: false,
                },
            }],
        });
        let op = text::parse("fork p0 -> p1\n").unwrap().ops().remove(0);
        r.subject.record(&op, &base, &forked);
        let text = r.text();
        assert!(
            text.contains(
                "transitions seen by only one model:\n  subject  fork: none -> devexcl\n"
            ),
            "{text}"
        );
        assert!(r
            .json()
            .contains("\"only\": {\"oracle\": [], \"subject\": [\"fork: none -> devexcl\"]}"));
    }
}
