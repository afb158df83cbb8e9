//! Running a scenario on a model: the one loop every tool shares.
//!
//! [`Runner`] drives one [`Model`] op by op. After every op it
//! canonicalizes the model's raw state ([`canon::canonicalize`]), renames the
//! op's outcome with the same map, checks the invariants on the canonical
//! state ([`invariants::check`]) and, when the scenario line has an
//! expectation, checks it ([`expect::check`]). A panic anywhere in that
//! step is caught and reported as a [`Failure`] at that op; a model that
//! panicked is abandoned.
//!
//! [`run_lines`], [`run_scenario`] and [`run_ops`] run a whole sequence and
//! return a [`RunReport`]. A lockstep (differential) runner drives two
//! [`Runner`]s side by side and compares each [`Step`]'s canonical outcome
//! and [`Runner::state`].
//!
//! Nothing here reads a clock or a random source: the same input gives the
//! same report.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use crate::canon;
use crate::config::Config;
use crate::expect::{self, Expect};
use crate::invariants::{self, Violation};
use crate::model::Model;
use crate::op::Op;
use crate::outcome::Outcome;
use crate::state::State;
use crate::text::{self, Line, Scenario};

/// The invariant checker a [`Runner`] calls after every op.
pub type InvariantCheck = fn(&State) -> Vec<Violation>;

/// Where in a step a panic happened. `New`, `Apply` and `RawState` are the
/// model's own code; the others are the harness's, run on the model's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// `Model::new`.
    New,
    /// `Model::apply`.
    Apply,
    /// `Model::raw_state`.
    RawState,
    /// `canon::canonicalize` of the model's raw state.
    Canonicalize,
    /// The invariant checker on the canonical state.
    Invariants,
    /// `expect::check` of the line's expectation.
    Expectations,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::New => "new",
            Stage::Apply => "apply",
            Stage::RawState => "raw_state",
            Stage::Canonicalize => "canonicalize",
            Stage::Invariants => "invariants",
            Stage::Expectations => "expectations",
        }
    }

    /// True when the panicking code is the model's.
    pub fn in_model(self) -> bool {
        matches!(self, Stage::New | Stage::Apply | Stage::RawState)
    }
}

/// A caught panic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PanicReport {
    pub stage: Stage,
    /// The panic message (`"Box<dyn Any>"` when the payload is not a string).
    pub message: String,
    /// `file:line:column` of the panic, when the runner's panic hook saw it.
    pub location: Option<String>,
}

impl fmt::Display for PanicReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", one_line(&self.message))?;
        if let Some(location) = &self.location {
            write!(f, " at {location}")?;
        }
        Ok(())
    }
}

/// The record of one op that ran to completion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// 0-based index of the op in the sequence.
    pub index: usize,
    pub op: Op,
    /// The op's outcome, renamed to canonical folio names.
    pub outcome: Outcome,
    /// Invariants broken by the canonical state after the op.
    pub violations: Vec<Violation>,
    /// Expectation mismatches (empty when the line had no expectation).
    pub mismatches: Vec<String>,
}

impl Step {
    /// This step as a failure of `model`, if it failed.
    pub fn failure(&self, model: &'static str) -> Option<Failure> {
        self.failed().then(|| step_failure(model, self))
    }

    pub fn failed(&self) -> bool {
        !self.violations.is_empty() || !self.mismatches.is_empty()
    }
}

/// What went wrong, most severe first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// A panic; the model was abandoned.
    Panic(PanicReport),
    /// Invariants broken by the canonical state (plus any expectation
    /// mismatches of the same op).
    Invariant {
        violations: Vec<Violation>,
        mismatches: Vec<String>,
    },
    /// The line's expectation did not hold.
    Expectation { mismatches: Vec<String> },
}

/// One failure of one model, with everything needed to report it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The model's name (`oracle`, `subject`).
    pub model: &'static str,
    /// 0-based op index; `None` when the model failed before its first op
    /// (in `Model::new`, or its initial state broke an invariant).
    pub index: Option<usize>,
    pub op: Option<Op>,
    /// The canonical outcome, when the op completed.
    pub outcome: Option<Outcome>,
    pub kind: FailureKind,
}

