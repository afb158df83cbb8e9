//! proptest strategies over the whole op domain ([`Op::validate`]).
//!
//! Built for tests only: core's own property tests (byte round-trips, text
//! round-trips) and, through the `strategies` feature, other crates' (the
//! corpus crate's state-machine test) draw ops from here, so every variant,
//! every enum value and every flag combination must be reachable, and
//! every generated op must pass `validate`.

use proptest::prelude::*;

use crate::op::{
    Advice, DevId, FileId, Fill, FsKind, GupFlags, HandleId, HmmReq, IommuId, LockId, MapKind,
    MigrateDest, MigrateSelect, NotifierId, Op, PageAt, PageRange, ProcId, Prot, SessionId, SlotId,
    Zone, MAX_PAGE, PMD_PAGES,
};

/// A page number in `0..MAX_PAGE`, biased toward the places where the
/// models' behaviour changes: small numbers, PMD boundaries and their
/// neighbours, the default 2048-page window and the domain's edges.
pub fn arb_page() -> impl Strategy<Value = u32> {
    prop_oneof![
        4 => 0u32..32,
        2 => (0u32..8).prop_map(|k| k * PMD_PAGES),
        2 => (1u32..8, -3i32..=3).prop_map(|(k, d)| (k * PMD_PAGES).wrapping_add_signed(d)),
        2 => 0u32..2048,
        1 => prop::sample::select(vec![511u32, 512, 513, 1023, 1024, 2047, 2048, MAX_PAGE - 512, MAX_PAGE - 1]),
        1 => 0u32..MAX_PAGE,
    ]
}

/// A size in `1..=MAX_PAGE`, biased like [`arb_page`].
pub fn arb_size() -> impl Strategy<Value = u32> {
    prop_oneof![
        4 => 1u32..32,
        2 => (1u32..=8).prop_map(|k| k * PMD_PAGES),
        2 => (1u32..8, -3i32..=3).prop_map(|(k, d)| (k * PMD_PAGES).wrapping_add_signed(d)),
        2 => 1u32..=2048,
        1 => prop::sample::select(vec![1u32, 511, 512, 513, 2048, MAX_PAGE - 1, MAX_PAGE]),
        1 => 1u32..=MAX_PAGE,
    ]
}

/// A non-empty `[start, end)` with `end <= MAX_PAGE`.
pub fn arb_span() -> impl Strategy<Value = (u32, u32)> {
    (arb_page(), arb_size()).prop_map(|(start, len)| {
        let end = start.saturating_add(len).min(MAX_PAGE);
        (start, end)
    })
}

pub fn arb_proc() -> impl Strategy<Value = ProcId> {
    (0..ProcId::COUNT).prop_map(ProcId)
}
pub fn arb_slot() -> impl Strategy<Value = SlotId> {
    (0..SlotId::COUNT).prop_map(SlotId)
}
pub fn arb_file() -> impl Strategy<Value = FileId> {
    (0..FileId::COUNT).prop_map(FileId)
}
pub fn arb_handle() -> impl Strategy<Value = HandleId> {
    (0..HandleId::COUNT).prop_map(HandleId)
}
pub fn arb_lock() -> impl Strategy<Value = LockId> {
    (0..LockId::COUNT).prop_map(LockId)
}
pub fn arb_iommu() -> impl Strategy<Value = IommuId> {
    (0..IommuId::COUNT).prop_map(IommuId)
}

