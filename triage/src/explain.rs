//! `mmdiff explain`: a divergence as a kernel developer wants to read it.
//!
//! The first divergent op with the ops before it, both models' outcomes
//! one above the other, what broke (invariant, panic, expectation: which
//! model, which folio or entry), and the difference of the canonical
//! states restricted to the lines that differ, each shown under the
//! process and VMA lines it belongs to. Coloured on a terminal (unless
//! `NO_COLOR` is set), plain when piped.
//!
//! A testcase of the `scenario_parser` fuzz target holds parser input, not
//! ops: for one (named as ClusterFuzz or cargo fuzz name them, see
//! [`input::testcase_target`]) `explain` runs that target's check instead
//! and says whether the parser keeps its contract on it.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use mmdiff_core::canon;
use mmdiff_core::lockstep::{self, Check, Divergence, DivergenceKind};
use mmdiff_core::state::State;
use mmdiff_core::{text, KernelVersion};
use mmdiff_oracle::Oracle;
use mmdiff_subject::Subject;

use crate::args::{self, Opt};
use crate::input::{self, Input, Source};
use crate::profile;
use crate::replay::op_line_number;

/// Ops shown before the divergent one.
pub const CONTEXT_OPS: usize = 4;

/// Terminal colours, or none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn bold(self, s: &str) -> String {
        self.paint("1", s)
    }
    fn removed(self, s: &str) -> String {
        self.paint("31", s)
    }
    fn added(self, s: &str) -> String {
        self.paint("32", s)
    }
    fn dim(self, s: &str) -> String {
        self.paint("2", s)
    }
}

/// Runs `input` on the oracle and the subject in lockstep (compared in
/// full after every op) and explains the first divergence; `None` when
/// there is none.
pub fn explain(input: &Input, style: Style) -> Option<String> {
    let report = lockstep::run_lockstep_lines::<Oracle, Subject>(
        &input.config,
        &input.scenario.lines,
        Check::Full,
    );
    let d = report.divergence?;
    Some(render(input, &d, style))
}

/// `, kernel V` when the models ran on another profile than the baseline.
fn profile_note(kernel: KernelVersion) -> String {
    if kernel == KernelVersion::BASELINE {
        String::new()
    } else {
        format!(", kernel {kernel}")
    }
}

/// The explanation of `d`, found by running `input`.
pub fn render(input: &Input, d: &Divergence, style: Style) -> String {
    let mut s = String::new();
    let ops = input.scenario.ops();
    let source = match input.source {
        Source::Text => "scenario text",
        Source::Bytes => "fuzz bytes",
    };
    let _ = writeln!(
        s,
        "{} ({} ops, {source}{})",
        input.path,
        ops.len(),
        profile_note(input.config.kernel)
    );
    let _ = writeln!(s, "{} {}", style.bold("signature:"), d.signature);
    let _ = writeln!(s, "{} {d}", style.bold("first divergence:"));
    if d.op.is_some() {
        let _ = writeln!(s, "\n{}", style.bold("ops:"));
        let from = d.index.saturating_sub(CONTEXT_OPS);
        if from > 0 {
            let _ = writeln!(s, "  {}", style.dim(&format!("... {from} ops before")));
        }
        for (i, op) in ops.iter().enumerate().take(d.index + 1).skip(from) {
            let line = match input.source {
                Source::Text => op_line_number(&input.scenario, i)
                    .map(|l| format!("line {l}"))
                    .unwrap_or_default(),
                Source::Bytes => String::new(),
            };
            let text = text::op_to_string(op);
            if i == d.index {
                let marked = format!("> #{i:<4} {text:<48} {line}  <- {}", d.blame());
                let _ = writeln!(s, "{}", style.bold(&marked));
            } else {
                let _ = writeln!(s, "  #{i:<4} {text:<48} {}", style.dim(&line));
            }
        }
        if ops.len() > d.index + 1 {
            let rest = ops.len() - d.index - 1;
            let _ = writeln!(
                s,
                "  {}",
                style.dim(&format!("... {rest} ops after, not run"))
            );
        }
    }
    let _ = writeln!(s, "\n{}", style.bold("outcomes:"));
    let width = d.models.iter().map(|m| m.len()).max().unwrap_or(0);
    let differ = matches!(d.kind, DivergenceKind::Outcome);
    for (i, model) in d.models.iter().enumerate() {
        let outcome = match (&d.outcomes[i], &d.op) {
            (Some(o), _) => text::outcome_to_string(o),
            (None, None) => "(before the first op)".into(),
            (None, Some(_)) => "(none: the model panicked)".into(),
        };
        let outcome = match (differ, i) {
            (true, 0) => style.removed(&outcome),
            (true, _) => style.added(&outcome),
            _ => outcome,
        };
        let _ = writeln!(s, "  {model:<width$}  {outcome}");
    }
    what_broke(&mut s, d, style);
    if let [Some(a), Some(b)] = &d.states {
        if a != b {
            let _ = writeln!(
                s,
                "\n{} ({} -, {} +; only what differs, under its process and VMA):",
                style.bold("state after the op"),
                d.models[0],
                d.models[1]
            );
            s.push_str(&state_changes(a, b, style));
        }
    }
    s
}