impl Failure {
    /// A short, stable name of the failure class: `panic`, `invariant`,
    /// `expect`. Used in artifact file names.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            FailureKind::Panic(_) => "panic",
            FailureKind::Invariant { .. } => "invariant",
            FailureKind::Expectation { .. } => "expect",
        }
    }

    /// A one-line explanation without the op: `oracle panicked in apply:
    /// ...`, `invariant refcount: ...`, `outcome: expected ..., found ...`.
    /// Several problems are joined with `; `.
    pub fn reason(&self) -> String {
        let model = self.model;
        match &self.kind {
            FailureKind::Panic(p) => {
                if p.stage.in_model() {
                    format!("{model} panicked in {}: {p}", p.stage.name())
                } else {
                    format!(
                        "harness panicked in {} on {model}'s state: {p}",
                        p.stage.name()
                    )
                }
            }
            FailureKind::Invariant {
                violations,
                mismatches,
            } => {
                let mut parts: Vec<String> = violations
                    .iter()
                    .map(|v| format!("{model} broke invariant {}: {}", v.invariant, v.detail))
                    .collect();
                parts.extend(mismatches.iter().cloned());
                one_line(&parts.join("; "))
            }
            FailureKind::Expectation { mismatches } => one_line(&mismatches.join("; ")),
        }
    }

    /// A stable identity for deduplication that ignores the input: the
    /// failure class plus the first broken invariant or the panic's location
    /// (its message when the location is unknown).
    pub fn signature(&self) -> String {
        match &self.kind {
            FailureKind::Panic(p) => format!(
                "panic {} {} {}",
                self.model,
                p.stage.name(),
                p.location.clone().unwrap_or_else(|| one_line(&p.message))
            ),
            FailureKind::Invariant { violations, .. } => format!(
                "invariant {} {}",
                self.model,
                violations.first().map_or("?", |v| v.invariant)
            ),
            FailureKind::Expectation { .. } => format!("expect {}", self.model),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.index, &self.op) {
            (Some(i), Some(op)) => {
                write!(f, "op #{i} `{}`: {}", text::op_to_string(op), self.reason())
            }
            _ => write!(f, "before the first op: {}", self.reason()),
        }
    }
}

/// Everything one run produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunReport {
    pub model: &'static str,
    /// Invariants broken by the state right after `Model::new`.
    pub initial_violations: Vec<Violation>,
    /// One record per op that completed, in order. The run goes on after a
    /// broken invariant or expectation; it stops at a panic.
    pub steps: Vec<Step>,
    /// The panic that ended the run early, if any.
    pub aborted: Option<Failure>,
    /// The canonical state after the last completed op (after `new` when no
    /// op completed); `None` when `Model::new` itself panicked.
    pub final_state: Option<State>,
}

impl RunReport {
    pub fn passed(&self) -> bool {
        self.initial_violations.is_empty()
            && self.aborted.is_none()
            && self.steps.iter().all(|s| !s.failed())
    }

    /// Every failure, in op order (a panic comes last: it ends the run).
    pub fn failures(&self) -> Vec<Failure> {
        let mut out = Vec::new();
        if !self.initial_violations.is_empty() {
            out.push(Failure {
                model: self.model,
                index: None,
                op: None,
                outcome: None,
                kind: FailureKind::Invariant {
                    violations: self.initial_violations.clone(),
                    mismatches: Vec::new(),
                },
            });
        }
        out.extend(
            self.steps
                .iter()
                .filter(|s| s.failed())
                .map(|s| step_failure(self.model, s)),
        );
        out.extend(self.aborted.clone());
        out
    }

    /// The first failure, if any.
    pub fn first_failure(&self) -> Option<Failure> {
        self.failures().into_iter().next()
    }

    /// Number of ops that completed.
    pub fn ops_run(&self) -> usize {
        self.steps.len()
    }
}

fn panic_failure(model: &'static str, at: Option<(usize, &Op)>, p: PanicReport) -> Box<Failure> {
    Box::new(Failure {
        model,
        index: at.map(|(i, _)| i),
        op: at.map(|(_, op)| op.clone()),
        outcome: None,
        kind: FailureKind::Panic(p),
    })
}

fn step_failure(model: &'static str, s: &Step) -> Failure {
    let kind = if s.violations.is_empty() {
        FailureKind::Expectation {
            mismatches: s.mismatches.clone(),
        }
    } else {
        FailureKind::Invariant {
            violations: s.violations.clone(),
            mismatches: s.mismatches.clone(),
        }
    };
    Failure {
        model,
        index: Some(s.index),
        op: Some(s.op.clone()),
        outcome: Some(s.outcome.clone()),
        kind,
    }
}

