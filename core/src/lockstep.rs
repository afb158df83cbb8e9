//! Lockstep (differential) runs: two models, the same ops, compared after
//! every op.
//!
//! Side A is the oracle, side B the subject (any two [`Model`]s work; the
//! tests use toys). The first op after which the two differ is the
//! [`Divergence`]: different canonical outcomes, different canonical
//! states, a broken invariant in either model, a panic in either model, or
//! (for scenario lines) a failed expectation of A.
//!
//! Two ways to compare, chosen by [`Check`]:
//!
//! - [`Check::Full`] steps two [`run::Runner`]s, which canonicalize the
//!   state and check the invariants after every op, and compares the
//!   canonical outcomes and states after every op. Exact, and slow: every
//!   op pays for two state exports, two canonicalizations and two
//!   invariant checks.
//! - [`Check::Digest`] applies the ops to the two models directly and
//!   compares only [`digest::outcome_hash`] of the raw outcomes and
//!   [`Model::digest`] of both after every op; at the end it canonicalizes
//!   both final states, compares them in full and checks the invariants on
//!   both. The digest is a filter, not a proof (see [`crate::digest`]):
//!   unequal digests mean unequal canonical states, but equal digests do not
//!   mean equal states (a difference in *which* folio an entry maps, with
//!   every counter equal, is invisible to it, and so is a folio reference
//!   inside an outcome). So Digest mode can miss a difference that the
//!   digest cannot see and that is gone again by the end of the run, and an
//!   invariant broken only in the middle of the run; Full mode misses
//!   neither. Digest mode checks an expectation, when a line has one, on
//!   A's canonical state at that op.
//!
//! [`run_lockstep_generated`] is Digest mode for generators that draw each
//! op from the current state (the swarm fuzzer): A runs through a
//! [`Runner`] (its canonical state feeds the generator, and its invariants
//! are checked after every op), B is compared by digest.
//!
//! Whenever Digest mode sees anything (a digest or outcome hash that
//! differs, a panic, a failed expectation, a final state that differs or
//! breaks an invariant) it throws its result away and re-runs the same ops
//! from scratch in Full mode, which names the first divergent op and builds
//! the detailed report. This is sound because models are deterministic
//! (SPEC §7: no clocks, no randomness, no hash-map order): the re-run
//! replays exactly the same transitions, and everything Digest mode
//! compares is a function of what Full mode compares (the digest and the
//! outcome hash leave model-internal ids out, so they are functions of the
//! canonical state and the canonical outcome). Full mode therefore finds
//! the same difference, or an earlier one that the digest could not see.
//! Two things only Digest mode can see: a model whose incrementally kept
//! [`Model::digest`] disagrees with [`digest::of_state`] (a broken
//! [`Model`] contract, reported as the invariant [`DIGEST_AGREES`] of that
//! model), and a difference the re-run does not reproduce (a model that is
//! not deterministic, or a bug in [`crate::digest`]; reported as the
//! invariant [`RERUN_AGREES`] of the pseudo-model `harness`). Either way
//! Digest mode never reports less than it saw.
//!
//! Every divergence carries a [`Divergence::signature`]:
//! `<op keyword>/<what>:<field path>` (`mprotect/state:folio.refcount`,
//! `gup/outcome:count`, `fork/invariant:refs-balance@subject`,
//! `read/panic@subject`). The field path comes from a structured comparison
//! of the canonical states or outcomes ([`state_path`], [`outcome_path`]),
//! never from ids, addresses or values, so that one bug gives one
//! signature across inputs.

use std::fmt::{self, Write as _};

use crate::canon;
use crate::config::Config;
use crate::digest;
use crate::expect::{self, Expect};
use crate::invariants::{self, Violation};
use crate::model::Model;
use crate::op::Op;
use crate::outcome::Outcome;
use crate::run::{self, catch, FailureKind, PanicReport, Runner, Stage, Step};
use crate::state::State;
use crate::text;

mod explain;
mod fast;
mod signature;
pub use fast::{run_lockstep_generated, Driver};
pub use signature::{outcome_path, state_path};

#[cfg(test)]
mod tests;

/// The invariant a model breaks when its [`Model::digest`] disagrees with
/// [`digest::of_state`] of its own raw state.
pub const DIGEST_AGREES: &str = "digest-agrees";
/// The invariant broken when a Digest-mode difference does not show in the
/// Full-mode re-run (reported for the pseudo-model [`HARNESS`]).
pub const RERUN_AGREES: &str = "lockstep-rerun";
/// The model name of divergences that no single model can be blamed for.
pub const HARNESS: &str = "harness";

