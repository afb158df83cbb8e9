//! Faults, COW, THP, swap, fork and protection changes, checked on the
//! oracle's raw state with concrete counters.

mod support;
use support::*;

use mmdiff_core::op::*;
use mmdiff_core::outcome::{Errno, Outcome, Signal};
use mmdiff_core::state::{Entry, Level, Target};
use mmdiff_core::{Config, Model};

fn mmap(pages: u32, kind: MapKind, prot: Prot) -> Op {
    mmap_op(M0, 0, pages, kind, prot, Zone::Normal)
}

fn run(ops: &[Op]) -> (Checked, Vec<Outcome>) {
    let mut o = Checked::new(&Config::default());
    let outs = ops.iter().map(|op| o.apply(op)).collect();
    (o, outs)
}

#[test]
fn read_fault_maps_zero_page_write_fault_maps_exclusive_folio() {
    let (o, outs) = run(&[
        mmap(4, MapKind::Anon, Prot::RW),
        Op::Read {
            p: P0,
            range: r(0, 1),
        },
        Op::Write {
            p: P0,
            range: r(1, 2),
            fill: Fill::Const(7),
        },
    ]);
    assert_eq!(values(&outs[1]), vec![0]);
    let s = o.raw_state();
    assert!(matches!(
        entry(&s, ProcId(0), 0),
        Some(Entry::Present {
            target: Target::Zero,
            ..
        })
    ));
    let f = folio_at(&s, ProcId(0), 1);
    assert_eq!(
        (f.refcount, f.mapcount, f.anon, f.anon_exclusive[0]),
        (1, 1, true, true)
    );
    let Some(Entry::Present { bits, .. }) = entry(&s, ProcId(0), 1) else {
        panic!()
    };
    assert!(bits.write && bits.dirty && bits.young && bits.soft_dirty);
    assert_eq!(s.zone_free[0], Config::default().zone_pages[0] - 1);
}

#[test]
fn cow_after_fork_copies_on_write_and_reuses_when_alone() {
    let (o, outs) = run(&[
        mmap(2, MapKind::Anon, Prot::RW),
        Op::Write {
            p: P0,
            range: r(0, 2),
            fill: Fill::Index(0),
        },
        Op::Fork { p: P0, child: P1 },
        Op::Write {
            p: P1,
            range: r(0, 1),
            fill: Fill::Const(99),
        },
        Op::Read {
            p: P0,
            range: r(0, 2),
        },
        Op::Read {
            p: P1,
            range: r(0, 2),
        },
    ]);
    assert_eq!(values(&outs[4]), vec![0, 1]);
    assert_eq!(values(&outs[5]), vec![99, 1]);
    let s = o.raw_state();
    // Page 0: the child copied; the parent's page is mapped once but still
    // not exclusive until the parent writes (reuse).
    let parent0 = folio_at(&s, ProcId(0), 0);
    assert_eq!(
        (
            parent0.mapcount,
            parent0.refcount,
            parent0.anon_exclusive[0]
        ),
        (1, 1, false)
    );
    let child0 = folio_at(&s, ProcId(1), 0);
    assert!(child0.anon_exclusive[0]);
    // Page 1 is still shared, read-only in both.
    let shared = folio_at(&s, ProcId(0), 1);
    assert_eq!((shared.mapcount, shared.refcount), (2, 2));
    for p in [0, 1] {
        let Some(Entry::Present { bits, .. }) = entry(&s, ProcId(p), 1) else {
            panic!()
        };
        assert!(!bits.write);
    }
    let (o2, _) = {
        let mut o = o;
        let out = o.apply(&Op::Write {
            p: P0,
            range: r(0, 1),
            fill: Fill::Const(5),
        });
        (o, out)
    };
    let s = o2.raw_state();
    let reused = folio_at(&s, ProcId(0), 0);
    assert!(
        reused.anon_exclusive[0],
        "write to a folio held only by us reuses it"
    );
    assert_eq!(s.folios.len(), 3);
}