/// Drives one model op by op.
pub struct Runner<M: Model> {
    /// `None` once the model panicked.
    model: Option<M>,
    name: &'static str,
    next_index: usize,
    state: State,
    /// The canonical state before the last completed op (the initial
    /// state before the first).
    previous: State,
    initial_violations: Vec<Violation>,
    invariants: InvariantCheck,
    /// The panic that abandoned the model.
    dead: Option<Box<Failure>>,
}

impl<M: Model> fmt::Debug for Runner<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runner")
            .field("name", &self.name)
            .field("next_index", &self.next_index)
            .field("abandoned", &self.dead.is_some())
            .finish()
    }
}

impl<M: Model> Runner<M> {
    /// Creates the model and canonicalizes its initial state, checking the
    /// invariants with [`invariants::check`]. A panic in any of that is
    /// returned as the failure.
    pub fn new(config: &Config) -> Result<Self, Box<Failure>> {
        Self::with_invariants(config, invariants::check)
    }

    /// Like [`Runner::new`] with another invariant checker.
    pub fn with_invariants(
        config: &Config,
        invariants: InvariantCheck,
    ) -> Result<Self, Box<Failure>> {
        let fallback = short_type_name::<M>();
        let model =
            catch(Stage::New, || M::new(config)).map_err(|p| panic_failure(fallback, None, p))?;
        Self::resume(model, 0, invariants)
    }

    /// A runner over `model`, which has already applied `next_index` ops
    /// outside any runner (replayed raw, for speed): its current state is
    /// canonicalized and checked like a new model's, and steps continue
    /// the op numbering.
    pub fn resume(
        model: M,
        next_index: usize,
        invariants: InvariantCheck,
    ) -> Result<Self, Box<Failure>> {
        let fallback = short_type_name::<M>();
        let name = catch(Stage::New, || model.name()).unwrap_or(fallback);
        let fail = |p: PanicReport| panic_failure(name, None, p);
        let raw = catch(Stage::RawState, || model.raw_state()).map_err(fail)?;
        let (state, _) = catch(Stage::Canonicalize, || canon::canonicalize(&raw)).map_err(fail)?;
        let initial_violations = catch(Stage::Invariants, || invariants(&state)).map_err(fail)?;
        Ok(Runner {
            model: Some(model),
            name,
            next_index,
            previous: state.clone(),
            state,
            initial_violations,
            invariants,
            dead: None,
        })
    }

    /// The model's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The canonical state after the last completed op.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The canonical state before the last completed op: with
    /// [`Runner::state`], what that op changed.
    pub fn previous_state(&self) -> &State {
        &self.previous
    }

    /// Invariants broken by the initial state.
    pub fn initial_violations(&self) -> &[Violation] {
        &self.initial_violations
    }

    /// Index the next op gets.
    pub fn next_index(&self) -> usize {
        self.next_index
    }

    /// True once the model panicked (every further step fails).
    pub fn abandoned(&self) -> bool {
        self.model.is_none()
    }

    /// Applies one op and checks the result. `Err` means a panic: the model
    /// is abandoned, and every later call returns the same failure.
    pub fn step(&mut self, op: &Op, expect: Option<&Expect>) -> Result<Step, Box<Failure>> {
        if let Some(dead) = &self.dead {
            return Err(dead.clone());
        }
        let index = self.next_index;
        self.next_index += 1;
        let model = self.model.as_mut().expect("a live runner has a model");
        let name = self.name;
        let invariants = self.invariants;
        let result = (|| {
            let raw_outcome = catch(Stage::Apply, || model.apply(op))?;
            let raw = catch(Stage::RawState, || model.raw_state())?;
            let (state, outcome) = catch(Stage::Canonicalize, || {
                let (state, renames) = canon::canonicalize(&raw);
                (state, raw_outcome.renamed(&renames))
            })?;
            let violations = catch(Stage::Invariants, || invariants(&state))?;
            let mismatches = match expect {
                Some(e) => catch(Stage::Expectations, || expect::check(e, &outcome, &state))?,
                None => Vec::new(),
            };
            Ok((state, outcome, violations, mismatches))
        })();
        match result {
            Ok((state, outcome, violations, mismatches)) => {
                self.previous = std::mem::replace(&mut self.state, state);
                Ok(Step {
                    index,
                    op: op.clone(),
                    outcome,
                    violations,
                    mismatches,
                })
            }
            Err(p) => {
                let failure = panic_failure(name, Some((index, op)), p);
                self.model = None;
                self.dead = Some(failure.clone());
                Err(failure)
            }
        }
    }
}

