//! A proptest-state-machine suite: the oracle is the reference state
//! machine, the subject the system under test. After every transition (one
//! op) the subject's canonical outcome and canonical state must equal the
//! oracle's, both states must pass the invariants, and both models'
//! digests must equal `digest::of_state` of their exported state. On a failure
//! proptest shrinks the op sequence (dropping ops, then simplifying them).
//!
//! Transitions are drawn from the oracle's state half of the time (ranges
//! inside existing VMAs, with the ops that use them), the rest from the
//! whole op domain (`mmdiff_core::strategies`), which also creates the
//! mappings the state-aware half works on.
//!
//!     cargo test -p mmdiff-corpus --test state_machine
//!     MMDIFF_PROPTEST_CASES=1000 cargo test --release -p mmdiff-corpus --test state_machine
//!
//! The default is 32 cases of up to 64 ops with a fixed seed, so that
//! `cargo test` stays fast and reproducible; `PROPTEST_RNG_SEED=<n>` picks
//! another seed.

use mmdiff_core::canon;
use mmdiff_core::digest;
use mmdiff_core::invariants;
use mmdiff_core::lockstep;
use mmdiff_core::op::{PageAt, PageRange, ProcId, SlotId};
use mmdiff_core::strategies::{
    arb_advice, arb_dev, arb_fill, arb_gup_flags, arb_handle, arb_kind, arb_op, arb_proc, arb_prot,
    arb_zone,
};
use mmdiff_core::text;
use mmdiff_core::{Config, Model, Op, Outcome, State};
use mmdiff_oracle::Oracle;
use mmdiff_subject::Subject;
use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use proptest_state_machine::{prop_state_machine, ReferenceStateMachine, StateMachineTest};

/// Cases unless `MMDIFF_PROPTEST_CASES` says otherwise.
const DEFAULT_CASES: u32 = 32;
/// Ops per case at most.
const MAX_OPS: usize = 64;
/// The seed unless `PROPTEST_RNG_SEED` gives one.
const DEFAULT_SEED: u64 = 0x6d6d_6469_6666;

fn config() -> Config {
    Config::default()
}

