//! [`Check::Digest`]: the fast pass, and the Full re-run and fallbacks
//! that turn whatever it sees into a [`Divergence`] (see [`super`] for why
//! the re-run is sound).

use super::*;

/// Digest mode: the fast pass, then on any difference the exact report.
pub(super) fn digest_mode<A: Model, B: Model>(config: &Config, items: &[Item]) -> LockstepReport {
    match digest_pass::<A, B>(config, items) {
        None => LockstepReport {
            ops_run: items.len(),
            divergence: None,
        },
        Some(seen) => resolve::<A, B>(config, &items[..seen.upto]),
    }
}

/// Locate mode: the fast pass, then on a difference at op `k` the full
/// comparison of op `k` alone, from models that replayed ops `0..k` raw.
pub(super) fn locate_mode<A: Model, B: Model>(config: &Config, items: &[Item]) -> LockstepReport {
    let Some(seen) = digest_pass::<A, B>(config, items) else {
        return LockstepReport {
            ops_run: items.len(),
            divergence: None,
        };
    };
    let upto = &items[..seen.upto];
    let located = if seen.at_op {
        compare_last::<A, B>(config, upto)
    } else {
        None
    };
    match located {
        Some(d) => LockstepReport {
            ops_run: seen.upto,
            divergence: Some(d),
        },
        None => resolve::<A, B>(config, upto),
    }
}

/// The full comparison of the last of `items`, the others replayed raw;
/// `None` when that shows nothing (or the replay panicked, which the fast
/// pass just ran without panicking, so never for deterministic models).
fn compare_last<A: Model, B: Model>(config: &Config, items: &[Item]) -> Option<Box<Divergence>> {
    let ((op, expect), before) = items.split_last()?;
    let mut a = catch(Stage::New, || A::new(config)).ok()?;
    let mut b = catch(Stage::New, || B::new(config)).ok()?;
    catch(Stage::Apply, || {
        for (op, _) in before {
            a.apply(op);
            b.apply(op);
        }
    })
    .ok()?;
    let index = before.len();
    let mut ra = Runner::resume(a, index, invariants::check).ok()?;
    let mut rb = Runner::resume(b, index, invariants::check).ok()?;
    let models = [ra.name(), rb.name()];
    let sa = ra.step(op, *expect);
    let sb = rb.step(op, None);
    compare_step(index, op, models, (sa, ra.state()), (sb, rb.state()))
}

/// A source of ops for [`run_lockstep_generated`] that sees A's
/// canonical state: a state-aware generator, or a fixed sequence whose
/// run is observed op by op. Closures `FnMut(&State) -> Option<Op>` are
/// drivers that observe nothing.
pub trait Driver {
    /// The next op, given A's canonical state after the previous op;
    /// `None` stops the sequence.
    fn next_op(&mut self, state: &State) -> Option<Op>;

    /// Called after every op on which both models agreed in the fast pass,
    /// with A's canonical state before and after it (for state coverage).
    fn observe(&mut self, _op: &Op, _before: &State, _after: &State) {}
}

impl<F: FnMut(&State) -> Option<Op>> Driver for F {
    fn next_op(&mut self, state: &State) -> Option<Op> {
        self(state)
    }
}

/// Runs ops drawn one by one from A's canonical state in Digest mode, for
/// generators that need the state (the swarm fuzzer): the driver gets A's
/// canonical state after the previous op and returns the next op, or
/// `None` to stop; at most `max_ops` ops are drawn. Returns the ops drawn
/// (up to the divergent one) and the report.
///
/// A steps through a [`Runner`], which canonicalizes its state for the
/// generator anyway, and A's digest is [`digest::of_state`] of that
/// canonical state; B steps directly and is compared by [`Model::digest`]
/// and [`digest::outcome_hash`]. As in [`Check::Digest`], the invariants
/// are checked on the final state only (B's, once it equals A's), and
/// whatever differs is re-run in Full mode, which checks them after every
/// op.
pub fn run_lockstep_generated<A: Model, B: Model>(
    config: &Config,
    max_ops: usize,
    mut driver: impl Driver,
) -> (Vec<Op>, LockstepReport) {
    let mut ops = Vec::new();
    let clean = generated_pass::<A, B>(config, max_ops, &mut driver, &mut ops);
    let items: Vec<Item> = ops.iter().map(|op| (op, None)).collect();
    let report = if clean {
        LockstepReport {
            ops_run: items.len(),
            divergence: None,
        }
    } else {
        resolve::<A, B>(config, &items)
    };
    (ops, report)
}