#[test]
fn thp_fault_read_maps_huge_zero_write_maps_thp() {
    let (o, _) = run(&[
        mmap(1024, MapKind::Anon, Prot::RW),
        Op::Madvise {
            p: P0,
            range: r(0, 1024),
            advice: Advice::HugePage,
        },
        Op::Read {
            p: P0,
            range: r(0, 1),
        },
        Op::Write {
            p: P0,
            range: r(512, 513),
            fill: Fill::Const(3),
        },
    ]);
    let s = o.raw_state();
    assert!(matches!(
        entry(&s, ProcId(0), 5),
        Some(Entry::Present {
            level: Level::Pmd,
            target: Target::HugeZero { page: 5 },
            ..
        })
    ));
    let f = folio_at(&s, ProcId(0), 700);
    assert_eq!(
        (f.order, f.refcount, f.mapcount, f.entire_mapcount),
        (9, 1, 1, 1)
    );
    assert!(f.anon_exclusive[0]);
    assert_eq!(s.zone_free[0], Config::default().zone_pages[0] - 512);
}

#[test]
fn write_to_huge_zero_allocates_a_thp() {
    let (o, outs) = run(&[
        mmap(512, MapKind::Anon, Prot::RW),
        Op::Madvise {
            p: P0,
            range: r(0, 512),
            advice: Advice::HugePage,
        },
        Op::Read {
            p: P0,
            range: r(0, 512),
        },
        Op::Write {
            p: P0,
            range: r(3, 4),
            fill: Fill::Const(1),
        },
        Op::Read {
            p: P0,
            range: r(2, 5),
        },
    ]);
    assert_eq!(values(&outs[4]), vec![0, 1, 0]);
    let s = o.raw_state();
    assert_eq!(folio_at(&s, ProcId(0), 0).order, 9);
}

#[test]
fn partial_munmap_splits_pmd_and_keeps_large_folio() {
    let (o, _) = run(&[
        mmap(512, MapKind::Anon, Prot::RW),
        Op::Madvise {
            p: P0,
            range: r(0, 512),
            advice: Advice::HugePage,
        },
        Op::Write {
            p: P0,
            range: r(0, 1),
            fill: Fill::Const(1),
        },
        Op::Munmap {
            p: P0,
            range: r(256, 512),
        },
    ]);
    let s = o.raw_state();
    let f = folio_at(&s, ProcId(0), 0);
    assert_eq!(
        (f.order, f.mapcount, f.refcount, f.entire_mapcount),
        (9, 256, 256, 0)
    );
    assert!(f.anon_exclusive.iter().all(|&x| x));
    assert!(matches!(
        entry(&s, ProcId(0), 10),
        Some(Entry::Present {
            level: Level::Pte,
            ..
        })
    ));
}

#[test]
fn split_thp_frees_unmapped_pieces() {
    let (o, outs) = run(&[
        mmap(512, MapKind::Anon, Prot::RW),
        Op::Madvise {
            p: P0,
            range: r(0, 512),
            advice: Advice::HugePage,
        },
        Op::Write {
            p: P0,
            range: r(0, 512),
            fill: Fill::Index(0),
        },
        Op::Munmap {
            p: P0,
            range: r(500, 512),
        },
        Op::SplitThp {
            p: P0,
            at: PageAt { slot: M0, page: 0 },
        },
        Op::Read {
            p: P0,
            range: r(498, 500),
        },
    ]);
    assert_eq!(outs[4], Outcome::OK);
    assert_eq!(values(&outs[5]), vec![498, 499]);
    let s = o.raw_state();
    // 12 pieces were unmapped, and page 0 held only zeros: it went to the
    // shared zero page (try_to_map_unused_to_zeropage).
    assert_eq!(s.folios.len(), 499);
    assert_eq!(s.zone_free[0], Config::default().zone_pages[0] - 499);
}