/// Devices, biased toward dev0 (a private device) like the byte layout.
pub fn arb_dev() -> impl Strategy<Value = DevId> {
    prop_oneof![2 => Just(DevId(0)), 3 => (0..DevId::COUNT).prop_map(DevId)]
}
pub fn arb_notifier() -> impl Strategy<Value = NotifierId> {
    (0..NotifierId::COUNT).prop_map(NotifierId)
}
pub fn arb_session() -> impl Strategy<Value = SessionId> {
    (0..SessionId::COUNT).prop_map(SessionId)
}
pub fn arb_req() -> impl Strategy<Value = HmmReq> {
    prop::sample::select(vec![HmmReq::None, HmmReq::Fault, HmmReq::Write])
}
/// All 32 selection flag combinations.
pub fn arb_select() -> impl Strategy<Value = MigrateSelect> {
    (0u8..32).prop_map(|b| MigrateSelect {
        system: b & 1 != 0,
        private: b & 2 != 0,
        coherent: b & 4 != 0,
        compound: b & 8 != 0,
        fault: b & 16 != 0,
    })
}
pub fn arb_dest() -> impl Strategy<Value = MigrateDest> {
    prop_oneof![
        3 => arb_dev().prop_map(MigrateDest::Device),
        1 => Just(MigrateDest::System),
    ]
}

pub fn arb_range() -> impl Strategy<Value = PageRange> {
    (arb_slot(), arb_span()).prop_map(|(slot, (start, end))| PageRange { slot, start, end })
}

pub fn arb_at() -> impl Strategy<Value = PageAt> {
    (arb_slot(), arb_page()).prop_map(|(slot, page)| PageAt { slot, page })
}

pub fn arb_kind() -> impl Strategy<Value = MapKind> {
    prop_oneof![
        Just(MapKind::Anon),
        Just(MapKind::AnonShared),
        arb_file().prop_map(MapKind::FilePrivate),
        arb_file().prop_map(MapKind::FileShared),
        Just(MapKind::Special),
    ]
}

pub fn arb_prot() -> impl Strategy<Value = Prot> {
    prop::sample::select(vec![Prot::None, Prot::R, Prot::RW])
}
pub fn arb_zone() -> impl Strategy<Value = Zone> {
    prop::sample::select(Zone::ALL.to_vec())
}
pub fn arb_advice() -> impl Strategy<Value = Advice> {
    prop::sample::select(Advice::ALL.to_vec())
}
pub fn arb_fs() -> impl Strategy<Value = FsKind> {
    prop::sample::select(vec![FsKind::Tmpfs, FsKind::Ext4])
}

/// Fills: small and full-width constants, small and full-width index offsets.
pub fn arb_fill() -> impl Strategy<Value = Fill> {
    prop_oneof![
        3 => (0u64..256).prop_map(Fill::Const),
        2 => any::<u64>().prop_map(Fill::Const),
        3 => (0u64..16).prop_map(Fill::Index),
        2 => any::<u64>().prop_map(Fill::Index),
    ]
}

/// All 64 flag combinations (the domain does not forbid `longterm` without `pin`).
pub fn arb_gup_flags() -> impl Strategy<Value = GupFlags> {
    (0u8..64).prop_map(|b| GupFlags {
        pin: b & 1 != 0,
        write: b & 2 != 0,
        longterm: b & 4 != 0,
        fast: b & 8 != 0,
        force: b & 16 != 0,
        nofault: b & 32 != 0,
    })
}

/// Any op of the domain, each kind about equally likely.
pub fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![25 => arb_mm_op(), 18 => arb_hmm_op()]
}