/// The fast pass of [`run_lockstep_generated`]: true when nothing
/// differed; either way `ops` holds the ops drawn.
fn generated_pass<A: Model, B: Model>(
    config: &Config,
    max_ops: usize,
    driver: &mut impl Driver,
    ops: &mut Vec<Op>,
) -> bool {
    let Ok(mut a) = Runner::<A>::with_invariants(config, |_| Vec::new()) else {
        return false;
    };
    let Ok(mut b) = catch(Stage::New, || B::new(config)) else {
        return false;
    };
    if !agrees(&b, a.state()) {
        return false;
    }
    while ops.len() < max_ops {
        let Some(op) = driver.next_op(a.state()) else {
            break;
        };
        ops.push(op.clone());
        let Ok(step) = a.step(&op, None) else {
            return false;
        };
        let Ok(ob) = catch(Stage::Apply, || b.apply(&op)) else {
            return false;
        };
        if step.failed() || digest::outcome_hash(&step.outcome) != digest::outcome_hash(&ob) {
            return false;
        }
        let da = digest::of_state(a.state());
        if catch(Stage::RawState, || b.digest()) != Ok(da) {
            return false;
        }
        driver.observe(&op, a.previous_state(), a.state());
    }
    agrees(&b, a.state())
}

/// True when `b`'s canonical state equals `a` and breaks no invariant
/// (and nothing panicked on the way).
fn agrees<B: Model>(b: &B, a: &State) -> bool {
    let clean = catch(Stage::Canonicalize, || {
        let (state, _) = canon::canonicalize(&b.raw_state());
        state == *a && invariants::check(&state).is_empty()
    });
    clean == Ok(true)
}

/// What Digest mode reports for `items` after it saw a difference: the
/// Full-mode divergence, else a broken digest contract, else
/// [`RERUN_AGREES`].
fn resolve<A: Model, B: Model>(config: &Config, items: &[Item]) -> LockstepReport {
    let report = full::<A, B>(config, items);
    if report.divergence.is_some() {
        return report;
    }
    let d = digest_contract::<A, B>(config, items)
        .unwrap_or_else(|| rerun_disagrees::<A, B>(config, items));
    LockstepReport {
        ops_run: items.len(),
        divergence: Some(d),
    }
}

/// What the fast pass saw.
struct Seen {
    /// How many ops the Full re-run must replay to see it.
    upto: usize,
    /// True when op `upto - 1` itself differed (outcome, digest, panic,
    /// expectation); false when only the initial or the final states did.
    at_op: bool,
}

/// The fast pass: `None` when nothing differs.
fn digest_pass<A: Model, B: Model>(config: &Config, items: &[Item]) -> Option<Seen> {
    let before_first = Some(Seen {
        upto: 0,
        at_op: false,
    });
    let (Ok(mut a), Ok(mut b)) = (
        catch(Stage::New, || A::new(config)),
        catch(Stage::New, || B::new(config)),
    ) else {
        return before_first;
    };
    // The initial states once in full: Full mode checks them too.
    if !final_states_agree(&a, &b) {
        return before_first;
    }
    for (i, (op, expect)) in items.iter().enumerate() {
        let seen = Some(Seen {
            upto: i + 1,
            at_op: true,
        });
        let (Ok(oa), Ok(ob)) = (
            catch(Stage::Apply, || a.apply(op)),
            catch(Stage::Apply, || b.apply(op)),
        ) else {
            return seen;
        };
        if digest::outcome_hash(&oa) != digest::outcome_hash(&ob) {
            return seen;
        }
        match (
            catch(Stage::RawState, || a.digest()),
            catch(Stage::RawState, || b.digest()),
        ) {
            (Ok(da), Ok(db)) if da == db => {}
            _ => return seen,
        }
        if let Some(e) = expect {
            let holds = catch(Stage::Expectations, || {
                let (state, renames) = canon::canonicalize(&a.raw_state());
                expect::check(e, &oa.renamed(&renames), &state).is_empty()
            });
            if holds != Ok(true) {
                return seen;
            }
        }
    }
    (!final_states_agree(&a, &b)).then_some(Seen {
        upto: items.len(),
        at_op: false,
    })
}

