//! `mmdiff minimize`: the shortest readable scenario that still fails with
//! the same divergence signature.
//!
//! The input (scenario text or fuzz bytes) runs once to record its
//! signature; every later candidate must diverge with exactly that
//! signature, so the reduction never drifts to another failure (what
//! byte-level minimizers do). The steps, each keeping the signature:
//!
//! 1. cut everything after the divergent op (it cannot matter);
//! 2. ddmin over ops ([`reduce::Reducer::ddmin`]);
//! 3. single-op deletion to a fixpoint: the result is 1-minimal, removing
//!    any one op loses the failure; then trades of two ops for one
//!    stronger op ([`simplify::stronger`]) and windows and processes folded
//!    into earlier ones ([`renumber::merge`]);
//! 4. argument simplification ([`simplify::simpler`]): smaller ranges and
//!    page counts, fewer flags, optional arguments dropped, values toward 0;
//! 5. slots renumbered by first use ([`renumber::by_first_use`]);
//!
//! and 3-5 again while anything changes (a simpler op can make another
//! op unnecessary). Candidates run in lockstep with [`Check::Locate`]
//! (digests after every op, the first op where they differ compared in
//! full), and the result is confirmed with [`Check::Full`]; when the full
//! comparison disagrees, or only it sees the input's failure, the
//! reduction runs again in Full mode. Everything is deterministic: the
//! same input gives the same scenario and the same number of tests.
//!
//! Expectations (`=> ...`) are dropped unless the failure is a missed
//! expectation: a divergence between the models does not need them, and
//! on fewer ops they would no longer hold.

pub mod reduce;
pub mod renumber;
pub mod simplify;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use mmdiff_core::expect::Expect;
use mmdiff_core::ids::IdKind;
use mmdiff_core::lockstep::{self, Check, Divergence, DivergenceKind};
use mmdiff_core::text::{self, Line, Scenario};
use mmdiff_core::{Config, Model, Op};
use mmdiff_oracle::Oracle;
use mmdiff_subject::Subject;

use crate::args::{self, Opt};
use crate::files;
use crate::input::{self, Input};
use crate::profile;
use reduce::Reducer;

/// One op of the sequence being reduced; `expect` indexes the input's
/// expectations, so that items stay cheap to compare and hash.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Item {
    op: Op,
    expect: Option<usize>,
}

/// A minimization's result.
#[derive(Clone, Debug)]
pub struct Minimized {
    /// The reduced scenario, with its header.
    pub scenario: Scenario,
    /// The divergence of the reduced scenario (same signature as the input's).
    pub divergence: Box<Divergence>,
    /// Ops of the input before and of the result after.
    pub ops_before: usize,
    pub ops_after: usize,
    /// Candidates run.
    pub tests: u64,
    pub seconds: f64,
}

impl Minimized {
    pub fn signature(&self) -> &str {
        &self.divergence.signature
    }

    /// `signature: N ops -> M ops, T tests, S s`.
    pub fn summary(&self) -> String {
        format!(
            "{}: {} ops -> {} ops, {} tests, {:.2} s",
            self.divergence.signature, self.ops_before, self.ops_after, self.tests, self.seconds
        )
    }
}

/// What a minimization can report while it runs: the phase, the current
/// number of ops and the tests so far.
pub type Progress<'a> = reduce::Progress<'a>;

/// Header keys a minimization writes (and replaces when the input has them).
const OWN_HEADERS: [&str; 4] = ["signature", "failure", "minimized", "minimized-from"];

/// Minimizes `input` on the oracle and the subject.
pub fn minimize(input: &Input, progress: Progress) -> Result<Minimized, String> {
    minimize_with::<Oracle, Subject>(input, progress)
}