/// How closely the two models are compared after every op.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// Digests after every op, full comparison at the end, full re-run on
    /// any difference.
    Digest,
    /// Canonical outcome and state, and invariants, after every op.
    Full,
    /// Digests after every op like [`Check::Digest`]; the first op where
    /// they differ is then compared in full from states replayed without
    /// checks, instead of re-running every op in full. An earlier
    /// difference the digest cannot see is not looked for; differences
    /// only the final full comparison sees, and an op that shows none in
    /// full, fall back to the Full re-run. For tools that run many
    /// candidates and confirm their result in Full mode (the minimizer).
    Locate,
}

/// What a lockstep run found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockstepReport {
    /// Ops applied to both models: all of them without a divergence, else
    /// up to and including the divergent op (0 when the models diverged
    /// before the first op).
    pub ops_run: usize,
    pub divergence: Option<Box<Divergence>>,
}

impl LockstepReport {
    pub fn passed(&self) -> bool {
        self.divergence.is_none()
    }
}

/// What differed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DivergenceKind {
    /// The canonical outcomes differ.
    Outcome,
    /// The outcomes agree, the canonical states differ.
    State,
    /// `model` broke invariants (the states may differ too).
    Invariant {
        model: &'static str,
        violations: Vec<Violation>,
    },
    /// `model` (or the harness on `model`'s state, see the stage) panicked.
    Panic {
        model: &'static str,
        report: PanicReport,
    },
    /// Both models agree, but the scenario line's expectation does not hold
    /// on A (the oracle).
    Expectation {
        model: &'static str,
        mismatches: Vec<String>,
    },
}

impl DivergenceKind {
    /// `outcome`, `state`, `invariant`, `panic`, `expect`: a short class
    /// name, for file names.
    pub fn name(&self) -> &'static str {
        match self {
            DivergenceKind::Outcome => "outcome",
            DivergenceKind::State => "state",
            DivergenceKind::Invariant { .. } => "invariant",
            DivergenceKind::Panic { .. } => "panic",
            DivergenceKind::Expectation { .. } => "expect",
        }
    }
}

/// The first difference between two models on one op sequence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divergence {
    /// 0-based index of the first differing op (0 with `op: None` when the
    /// models differ before the first op: in `Model::new` or their initial
    /// states).
    pub index: usize,
    pub op: Option<Op>,
    pub kind: DivergenceKind,
    /// Canonical outcomes, A then B (`None` for a model that panicked, or
    /// before the first op).
    pub outcomes: [Option<Outcome>; 2],
    /// Canonical states after the op, A then B (`None` for a model that
    /// panicked).
    pub states: [Option<State>; 2],
    /// The models' names, A then B.
    pub models: [&'static str; 2],
    /// A `similar` unified diff of the rendered canonical states, A as old,
    /// B as new; empty when they are equal or one is missing.
    pub diff: String,
    /// `<op keyword>/<what>:<field path>`; see the module documentation.
    pub signature: String,
}

/// One op to run and, for scenario lines, the expectation to check on A.
type Item<'a> = (&'a Op, Option<&'a Expect>);

/// Runs `ops` on a fresh `A` and a fresh `B` side by side.
pub fn run_lockstep<A: Model, B: Model>(
    config: &Config,
    ops: &[Op],
    check: Check,
) -> LockstepReport {
    let items: Vec<Item> = ops.iter().map(|op| (op, None)).collect();
    run_items::<A, B>(config, &items, check)
}

/// Runs scenario lines on a fresh `A` and a fresh `B` side by side; the
/// lines' expectations are checked on A, and a failed one is a divergence
/// too (when the models agree at that op).
pub fn run_lockstep_lines<A: Model, B: Model>(
    config: &Config,
    lines: &[text::Line],
    check: Check,
) -> LockstepReport {
    let items: Vec<Item> = lines
        .iter()
        .filter_map(|l| match l {
            text::Line::Op { op, expect, .. } => Some((op, expect.as_ref())),
            _ => None,
        })
        .collect();
    run_items::<A, B>(config, &items, check)
}

fn run_items<A: Model, B: Model>(config: &Config, items: &[Item], check: Check) -> LockstepReport {
    match check {
        Check::Full => full::<A, B>(config, items),
        Check::Digest => fast::digest_mode::<A, B>(config, items),
        Check::Locate => fast::locate_mode::<A, B>(config, items),
    }
}

// ---------------------------------------------------------------- Full