/// Runs scenario lines (ops with optional expectations) on a fresh `M`.
pub fn run_lines<M: Model>(config: &Config, lines: &[Line]) -> RunReport {
    run_iter::<M>(
        config,
        invariants::check,
        lines.iter().filter_map(|l| match l {
            Line::Op { op, expect, .. } => Some((op, expect.as_ref())),
            _ => None,
        }),
    )
}

/// Runs a parsed scenario (header ignored) on a fresh `M`.
pub fn run_scenario<M: Model>(config: &Config, scenario: &Scenario) -> RunReport {
    run_lines::<M>(config, &scenario.lines)
}

/// Runs plain ops (no expectations) on a fresh `M`.
pub fn run_ops<M: Model>(config: &Config, ops: &[Op]) -> RunReport {
    run_iter::<M>(config, invariants::check, ops.iter().map(|op| (op, None)))
}

/// Runs ops with optional expectations and a given invariant checker.
pub fn run_with<'a, M: Model>(
    config: &Config,
    invariants: InvariantCheck,
    ops: impl IntoIterator<Item = (&'a Op, Option<&'a Expect>)>,
) -> RunReport {
    run_iter::<M>(config, invariants, ops)
}

fn run_iter<'a, M: Model>(
    config: &Config,
    invariants: InvariantCheck,
    ops: impl IntoIterator<Item = (&'a Op, Option<&'a Expect>)>,
) -> RunReport {
    let mut runner = match Runner::<M>::with_invariants(config, invariants) {
        Ok(r) => r,
        Err(failure) => {
            return RunReport {
                model: failure.model,
                initial_violations: Vec::new(),
                steps: Vec::new(),
                aborted: Some(*failure),
                final_state: None,
            }
        }
    };
    let mut steps = Vec::new();
    let mut aborted = None;
    for (op, expect) in ops {
        match runner.step(op, expect) {
            Ok(step) => steps.push(step),
            Err(failure) => {
                aborted = Some(*failure);
                break;
            }
        }
    }
    RunReport {
        model: runner.name,
        initial_violations: runner.initial_violations.clone(),
        steps,
        aborted,
        final_state: Some(runner.state),
    }
}

// ------------------------------------------------------------------ panics

thread_local! {
    /// Set while this thread runs model or harness code under [`catch`].
    static CAPTURING: Cell<bool> = const { Cell::new(false) };
    /// Location of the last panic caught under [`catch`] on this thread.
    static LAST_LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

static HOOK: Once = Once::new();

/// Installs (once per process) a panic hook that stays silent for panics
/// the runner catches and records their location; every other panic goes
/// to the previous hook unchanged.
fn install_hook() {
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if CAPTURING.with(Cell::get) {
                let location = info
                    .location()
                    .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
                LAST_LOCATION.with(|l| *l.borrow_mut() = location);
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs `f`, turning a panic into a [`PanicReport`] for `stage`.
pub(crate) fn catch<T>(stage: Stage, f: impl FnOnce() -> T) -> Result<T, PanicReport> {
    install_hook();
    let was = CAPTURING.with(|c| c.replace(true));
    LAST_LOCATION.with(|l| l.borrow_mut().take());
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    CAPTURING.with(|c| c.set(was));
    result.map_err(|payload| PanicReport {
        stage,
        message: payload_message(payload.as_ref()),
        location: LAST_LOCATION.with(|l| l.borrow_mut().take()),
    })
}

fn payload_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "Box<dyn Any>".to_string()
    }
}

pub(crate) fn short_type_name<M>() -> &'static str {
    let full = std::any::type_name::<M>();
    full.rsplit("::").next().unwrap_or(full)
}