fn what_broke(s: &mut String, d: &Divergence, style: Style) {
    match &d.kind {
        DivergenceKind::Outcome | DivergenceKind::State => {}
        DivergenceKind::Invariant { model, violations } => {
            let _ = writeln!(s, "\n{}", style.bold(&format!("{model} broke invariants:")));
            for v in violations {
                let _ = writeln!(s, "  {}: {}", v.invariant, v.detail);
            }
        }
        DivergenceKind::Panic { model, report } => {
            let _ = writeln!(
                s,
                "\n{}",
                style.bold(&format!("{model} panicked in {}:", report.stage.name()))
            );
            let _ = writeln!(s, "  {}", report.message.trim_end());
            if let Some(l) = &report.location {
                let _ = writeln!(s, "  at {l}");
            }
        }
        DivergenceKind::Expectation { model, mismatches } => {
            let _ = writeln!(
                s,
                "\n{}",
                style.bold(&format!("the expectation does not hold on the {model}:"))
            );
            for m in mismatches {
                let _ = writeln!(s, "  {m}");
            }
        }
    }
}

/// The lines of the rendered states that differ, each preceded by the
/// lines it is nested under (its process, its VMA), once.
pub fn state_changes(a: &State, b: &State, style: Style) -> String {
    let (old, new) = (canon::render(a), canon::render(b));
    let old_lines: Vec<&str> = old.lines().collect();
    let new_lines: Vec<&str> = new.lines().collect();
    let diff = similar::TextDiff::from_lines(&old, &new);
    let mut out = String::new();
    // The parents shown last: a change under the same ones adds none.
    let mut shown: Vec<&str> = Vec::new();
    let mut changes = 0;
    for change in diff.iter_all_changes() {
        let (lines, index, sign) = match change.tag() {
            similar::ChangeTag::Equal => continue,
            similar::ChangeTag::Delete => (&old_lines, change.old_index(), '-'),
            similar::ChangeTag::Insert => (&new_lines, change.new_index(), '+'),
        };
        let Some(index) = index else { continue };
        changes += 1;
        if changes > MAX_CHANGED_LINES {
            continue;
        }
        let line = lines.get(index).copied().unwrap_or_default();
        let chain = parents(lines, index);
        let common = chain.iter().zip(&shown).take_while(|(a, b)| a == b).count();
        for parent in &chain[common..] {
            let _ = writeln!(out, "  {}", style.dim(parent));
        }
        shown = chain;
        let text = format!("{sign} {line}");
        let _ = writeln!(
            out,
            "{}",
            if sign == '-' {
                style.removed(&text)
            } else {
                style.added(&text)
            }
        );
    }
    if changes > MAX_CHANGED_LINES {
        let more = changes - MAX_CHANGED_LINES;
        let _ = writeln!(
            out,
            "  {}",
            style.dim(&format!("... {more} more changed lines"))
        );
    }
    out
}

/// Changed state lines shown at most (a split THP changes 512).
pub const MAX_CHANGED_LINES: usize = 40;