#[test]
fn reclaim_swaps_out_and_read_swaps_back_in() {
    let (o, outs) = run(&[
        mmap(2, MapKind::Anon, Prot::RW),
        Op::Write {
            p: P0,
            range: r(0, 2),
            fill: Fill::Const(42),
        },
        Op::Reclaim,
        Op::Read {
            p: P0,
            range: r(0, 1),
        },
    ]);
    assert_eq!(outs[2], Outcome::count(2));
    assert_eq!(values(&outs[3]), vec![42]);
    let s = o.raw_state();
    assert!(matches!(
        entry(&s, ProcId(0), 1),
        Some(Entry::Swap {
            exclusive: true,
            ..
        })
    ));
    let f = folio_at(&s, ProcId(0), 0);
    // Read swap-in of an exclusive entry: writable, clean, still cached.
    assert!(f.swapcache.is_some());
    assert_eq!(f.refcount, 2);
    let Some(Entry::Present { bits, .. }) = entry(&s, ProcId(0), 0) else {
        panic!()
    };
    assert!(bits.write && !bits.dirty);
}

#[test]
fn madvise_free_then_reclaim_discards_clean_pages() {
    let (o, outs) = run(&[
        mmap(2, MapKind::Anon, Prot::RW),
        Op::Write {
            p: P0,
            range: r(0, 2),
            fill: Fill::Const(9),
        },
        Op::Madvise {
            p: P0,
            range: r(0, 2),
            advice: Advice::Free,
        },
        Op::Write {
            p: P0,
            range: r(1, 2),
            fill: Fill::Const(8),
        },
        Op::Reclaim,
        Op::Read {
            p: P0,
            range: r(0, 2),
        },
    ]);
    assert_eq!(values(&outs[5]), vec![0, 8]);
    let _ = o;
}

#[test]
fn collapse_builds_a_pmd_mapped_thp_from_small_pages() {
    let (o, outs) = run(&[
        mmap(1024, MapKind::Anon, Prot::RW),
        Op::Write {
            p: P0,
            range: r(0, 1024),
            fill: Fill::Index(0),
        },
        Op::Madvise {
            p: P0,
            range: r(0, 1024),
            advice: Advice::Collapse,
        },
        Op::Read {
            p: P0,
            range: r(510, 514),
        },
    ]);
    assert_eq!(outs[2], Outcome::OK);
    assert_eq!(values(&outs[3]), vec![510, 511, 512, 513]);
    let s = o.raw_state();
    assert_eq!(s.folios.len(), 2);
    assert_eq!(s.zone_free[0], Config::default().zone_pages[0] - 1024);
    let f = folio_at(&s, ProcId(0), 600);
    assert_eq!((f.order, f.entire_mapcount), (9, 1));
}

#[test]
fn collapse_of_empty_block_is_einval() {
    let (_, outs) = run(&[
        mmap(512, MapKind::Anon, Prot::RW),
        Op::Madvise {
            p: P0,
            range: r(0, 512),
            advice: Advice::Collapse,
        },
    ]);
    assert_eq!(outs[1], Outcome::Err(Errno::EINVAL));
}

#[test]
fn mprotect_read_only_then_write_segfaults_and_back_to_rw_reuses() {
    let (o, outs) = run(&[
        mmap(2, MapKind::Anon, Prot::RW),
        Op::Write {
            p: P0,
            range: r(0, 2),
            fill: Fill::Const(1),
        },
        Op::Mprotect {
            p: P0,
            range: r(0, 1),
            prot: Prot::R,
        },
        Op::Write {
            p: P0,
            range: r(0, 1),
            fill: Fill::Const(2),
        },
        Op::Mprotect {
            p: P0,
            range: r(0, 1),
            prot: Prot::RW,
        },
    ]);
    assert_eq!(
        outs[3],
        Outcome::Signal {
            sig: Signal::Segv,
            page: 0
        }
    );
    let s = o.raw_state();
    assert_eq!(s.procs[0].vmas.len(), 1, "VMAs merge back");
    let Some(Entry::Present { bits, .. }) = entry(&s, ProcId(0), 0) else {
        panic!()
    };
    assert!(bits.write, "exclusive anon PTE made writable by mprotect");
}