/// Replaces line breaks so a reason stays on one line.
pub(crate) fn one_line(s: &str) -> String {
    s.trim_end()
        .replace("\r\n", " | ")
        .replace(['\n', '\r'], " | ")
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::expect::ExpectedOutcome;
    use crate::op::{ProcId, Zone};
    use crate::outcome::Errno;

    /// A model that answers `exit p<n>` by the rules below. Its state is
    /// empty and consistent, except that `exit p3` breaks zone accounting.
    ///  - `exit p0`: `ok <n>`, `n` counting the `exit p0` ops so far
    ///  - `exit p1`: EINVAL
    ///  - `exit p2`: panics
    ///  - `exit p3`: ok; from now on the normal zone has one free page more
    ///    than it has pages
    struct Fake {
        config: Config,
        counter: u64,
        broken: bool,
    }

    impl Model for Fake {
        fn new(config: &Config) -> Self {
            Fake {
                config: config.clone(),
                counter: 0,
                broken: false,
            }
        }
        fn name(&self) -> &'static str {
            "fake"
        }
        fn apply(&mut self, op: &Op) -> Outcome {
            match op {
                Op::Exit { p: ProcId(0) } => {
                    self.counter += 1;
                    Outcome::count(self.counter)
                }
                Op::Exit { p: ProcId(1) } => Outcome::Err(Errno::EINVAL),
                Op::Exit { p: ProcId(2) } => panic!("fake model bug"),
                Op::Exit { p: _ } => {
                    self.broken = true;
                    Outcome::OK
                }
                _ => Outcome::Err(Errno::ENOENT),
            }
        }
        fn raw_state(&self) -> State {
            let total = self.config.zone_pages;
            let mut free = total;
            if self.broken {
                free[Zone::Normal.index()] += 1;
            }
            State {
                zone_free: free,
                zone_total: total,
                ..State::empty(&self.config)
            }
        }
    }

    /// A model whose constructor panics.
    struct Broken;

    impl Model for Broken {
        fn new(_: &Config) -> Self {
            panic!("cannot start")
        }
        fn name(&self) -> &'static str {
            "broken"
        }
        fn apply(&mut self, _: &Op) -> Outcome {
            Outcome::OK
        }
        fn raw_state(&self) -> State {
            unreachable!()
        }
    }

    fn exit(p: u8) -> Op {
        Op::Exit { p: ProcId(p) }
    }

    /// Flags a normal zone with more free pages than it has.
    fn toy_invariants(state: &State) -> Vec<Violation> {
        let z = Zone::Normal.index();
        if state.zone_free[z] > state.zone_total[z] {
            vec![Violation {
                invariant: "toy-zone-accounting",
                detail: format!(
                    "free {} > total {}",
                    state.zone_free[z], state.zone_total[z]
                ),
            }]
        } else {
            Vec::new()
        }
    }

    fn no_invariants(_: &State) -> Vec<Violation> {
        Vec::new()
    }

    fn expect_outcome(o: Outcome) -> Expect {
        Expect {
            outcome: Some(ExpectedOutcome::Exact(o)),
            facts: Vec::new(),
        }
    }

    #[test]
    fn clean_run_passes_and_records_every_step() {
        let ops = [exit(0), exit(1), exit(0)];
        let r = run_with::<Fake>(
            &Config::default(),
            toy_invariants,
            ops.iter().map(|o| (o, None)),
        );
        assert!(r.passed(), "{:?}", r.first_failure());
        assert_eq!(r.model, "fake");
        assert_eq!(r.steps.len(), 3);
        assert_eq!(r.steps[1].index, 1);
        assert_eq!(r.steps[1].outcome, Outcome::Err(Errno::EINVAL));
        assert_eq!(r.steps[2].outcome, Outcome::count(2));
        assert!(r.final_state.is_some());
    }

    #[test]
    fn expectation_mismatch_is_reported_at_its_index() {
        let ok = expect_outcome(Outcome::count(1));
        let einval = expect_outcome(Outcome::Err(Errno::EINVAL));
        let ops = [exit(0), exit(1), exit(1), exit(0)];
        let expects = [Some(&ok), Some(&einval), Some(&ok), None];
        let r = run_with::<Fake>(&Config::default(), no_invariants, ops.iter().zip(expects));
        assert!(!r.passed());
        // The run goes on after a mismatch.
        assert_eq!(r.steps.len(), 4);
        let f = r.first_failure().unwrap();
        assert_eq!(f.index, Some(2));
        assert_eq!(f.op, Some(exit(1)));
        assert_eq!(f.kind_name(), "expect");
        assert_eq!(f.outcome, Some(Outcome::Err(Errno::EINVAL)));
        assert!(f.reason().contains("EINVAL"), "{}", f.reason());
        assert!(f.reason().contains("ok 1"), "{}", f.reason());
        assert!(
            f.to_string().starts_with("op #2 `exit p1`: "),
            "{}",
            f.to_string()
        );
        assert_eq!(r.failures().len(), 1);
    }

    #[test]
    fn expectations_come_from_scenario_lines() {
        let lines = vec![
            Line::Comment(" a comment".into()),
            Line::op(exit(0)),
            Line::Blank,
            Line::Op {
                op: exit(0),
                expect: Some(expect_outcome(Outcome::Err(Errno::EPERM))),
                pad: 1,
                comment: None,
                comment_pad: 1,
            },
        ];
        let r = run_lines::<Fake>(&Config::default(), &lines);
        let f = r.first_failure().unwrap();
        // Op indices count ops only, not comment or blank lines.
        assert_eq!(f.index, Some(1));
        assert_eq!(f.kind_name(), "expect");
    }

    #[test]
    fn invariant_violation_is_reported() {
        let ops = [exit(0), exit(3), exit(0)];
        let r = run_with::<Fake>(
            &Config::default(),
            toy_invariants,
            ops.iter().map(|o| (o, None)),
        );
        assert!(!r.passed());
        let f = r.first_failure().unwrap();
        assert_eq!(f.index, Some(1));
        assert_eq!(f.kind_name(), "invariant");
        match &f.kind {
            FailureKind::Invariant { violations, .. } => {
                assert_eq!(violations[0].invariant, "toy-zone-accounting")
            }
            other => panic!("{other:?}"),
        }
        assert!(
            f.reason()
                .starts_with("fake broke invariant toy-zone-accounting: free 16385"),
            "{}",
            f.reason()
        );
        assert_eq!(f.signature(), "invariant fake toy-zone-accounting");
    }

    /// The real invariant checker flags a zone with more free pages than it
    /// has, and passes the fake's consistent states.
    #[test]
    fn real_invariants_are_checked_after_every_op() {
        let r = run_ops::<Fake>(&Config::default(), &[exit(0), exit(3)]);
        assert!(
            r.initial_violations.is_empty(),
            "{:?}",
            r.initial_violations
        );
        let f = r.first_failure().expect("zone accounting violation");
        assert_eq!(f.index, Some(1));
        assert_eq!(f.kind_name(), "invariant");
    }

    #[test]
    fn panic_is_caught_and_abandons_the_model() {
        let ops = [exit(0), exit(0), exit(2), exit(0)];
        let r = run_with::<Fake>(
            &Config::default(),
            no_invariants,
            ops.iter().map(|o| (o, None)),
        );
        assert!(!r.passed());
        assert_eq!(r.steps.len(), 2, "the model is abandoned at the panic");
        let f = r.first_failure().unwrap();
        assert_eq!(f.index, Some(2));
        assert_eq!(f.op, Some(exit(2)));
        assert_eq!(f.kind_name(), "panic");
        match &f.kind {
            FailureKind::Panic(p) => {
                assert_eq!(p.stage, Stage::Apply);
                assert_eq!(p.message, "fake model bug");
                let loc = p.location.as_deref().unwrap_or("");
                assert!(loc.contains("run.rs"), "{loc:?}");
            }
            other => panic!("{other:?}"),
        }
        assert!(
            f.reason()
                .starts_with("fake panicked in apply: fake model bug at "),
            "{}",
            f.reason()
        );
        assert!(r.final_state.is_some());
    }

    #[test]
    fn runner_stays_abandoned_after_a_panic() {
        let mut runner =
            Runner::<Fake>::with_invariants(&Config::default(), no_invariants).unwrap();
        assert!(runner.step(&exit(0), None).is_ok());
        let first = runner.step(&exit(2), None).unwrap_err();
        assert!(runner.abandoned());
        assert_eq!(runner.step(&exit(0), None).unwrap_err(), first);
    }

    #[test]
    fn panic_in_new_is_a_failure_before_the_first_op() {
        let r = run_ops::<Broken>(&Config::default(), &[exit(0)]);
        assert!(!r.passed());
        assert!(r.final_state.is_none());
        let f = r.first_failure().unwrap();
        assert_eq!(f.index, None);
        assert_eq!(f.model, "Broken");
        assert!(f
            .to_string()
            .starts_with("before the first op: Broken panicked in new: cannot start"));
    }

    #[test]
    fn reasons_stay_on_one_line() {
        assert_eq!(one_line("a\nb\r\nc\n"), "a | b | c");
    }
}
