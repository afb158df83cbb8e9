//! `mmdiff replay --engine kernel`: scenarios run on the oracle and on the
//! running Linux kernel side by side ([`mmdiff_kernel::compare`]).
//!
//! The machine's facts come first (what the kernel is, how it is
//! configured, where it differs from the models' machine), then one line
//! per file: `PASS` with the ops run, the page observations compared, the
//! ops skipped by kind and the known differences met; `DISAGREE` with the
//! first op where the two differ, both outcomes, both views and their
//! diff; `FAIL` when the file cannot be read or parsed or the engine
//! itself failed. The summary adds everything up, skips by kind with
//! their reasons. Expectations (`=> ...`) are the default engine's
//! business and are not checked here.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use mmdiff_core::op::OpKind;
use mmdiff_core::text::{self, Scenario};
use mmdiff_core::{bytes, Config, KernelVersion, Op};
use mmdiff_kernel::machine::Kernel;
use mmdiff_kernel::{compare_on, Environment, Explained, Options, Report};

use crate::args::UsageError;
use crate::files::{self, Found};

/// What the oracle is compared with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Engine {
    /// The subject, in lockstep (the default).
    #[default]
    Subject,
    /// The running Linux kernel ([`mmdiff_kernel`]).
    Kernel,
    /// The kernel of a qemu guest with the HMM test driver
    /// ([`mmdiff_kernel::guest`]).
    Qemu,
}

impl Engine {
    /// Whether the oracle is compared with a real kernel.
    pub fn is_kernel(self) -> bool {
        matches!(self, Engine::Kernel | Engine::Qemu)
    }

    /// The `--engine` value.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Subject => "subject",
            Engine::Kernel => "kernel",
            Engine::Qemu => "qemu",
        }
    }
}

/// Parses `--engine`.
pub fn parse_engine(value: Option<&str>) -> Result<Engine, UsageError> {
    match value {
        None | Some("subject") => Ok(Engine::Subject),
        Some("kernel") => Ok(Engine::Kernel),
        Some("qemu") => Ok(Engine::Qemu),
        Some(other) => Err(UsageError(format!(
            "--engine: expected subject, kernel or qemu, found `{other}`"
        ))),
    }
}

/// The probed machine, or why the kernel engine cannot run on it.
pub fn usable_environment() -> Result<Environment, String> {
    let env = mmdiff_kernel::probe();
    match &env.unsupported {
        Some(why) => Err(format!("the kernel engine cannot run here: {why}")),
        None => Ok(env),
    }
}

/// The verdict on one file.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// Compared; the report says whether the two agreed.
    Compared(Box<Report>),
    /// Not compared: unreadable, unparsable, or the engine failed.
    Failed(String),
}

/// One file's comparison.
#[derive(Clone, Debug)]
pub struct FileReport {
    pub path: String,
    /// The scenario, for line numbers (none for byte files).
    pub scenario: Option<Scenario>,
    pub outcome: Outcome,
}