#[test]
fn shared_file_write_is_seen_by_other_process_and_written_back() {
    let f0 = FileId(0);
    let (o, outs) = run(&[
        Op::File {
            f: f0,
            fs: FsKind::Ext4,
            pages: 4,
        },
        mmap(4, MapKind::FileShared(f0), Prot::RW),
        Op::Fork { p: P0, child: P1 },
        Op::Write {
            p: P0,
            range: r(0, 1),
            fill: Fill::Const(5),
        },
        Op::Read {
            p: P1,
            range: r(0, 1),
        },
        Op::Reclaim,
        Op::Read {
            p: P1,
            range: r(0, 1),
        },
        Op::Read {
            p: P0,
            range: r(4, 5),
        },
    ]);
    assert_eq!(values(&outs[4]), vec![5]);
    assert_eq!(values(&outs[6]), vec![5]);
    assert_eq!(
        outs[7],
        Outcome::Signal {
            sig: Signal::Segv,
            page: 4
        }
    );
    let _ = o;
}

#[test]
fn file_access_beyond_eof_is_sigbus() {
    let f0 = FileId(0);
    let (_, outs) = run(&[
        Op::File {
            f: f0,
            fs: FsKind::Tmpfs,
            pages: 2,
        },
        mmap(4, MapKind::FilePrivate(f0), Prot::RW),
        Op::Read {
            p: P0,
            range: r(0, 4),
        },
    ]);
    assert_eq!(
        outs[2],
        Outcome::Signal {
            sig: Signal::Bus,
            page: 2
        }
    );
}

#[test]
fn fork_copies_nothing_for_untouched_file_mapping() {
    let f0 = FileId(0);
    let (o, _) = run(&[
        Op::File {
            f: f0,
            fs: FsKind::Tmpfs,
            pages: 2,
        },
        mmap(2, MapKind::FileShared(f0), Prot::RW),
        Op::Read {
            p: P0,
            range: r(0, 2),
        },
        Op::Fork { p: P0, child: P1 },
    ]);
    let s = o.raw_state();
    assert!(entry(&s, ProcId(1), 0).is_none());
    assert!(entry(&s, ProcId(0), 0).is_some());
}

#[test]
fn mremap_moves_entries_and_marks_them_soft_dirty() {
    let (o, outs) = run(&[
        mmap(4, MapKind::Anon, Prot::RW),
        Op::Write {
            p: P0,
            range: r(0, 4),
            fill: Fill::Index(0),
        },
        Op::ClearSoftDirty { p: P0 },
        Op::Mremap {
            p: P0,
            range: r(0, 4),
            to: PageAt {
                slot: SlotId(1),
                page: 8,
            },
        },
        Op::Read {
            p: P0,
            range: PageRange::new(SlotId(1), 8, 12),
        },
    ]);
    assert_eq!(outs[3], Outcome::OK);
    assert_eq!(values(&outs[4]), vec![0, 1, 2, 3]);
    let s = o.raw_state();
    let moved = s.procs[0].entries.iter().all(|e| match e.entry {
        Entry::Present { bits, .. } => bits.soft_dirty,
        _ => false,
    });
    assert!(moved);
}

#[test]
fn uffd_wp_blocks_writes_until_resolved() {
    let (_, outs) = run(&[
        mmap(1, MapKind::Anon, Prot::RW),
        Op::Write {
            p: P0,
            range: r(0, 1),
            fill: Fill::Const(1),
        },
        Op::UffdWp {
            p: P0,
            range: r(0, 1),
            on: true,
        },
        Op::Write {
            p: P0,
            range: r(0, 1),
            fill: Fill::Const(2),
        },
        Op::UffdWp {
            p: P0,
            range: r(0, 1),
            on: false,
        },
        Op::Write {
            p: P0,
            range: r(0, 1),
            fill: Fill::Const(3),
        },
        Op::Read {
            p: P0,
            range: r(0, 1),
        },
    ]);
    assert_eq!(outs[3], Outcome::Blocked { page: 0 });
    assert_eq!(values(&outs[6]), vec![3]);
}