/// The HMM / device-migration ops (`hmm-fault` .. `dev-close`).
pub fn arb_hmm_op() -> impl Strategy<Value = Op> {
    let dpr = || (arb_dev(), arb_proc(), arb_range());
    prop_oneof![
        (
            arb_proc(),
            arb_range(),
            arb_req(),
            prop::option::of((arb_span(), arb_req())),
            prop::option::of(arb_dev()),
            prop::option::of(arb_notifier())
        )
            .prop_map(|(p, range, req, page_req, owner, seq)| Op::HmmFault {
                p,
                range,
                req,
                page_req: page_req.map(|((a, b), k)| (a, b, k)),
                owner,
                seq
            }),
        (arb_notifier(), arb_proc(), arb_range()).prop_map(|(n, p, range)| Op::Notifier {
            n,
            p,
            range
        }),
        arb_notifier().prop_map(|n| Op::ReadBegin { n }),
        arb_notifier().prop_map(|n| Op::ReadRetry { n }),
        (
            arb_session(),
            arb_proc(),
            arb_range(),
            arb_select(),
            prop::option::of(arb_dev()),
            prop::option::of(arb_page())
        )
            .prop_map(
                |(s, p, range, select, owner, fault_page)| Op::MigrateSetup {
                    s,
                    p,
                    range,
                    select,
                    owner,
                    fault_page
                }
            ),
        (
            arb_session(),
            arb_dest(),
            prop::option::of(arb_span()),
            any::<bool>()
        )
            .prop_map(|(s, dest, fail, split)| Op::MigrateAlloc {
                s,
                dest,
                fail,
                split
            }),
        arb_session().prop_map(|s| Op::MigratePages { s }),
        arb_session().prop_map(|s| Op::MigrateFinalize { s }),
        dpr().prop_map(|(d, p, range)| Op::DevRead { d, p, range }),
        (dpr(), arb_fill()).prop_map(|((d, p, range), fill)| Op::DevWrite { d, p, range, fill }),
        dpr().prop_map(|(d, p, range)| Op::MigrateToDev { d, p, range }),
        dpr().prop_map(|(d, p, range)| Op::MigrateToSys { d, p, range }),
        dpr().prop_map(|(d, p, range)| Op::DevSnapshot { d, p, range }),
        dpr().prop_map(|(d, p, range)| Op::DevExclusive { d, p, range }),
        dpr().prop_map(|(d, p, range)| Op::DevCheckExclusive { d, p, range }),
        arb_dev().prop_map(|d| Op::DevRelease { d }),
        arb_dev().prop_map(|d| Op::DevFailAlloc { d }),
        (arb_dev(), arb_proc()).prop_map(|(d, p)| Op::DevClose { d, p }),
    ]
}

/// The memory-management ops (`mmap` .. `iommu-unreg`).
pub fn arb_mm_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (
            arb_proc(),
            arb_slot(),
            arb_page(),
            arb_size(),
            arb_kind(),
            arb_prot(),
            arb_zone(),
            arb_page()
        )
            .prop_map(|(p, slot, at, pages, kind, prot, zone, foff)| Op::Mmap {
                p,
                slot,
                at,
                pages,
                kind,
                prot,
                zone,
                foff
            }),
        (arb_proc(), arb_range()).prop_map(|(p, range)| Op::Munmap { p, range }),
        (arb_proc(), arb_range(), arb_prot()).prop_map(|(p, range, prot)| Op::Mprotect {
            p,
            range,
            prot
        }),
        (arb_proc(), arb_range(), arb_advice()).prop_map(|(p, range, advice)| Op::Madvise {
            p,
            range,
            advice
        }),
        (arb_proc(), arb_range(), arb_at()).prop_map(|(p, range, to)| Op::Mremap { p, range, to }),
        (arb_proc(), arb_proc()).prop_map(|(p, child)| Op::Fork { p, child }),
        arb_proc().prop_map(|p| Op::Exit { p }),
        (arb_file(), arb_fs(), arb_size()).prop_map(|(f, fs, pages)| Op::File { f, fs, pages }),
        (arb_proc(), arb_range()).prop_map(|(p, range)| Op::Read { p, range }),
        (arb_proc(), arb_range(), arb_fill()).prop_map(|(p, range, fill)| Op::Write {
            p,
            range,
            fill
        }),
        arb_proc().prop_map(|p| Op::ClearSoftDirty { p }),
        (arb_proc(), arb_range(), any::<bool>()).prop_map(|(p, range, on)| Op::UffdWp {
            p,
            range,
            on
        }),
        (arb_proc(), arb_range(), arb_handle(), arb_gup_flags())
            .prop_map(|(p, range, h, flags)| Op::Gup { p, range, h, flags }),
        (arb_handle(), any::<bool>()).prop_map(|(h, dirty)| Op::Release { h, dirty }),
        (arb_handle(), arb_span()).prop_map(|(h, (start, end))| Op::DmaRead { h, start, end }),
        (arb_handle(), arb_span(), arb_fill()).prop_map(|(h, (start, end), fill)| Op::DmaWrite {
            h,
            start,
            end,
            fill
        }),
        Just(Op::Reclaim),
        (arb_proc(), arb_at()).prop_map(|(p, at)| Op::SplitThp { p, at }),
        (arb_lock(), arb_proc(), arb_at()).prop_map(|(x, p, at)| Op::Lock { x, p, at }),
        arb_lock().prop_map(|x| Op::Unlock { x }),
        Just(Op::CmaEvacuate),
        arb_zone().prop_map(|zone| Op::FailAlloc { zone }),
        (arb_iommu(), arb_proc(), arb_range()).prop_map(|(i, p, range)| Op::IommuPrereg {
            i,
            p,
            range
        }),
        (arb_iommu(), arb_page()).prop_map(|(i, index)| Op::IommuTranslate { i, index }),
        arb_iommu().prop_map(|i| Op::IommuUnreg { i }),
    ]
}

