//! Generators of outcomes, expectations and whole scenarios.

use proptest::prelude::*;

use crate::expect::{
    BitCheck, DataPattern, DataRun, DataValue, DeviceFlag, DeviceItem, EntryBit, EntryKind, Expect,
    ExpectedOutcome, Fact, FolioFlag, FolioItem, ProcPage, VmaFlag, VmaItem,
};
use crate::op::{PageAt, Prot};
use crate::outcome::{Errno, HmmPfn, MigrateSrc, Outcome, Payload, Signal};
use crate::state::{FolioId, MigratePhase, MirrorTag, PageRef, VmaKind};
use crate::strategies::{arb_dev, arb_notifier, arb_op, arb_proc, arb_session, arb_slot, arb_zone};
use crate::text::*;

pub(super) fn arb_errno() -> impl Strategy<Value = Errno> {
    prop::sample::select(Errno::ALL.to_vec())
}

pub(super) fn arb_page_ref() -> impl Strategy<Value = PageRef> {
    prop_oneof![
        (any::<u64>(), any::<u32>()).prop_map(|(f, page)| PageRef::Folio {
            folio: FolioId(f),
            page
        }),
        Just(PageRef::Zero),
        any::<u32>().prop_map(|page| PageRef::HugeZero { page }),
    ]
}

/// Values with structure (constant and index runs, wrapping edges) as well
/// as noise, so compression sees every kind of run boundary.
pub(super) fn arb_values() -> impl Strategy<Value = (u64, Vec<u64>)> {
    let base = prop_oneof![0u64..4096, Just(u64::MAX - 3), any::<u64>()];
    let piece = prop_oneof![
        (1usize..6, any::<u64>()).prop_map(|(n, v)| vec![v; n]),
        (1usize..6, 0u64..8).prop_map(|(n, v)| vec![v; n]),
        (1usize..6, any::<u64>())
            .prop_map(|(n, v)| (0..n as u64).map(|t| v.wrapping_add(t)).collect()),
        (1usize..6, Just(u64::MAX - 2))
            .prop_map(|(n, v)| (0..n as u64).map(|t| v.wrapping_add(t)).collect()),
        prop::collection::vec(0u64..4, 1..4),
    ];
    (base, prop::collection::vec(piece, 0..6)).prop_map(|(base, pieces)| (base, pieces.concat()))
}

pub(super) fn arb_data_value() -> impl Strategy<Value = DataValue> {
    prop_oneof![
        any::<u64>().prop_map(DataValue::Const),
        any::<u64>().prop_map(DataValue::Index),
        (0u64..4).prop_map(DataValue::Index),
    ]
}

pub(super) fn arb_data_pattern() -> impl Strategy<Value = DataPattern> {
    prop_oneof![
        arb_data_value().prop_map(DataPattern::Uniform),
        prop::collection::vec(
            (
                prop_oneof![1u64..4, any::<u64>().prop_map(|n| n.max(1))],
                arb_data_value()
            )
                .prop_map(|(count, value)| DataRun { count, value }),
            0..5
        )
        .prop_map(DataPattern::Runs),
    ]
}

/// Page references with small numbers (so runs and ties happen) and edges.
fn arb_small_page_ref() -> impl Strategy<Value = PageRef> {
    prop_oneof![
        4 => (0u64..3, prop_oneof![0u32..4, Just(u32::MAX - 1), Just(u32::MAX)])
            .prop_map(|(f, page)| PageRef::Folio { folio: FolioId(f), page }),
        1 => Just(PageRef::Zero),
        1 => prop_oneof![0u32..4, Just(u32::MAX)].prop_map(|page| PageRef::HugeZero { page }),
        1 => arb_page_ref(),
    ]
}