/// The lines `lines[index]` is nested under: for each smaller indentation,
/// the nearest line above with it, outermost first.
fn parents<'a>(lines: &[&'a str], index: usize) -> Vec<&'a str> {
    let indent = |l: &str| l.len() - l.trim_start().len();
    let mut want = lines.get(index).map_or(0, |l| indent(l));
    let mut out = Vec::new();
    for &l in lines[..index].iter().rev() {
        if want == 0 {
            break;
        }
        if indent(l) < want {
            out.push(l);
            want = indent(l);
        }
    }
    out.reverse();
    out
}

/// What the `scenario_parser` target checks (`check_scenario_text` in
/// fuzz/src/lib.rs), on a testcase of it: the text parses or is refused
/// without a panic, and what parses prints, parses back to the same
/// scenario and prints the same again. Returns the exit status (0 the
/// contract holds, 1 it does not) and the report.
pub fn check_parser_testcase(shown: &str, data: &[u8]) -> (i32, String) {
    let mut s = format!(
        "{shown} ({} testcase, {} bytes)\n",
        input::PARSER_TARGET,
        data.len()
    );
    let Ok(src) = std::str::from_utf8(data) else {
        s.push_str("not UTF-8: the target rejects it before the parser, so nothing to check\n");
        return (0, s);
    };
    let broken = |mut s: String, what: String| {
        let _ = writeln!(s, "the parser's contract does not hold: {what}");
        let _ = writeln!(s, "  input:   {src:?}");
        (1, s)
    };
    let scenario = match catch(|| text::parse(src)) {
        Err(panic) => return broken(s, format!("parse panicked: {panic}")),
        Ok(Err(e)) => {
            let _ = writeln!(s, "refused, as the parser may: {e}");
            return (0, s);
        }
        Ok(Ok(scenario)) => scenario,
    };
    let printed = match catch(|| text::print(&scenario)) {
        Ok(p) => p,
        Err(panic) => return broken(s, format!("print panicked: {panic}")),
    };
    let what = match catch(|| text::parse(&printed)) {
        Err(panic) => format!("parsing the printed text panicked: {panic}"),
        Ok(Err(e)) => format!("the printed text does not parse: {e}"),
        Ok(Ok(again)) if again != scenario => "print and parse changed the scenario".into(),
        Ok(Ok(again)) => match catch(|| text::print(&again)) {
            Err(panic) => format!("printing again panicked: {panic}"),
            Ok(reprinted) if reprinted != printed => {
                format!("printing is not stable: the second print is {reprinted:?}")
            }
            Ok(_) => {
                let _ = writeln!(
                    s,
                    "the parser's contract holds: {} ops parse, print, parse back to the same \
                     scenario and print the same again",
                    scenario.ops().len()
                );
                return (0, s);
            }
        },
    };
    let (code, mut s) = broken(s, what);
    let _ = writeln!(s, "  printed: {printed:?}");
    (code, s)
}

/// Runs `f`, turning a panic into its message (the panic hook has printed
/// it, with its location, on stderr).
fn catch<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    panic::catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|m| m.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(a panic without a message)".into())
    })
}

fn parser_testcase(path: &Path, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let shown = path.display().to_string();
    let data = match std::fs::read(path) {
        Ok(d) => d,
        Err(e) => {
            let _ = writeln!(err, "error: {shown}: cannot read: {e}");
            return 2;
        }
    };
    let (code, report) = check_parser_testcase(&shown, &data);
    let _ = write!(out, "{report}");
    code
}

pub const USAGE: &str = "\
usage: mmdiff explain <input> [--color auto|always|never] [--kernel V]

Runs a scenario (*.mms) or a fuzz testcase (any other file: raw bytes, as
cargo-fuzz, AFL, OSS-Fuzz and ClusterFuzzLite save them, such as
clusterfuzz-testcase-minimized-differential-5712345) on the oracle and the
subject in lockstep, comparing everything after every op, and explains the
first divergence: the op in context, both outcomes, what broke in which
model, and the lines of the canonical states that differ. Colour on a
terminal unless NO_COLOR is set.

A testcase of the scenario_parser target (clusterfuzz-testcase-[minimized-]
scenario_parser-<id>, or artifacts/scenario_parser/crash-<hash>) is text
for the parser: explain runs that target's check on it instead (parse,
print, parse back, print again) and says whether it holds.

  --kernel V  the models' semantics profile, 6.12 to 6.19 (default 6.19),
              for a fuzz testcase and a scenario without `kernel=` in its
              `#! config:` line (one that has it keeps its own)