/// Sequences of `0..=max` ops.
pub fn arb_ops(max: usize) -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(arb_op(), 0..=max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::OpKind;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, TestRunner};
    use std::collections::BTreeSet;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5000))]
        #[test]
        fn every_generated_op_is_valid(op in arb_op()) {
            prop_assert_eq!(op.validate(), Ok(()), "{:?}", op);
        }
    }

    /// Every op kind, and the page edges, are actually reached (a strategy
    /// that silently lost a variant would weaken every test built on it).
    #[test]
    fn strategies_reach_every_kind_and_edge() {
        let mut runner = TestRunner::new_with_rng(
            Config::default(),
            proptest::test_runner::TestRng::deterministic_rng(
                proptest::test_runner::RngAlgorithm::ChaCha,
            ),
        );
        let mut kinds = BTreeSet::new();
        let strat = arb_op();
        for _ in 0..20_000 {
            let op = strat.new_tree(&mut runner).expect("strategy").current();
            kinds.insert(op.kind());
        }
        assert_eq!(kinds.len(), OpKind::ALL.len(), "{kinds:?}");
        // The optional fields of the HMM ops are reached both ways.
        let (mut req, mut page_req, mut owner, mut seq, mut fault_page, mut fail, mut sys) = (
            BTreeSet::new(),
            [false; 2],
            [false; 2],
            [false; 2],
            [false; 2],
            [false; 2],
            false,
        );
        let mut selects = BTreeSet::new();
        let hmm = arb_hmm_op();
        for _ in 0..20_000 {
            match hmm.new_tree(&mut runner).expect("strategy").current() {
                Op::HmmFault {
                    req: r,
                    page_req: pr,
                    owner: o,
                    seq: s,
                    ..
                } => {
                    req.insert(r);
                    page_req[pr.is_some() as usize] = true;
                    owner[o.is_some() as usize] = true;
                    seq[s.is_some() as usize] = true;
                }
                Op::MigrateSetup {
                    select,
                    fault_page: fp,
                    ..
                } => {
                    selects.insert(select);
                    fault_page[fp.is_some() as usize] = true;
                }
                Op::MigrateAlloc { dest, fail: f, .. } => {
                    fail[f.is_some() as usize] = true;
                    sys |= dest == MigrateDest::System;
                }
                _ => {}
            }
        }
        assert_eq!(req.len(), 3);
        assert_eq!(selects.len(), 32);
        for both in [page_req, owner, seq, fault_page, fail] {
            assert_eq!(both, [true, true]);
        }
        assert!(sys);
        let mut pages = BTreeSet::new();
        let ps = arb_page();
        for _ in 0..20_000 {
            pages.insert(ps.new_tree(&mut runner).expect("strategy").current());
        }
        for edge in [0, 511, 512, 513, 1024, 2047, MAX_PAGE - 1] {
            assert!(pages.contains(&edge), "page {edge} never generated");
        }
        assert!(pages.iter().any(|&p| p > 2048));
    }
}