fn full<A: Model, B: Model>(config: &Config, items: &[Item]) -> LockstepReport {
    let ra = Runner::<A>::new(config);
    let rb = Runner::<B>::new(config);
    let models = [
        ra.as_ref().map_or_else(|f| f.model, |r| r.name()),
        rb.as_ref().map_or_else(|f| f.model, |r| r.name()),
    ];
    let (mut ra, mut rb) = match (ra, rb) {
        (Ok(ra), Ok(rb)) => (ra, rb),
        (Err(f), rb) => {
            let sb = rb.ok().map(|r| r.state().clone());
            return early(models, panic_kind(&f), [None, sb]);
        }
        (Ok(ra), Err(f)) => {
            return early(models, panic_kind(&f), [Some(ra.state().clone()), None]);
        }
    };
    let initial = [ra.initial_violations(), rb.initial_violations()];
    let kind = if let Some(i) = (0..2).find(|&i| !initial[i].is_empty()) {
        Some(DivergenceKind::Invariant {
            model: models[i],
            violations: initial[i].to_vec(),
        })
    } else {
        (ra.state() != rb.state()).then_some(DivergenceKind::State)
    };
    if let Some(kind) = kind {
        let states = [Some(ra.state().clone()), Some(rb.state().clone())];
        return early(models, kind, states);
    }
    for (index, (op, expect)) in items.iter().enumerate() {
        let sa = ra.step(op, *expect);
        let sb = rb.step(op, None);
        if let Some(d) = compare_step(index, op, models, (sa, ra.state()), (sb, rb.state())) {
            return LockstepReport {
                ops_run: index + 1,
                divergence: Some(d),
            };
        }
    }
    LockstepReport {
        ops_run: items.len(),
        divergence: None,
    }
}

/// A divergence before the first op.
fn early(
    models: [&'static str; 2],
    kind: DivergenceKind,
    states: [Option<State>; 2],
) -> LockstepReport {
    LockstepReport {
        ops_run: 0,
        divergence: Some(divergence(0, None, kind, [None, None], states, models)),
    }
}

/// The panic a runner failure stands for (runners fail only by panicking).
fn panic_kind(f: &run::Failure) -> DivergenceKind {
    let report = match &f.kind {
        FailureKind::Panic(p) => p.clone(),
        _ => PanicReport {
            stage: Stage::Apply,
            message: f.reason(),
            location: None,
        },
    };
    DivergenceKind::Panic {
        model: f.model,
        report,
    }
}

type StepResult = Result<Step, Box<run::Failure>>;

/// Compares one op's steps; `state` is each runner's state after the step
/// (the state before it when the step panicked).
fn compare_step(
    index: usize,
    op: &Op,
    models: [&'static str; 2],
    (sa, state_a): (StepResult, &State),
    (sb, state_b): (StepResult, &State),
) -> Option<Box<Divergence>> {
    let kind = match (&sa, &sb) {
        (Err(f), _) | (Ok(_), Err(f)) => panic_kind(f),
        (Ok(a), Ok(b)) => {
            if !a.violations.is_empty() {
                DivergenceKind::Invariant {
                    model: models[0],
                    violations: a.violations.clone(),
                }
            } else if !b.violations.is_empty() {
                DivergenceKind::Invariant {
                    model: models[1],
                    violations: b.violations.clone(),
                }
            } else if a.outcome != b.outcome {
                DivergenceKind::Outcome
            } else if state_a != state_b {
                DivergenceKind::State
            } else if !a.mismatches.is_empty() {
                DivergenceKind::Expectation {
                    model: models[0],
                    mismatches: a.mismatches.clone(),
                }
            } else {
                return None;
            }
        }
    };
    let outcomes = [
        sa.as_ref().ok().map(|s| s.outcome.clone()),
        sb.as_ref().ok().map(|s| s.outcome.clone()),
    ];
    let states = [
        sa.is_ok().then(|| state_a.clone()),
        sb.is_ok().then(|| state_b.clone()),
    ];
    Some(divergence(
        index,
        Some(op.clone()),
        kind,
        outcomes,
        states,
        models,
    ))
}

fn divergence(
    index: usize,
    op: Option<Op>,
    kind: DivergenceKind,
    outcomes: [Option<Outcome>; 2],
    states: [Option<State>; 2],
    models: [&'static str; 2],
) -> Box<Divergence> {
    let diff = match &states {
        [Some(a), Some(b)] if a != b => state_diff(a, b, models),
        _ => String::new(),
    };
    let word = op.as_ref().map_or("new", |op| op.kind().keyword());
    let signature = signature::signature(word, &kind, &outcomes, &states);
    Box::new(Divergence {
        index,
        op,
        kind,
        outcomes,
        states,
        models,
        diff,
        signature,
    })
}

/// Lines of context around each change in [`Divergence::diff`].
const DIFF_CONTEXT: usize = 3;

/// The unified diff of two rendered canonical states.
pub fn state_diff(a: &State, b: &State, models: [&str; 2]) -> String {
    let (old, new) = (canon::render(a), canon::render(b));
    similar::TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(DIFF_CONTEXT)
        .header(models[0], models[1])
        .to_string()
}
