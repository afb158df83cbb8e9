//! The oracle as a proptest-state-machine reference machine: transitions
//! are ops drawn from the oracle's state half of the time (ranges inside
//! existing VMAs, with the ops that use them), the rest from the whole op
//! domain ([`mmdiff_core::strategies`]), which also creates the mappings
//! the state-aware half works on.
//!
//! Two drivers use it: the corpus crate's `state_machine` test (the
//! subject as the system under test, compared after every op) and
//! `mmdiff zoo`'s proptest engine, which measures how fast this suite
//! finds planted faults next to `mmdiff fuzz`.

use mmdiff_core::op::{PageAt, PageRange, ProcId, SlotId};
use mmdiff_core::strategies::{
    arb_advice, arb_dev, arb_fill, arb_gup_flags, arb_handle, arb_kind, arb_op, arb_proc, arb_prot,
    arb_zone,
};
use mmdiff_core::{Config, Model, Op, Outcome, State};
use mmdiff_oracle::Oracle;
use proptest::prelude::*;
use proptest_state_machine::ReferenceStateMachine;

/// Ops per generated sequence at most.
pub const MAX_OPS: usize = 64;

/// The reference state: the oracle itself, and the raw outcome of the last
/// op, which the subject's outcome is compared with.
#[derive(Clone, Debug)]
pub struct Reference {
    pub oracle: Oracle,
    pub last: Option<Outcome>,
}

pub struct OracleMachine;

impl ReferenceStateMachine for OracleMachine {
    type State = Reference;
    type Transition = Op;

    fn init_state() -> BoxedStrategy<Reference> {
        Just(Reference {
            oracle: Oracle::new(&Config::default()),
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