/// Lists built from pieces: `n` copies of an item, or `n` items whose page
/// advances (when it can), so both run kinds and their boundaries occur.
fn arb_list<T: Clone + std::fmt::Debug + 'static>(
    item: impl Strategy<Value = T> + 'static,
    with_page: fn(T, Option<PageRef>) -> T,
    page_of: fn(&T) -> Option<PageRef>,
) -> impl Strategy<Value = Vec<T>> {
    let piece = (item, 1usize..6, any::<bool>()).prop_map(move |(x, n, adv)| {
        (0..n as u32)
            .map(|k| match (adv, page_of(&x)) {
                (true, Some(PageRef::Folio { folio, page })) => with_page(
                    x.clone(),
                    Some(PageRef::Folio {
                        folio,
                        page: page.saturating_add(k),
                    }),
                ),
                _ => x.clone(),
            })
            .collect::<Vec<T>>()
    });
    prop::collection::vec(piece, 0..5).prop_map(|p| p.concat())
}

pub(super) fn arb_pfn() -> impl Strategy<Value = HmmPfn> {
    (
        0u8..8,
        prop_oneof![3 => Just(0u8), 2 => Just(9u8), 1 => any::<u8>()],
        prop::option::of(arb_small_page_ref()),
    )
        .prop_map(|(b, order, page)| HmmPfn {
            valid: b & 1 != 0,
            write: b & 2 != 0,
            error: b & 4 != 0,
            order,
            page,
        })
}

pub(super) fn arb_src() -> impl Strategy<Value = MigrateSrc> {
    (0u8..8, prop::option::of(arb_small_page_ref())).prop_map(|(b, page)| MigrateSrc {
        page,
        migrate: b & 1 != 0,
        write: b & 2 != 0,
        compound: b & 4 != 0,
    })
}

pub(super) fn arb_pfns() -> impl Strategy<Value = Vec<HmmPfn>> {
    arb_list(arb_pfn(), |w, page| HmmPfn { page, ..w }, |w| w.page)
}

pub(super) fn arb_srcs() -> impl Strategy<Value = Vec<MigrateSrc>> {
    arb_list(arb_src(), |e, page| MigrateSrc { page, ..e }, |e| e.page)
}

pub(super) fn arb_snapshot() -> impl Strategy<Value = Vec<u8>> {
    let piece = (
        prop_oneof![
            prop::sample::select(vec![0u8, 0x11, 0x12, 0x22, 0x30]),
            any::<u8>()
        ],
        1usize..6,
    )
        .prop_map(|(b, n)| vec![b; n]);
    prop::collection::vec(piece, 0..5).prop_map(|p| p.concat())
}

/// Every outcome, including data payloads at any base.
pub(super) fn arb_outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![
        arb_base_outcome(),
        arb_pfns().prop_map(|w| Outcome::Ok(Payload::Pfns(w.into()))),
        (any::<u64>(), arb_srcs())
            .prop_map(|(cpages, src)| Outcome::Ok(Payload::Migrate { cpages, src })),
        (any::<u64>(), 0u64..8, prop::option::of(arb_values())).prop_map(
            |(cpages, faults, data)| Outcome::Ok(Payload::Dev {
                cpages,
                faults,
                data
            })
        ),
        arb_snapshot().prop_map(|b| Outcome::Ok(Payload::Snapshot(b))),
        Just(Outcome::Stuck),
    ]
}

/// The outcomes of the memory-management ops.
fn arb_base_outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![
        Just(Outcome::OK),
        any::<u64>().prop_map(Outcome::count),
        arb_values().prop_map(|(base, values)| Outcome::Ok(Payload::Data { base, values })),
        (arb_page_ref(), any::<u8>())
            .prop_map(|(page, shift)| Outcome::Ok(Payload::Translate { page, shift })),
        arb_errno().prop_map(Outcome::Err),
        (
            prop::sample::select(vec![Signal::Segv, Signal::Bus, Signal::Oom]),
            any::<u32>()
        )
            .prop_map(|(sig, page)| Outcome::Signal { sig, page }),
        any::<u32>().prop_map(|page| Outcome::Blocked { page }),
    ]
}

pub(super) fn arb_expected_outcome() -> impl Strategy<Value = ExpectedOutcome> {
    prop_oneof![
        arb_outcome().prop_map(|o| ExpectedOutcome::from_outcome(&o)),
        arb_data_pattern().prop_map(ExpectedOutcome::Data),
        (any::<u64>(), any::<u64>(), arb_data_pattern()).prop_map(|(cpages, faults, data)| {
            ExpectedOutcome::Dev {
                cpages,
                faults,
                data,
            }
        }),
    ]
}