/// Minimizes `input` on models `A` and `B`; an error when it does not
/// diverge.
pub fn minimize_with<A: Model, B: Model>(
    input: &Input,
    progress: Progress,
) -> Result<Minimized, String> {
    let start = Instant::now();
    let (items, expects) = items_of(&input.scenario);
    let config = &input.config;
    let first = |check| probe::<A, B>(config, &items, &expects, check);
    // Check::Locate compares only the op where the digests first differ in
    // full; a full comparison of every op of a long input takes seconds.
    let (check, found) = match first(Check::Locate) {
        Some(d) => (Check::Locate, d),
        None => match first(Check::Full) {
            Some(d) => (Check::Full, d),
            None => {
                return Err(format!(
                    "{}: no divergence in {} ops: nothing to minimize",
                    input.path,
                    items.len()
                ))
            }
        },
    };
    let keep_expects = matches!(found.kind, DivergenceKind::Expectation { .. });
    let mut start_ops: Vec<Item> = items.clone();
    if !keep_expects {
        start_ops.iter_mut().for_each(|i| i.expect = None);
    }
    // Candidates are compared with Check::Locate (fast), the result
    // confirmed in full; if the full comparison sees an earlier difference
    // the digest missed, the reduction runs again comparing every op in
    // full.
    let mut tests = 0;
    let mut result = None;
    let modes: &[Check] = if check == Check::Full {
        &[Check::Full]
    } else {
        &[Check::Locate, Check::Full]
    };
    for &mode in modes {
        let (ops, n) = reduce::<A, B>(
            config,
            start_ops.clone(),
            &expects,
            mode,
            &found.signature,
            progress,
        )
        .ok_or_else(|| {
            format!(
                "{}: the divergence does not reproduce without the input's expectations",
                input.path
            )
        })?;
        tests += n;
        let confirmed = probe::<A, B>(config, &ops, &expects, Check::Full)
            .filter(|d| d.signature == found.signature);
        if let Some(d) = confirmed {
            result = Some((ops, d));
            break;
        }
    }
    let (ops, divergence) = result.ok_or_else(|| {
        format!(
            "{}: the reduced scenario does not show `{}` when compared in full",
            input.path, found.signature
        )
    })?;
    let seconds = start.elapsed().as_secs_f64();
    let mut m = Minimized {
        scenario: Scenario::default(),
        divergence,
        ops_before: items.len(),
        ops_after: ops.len(),
        tests,
        seconds,
    };
    m.scenario = scenario_of(input, &ops, &expects, &m);
    Ok(m)
}

/// The reduction proper (steps 1-5 of the module documentation, with
/// candidates compared in `check` mode): the reduced ops and the number of
/// tests, or `None` when `ops` do not fail with `signature` at all.
fn reduce<A: Model, B: Model>(
    config: &Config,
    ops: Vec<Item>,
    expects: &[Expect],
    check: Check,
    signature: &str,
    progress: Progress,
) -> Option<(Vec<Item>, u64)> {
    let test = |candidate: &[Item]| {
        probe::<A, B>(config, candidate, expects, check)
            .filter(|d| d.signature == signature)
            .map(|d| if d.op.is_some() { d.index + 1 } else { 0 })
    };
    let mut reducer = Reducer::new(test, progress);
    reducer.set_phase("cut");
    let mut ops = reducer.check(&ops)?;
    reducer.set_phase("ddmin");
    ops = reducer.ddmin(ops);
    loop {
        let before = ops.clone();
        reducer.set_phase("delete");
        ops = reducer.delete_each(ops);
        reducer.set_phase("trade");
        ops = reducer.trade(ops, |item| {
            simplify::stronger(&item.op)
                .into_iter()
                .map(|op| Item {
                    op,
                    expect: item.expect,
                })
                .collect()
        });
        reducer.set_phase("merge");
        ops = merge_slots(&mut reducer, ops);
        reducer.set_phase("simplify");
        ops = reducer.replace_each(ops, |item| {
            if item.expect.is_some() {
                return Vec::new();
            }
            simplify::simpler(&item.op)
                .into_iter()
                .map(|op| Item { op, expect: None })
                .collect()
        });
        reducer.set_phase("renumber");
        let plain: Vec<Op> = ops.iter().map(|i| i.op.clone()).collect();
        let renamed = with_ops(&ops, renumber::by_first_use(&plain));
        if renamed != ops {
            if let Some(kept) = reducer.check(&renamed) {
                ops = kept;
            }
        }
        if ops == before {
            return Some((ops, reducer.tests()));
        }
    }
}