fn proptest_config() -> ProptestConfig {
    let defaults = ProptestConfig::default();
    let cases = std::env::var("MMDIFF_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(DEFAULT_CASES);
    let rng_seed = match std::env::var_os("PROPTEST_RNG_SEED") {
        Some(_) => defaults.rng_seed,
        None => RngSeed::Fixed(DEFAULT_SEED),
    };
    ProptestConfig {
        cases,
        rng_seed,
        ..defaults
    }
}

/// The reference state: the oracle itself, and the raw outcome of the last
/// op, which the subject's outcome is compared with.
#[derive(Clone, Debug)]
struct Reference {
    oracle: Oracle,
    last: Option<Outcome>,
}

struct OracleMachine;

impl ReferenceStateMachine for OracleMachine {
    type State = Reference;
    type Transition = Op;

    fn init_state() -> BoxedStrategy<Reference> {
        Just(Reference {
            oracle: Oracle::new(&config()),
            last: None,
        })
        .boxed()
    }

    fn transitions(state: &Reference) -> BoxedStrategy<Op> {
        let ranges = vma_ranges(&state.oracle.raw_state());
        let procs: Vec<ProcId> = state
            .oracle
            .raw_state()
            .procs
            .iter()
            .map(|p| p.id)
            .collect();
        if ranges.is_empty() {
            return prop_oneof![2 => arb_mmap(procs), 1 => arb_op()].boxed();
        }
        prop_oneof![
            4 => arb_ranged_op(ranges),
            1 => arb_mmap(procs),
            3 => arb_op(),
        ]
        .boxed()
    }

    fn apply(mut state: Reference, op: &Op) -> Reference {
        state.last = Some(state.oracle.apply(op));
        state
    }
}

/// `(process, window, first page, end page)` of every VMA, window-relative.
type VmaRange = (ProcId, SlotId, u32, u32);

fn vma_ranges(raw: &State) -> Vec<VmaRange> {
    let w = u64::from(raw.window_pages.max(1));
    let mut out = Vec::new();
    for p in &raw.procs {
        for v in &p.vmas {
            let Some(k) = (v.start / w).checked_sub(1) else {
                continue;
            };
            let (Ok(slot), Ok(lo)) = (u8::try_from(k), u32::try_from(v.start % w)) else {
                continue;
            };
            // VMAs never cross a window; clip anyway rather than trust it.
            let len = v.end.saturating_sub(v.start).min(w - v.start % w);
            let Ok(hi) = u32::try_from(u64::from(lo) + len) else {
                continue;
            };
            if slot < SlotId::COUNT && hi > lo {
                out.push((p.id, SlotId(slot), lo, hi));
            }
        }
    }
    out
}

/// A sub-range of one of `ranges`, and its first page.
fn arb_target(ranges: Vec<VmaRange>) -> BoxedStrategy<(ProcId, PageRange, PageAt)> {
    prop::sample::select(ranges)
        .prop_flat_map(|(p, slot, lo, hi)| {
            (lo..hi, 1..=hi - lo).prop_map(move |(start, len)| {
                let end = start.saturating_add(len).min(hi);
                (
                    p,
                    PageRange::new(slot, start, end),
                    PageAt { slot, page: start },
                )
            })
        })
        .boxed()
}

/// Ops on pages that exist.
fn arb_ranged_op(ranges: Vec<VmaRange>) -> impl Strategy<Value = Op> {
    let t = arb_target(ranges);
    prop_oneof![
        4 => (t.clone(), arb_fill()).prop_map(|((p, range, _), fill)| Op::Write { p, range, fill }),
        3 => t.clone().prop_map(|(p, range, _)| Op::Read { p, range }),
        2 => (t.clone(), arb_handle(), arb_gup_flags())
            .prop_map(|((p, range, _), h, flags)| Op::Gup { p, range, h, flags }),
        1 => (t.clone(), arb_prot()).prop_map(|((p, range, _), prot)| Op::Mprotect { p, range, prot }),
        2 => (t.clone(), arb_advice())
            .prop_map(|((p, range, _), advice)| Op::Madvise { p, range, advice }),
        1 => (t.clone(), arb_proc()).prop_map(|((p, _, _), child)| Op::Fork { p, child }),
        1 => t.clone().prop_map(|(p, _, at)| Op::SplitThp { p, at }),
        1 => (t.clone(), arb_dev()).prop_map(|((p, range, _), d)| Op::MigrateToDev { d, p, range }),
        1 => (t.clone(), arb_dev()).prop_map(|((p, range, _), d)| Op::DevRead { d, p, range }),
        1 => t.prop_map(|(p, range, _)| Op::Munmap { p, range }),
    ]
}

/// A mapping by an existing process (any process when none is left), at
/// the start of a window, mostly anonymous, small or THP-sized.
fn arb_mmap(procs: Vec<ProcId>) -> impl Strategy<Value = Op> {
    let proc = if procs.is_empty() {
        arb_proc().boxed()
    } else {
        prop::sample::select(procs).boxed()
    };
    let kind = prop_oneof![3 => Just(mmdiff_core::op::MapKind::Anon), 1 => arb_kind()];
    let pages = prop_oneof![3 => 1u32..16, 1 => Just(512u32), 1 => Just(1024u32)];
    (
        proc,
        (0..SlotId::COUNT).prop_map(SlotId),
        pages,
        kind,
        arb_prot(),
        arb_zone(),
    )
        .prop_map(|(p, slot, pages, kind, prot, zone)| Op::Mmap {
            p,
            slot,
            at: 0,
            pages,
            kind,
            prot,
            zone,
            foff: 0,
        })
}

/// The canonical state of a model and its raw outcome renamed to match.
fn canonical(m: &impl Model, raw: Option<&Outcome>) -> (State, Option<Outcome>) {
    let (state, renames) = canon::canonicalize(&m.raw_state());
    (state, raw.map(|o| o.renamed(&renames)))
}

/// Fails the case unless both models agree and both states are sound.
fn compare(
    op: Option<&Op>,
    oracle: &Oracle,
    last: Option<&Outcome>,
    sut: &Subject,
    raw: Option<&Outcome>,
) {
    let at = op.map_or_else(
        || "before the first op".to_string(),
        |op| format!("`{}`", text::op_to_string(op)),
    );
    let (a, oa) = canonical(oracle, last);
    let (b, ob) = canonical(sut, raw);
    if oa != ob {
        let show = |o: &Option<Outcome>| o.as_ref().map_or("-".into(), text::outcome_to_string);
        panic!(
            "{at}: outcomes differ\n  oracle   {}\n  subject  {}",
            show(&oa),
            show(&ob)
        );
    }
    for (name, state) in [("oracle", &a), ("subject", &b)] {
        let broken = invariants::check(state);
        assert!(
            broken.is_empty(),
            "{at}: {name} broke invariants: {broken:?}"
        );
    }
    // The digests lockstep's fast path compares: the oracle computes its
    // own from its world, the subject keeps its up to date as it changes;
    // both must equal the definition on the exported state.
    assert_eq!(
        oracle.digest(),
        digest::of_state(&oracle.raw_state()),
        "{at}: the oracle's digest disagrees with digest::of_state"
    );
    assert_eq!(
        sut.digest(),
        digest::of_state(&sut.raw_state()),
        "{at}: the subject's incremental digest disagrees with digest::of_state"
    );
    if a != b {
        panic!(
            "{at}: states differ ({})\n{}",
            lockstep::state_path(&a, &b).unwrap_or_default(),
            lockstep::state_diff(&a, &b, ["oracle", "subject"])
        );
    }
}

struct SubjectTest;

impl StateMachineTest for SubjectTest {
    type SystemUnderTest = Subject;
    type Reference = OracleMachine;

    fn init_test(_: &Reference) -> Subject {
        Subject::new(&config())
    }

    fn apply(mut sut: Subject, reference: &Reference, op: Op) -> Subject {
        let raw = sut.apply(&op);
        compare(
            Some(&op),
            &reference.oracle,
            reference.last.as_ref(),
            &sut,
            Some(&raw),
        );
        sut
    }

    /// `apply` already compared everything after each op; this covers the
    /// initial states.
    fn check_invariants(sut: &Subject, reference: &Reference) {
        if reference.last.is_none() {
            compare(None, &reference.oracle, None, sut, None);
        }
    }
}

prop_state_machine! {
    #![proptest_config(proptest_config())]

    #[test]
    fn subject_follows_the_oracle(sequential 1..MAX_OPS => SubjectTest);
}