/// True when both canonical states are equal and break no invariant (and
/// nothing panicked on the way).
fn final_states_agree<A: Model, B: Model>(a: &A, b: &B) -> bool {
    let canonical = |raw: State| {
        let (state, _) = canon::canonicalize(&raw);
        let clean = invariants::check(&state).is_empty();
        (state, clean)
    };
    let sa = catch(Stage::Canonicalize, || canonical(a.raw_state()));
    let sb = catch(Stage::Canonicalize, || canonical(b.raw_state()));
    matches!((sa, sb), (Ok((sa, true)), Ok((sb, true))) if sa == sb)
}

/// Replays `items` checking each model's [`Model::digest`] against
/// [`digest::of_state`] of its raw state; the first model and op where they
/// disagree (or where `digest` panics, which Full mode never calls).
fn digest_contract<A: Model, B: Model>(config: &Config, items: &[Item]) -> Option<Box<Divergence>> {
    let mut a = catch(Stage::New, || A::new(config)).ok()?;
    let mut b = catch(Stage::New, || B::new(config)).ok()?;
    let models = [a.name(), b.name()];
    for (index, (op, _)) in items.iter().enumerate() {
        let oa = catch(Stage::Apply, || a.apply(op)).ok()?;
        let ob = catch(Stage::Apply, || b.apply(op)).ok()?;
        let checks = [
            contract_check(&a, models[0], &oa),
            contract_check(&b, models[1], &ob),
        ];
        if checks.iter().any(|c| c.2.is_some()) {
            let [(sa, oa, ka), (sb, ob, kb)] = checks;
            let kind = ka.or(kb)?;
            return Some(divergence(
                index,
                Some((*op).clone()),
                kind,
                [oa, ob],
                [sa, sb],
                models,
            ));
        }
    }
    None
}

/// The canonical state and outcome of a model after an op, and the
/// divergence kind when its digest breaks the [`Model`] contract.
fn contract_check<M: Model>(
    m: &M,
    name: &'static str,
    raw_outcome: &Outcome,
) -> (Option<State>, Option<Outcome>, Option<DivergenceKind>) {
    let canonical = catch(Stage::Canonicalize, || {
        let raw = m.raw_state();
        let (state, renames) = canon::canonicalize(&raw);
        (digest::of_state(&raw), state, raw_outcome.renamed(&renames))
    });
    let Ok((defined, state, outcome)) = canonical else {
        return (None, None, None);
    };
    let kind = match catch(Stage::RawState, || m.digest()) {
        Ok(kept) if kept == defined => None,
        Ok(kept) => Some(DivergenceKind::Invariant {
            model: name,
            violations: vec![Violation {
                invariant: DIGEST_AGREES,
                detail: format!(
                    "Model::digest() is {:016x}, digest::of_state(raw_state()) is {:016x}",
                    kept.0, defined.0
                ),
            }],
        }),
        Err(mut report) => {
            report.message = format!("in Model::digest: {}", report.message);
            Some(DivergenceKind::Panic {
                model: name,
                report,
            })
        }
    };
    (Some(state), Some(outcome), kind)
}

/// The report when Full mode does not reproduce what Digest mode saw.
fn rerun_disagrees<A: Model, B: Model>(config: &Config, items: &[Item]) -> Box<Divergence> {
    let models = [
        catch(Stage::New, || A::new(config).name()).unwrap_or_else(|_| run::short_type_name::<A>()),
        catch(Stage::New, || B::new(config).name()).unwrap_or_else(|_| run::short_type_name::<B>()),
    ];
    let (index, op) = match items.last() {
        Some((op, _)) => (items.len() - 1, Some((*op).clone())),
        None => (0, None),
    };
    let kind = DivergenceKind::Invariant {
        model: HARNESS,
        violations: vec![Violation {
            invariant: RERUN_AGREES,
            detail: "Check::Digest saw a difference here that the Check::Full re-run does \
                     not show: a model is not deterministic, or core/src/digest.rs is wrong"
                .into(),
        }],
    };
    divergence(index, op, kind, [None, None], [None, None], models)
}