/// Folds each window into an earlier-used one, and each process into an
/// earlier one or `p0`, where the failure stays (then the deletion pass
/// drops what only moved pages between windows or forked).
fn merge_slots<F>(reducer: &mut Reducer<Item, F>, mut ops: Vec<Item>) -> Vec<Item>
where
    F: FnMut(&[Item]) -> Option<usize>,
{
    let plain = |ops: &[Item]| -> Vec<Op> { ops.iter().map(|i| i.op.clone()).collect() };
    for kind in [IdKind::Window, IdKind::Proc] {
        let mut used = renumber::used(&plain(&ops), kind);
        if kind == IdKind::Proc && !used.contains(&0) {
            used.insert(0, 0);
        }
        for (i, &from) in used.iter().enumerate().rev() {
            for &to in &used[..i] {
                let merged = with_ops(&ops, renumber::merge(&plain(&ops), kind, from, to));
                if let Some(kept) = reducer.check(&merged) {
                    ops = kept;
                    break;
                }
            }
        }
    }
    ops
}

/// `items` with their ops replaced by `ops` (same length), expectations kept.
fn with_ops(items: &[Item], ops: Vec<Op>) -> Vec<Item> {
    ops.into_iter()
        .zip(items)
        .map(|(op, i)| Item {
            op,
            expect: i.expect,
        })
        .collect()
}

fn items_of(s: &Scenario) -> (Vec<Item>, Vec<Expect>) {
    let mut expects = Vec::new();
    let items = s
        .lines
        .iter()
        .filter_map(|l| match l {
            Line::Op { op, expect, .. } => {
                let expect = expect.clone().map(|e| {
                    expects.push(e);
                    expects.len() - 1
                });
                Some(Item {
                    op: op.clone(),
                    expect,
                })
            }
            _ => None,
        })
        .collect();
    (items, expects)
}

fn lines_of(items: &[Item], expects: &[Expect]) -> Vec<Line> {
    items
        .iter()
        .map(|i| Line::Op {
            op: i.op.clone(),
            expect: i.expect.and_then(|e| expects.get(e).cloned()),
            pad: 1,
            comment: None,
            comment_pad: 1,
        })
        .collect()
}

fn probe<A: Model, B: Model>(
    config: &Config,
    items: &[Item],
    expects: &[Expect],
    check: Check,
) -> Option<Box<Divergence>> {
    lockstep::run_lockstep_lines::<A, B>(config, &lines_of(items, expects), check).divergence
}

/// The reduced scenario: the input's header (without what this run
/// rewrites; with the profile it ran on when that is not the baseline and
/// the input does not name it), the provenance of the reduction, and the
/// ops with a comment on the divergent one.
fn scenario_of(input: &Input, items: &[Item], expects: &[Expect], m: &Minimized) -> Scenario {
    let d = &m.divergence;
    let mut header: Vec<(String, String)> = input
        .scenario
        .header
        .iter()
        .filter(|(k, _)| !OWN_HEADERS.contains(&k.as_str()))
        .cloned()
        .collect();
    profile::record(&mut header, input.config.kernel);
    header.push(("signature".into(), d.signature.clone()));
    header.push(("failure".into(), d.to_string()));
    header.push((
        "minimized".into(),
        format!(
            "{} ops -> {} ops in {} tests, {:.2} s",
            m.ops_before, m.ops_after, m.tests, m.seconds
        ),
    ));
    header.push(("minimized-from".into(), input.path.clone()));
    let mut lines = lines_of(items, expects);
    if let (Some(_), Some(Line::Op { comment, .. })) = (&d.op, lines.get_mut(d.index)) {
        *comment = Some(format!(" <- {}", d.blame()));
    }
    Scenario { header, lines }
}

pub const USAGE: &str = "\
usage: mmdiff minimize <input> [-o <output.mms>] [--kernel V] [--quiet]

Reduces a failing input (scenario text *.mms, or fuzz bytes: any other
file) to a shortest scenario with the same divergence signature: ddmin over
ops, single-op deletion until no op can go, simpler arguments, slots
renumbered by first use. Prints the scenario (or writes it to <output>,
atomically), with a header giving the signature, the divergent op, the ops
before and after, the tests run and the time taken. Progress goes to
stderr.

  -o, --out FILE  write the scenario to FILE instead of stdout
  --kernel V      the models' semantics profile, 6.12 to 6.19 (default
                  6.19), for fuzz bytes and a scenario without `kernel=` in
                  its `#! config:` line (one that has it keeps its own);
                  the result records a profile other than 6.19
  --quiet         no progress