/// The ops of a file and its config: scenario text for `*.mms`, fuzz
/// bytes (the default config) otherwise.
fn load(path: &Path) -> Result<(Config, Vec<Op>, Option<Scenario>), String> {
    let display = path.display();
    let data = std::fs::read(path).map_err(|e| format!("{display}: cannot read: {e}"))?;
    if !files::is_scenario(path) {
        return Ok((Config::default(), bytes::decode(&data), None));
    }
    let src = String::from_utf8(data).map_err(|e| {
        format!(
            "{display}: not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })?;
    let scenario = text::parse(&src).map_err(|e| e.with_file(&display.to_string()))?;
    let config = scenario
        .config()
        .map_err(|e| e.with_file(&display.to_string()))?;
    Ok((config, scenario.ops(), Some(scenario)))
}

/// Compares one file on `kernel`.
pub fn replay_file(kernel: &mut dyn Kernel, path: &Path) -> FileReport {
    let display = path.display().to_string();
    let (outcome, scenario) = match load(path) {
        Err(e) => (Outcome::Failed(e), None),
        Ok((config, ops, scenario)) => {
            let outcome = match compare_on(kernel, &config, &ops, &Options::default()) {
                Ok(r) => Outcome::Compared(Box::new(r)),
                Err(e) => Outcome::Failed(format!("{display}: {e}")),
            };
            (outcome, scenario)
        }
    };
    FileReport {
        path: display,
        scenario,
        outcome,
    }
}

/// `(ran/total ops, N observations; skipped ...; explained ...)`.
fn counts(r: &Report) -> String {
    let mut s = format!(
        "{}/{} ops, {} observations",
        r.ops_run, r.ops_total, r.observations
    );
    if !r.skipped.is_empty() {
        let _ = write!(s, "; skipped {}", r.skipped_summary());
    }
    if !r.explained.is_empty() {
        let _ = write!(s, "; explained {}", r.explained_summary());
    }
    if let Some((i, e)) = r.ended {
        let _ = write!(s, "; ended after op #{i}: {}", e.name());
    }
    s
}

impl FileReport {
    /// True when the file was compared and the two agreed.
    pub fn agrees(&self) -> bool {
        matches!(&self.outcome, Outcome::Compared(r) if r.agrees())
    }

    /// The lines printed for this file: one, plus the details of a
    /// disagreement (indented).
    pub fn lines(&self) -> Vec<String> {
        let r = match &self.outcome {
            Outcome::Failed(e) => return vec![format!("FAIL {e}")],
            Outcome::Compared(r) => r,
        };
        let Some(d) = &r.divergence else {
            return vec![format!("PASS {} ({})", self.path, counts(r))];
        };
        let first = d.render();
        let mut body = first.lines();
        let headline = body.next().unwrap_or_default();
        let mut lines = vec![format!("DISAGREE {}: {headline}", self.path)];
        let line_number = d
            .index
            .zip(self.scenario.as_ref())
            .and_then(|(i, s)| crate::replay::op_line_number(s, i));
        if let Some(n) = line_number {
            lines.push(format!("    at line {n}"));
        }
        lines.push(format!("    {}", counts(r)));
        lines.extend(body.map(|l| format!("  {l}")));
        let w = r.config.window_pages;
        lines.push("    oracle view:".into());
        lines.extend(
            d.oracle_view
                .render(w)
                .lines()
                .map(|l| format!("      {l}")),
        );
        lines.push("    kernel view:".into());
        lines.extend(
            d.kernel_view
                .render(w)
                .lines()
                .map(|l| format!("      {l}")),
        );
        lines
    }
}

impl Row {
    fn of(f: &FileReport) -> Row {
        let path = f.path.clone();
        let r = match &f.outcome {
            Outcome::Failed(e) => {
                return Row {
                    path,
                    verdict: "failed",
                    ops_run: 0,
                    ops_total: 0,
                    observations: 0,
                    note: e.lines().next().unwrap_or_default().to_string(),
                }
            }
            Outcome::Compared(r) => r,
        };
        let verdict = match (&r.divergence, r.ops_run) {
            (Some(_), _) => "disagree",
            (None, 0) if r.ops_total > 0 => "not expressible",
            (None, _) => "agree",
        };
        let mut notes = Vec::new();
        if !r.skipped.is_empty() {
            notes.push(format!("skipped {}", r.skipped_summary()));
        }
        if let Some((i, e)) = r.ended {
            notes.push(format!("ended after op #{i}: {}", e.name()));
        }
        if let Some(d) = &r.divergence {
            notes.push(d.render().lines().next().unwrap_or_default().to_string());
        }
        Row {
            path,
            verdict,
            ops_run: r.ops_run,
            ops_total: r.ops_total,
            observations: r.observations,
            note: notes.join("; "),
        }
    }
}

/// Totals of a kernel replay.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Totals {
    pub agree: usize,
    pub disagree: usize,
    pub failed: usize,
    pub ops_total: usize,
    pub ops_run: usize,
    pub observations: u64,
    pub skipped: BTreeMap<OpKind, (usize, &'static str)>,
    pub explained: BTreeMap<Explained, u64>,
    pub seconds: f64,
    /// One row per file, in order, for [`Totals::table`].
    pub rows: Vec<Row>,
}

/// One file's line in the agreement table.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub path: String,
    /// `agree`, `disagree`, `not expressible` (no op could run) or
    /// `failed`.
    pub verdict: &'static str,
    pub ops_run: usize,
    pub ops_total: usize,
    pub observations: u64,
    /// Ops skipped by kind (`dev-read×2, gup×1`), or why the file failed,
    /// and where the comparison ended early.
    pub note: String,
}

impl Totals {
    fn add(&mut self, f: &FileReport) {
        self.rows.push(Row::of(f));
        let r = match &f.outcome {
            Outcome::Failed(_) => {
                self.failed += 1;
                return;
            }
            Outcome::Compared(r) => r,
        };
        if r.agrees() {
            self.agree += 1;
        } else {
            self.disagree += 1;
        }
        self.ops_total += r.ops_total;
        self.ops_run += r.ops_run;
        self.observations += r.observations;
        for (k, (n, why)) in &r.skipped {
            self.skipped.entry(*k).or_insert((0, why)).0 += n;
        }
        for (e, n) in &r.explained {
            *self.explained.entry(*e).or_insert(0) += n;
        }
    }

    /// The agreement table (markdown): a heading line, the machine, one
    /// row per file, the summary.
    pub fn table(&self, title: &str, env: &Environment) -> String {
        let mut t = format!(
            "# {title}\n\nKernel {} ({}); {}.\n\n",
            env.kernel_release,
            env.arch,
            self.lines().first().map_or("", |l| l.as_str())
        );
        t.push_str("| scenario | verdict | ops run | observations | not run, or why |\n");
        t.push_str("|---|---|---|---|---|\n");
        for r in &self.rows {
            let _ = writeln!(
                t,
                "| `{}` | {} | {}/{} | {} | {} |",
                r.path,
                r.verdict,
                r.ops_run,
                r.ops_total,
                r.observations,
                r.note.replace('|', "\\|")
            );
        }
        t
    }

    pub fn skipped_ops(&self) -> usize {
        self.skipped.values().map(|(n, _)| n).sum()
    }

    /// The summary: totals, then one line per skipped kind and per known
    /// difference met.
    pub fn lines(&self) -> Vec<String> {
        let files = self.agree + self.disagree + self.failed;
        let mut lines = vec![format!(
            "kernel engine: {files} files: {} agree, {} disagree, {} failed; {} of {} ops run, {} skipped; {} page observations compared; {:.1}s",
            self.agree,
            self.disagree,
            self.failed,
            self.ops_run,
            self.ops_total,
            self.skipped_ops(),
            self.observations,
            self.seconds
        )];
        for (k, (n, why)) in &self.skipped {
            lines.push(format!("  skipped {}×{n}: {why}", k.keyword()));
        }
        for (e, n) in &self.explained {
            lines.push(format!("  explained {}×{n}: {}", e.name(), e.reason()));
        }
        lines
    }
}

/// Compares everything `paths` name (directories: every `*.mms` and
/// `*.bin` below them) on `kernel`, printing the machine's facts, a line
/// per file (passing ones unless `quiet`) and the summary.
pub fn replay_all(
    kernel: &mut dyn Kernel,
    paths: &[PathBuf],
    quiet: bool,
    out: &mut dyn Write,
) -> Totals {
    let start = Instant::now();
    let _ = write!(out, "{}", kernel.env());
    let mut totals = Totals::default();
    for found in files::collect(paths, files::is_test_file) {
        let report = match found {
            Found::File(p) => replay_file(kernel, &p),
            Found::Error(p, e) => FileReport {
                path: p.display().to_string(),
                scenario: None,
                outcome: Outcome::Failed(format!("{}: cannot read: {e}", p.display())),
            },
        };
        totals.add(&report);
        if !(quiet && report.agrees()) {
            for l in report.lines() {
                let _ = writeln!(out, "{l}");
            }
        }
    }
    totals.seconds = start.elapsed().as_secs_f64();
    for l in totals.lines() {
        let _ = writeln!(out, "{l}");
    }
    totals
}

/// 0 when every file was compared and agreed, 1 otherwise.
pub fn exit_code(totals: &Totals) -> i32 {
    i32::from(totals.disagree + totals.failed > 0)
}

/// What `mmdiff replay --engine kernel|qemu` was asked to do.
#[derive(Clone, Copy, Debug)]
pub struct Run<'a> {
    pub engine: Engine,
    /// `--kernel`, which must name the engine's kernel when given.
    pub kernel: Option<KernelVersion>,
    /// `--table`: where to write the agreement table.
    pub table: Option<&'a Path>,
    pub quiet: bool,
}

/// `mmdiff replay --engine kernel|qemu <paths>`: exit 0 when everything
/// agreed, 1 on a disagreement or a failed file, 2 when the engine cannot
/// run on this machine or `--kernel` names another kernel.
pub fn command(run: &Run, paths: &[PathBuf], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let engine = run.engine;
    let opened = crate::kernel_target::Target::for_engine(engine).and_then(|t| t.open());
    let mut kernel = match opened {
        Ok(kernel) => kernel,
        Err(e) => {
            let _ = writeln!(err, "mmdiff replay: {e}");
            return 2;
        }
    };
    if let Err(e) = crate::kernel_target::check_kernel_option(run.kernel, engine, kernel.env()) {
        let _ = writeln!(err, "mmdiff replay: {e}");
        return 2;
    }
    let totals = replay_all(kernel.as_mut(), paths, run.quiet, out);
    if totals.agree + totals.disagree + totals.failed == 0 {
        let _ = writeln!(err, "mmdiff replay: warning: no *.mms or *.bin files found");
    }
    if let Some(path) = run.table {
        let title = format!("Oracle and {} kernel, scenario by scenario", engine.name());
        let text = totals.table(&title, kernel.env());
        if let Err(e) = files::write_atomic(path, text.as_bytes()) {
            let _ = writeln!(err, "mmdiff replay: {}: cannot write: {e}", path.display());
            return 1;
        }
    }
    exit_code(&totals)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::TempDir;
    use mmdiff_kernel::machine::HostKernel;

    #[test]
    fn engines_parse() {
        assert_eq!(parse_engine(None), Ok(Engine::Subject));
        assert_eq!(parse_engine(Some("subject")), Ok(Engine::Subject));
        assert_eq!(parse_engine(Some("kernel")), Ok(Engine::Kernel));
        assert_eq!(parse_engine(Some("qemu")), Ok(Engine::Qemu));
        assert!(Engine::Qemu.is_kernel() && !Engine::Subject.is_kernel());
        let e = parse_engine(Some("guest")).unwrap_err();
        assert!(e.0.contains("subject, kernel or qemu"), "{e}");
    }

    #[test]
    fn a_disagreement_shows_the_op_its_line_both_views_and_fails() {
        let real = match usable_environment() {
            Ok(env) => env,
            Err(why) => {
                assert!(why.contains("cannot run here"), "{why}");
                return;
            }
        };
        // An oracle told the machine has one page of memory runs out at
        // the second write fault; the kernel does not.
        let mut tiny = HostKernel {
            env: Environment {
                mem_pages: 1,
                ..real
            },
        };
        let t = TempDir::new("kernel-replay-disagree");
        let p = t.path().join("oom.mms");
        std::fs::write(
            &p,
            "# two pages\nmmap p0 m0 anon rw pages=2\nwrite p0 m0[0..2] = 1\n",
        )
        .unwrap();
        // A scenario of pins only: nothing the host kernel can run.
        let pins = t.path().join("pins.mms");
        std::fs::write(
            &pins,
            "gup p0 m0[0..1] pin longterm -> h0\ngup p0 m0[0..1] pin -> h1\n",
        )
        .unwrap();
        let mut out = Vec::new();
        let totals = replay_all(&mut tiny, &[p.clone(), pins.clone()], false, &mut out);
        let table = totals.table("Oracle and kernel", &tiny.env);
        for row in [
            format!("| `{}` | disagree | 2/2 |", p.display()),
            format!(
                "| `{}` | not expressible | 0/2 | 0 | skipped gup×2 |",
                pins.display()
            ),
        ] {
            assert!(table.contains(&row), "`{row}` missing:\n{table}");
        }
        assert!(table.starts_with("# Oracle and kernel\n"), "{table}");
        let out = String::from_utf8(out).unwrap();
        assert_eq!((totals.agree, totals.disagree, totals.failed), (1, 1, 0));
        assert_eq!(exit_code(&totals), 1);
        let headline = format!(
            "DISAGREE {}: op #1 `write p0 m0[0..2] = 1`: outcomes differ",
            p.display()
        );
        for expected in [
            headline.as_str(),
            "    at line 3",
            "    oracle: OOM@1",
            "    kernel: ok",
            "--- oracle",
            "    oracle view:",
            "    kernel view:",
            "kernel engine: 2 files: 1 agree, 1 disagree, 0 failed; 2 of 4 ops run, 2 skipped;",
        ] {
            assert!(out.contains(expected), "`{expected}` missing:\n{out}");
        }
    }

    #[test]
    fn a_file_that_cannot_be_parsed_fails_with_its_position() {
        let t = TempDir::new("kernel-replay-parse");
        let p = t.path().join("bad.mms");
        std::fs::write(&p, "mmap p0 m0 anon rw pages=4\nread q7 m0[0..4]\n").unwrap();
        let mut kernel = HostKernel {
            env: Environment::default(),
        };
        let r = replay_file(&mut kernel, &p);
        let lines = r.lines();
        assert_eq!(lines.len(), 1);
        assert!(
            lines[0].starts_with(&format!("FAIL {}:2:6: expected ", p.display())),
            "{lines:?}"
        );
        assert!(!r.agrees());
        let mut totals = Totals::default();
        totals.add(&r);
        assert_eq!((totals.failed, totals.agree, totals.disagree), (1, 0, 0));
    }
}