Exit status: 0 the models agree (the parser's check holds), 1 a divergence
was explained (the parser's check failed), 2 usage error or unreadable
input.";

/// `mmdiff explain`.
pub fn command(argv: &[String], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let opts = [
        Opt {
            names: &["--color"],
            takes_value: true,
        },
        profile::OPT,
    ];
    let parsed = match args::parse(argv, &opts) {
        Ok(p) => p,
        Err(e) => return crate::usage_error(err, &e, USAGE),
    };
    let [path] = parsed.positional.as_slice() else {
        let e = args::UsageError("explain takes one input file".into());
        return crate::usage_error(err, &e, USAGE);
    };
    let color = match parsed.value("--color").unwrap_or("auto") {
        "always" => true,
        "never" => false,
        "auto" => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        other => {
            let e = args::UsageError(format!(
                "--color takes auto, always or never, not `{other}`"
            ));
            return crate::usage_error(err, &e, USAGE);
        }
    };
    let kernel = match profile::parse(parsed.value("--kernel")) {
        Ok(k) => profile::or_baseline(k),
        Err(e) => return crate::usage_error(err, &e, USAGE),
    };
    let path = PathBuf::from(path);
    if input::testcase_target(&path).as_deref() == Some(input::PARSER_TARGET) {
        return parser_testcase(&path, out, err);
    }
    let input = match input::load_with(&path, kernel) {
        Ok(i) => i,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return 2;
        }
    };
    match explain(&input, Style { color }) {
        Some(text) => {
            let _ = write!(out, "{text}");
            1
        }
        None => {
            let _ = writeln!(
                out,
                "{}: no divergence: the oracle and the subject agree on all {} ops",
                input.path,
                input.scenario.ops().len()
            );
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_are_the_enclosing_lines_outermost_first() {
        let lines = [
            "p0", "  vma a", "    e1", "    e2", "  vma b", "    e3", "F0 x",
        ];
        assert_eq!(parents(&lines, 3), ["p0", "  vma a"]);
        assert_eq!(parents(&lines, 5), ["p0", "  vma b"]);
        assert!(parents(&lines, 6).is_empty());
        assert!(parents(&lines, 0).is_empty());
    }

    #[test]
    fn parser_testcases_are_checked_like_the_target_does() {
        let check = |data: &[u8]| check_parser_testcase("t", data);
        let (code, out) = check(b"mmap p0 m0 anon rw pages=2\nfork p0 -> p1 => ok\n");
        assert_eq!(code, 0, "{out}");
        assert!(
            out.starts_with("t (scenario_parser testcase, 47 bytes)\n"),
            "{out}"
        );
        assert!(out.contains("contract holds: 2 ops parse"), "{out}");
        let (code, out) = check(b"mmap p0 m0 anon rw pages=2\nwrite q9\n");
        assert_eq!(code, 0, "a refusal is an answer: {out}");
        assert!(
            out.contains("refused, as the parser may: line 2, column 7: expected"),
            "{out}"
        );
        let (code, out) = check(&[0xff, 0x00]);
        assert_eq!(code, 0);
        assert!(out.contains("not UTF-8"), "{out}");
    }

    #[test]
    fn a_panic_becomes_its_message() {
        // The panic hook is left alone (it is process-wide, and core's
        // runner installs its own): the two panics print on stderr, which
        // the test harness captures.
        let owned = catch(|| -> () { panic!("owned {}", 7) });
        let fixed = catch(|| -> () { panic!("fixed") });
        assert_eq!(owned, Err("owned 7".to_string()));
        assert_eq!(fixed, Err("fixed".to_string()));
        assert_eq!(catch(|| 5), Ok(5));
    }

    #[test]
    fn colour_only_when_asked() {
        let on = Style { color: true };
        let off = Style { color: false };
        assert_eq!(off.removed("x"), "x");
        assert_eq!(on.removed("x"), "\x1b[31mx\x1b[0m");
        assert_eq!(on.added("x"), "\x1b[32mx\x1b[0m");
    }
}