Exit status: 0 minimized, 1 the input does not diverge or cannot be read,
2 usage error.";

/// `mmdiff minimize`.
pub fn command(argv: &[String], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let opts = [
        Opt {
            names: &["--out", "-o"],
            takes_value: true,
        },
        Opt {
            names: &["--quiet"],
            takes_value: false,
        },
        profile::OPT,
    ];
    let parsed = match args::parse(argv, &opts) {
        Ok(p) => p,
        Err(e) => return crate::usage_error(err, &e, USAGE),
    };
    let [path] = parsed.positional.as_slice() else {
        let e = args::UsageError("minimize takes one input file".into());
        return crate::usage_error(err, &e, USAGE);
    };
    let kernel = match profile::parse(parsed.value("--kernel")) {
        Ok(k) => profile::or_baseline(k),
        Err(e) => return crate::usage_error(err, &e, USAGE),
    };
    let input = match input::load_with(&PathBuf::from(path), kernel) {
        Ok(i) => i,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return 1;
        }
    };
    let quiet = parsed.has("--quiet");
    let terminal = std::io::stderr().is_terminal();
    let mut shown = Shown::default();
    let mut report = |phase: &'static str, len: usize, tests: u64| {
        if !quiet {
            shown.show(err, phase, len, tests, terminal);
        }
    };
    let result = minimize(&input, &mut report);
    if terminal && !quiet {
        let _ = writeln!(err);
    }
    let m = match result {
        Ok(m) => m,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return 1;
        }
    };
    let _ = writeln!(err, "minimize: {}", m.summary());
    let text = text::print(&m.scenario);
    match parsed.value("--out") {
        Some(dest) => {
            let dest = PathBuf::from(dest);
            if let Err(e) = files::write_atomic(&dest, text.as_bytes()) {
                let _ = writeln!(err, "error: cannot write {}: {e}", dest.display());
                return 1;
            }
            let _ = writeln!(err, "minimize: wrote {}", dest.display());
        }
        None => {
            let _ = write!(out, "{text}");
        }
    }
    0
}

/// Progress output: a line per phase when piped, one line updated in
/// place on a terminal.
#[derive(Default)]
struct Shown {
    phase: &'static str,
}

impl Shown {
    fn show(
        &mut self,
        err: &mut dyn Write,
        phase: &'static str,
        len: usize,
        tests: u64,
        terminal: bool,
    ) {
        let line = format!("minimize: {phase}: {len} ops, {tests} tests");
        if terminal {
            let _ = write!(err, "\r\x1b[2K{line}");
        } else if phase != self.phase {
            let _ = writeln!(err, "{line}");
        }
        self.phase = phase;
        let _ = err.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mmdiff_core::rng::SplitMix64;
    use mmdiff_core::{bytes, Outcome, State};

    /// A toy pair: `Buggy` panics on a read of page 5 of any window once
    /// some fork happened; `Clean` never does.
    struct Toy<const BUG: bool> {
        config: Config,
        forked: bool,
    }

    impl<const BUG: bool> Model for Toy<BUG> {
        fn new(c: &Config) -> Self {
            Toy {
                config: c.clone(),
                forked: false,
            }
        }
        fn name(&self) -> &'static str {
            if BUG {
                "buggy"
            } else {
                "clean"
            }
        }
        fn apply(&mut self, op: &Op) -> Outcome {
            match op {
                Op::Fork { .. } => self.forked = true,
                Op::Read { range, .. }
                    if BUG && self.forked && range.start <= 5 && 5 < range.end =>
                {
                    panic!("toy bug")
                }
                _ => {}
            }
            Outcome::OK
        }
        fn raw_state(&self) -> State {
            State::empty(&self.config)
        }
    }

    fn buried(seed: u64) -> Input {
        let mut rng = SplitMix64::new(seed);
        let mut noise = Vec::new();
        while noise.len() < 300 {
            let mut data = vec![0u8; 512];
            rng.fill(&mut data);
            noise.extend(
                bytes::decode(&data)
                    .into_iter()
                    .filter(|op| !matches!(op, Op::Fork { .. } | Op::Read { .. })),
            );
        }
        let mut ops = noise;
        ops.insert(40, text::parse_op("fork p1 -> p3").expect("parses"));
        ops.insert(250, text::parse_op("read p2 m3[2..9]").expect("parses"));
        Input {
            path: format!("toy-{seed}"),
            source: input::Source::Text,
            scenario: Scenario::from_ops(&ops),
            config: Config::default(),
        }
    }