pub(super) fn arb_proc_page() -> impl Strategy<Value = ProcPage> {
    (
        arb_proc(),
        arb_slot(),
        prop_oneof![0u32..2048, any::<u32>()],
    )
        .prop_map(|(p, slot, page)| ProcPage {
            p,
            at: PageAt { slot, page },
        })
}

/// A subset of `all` in a random order, each with a random polarity.
pub(super) fn arb_checks<B: Copy + std::fmt::Debug + 'static>(
    all: Vec<B>,
) -> impl Strategy<Value = Vec<BitCheck<B>>> {
    let n = all.len();
    (
        Just(all).prop_shuffle(),
        0..=n,
        prop::collection::vec(any::<bool>(), n),
    )
        .prop_map(|(bits, len, sets)| {
            bits.into_iter()
                .take(len)
                .zip(sets)
                .map(|(bit, set)| BitCheck { bit, set })
                .collect()
        })
}

/// Folio items: each key or flag at most once, in any order.
pub(super) fn arb_folio_items() -> impl Strategy<Value = Vec<FolioItem>> {
    (
        any::<i64>(),
        -2i64..2000,
        any::<u8>(),
        any::<u32>(),
        (arb_zone(), arb_dev()),
        arb_checks(FolioFlag::ALL.to_vec()),
        prop::collection::vec(any::<bool>(), 8),
    )
        .prop_map(|(big, small, order, sub, (zone, dev), flags, keep)| {
            let candidates = [
                FolioItem::Ref(small),
                FolioItem::Map(big),
                FolioItem::Entire(small),
                FolioItem::Pin(big),
                FolioItem::Order(order),
                FolioItem::Subpage(sub),
                FolioItem::Zone(zone),
                FolioItem::Dev(dev),
            ];
            let mut items: Vec<FolioItem> = candidates
                .into_iter()
                .zip(keep)
                .filter_map(|(item, k)| k.then_some(item))
                .collect();
            items.extend(flags.into_iter().map(FolioItem::Flag));
            items
        })
        .prop_shuffle()
}

pub(super) fn arb_vma_items() -> impl Strategy<Value = Vec<VmaItem>> {
    (
        any::<u32>(),
        any::<u32>(),
        prop::sample::select(vec![Prot::None, Prot::R, Prot::RW]),
        prop::sample::select(vec![
            VmaKind::AnonPrivate,
            VmaKind::AnonShared,
            VmaKind::FilePrivate,
            VmaKind::FileShared,
            VmaKind::Special,
        ]),
        arb_zone(),
        arb_checks(VmaFlag::ALL.to_vec()),
        prop::collection::vec(any::<bool>(), 5),
    )
        .prop_map(|(start, end, prot, kind, zone, flags, keep)| {
            let candidates = [
                VmaItem::Start(start),
                VmaItem::End(end),
                VmaItem::Prot(prot),
                VmaItem::Kind(kind),
                VmaItem::Zone(zone),
            ];
            let mut items: Vec<VmaItem> = candidates
                .into_iter()
                .zip(keep)
                .filter_map(|(item, k)| k.then_some(item))
                .collect();
            items.extend(flags.into_iter().map(VmaItem::Flag));
            items
        })
        .prop_shuffle()
}

pub(super) fn arb_fact() -> impl Strategy<Value = Fact> {
    let entry = (
        arb_proc_page(),
        prop::sample::select(EntryKind::ALL.to_vec()),
    )
        .prop_flat_map(|(at, kind)| {
            let usable: Vec<EntryBit> = EntryBit::ALL
                .into_iter()
                .filter(|&b| kind.has_bit(b))
                .collect();
            arb_checks(usable).prop_map(move |bits| Fact::Entry { at, kind, bits })
        });
    prop_oneof![
        entry,
        (arb_proc_page(), arb_folio_items()).prop_map(|(at, items)| Fact::Folio { at, items }),
        (arb_proc_page(), arb_proc_page(), any::<bool>()).prop_map(|(a, b, same)| Fact::Same {
            a,
            b,
            same
        }),
        (arb_zone(), any::<u64>()).prop_map(|(zone, free)| Fact::ZoneFree { zone, free }),
        (arb_proc_page(), arb_vma_items()).prop_map(|(at, items)| Fact::Vma { at, items }),
        arb_proc_page().prop_map(|at| Fact::NoVma { at }),
        (arb_proc(), any::<bool>()).prop_map(|(p, pinned)| Fact::HasPinned { p, pinned }),
        any::<u64>().prop_map(|used| Fact::SwapUsed { used }),
        any::<u64>().prop_map(|count| Fact::FolioCount { count }),
        arb_hmm_fact(),
    ]
}