#[test]
fn reclaim_skips_externally_locked_folio() {
    let (_, outs) = run(&[
        mmap(1, MapKind::Anon, Prot::RW),
        Op::Write {
            p: P0,
            range: r(0, 1),
            fill: Fill::Const(1),
        },
        Op::Lock {
            x: LockId(0),
            p: P0,
            at: PageAt { slot: M0, page: 0 },
        },
        Op::Reclaim,
        Op::Unlock { x: LockId(0) },
        Op::Reclaim,
    ]);
    assert_eq!(outs[3], Outcome::count(0));
    assert_eq!(outs[5], Outcome::count(1));
}

#[test]
fn swapin_of_a_locked_swapcache_folio_blocks() {
    let (o, outs) = run(&[
        mmap(1, MapKind::Anon, Prot::RW),
        Op::Write {
            p: P0,
            range: r(0, 1),
            fill: Fill::Const(1),
        },
        Op::Fork { p: P0, child: P1 },
        Op::Reclaim,
        // p0 reads the page back in; it stays in the swap cache because p1
        // still has a swap entry for the slot.
        Op::Read {
            p: P0,
            range: r(0, 1),
        },
        Op::Lock {
            x: LockId(0),
            p: P0,
            at: PageAt { slot: M0, page: 0 },
        },
        Op::Read {
            p: P1,
            range: r(0, 1),
        },
        Op::Unlock { x: LockId(0) },
        Op::Read {
            p: P1,
            range: r(0, 1),
        },
    ]);
    assert_eq!(outs[3], Outcome::count(1));
    assert_eq!(outs[6], Outcome::Blocked { page: 0 });
    assert_eq!(values(&outs[8]), vec![1]);
    let s = o.raw_state();
    let f = folio_at(&s, ProcId(1), 0);
    assert_eq!((f.mapcount, f.anon_exclusive[0]), (2, false));
}

#[test]
fn exit_frees_everything_not_held_elsewhere() {
    let (o, _) = run(&[
        mmap(600, MapKind::Anon, Prot::RW),
        Op::Write {
            p: P0,
            range: r(0, 600),
            fill: Fill::Const(1),
        },
        Op::Fork { p: P0, child: P1 },
        Op::Exit { p: P0 },
        Op::Exit { p: P1 },
    ]);
    let s = o.raw_state();
    assert!(s.folios.is_empty());
    assert_eq!(s.zone_free, Config::default().zone_pages);
}

#[test]
fn anon_shared_mapping_is_shared_across_fork() {
    let (o, outs) = run(&[
        mmap(2, MapKind::AnonShared, Prot::RW),
        Op::Fork { p: P0, child: P1 },
        Op::Write {
            p: P1,
            range: r(0, 1),
            fill: Fill::Const(4),
        },
        Op::Read {
            p: P0,
            range: r(0, 2),
        },
    ]);
    assert_eq!(values(&outs[3]), vec![4, 0]);
    let s = o.raw_state();
    assert_eq!(s.objects.len(), 1);
}

#[test]
fn special_mapping_refuses_dontneed_and_keeps_io_contents() {
    let (_, outs) = run(&[
        mmap(2, MapKind::Special, Prot::RW),
        Op::Write {
            p: P0,
            range: r(1, 2),
            fill: Fill::Const(6),
        },
        Op::Madvise {
            p: P0,
            range: r(0, 2),
            advice: Advice::DontNeed,
        },
        Op::Read {
            p: P0,
            range: r(0, 2),
        },
    ]);
    assert_eq!(outs[2], Outcome::Err(Errno::EINVAL));
    assert_eq!(values(&outs[3]), vec![0, 6]);
}