    fn quiet() -> impl FnMut(&'static str, usize, u64) {
        |_, _, _| {}
    }

    #[test]
    fn a_buried_toy_bug_reduces_to_its_two_ops_with_simple_arguments() {
        let input = buried(11);
        let m = minimize_with::<Toy<false>, Toy<true>>(&input, &mut quiet()).expect("diverges");
        assert_eq!(m.signature(), "read/panic@buggy");
        let ops: Vec<String> = m.scenario.ops().iter().map(text::op_to_string).collect();
        // The toy ignores process ids, so both ops end up naming p0.
        assert_eq!(ops, ["fork p0 -> p0", "read p0 m0[5]"]);
        assert!(m.ops_before > 300);
        assert_eq!(m.ops_after, 2);
        let printed = text::print(&m.scenario);
        assert!(
            printed.starts_with("#! signature: read/panic@buggy\n"),
            "{printed}"
        );
        assert!(
            printed.contains("#! failure: op #1 `read p0 m0[5]`: buggy panicked"),
            "{printed}"
        );
        assert!(
            printed.contains(&format!("#! minimized: {} ops -> 2 ops in ", m.ops_before)),
            "{printed}"
        );
        assert!(printed.contains("#! minimized-from: toy-11\n"), "{printed}");
        assert!(
            printed.ends_with("read p0 m0[5] # <- buggy fails here\n"),
            "{printed}"
        );
    }

    #[test]
    fn a_result_on_another_profile_records_it() {
        let v612 = mmdiff_core::KernelVersion::new(6, 12);
        let mut input = buried(11);
        input.config.kernel = v612;
        let m = minimize_with::<Toy<false>, Toy<true>>(&input, &mut quiet()).expect("diverges");
        let printed = text::print(&m.scenario);
        assert!(
            printed.starts_with("#! config: kernel=6.12\n#! signature: read/panic@buggy\n"),
            "{printed}"
        );
        assert_eq!(m.scenario.config().map(|c| c.kernel), Ok(v612));
        // A config header of the input's own keeps its sizes and gains the
        // profile; one that names a kernel is left as it is.
        for (own, want) in [
            ("window_pages=4096", "window_pages=4096 kernel=6.12"),
            ("kernel=6.15", "kernel=6.15"),
        ] {
            let mut input = buried(11);
            input.scenario.header = vec![("config".into(), own.into())];
            input.config = crate::profile::scenario_config(&input.scenario, v612).expect("valid");
            let m = minimize_with::<Toy<false>, Toy<true>>(&input, &mut quiet()).expect("diverges");
            assert_eq!(m.scenario.header[0], ("config".into(), want.into()));
        }
    }

    #[test]
    fn minimization_is_deterministic() {
        let input = buried(12);
        let a = minimize_with::<Toy<false>, Toy<true>>(&input, &mut quiet()).expect("diverges");
        let b = minimize_with::<Toy<false>, Toy<true>>(&input, &mut quiet()).expect("diverges");
        assert_eq!(a.scenario.lines, b.scenario.lines);
        assert_eq!(a.tests, b.tests);
    }

    #[test]
    fn progress_names_every_phase() {
        let mut phases: Vec<&'static str> = Vec::new();
        let mut record = |phase: &'static str, _: usize, _: u64| {
            if phases.last() != Some(&phase) {
                phases.push(phase);
            }
        };
        minimize_with::<Toy<false>, Toy<true>>(&buried(13), &mut record).expect("diverges");
        for phase in ["cut", "ddmin", "delete", "simplify"] {
            assert!(phases.contains(&phase), "{phase} missing from {phases:?}");
        }
    }

    #[test]
    fn an_input_without_divergence_is_an_error() {
        let e = minimize_with::<Toy<false>, Toy<false>>(&buried(14), &mut quiet())
            .expect_err("no divergence");
        assert!(e.starts_with("toy-14: no divergence in "), "{e}");
        assert!(e.ends_with(" ops: nothing to minimize"), "{e}");
    }
}