pub(super) fn arb_device_items() -> impl Strategy<Value = Vec<DeviceItem>> {
    (
        any::<u64>(),
        any::<i64>(),
        arb_checks(DeviceFlag::ALL.to_vec()),
        prop::collection::vec(any::<bool>(), 2),
    )
        .prop_map(|(free, refs, flags, keep)| {
            let mut items: Vec<DeviceItem> = [DeviceItem::Free(free), DeviceItem::Refs(refs)]
                .into_iter()
                .zip(keep)
                .filter_map(|(item, k)| k.then_some(item))
                .collect();
            items.extend(flags.into_iter().map(DeviceItem::Flag));
            items
        })
        .prop_shuffle()
}

/// The device, mirror, session and notifier facts.
pub(super) fn arb_hmm_fact() -> impl Strategy<Value = Fact> {
    let tag = prop::sample::select(vec![
        None,
        Some(MirrorTag::Read),
        Some(MirrorTag::Write),
        Some(MirrorTag::Atomic),
    ]);
    let phase = prop::sample::select(vec![
        None,
        Some(MigratePhase::Setup),
        Some(MigratePhase::Allocated),
        Some(MigratePhase::Migrated),
    ]);
    prop_oneof![
        (arb_dev(), arb_device_items()).prop_map(|(d, items)| Fact::Device { d, items }),
        (
            arb_dev(),
            arb_proc_page(),
            tag,
            prop::option::of(arb_proc_page())
        )
            .prop_map(|(d, at, tag, same_as)| Fact::Mirror {
                d,
                at,
                tag,
                same_as: same_as.filter(|_| tag.is_some()),
            }),
        (arb_session(), phase, prop::option::of(any::<u64>())).prop_map(|(s, phase, cpages)| {
            Fact::Session {
                s,
                phase,
                cpages: cpages.filter(|_| phase.is_some()),
            }
        }),
        (
            arb_notifier(),
            prop::sample::select(vec![None, Some(true), Some(false)])
        )
            .prop_map(|(n, stale)| Fact::Notifier { n, stale }),
    ]
}

pub(super) fn arb_expect() -> impl Strategy<Value = Expect> {
    (
        prop::option::of(arb_expected_outcome()),
        prop::collection::vec(arb_fact(), 0..4),
    )
        .prop_map(|(outcome, facts)| Expect { outcome, facts })
}

/// Free text for comments and header values: anything without line breaks.
pub(super) fn arb_line_text() -> impl Strategy<Value = String> {
    prop_oneof![" [a-z=>#;!:. ]{0,20}", "[^\n\r]{0,12}"]
}

pub(super) fn arb_line() -> impl Strategy<Value = Line> {
    prop_oneof![
        1 => Just(Line::Blank),
        1 => arb_line_text().prop_map(Line::Comment),
        1 => arb_line_text().prop_map(|t| Line::Comment(format!("!{t}"))),
        6 => (
            arb_op(),
            prop::option::of(arb_expect()),
            0u16..40,
            prop::option::of(arb_line_text()),
            0u16..6
        )
            .prop_map(|(op, expect, pad, comment, comment_pad)| Line::Op {
                pad: if expect.is_some() { pad } else { 1 },
                comment_pad: if comment.is_some() { comment_pad } else { 1 },
                op,
                expect,
                comment,
            }),
    ]
}

pub(super) fn arb_scenario() -> impl Strategy<Value = Scenario> {
    (
        prop::collection::vec(("[^:\n\r]{0,10}", arb_line_text()), 0..3),
        prop::collection::vec(arb_line(), 0..8),
    )
        .prop_map(|(header, lines)| Scenario { header, lines })
}
