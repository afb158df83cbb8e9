//! GUP, FOLL_LONGTERM migration, CMA evacuation and IOMMU preregistration
//! in the oracle, driven through the `Model` interface with concrete
//! counters.

mod support;
use support::*;

use mmdiff_core::op::{
    Advice, FileId, Fill, FsKind, GupFlags, HandleId, IommuId, LockId, MapKind, PageAt, ProcId,
    Prot, Zone,
};
use mmdiff_core::state::{Entry, FolioId, Level, Memory, PageRef, State, Target};
use mmdiff_core::{Config, Errno, Model, Op, Outcome, Payload, GUP_PIN_COUNTING_BIAS};

const H0: HandleId = HandleId(0);
const H1: HandleId = HandleId(1);

fn mmap(o: &mut Checked, at: u32, pages: u32, kind: MapKind, prot: Prot, zone: Zone) {
    apply_ok(o, mmap_op(M0, at, pages, kind, prot, zone));
}

fn anon(o: &mut Checked, at: u32, pages: u32, zone: Zone) {
    mmap(o, at, pages, MapKind::Anon, Prot::RW, zone);
}

fn write(o: &mut Checked, p: ProcId, start: u32, end: u32, fill: Fill) {
    assert_eq!(
        o.apply(&Op::Write {
            p,
            range: r(start, end),
            fill
        }),
        Outcome::OK
    );
}

fn gup(o: &mut Checked, p: ProcId, start: u32, end: u32, h: HandleId, flags: GupFlags) -> Outcome {
    o.apply(&Op::Gup {
        p,
        range: r(start, end),
        h,
        flags,
    })
}

const PIN: GupFlags = GupFlags {
    pin: true,
    write: false,
    longterm: false,
    fast: false,
    force: false,
    nofault: false,
};
const GET: GupFlags = GupFlags { pin: false, ..PIN };

fn flags(f: impl FnOnce(&mut GupFlags), base: GupFlags) -> GupFlags {
    let mut g = base;
    f(&mut g);
    g
}

/// The folio page mapped at `page`.
fn mapped(s: &State, p: ProcId, page: u32) -> (FolioId, u32) {
    match entry(s, p, page) {
        Some(Entry::Present {
            target: Target::Folio { folio, page },
            ..
        }) => (folio, page),
        other => panic!("page {page} of {p} maps {other:?}"),
    }
}

fn has_pinned(s: &State, p: ProcId) -> bool {
    s.procs
        .iter()
        .find(|x| x.id == p)
        .expect("process")
        .has_pinned
}

fn free(s: &State, z: Zone) -> u64 {
    s.zone_free[z.index()]
}

fn total(z: Zone) -> u64 {
    Config::default().zone_total(z)
}

// ---------------------------------------------------------------------
// pin / get accounting
// ---------------------------------------------------------------------

#[test]
fn pin_small_anon_page_adds_bias_and_release_restores() {
    let mut o = oracle();
    anon(&mut o, 0, 4, Zone::Normal);
    write(&mut o, P0, 0, 1, Fill::Const(7));
    assert!(!has_pinned(&o.raw_state(), P0));
    assert_eq!(gup(&mut o, P0, 0, 1, H0, PIN), Outcome::count(1));
    let s = o.raw_state();
    let f = folio_at(&s, P0, 0);
    assert_eq!(f.refcount, 1 + GUP_PIN_COUNTING_BIAS);
    assert_eq!(f.pincount, 0);
    assert!(has_pinned(&s, P0));
    assert_eq!(s.handles.len(), 1);
    assert_eq!(
        s.handles[0].pages,
        vec![PageRef::Folio {
            folio: f.id,
            page: 0
        }]
    );
    assert_eq!(
        o.apply(&Op::Release {
            h: H0,
            dirty: false
        }),
        Outcome::OK
    );
    let s = o.raw_state();
    assert_eq!(folio_at(&s, P0, 0).refcount, 1);
    assert!(s.handles.is_empty());
    assert!(has_pinned(&s, P0), "MMF_HAS_PINNED is sticky");
}

#[test]
fn get_adds_one_reference_and_put_drops_it() {
    let mut o = oracle();
    anon(&mut o, 0, 2, Zone::Normal);
    write(&mut o, P0, 0, 2, Fill::Const(1));
    assert_eq!(gup(&mut o, P0, 0, 2, H0, GET), Outcome::count(2));
    let s = o.raw_state();
    assert_eq!(folio_at(&s, P0, 0).refcount, 2);
    assert_eq!(folio_at(&s, P0, 1).refcount, 2);
    assert!(!has_pinned(&s, P0));
    apply_ok(
        &mut o,
        Op::Release {
            h: H0,
            dirty: false,
        },
    );
    assert_eq!(folio_at(&o.raw_state(), P0, 0).refcount, 1);
}

#[test]
fn pin_of_three_thp_pages_uses_pincount() {
    let mut o = oracle();
    anon(&mut o, 0, 512, Zone::Normal);
    apply_ok(
        &mut o,
        Op::Madvise {
            p: P0,
            range: r(0, 512),
            advice: Advice::HugePage,
        },
    );
    write(&mut o, P0, 0, 1, Fill::Const(5));
    let s = o.raw_state();
    assert!(matches!(
        entry(&s, P0, 10),
        Some(Entry::Present {
            level: Level::Pmd,
            ..
        })
    ));
    assert_eq!(gup(&mut o, P0, 10, 13, H0, PIN), Outcome::count(3));
    let s = o.raw_state();
    let f = folio_at(&s, P0, 10);
    assert_eq!(f.order, 9);
    assert_eq!(f.refcount, 1 + 3);
    assert_eq!(f.pincount, 3);
    assert_eq!(f.mapcount, 1);
    assert_eq!(
        s.handles[0].pages,
        (10..13)
            .map(|i| PageRef::Folio {
                folio: f.id,
                page: i
            })
            .collect::<Vec<_>>()
    );
    apply_ok(
        &mut o,
        Op::Release {
            h: H0,
            dirty: false,
        },
    );
    let s = o.raw_state();
    let f = folio_at(&s, P0, 10);
    assert_eq!((f.refcount, f.pincount), (1, 0));
}

#[test]
fn get_plus_longterm_is_einval_and_sets_nothing() {
    let mut o = oracle();
    anon(&mut o, 0, 1, Zone::Normal);
    write(&mut o, P0, 0, 1, Fill::Const(1));
    let f = flags(|g| g.longterm = true, GET);
    assert_eq!(gup(&mut o, P0, 0, 1, H0, f), Outcome::Err(Errno::EINVAL));
    let f = flags(|g| g.fast = true, f);
    assert_eq!(gup(&mut o, P0, 0, 1, H0, f), Outcome::Err(Errno::EINVAL));
    let s = o.raw_state();
    assert!(!has_pinned(&s, P0));
    assert!(s.handles.is_empty());
    assert_eq!(folio_at(&s, P0, 0).refcount, 1);
}

#[test]
fn partial_count_when_the_range_runs_into_a_hole() {
    let mut o = oracle();
    anon(&mut o, 0, 2, Zone::Normal);
    let w = flags(|g| g.write = true, PIN);
    assert_eq!(gup(&mut o, P0, 0, 4, H0, w), Outcome::count(2));
    let s = o.raw_state();
    assert_eq!(s.handles[0].pages.len(), 2);
    assert_eq!(folio_at(&s, P0, 1).refcount, 1 + GUP_PIN_COUNTING_BIAS);
    // Starting in the hole: nothing pinned, -EFAULT, but MMF_HAS_PINNED set.
    let mut o = oracle();
    anon(&mut o, 0, 2, Zone::Normal);
    assert_eq!(gup(&mut o, P0, 2, 4, H0, w), Outcome::Err(Errno::EFAULT));
    assert!(has_pinned(&o.raw_state(), P0));
    // The fast variant returns the fast count when the slow path fails.
    let mut o = oracle();
    anon(&mut o, 0, 2, Zone::Normal);
    write(&mut o, P0, 0, 2, Fill::Const(3));
    let fw = flags(|g| g.fast = true, w);
    assert_eq!(gup(&mut o, P0, 0, 4, H0, fw), Outcome::count(2));
}

#[test]
fn nofault_needs_a_present_page() {
    let mut o = oracle();
    anon(&mut o, 0, 2, Zone::Normal);
    let nf = flags(|g| g.nofault = true, PIN);
    assert_eq!(gup(&mut o, P0, 0, 1, H0, nf), Outcome::Err(Errno::EFAULT));
    assert_eq!(entry(&o.raw_state(), P0, 0), None, "no fault was taken");
    write(&mut o, P0, 0, 1, Fill::Const(9));
    assert_eq!(gup(&mut o, P0, 0, 2, H0, nf), Outcome::count(1));
}

#[test]
fn vma_checks() {
    let mut o = oracle();
    mmap(&mut o, 0, 2, MapKind::Special, Prot::RW, Zone::Normal);
    assert_eq!(gup(&mut o, P0, 0, 1, H0, GET), Outcome::Err(Errno::EFAULT));
    // Read-only private mapping: write needs FOLL_FORCE, which COWs into
    // an exclusive anon page that stays read-only in the page table.
    let mut o = oracle();
    mmap(&mut o, 0, 2, MapKind::Anon, Prot::R, Zone::Normal);
    let w = flags(|g| g.write = true, GET);
    assert_eq!(gup(&mut o, P0, 0, 1, H0, w), Outcome::Err(Errno::EFAULT));
    let wf = flags(|g| g.force = true, w);
    assert_eq!(gup(&mut o, P0, 0, 1, H0, wf), Outcome::count(1));
    let s = o.raw_state();
    let f = folio_at(&s, P0, 0);
    assert!(f.anon && f.anon_exclusive[0]);
    assert_eq!(f.refcount, 2);
    assert!(matches!(entry(&s, P0, 0), Some(Entry::Present { bits, .. }) if !bits.write));
    // Shared read-only mapping: FOLL_FORCE does not help.
    let mut o = oracle();
    mmap(&mut o, 0, 2, MapKind::AnonShared, Prot::R, Zone::Normal);
    assert_eq!(gup(&mut o, P0, 0, 1, H0, wf), Outcome::Err(Errno::EFAULT));
    // PROT_NONE: reads need FOLL_FORCE.
    let mut o = oracle();
    mmap(&mut o, 0, 2, MapKind::Anon, Prot::None, Zone::Normal);
    assert_eq!(gup(&mut o, P0, 0, 1, H0, PIN), Outcome::Err(Errno::EFAULT));
    let rf = flags(|g| g.force = true, PIN);
    assert_eq!(gup(&mut o, P0, 0, 1, H0, rf), Outcome::count(1));
    assert_eq!(o.raw_state().handles[0].pages, vec![PageRef::Zero]);
}

#[test]
fn longterm_write_pin_of_ext4_shared_mapping_is_efault() {
    for (fs, kind, longterm, expect) in [
        (
            FsKind::Ext4,
            MapKind::FileShared(FileId(0)),
            true,
            Outcome::Err(Errno::EFAULT),
        ),
        (
            FsKind::Ext4,
            MapKind::FileShared(FileId(0)),
            false,
            Outcome::count(2),
        ),
        (
            FsKind::Ext4,
            MapKind::FilePrivate(FileId(0)),
            true,
            Outcome::count(2),
        ),
        (
            FsKind::Tmpfs,
            MapKind::FileShared(FileId(0)),
            true,
            Outcome::count(2),
        ),
    ] {
        let mut o = oracle();
        apply_ok(
            &mut o,
            Op::File {
                f: FileId(0),
                fs,
                pages: 4,
            },
        );
        mmap(&mut o, 0, 4, kind, Prot::RW, Zone::Normal);
        let f = flags(
            |g| {
                g.write = true;
                g.longterm = longterm;
            },
            PIN,
        );
        assert_eq!(
            gup(&mut o, P0, 0, 2, H0, f),
            expect,
            "{fs:?} {kind:?} longterm={longterm}"
        );
        assert!(has_pinned(&o.raw_state(), P0));
    }
}

// ---------------------------------------------------------------------
// unshare, COW, touch
// ---------------------------------------------------------------------

#[test]
fn read_only_pin_after_fork_unshares() {
    let mut o = oracle();
    anon(&mut o, 0, 1, Zone::Normal);
    write(&mut o, P0, 0, 1, Fill::Const(42));
    apply_ok(&mut o, Op::Fork { p: P0, child: P1 });
    let s = o.raw_state();
    let (old, _) = mapped(&s, P0, 0);
    assert_eq!(mapped(&s, P1, 0).0, old);
    assert_eq!(s.folios[&old].refcount, 2);
    // A FOLL_GET does not unshare.
    assert_eq!(gup(&mut o, P0, 0, 1, H1, GET), Outcome::count(1));
    assert_eq!(o.raw_state().folios[&old].refcount, 3);
    apply_ok(
        &mut o,
        Op::Release {
            h: H1,
            dirty: false,
        },
    );
    // A R/O pin does.
    assert_eq!(gup(&mut o, P0, 0, 1, H0, PIN), Outcome::count(1));
    let s = o.raw_state();
    let (new, _) = mapped(&s, P0, 0);
    assert_ne!(new, old);
    let nf = &s.folios[&new];
    assert_eq!(nf.refcount, 1 + GUP_PIN_COUNTING_BIAS);
    assert!(nf.anon_exclusive[0]);
    assert_eq!(nf.contents[0], 42);
    assert!(matches!(entry(&s, P0, 0), Some(Entry::Present { bits, .. }) if !bits.write));
    assert_eq!(mapped(&s, P1, 0).0, old);
    assert_eq!(s.folios[&old].refcount, 1);
    assert_eq!(s.folios[&old].mapcount, 1);
    assert_eq!(
        o.apply(&Op::DmaRead {
            h: H0,
            start: 0,
            end: 1
        }),
        Outcome::Ok(Payload::Data {
            base: 0,
            values: vec![42]
        })
    );
}

#[test]
fn longterm_read_pin_of_private_file_page_unshares_into_anon() {
    let mut o = oracle();
    apply_ok(
        &mut o,
        Op::File {
            f: FileId(0),
            fs: FsKind::Tmpfs,
            pages: 2,
        },
    );
    mmap(
        &mut o,
        0,
        2,
        MapKind::FilePrivate(FileId(0)),
        Prot::RW,
        Zone::Normal,
    );
    assert!(matches!(
        o.apply(&Op::Read {
            p: P0,
            range: r(0, 1)
        }),
        Outcome::Ok(_)
    ));
    let cache = mapped(&o.raw_state(), P0, 0).0;
    // A short-term R/O pin takes the page-cache page itself.
    assert_eq!(gup(&mut o, P0, 0, 1, H1, PIN), Outcome::count(1));
    assert_eq!(
        o.raw_state().folios[&cache].refcount,
        2 + GUP_PIN_COUNTING_BIAS
    );
    apply_ok(
        &mut o,
        Op::Release {
            h: H1,
            dirty: false,
        },
    );
    let lt = flags(|g| g.longterm = true, PIN);
    assert_eq!(gup(&mut o, P0, 0, 1, H0, lt), Outcome::count(1));
    let s = o.raw_state();
    let f = folio_at(&s, P0, 0);
    assert_ne!(f.id, cache);
    assert!(f.anon && f.anon_exclusive[0]);
    assert_eq!(f.refcount, 1 + GUP_PIN_COUNTING_BIAS);
    assert_eq!(s.folios[&cache].refcount, 1, "only the page cache holds it");
}

#[test]
fn foll_touch_dirties_a_clean_folio_on_the_slow_path_only() {
    // MADV_FREE leaves a writable, clean PTE over a clean folio.
    let setup = || {
        let mut o = oracle();
        anon(&mut o, 0, 1, Zone::Normal);
        write(&mut o, P0, 0, 1, Fill::Const(1));
        apply_ok(
            &mut o,
            Op::Madvise {
                p: P0,
                range: r(0, 1),
                advice: Advice::Free,
            },
        );
        let s = o.raw_state();
        assert!(!folio_at(&s, P0, 0).dirty);
        assert!(
            matches!(entry(&s, P0, 0), Some(Entry::Present { bits, .. }) if bits.write && !bits.dirty)
        );
        o
    };
    let w = flags(|g| g.write = true, GET);
    for (f, dirtied) in [
        (w, true),                            // get_user_pages: FOLL_TOUCH
        (flags(|g| g.fast = true, w), false), // GUP-fast: no touch
        (flags(|g| g.pin = true, w), false),  // pin_user_pages: no touch
    ] {
        let mut o = setup();
        assert_eq!(gup(&mut o, P0, 0, 1, H0, f), Outcome::count(1));
        assert_eq!(folio_at(&o.raw_state(), P0, 0).dirty, dirtied, "{f:?}");
    }
}

#[test]
fn fast_variants_touch_on_their_slow_path() {
    // GUP-fast refuses a movable folio for FOLL_LONGTERM; the slow path
    // (with FOLL_TOUCH) dirties the clean folio before migrating it.
    for (fast, dirtied) in [(true, true), (false, false)] {
        let mut o = oracle();
        anon(&mut o, 0, 1, Zone::Movable);
        write(&mut o, P0, 0, 1, Fill::Const(1));
        apply_ok(
            &mut o,
            Op::Madvise {
                p: P0,
                range: r(0, 1),
                advice: Advice::Free,
            },
        );
        let f = flags(
            |g| {
                g.write = true;
                g.longterm = true;
                g.fast = fast;
            },
            PIN,
        );
        assert_eq!(gup(&mut o, P0, 0, 1, H0, f), Outcome::count(1));
        let s = o.raw_state();
        assert_eq!(folio_at(&s, P0, 0).memory, Memory::Zone(Zone::Normal));
        assert_eq!(folio_at(&s, P0, 0).dirty, dirtied, "fast={fast}");
    }
}

#[test]
fn longterm_faults_allocate_from_zone_normal() {
    // The injected movable failure is not consumed by the pin's fault
    // (memalloc_pin_save), so the next movable allocation hits it.
    let mut o = oracle();
    anon(&mut o, 0, 2, Zone::Movable);
    apply_ok(
        &mut o,
        Op::FailAlloc {
            zone: Zone::Movable,
        },
    );
    let lt = flags(
        |g| {
            g.longterm = true;
            g.write = true;
        },
        PIN,
    );
    assert_eq!(gup(&mut o, P0, 0, 1, H0, lt), Outcome::count(1));
    assert_eq!(
        folio_at(&o.raw_state(), P0, 0).memory,
        Memory::Zone(Zone::Normal)
    );
    assert_eq!(
        o.apply(&Op::Write {
            p: P0,
            range: r(1, 2),
            fill: Fill::Const(1)
        }),
        Outcome::Signal {
            sig: mmdiff_core::Signal::Oom,
            page: 1
        }
    );
}

#[test]
fn fast_pin_stops_at_the_zero_page_and_the_slow_path_finishes() {
    let mut o = oracle();
    anon(&mut o, 0, 3, Zone::Normal);
    write(&mut o, P0, 0, 1, Fill::Const(1));
    assert!(matches!(
        o.apply(&Op::Read {
            p: P0,
            range: r(1, 2)
        }),
        Outcome::Ok(_)
    ));
    write(&mut o, P0, 2, 3, Fill::Const(3));
    let fp = flags(|g| g.fast = true, PIN);
    assert_eq!(gup(&mut o, P0, 0, 3, H0, fp), Outcome::count(3));
    let s = o.raw_state();
    assert_eq!(s.handles[0].pages[1], PageRef::Zero);
    assert_eq!(folio_at(&s, P0, 2).refcount, 1 + GUP_PIN_COUNTING_BIAS);
    // A longterm R/O pin of the zero page in a COW mapping unshares it.
    let lt = flags(|g| g.longterm = true, fp);
    assert_eq!(gup(&mut o, P0, 1, 2, H1, lt), Outcome::count(1));
    let s = o.raw_state();
    let f = folio_at(&s, P0, 1);
    assert!(f.anon_exclusive[0]);
    assert_eq!(f.refcount, 1 + GUP_PIN_COUNTING_BIAS);
}

// ---------------------------------------------------------------------
// FOLL_LONGTERM migration
// ---------------------------------------------------------------------

#[test]
fn longterm_pin_in_movable_zone_migrates_to_normal_first() {
    let mut o = oracle();
    anon(&mut o, 0, 2, Zone::Movable);
    write(&mut o, P0, 0, 2, Fill::Index(100));
    let s = o.raw_state();
    assert_eq!(free(&s, Zone::Movable), total(Zone::Movable) - 2);
    let old = mapped(&s, P0, 0).0;
    let lt = flags(
        |g| {
            g.longterm = true;
            g.write = true;
        },
        PIN,
    );
    assert_eq!(gup(&mut o, P0, 0, 2, H0, lt), Outcome::count(2));
    let s = o.raw_state();
    assert_eq!(free(&s, Zone::Movable), total(Zone::Movable));
    assert_eq!(free(&s, Zone::Normal), total(Zone::Normal) - 2);
    assert!(!s.folios.contains_key(&old));
    for i in 0..2 {
        let f = folio_at(&s, P0, i);
        assert_eq!(f.memory, Memory::Zone(Zone::Normal));
        assert_eq!(f.refcount, 1 + GUP_PIN_COUNTING_BIAS);
        assert_eq!(f.contents[0], 100 + i as u64);
        assert!(f.anon_exclusive[0]);
        assert_eq!(
            s.handles[0].pages[i as usize],
            PageRef::Folio {
                folio: f.id,
                page: 0
            }
        );
    }
    // Faulting in under memalloc_pin_save() allocates from ZONE_NORMAL.
    let mut o = oracle();
    anon(&mut o, 0, 2, Zone::Movable);
    assert_eq!(gup(&mut o, P0, 0, 1, H0, lt), Outcome::count(1));
    let s = o.raw_state();
    assert_eq!(free(&s, Zone::Movable), total(Zone::Movable));
    assert_eq!(folio_at(&s, P0, 0).memory, Memory::Zone(Zone::Normal));
}

#[test]
fn longterm_pin_of_a_movable_thp_migrates_it_whole_or_split() {
    for fail in [false, true] {
        let mut o = oracle();
        anon(&mut o, 0, 512, Zone::Movable);
        apply_ok(
            &mut o,
            Op::Madvise {
                p: P0,
                range: r(0, 512),
                advice: Advice::HugePage,
            },
        );
        write(&mut o, P0, 0, 512, Fill::Index(0));
        if fail {
            apply_ok(&mut o, Op::FailAlloc { zone: Zone::Normal });
        }
        let lt = flags(|g| g.longterm = true, PIN);
        assert_eq!(gup(&mut o, P0, 3, 5, H0, lt), Outcome::count(2));
        let s = o.raw_state();
        assert_eq!(free(&s, Zone::Movable), total(Zone::Movable));
        // Split, page 0 (it holds 0) went to the shared zero page.
        let migrated = if fail { 511 } else { 512 };
        assert_eq!(free(&s, Zone::Normal), total(Zone::Normal) - migrated);
        let f = folio_at(&s, P0, 3);
        assert_eq!(f.memory, Memory::Zone(Zone::Normal));
        if fail {
            // No order-9 page: split, each piece migrated on its own.
            assert_eq!(f.order, 0);
            assert_eq!(f.refcount, 1 + GUP_PIN_COUNTING_BIAS);
            assert!(matches!(
                entry(&s, P0, 3),
                Some(Entry::Present {
                    level: Level::Pte,
                    ..
                })
            ));
            assert_eq!(folio_at(&s, P0, 300).contents[0], 300);
        } else {
            assert_eq!(f.order, 9);
            assert_eq!((f.refcount, f.pincount, f.mapcount), (3, 2, 1));
            assert!(matches!(
                entry(&s, P0, 3),
                Some(Entry::Present {
                    level: Level::Pmd,
                    ..
                })
            ));
            assert_eq!(f.contents[300], 300);
        }
    }
}

#[test]
fn longterm_pin_fails_with_enomem_when_migration_is_refused() {
    let mut o = oracle();
    anon(&mut o, 0, 2, Zone::Movable);
    write(&mut o, P0, 0, 2, Fill::Const(1));
    // Another kernel user holds a reference on page 1's folio.
    assert_eq!(gup(&mut o, P0, 1, 2, H1, GET), Outcome::count(1));
    let lt = flags(|g| g.longterm = true, PIN);
    assert_eq!(gup(&mut o, P0, 0, 2, H0, lt), Outcome::Err(Errno::ENOMEM));
    let s = o.raw_state();
    assert!(s.handles.iter().all(|h| h.id != H0));
    // Page 0 was migrated, page 1 stayed; no pin remains anywhere.
    assert_eq!(folio_at(&s, P0, 0).memory, Memory::Zone(Zone::Normal));
    assert_eq!(folio_at(&s, P0, 0).refcount, 1);
    assert_eq!(folio_at(&s, P0, 1).memory, Memory::Zone(Zone::Movable));
    assert_eq!(folio_at(&s, P0, 1).refcount, 2);
    assert!(has_pinned(&s, P0));
}

// ---------------------------------------------------------------------
// release and DMA
// ---------------------------------------------------------------------

#[test]
fn dma_through_handles() {
    let mut o = oracle();
    anon(&mut o, 4, 4, Zone::Normal);
    write(&mut o, P0, 4, 8, Fill::Const(0));
    assert_eq!(gup(&mut o, P0, 4, 8, H0, PIN), Outcome::count(4));
    assert_eq!(
        o.apply(&Op::DmaWrite {
            h: H0,
            start: 0,
            end: 1,
            fill: Fill::Const(9)
        }),
        Outcome::Err(Errno::EPERM)
    );
    let w = flags(|g| g.write = true, PIN);
    assert_eq!(gup(&mut o, P0, 4, 8, H1, w), Outcome::count(4));
    let before = o.raw_state();
    assert_eq!(
        o.apply(&Op::DmaWrite {
            h: H1,
            start: 1,
            end: 3,
            fill: Fill::Index(1000)
        }),
        Outcome::OK
    );
    assert_eq!(
        o.apply(&Op::DmaRead {
            h: H0,
            start: 0,
            end: 4
        }),
        Outcome::Ok(Payload::Data {
            base: 4,
            values: vec![0, 1005, 1006, 0]
        })
    );
    assert_eq!(
        o.apply(&Op::DmaRead {
            h: H0,
            start: 2,
            end: 5
        }),
        Outcome::Err(Errno::EINVAL)
    );
    // The device write dirtied neither the PTE nor the folio.
    let after = o.raw_state();
    assert_eq!(entry(&after, P0, 5), entry(&before, P0, 5));
    assert_eq!(
        folio_at(&after, P0, 5).dirty,
        folio_at(&before, P0, 5).dirty
    );
    // release dirty marks the folio dirty.
    assert!(!folio_at(&after, P0, 5).dirty);
    apply_ok(&mut o, Op::Release { h: H1, dirty: true });
    let s = o.raw_state();
    assert!(folio_at(&s, P0, 5).dirty);
    assert_eq!(folio_at(&s, P0, 5).refcount, 1 + GUP_PIN_COUNTING_BIAS);
}

#[test]
fn dirty_release_blocks_on_a_folio_locked_elsewhere() {
    let mut o = oracle();
    anon(&mut o, 0, 2, Zone::Normal);
    write(&mut o, P0, 0, 2, Fill::Const(1));
    assert_eq!(gup(&mut o, P0, 0, 2, H0, PIN), Outcome::count(2));
    apply_ok(
        &mut o,
        Op::Lock {
            x: LockId(0),
            p: P0,
            at: PageAt { slot: M0, page: 1 },
        },
    );
    let before = o.raw_state();
    assert_eq!(
        o.apply(&Op::Release { h: H0, dirty: true }),
        Outcome::Blocked { page: 0 }
    );
    assert_eq!(o.raw_state(), before);
    assert_eq!(
        o.apply(&Op::Release {
            h: H0,
            dirty: false
        }),
        Outcome::OK
    );
    let s = o.raw_state();
    assert_eq!(folio_at(&s, P0, 1).refcount, 2, "mapping + lock holder");
    assert!(s.handles.is_empty());
}

// ---------------------------------------------------------------------
// CMA evacuation
// ---------------------------------------------------------------------

#[test]
fn cma_evacuate_fails_on_a_pinned_folio_and_migrates_the_rest() {
    let mut o = oracle();
    anon(&mut o, 0, 3, Zone::Cma);
    write(&mut o, P0, 0, 3, Fill::Index(10));
    assert_eq!(gup(&mut o, P0, 1, 2, H0, PIN), Outcome::count(1));
    assert_eq!(o.apply(&Op::CmaEvacuate), Outcome::Err(Errno::EBUSY));
    let s = o.raw_state();
    assert_eq!(folio_at(&s, P0, 0).memory, Memory::Zone(Zone::Normal));
    assert_eq!(folio_at(&s, P0, 2).memory, Memory::Zone(Zone::Normal));
    assert_eq!(folio_at(&s, P0, 2).contents[0], 12);
    assert_eq!(folio_at(&s, P0, 1).memory, Memory::Zone(Zone::Cma));
    assert_eq!(folio_at(&s, P0, 1).refcount, 1 + GUP_PIN_COUNTING_BIAS);
    assert_eq!(free(&s, Zone::Cma), total(Zone::Cma) - 1);
    apply_ok(
        &mut o,
        Op::Release {
            h: H0,
            dirty: false,
        },
    );
    assert_eq!(o.apply(&Op::CmaEvacuate), Outcome::count(1));
    let s = o.raw_state();
    assert_eq!(free(&s, Zone::Cma), total(Zone::Cma));
    assert_eq!(folio_at(&s, P0, 1).contents[0], 11);
}

#[test]
fn cma_evacuate_moves_page_cache_and_shared_mappings() {
    let mut o = oracle();
    apply_ok(
        &mut o,
        Op::File {
            f: FileId(0),
            fs: FsKind::Tmpfs,
            pages: 1,
        },
    );
    mmap(
        &mut o,
        0,
        1,
        MapKind::FileShared(FileId(0)),
        Prot::RW,
        Zone::Cma,
    );
    write(&mut o, P0, 0, 1, Fill::Const(77));
    apply_ok(&mut o, Op::Fork { p: P0, child: P1 });
    assert!(matches!(
        o.apply(&Op::Read {
            p: P1,
            range: r(0, 1)
        }),
        Outcome::Ok(_)
    ));
    let s = o.raw_state();
    let old = mapped(&s, P0, 0).0;
    assert_eq!(mapped(&s, P1, 0).0, old);
    assert_eq!(s.folios[&old].refcount, 3);
    assert_eq!(o.apply(&Op::CmaEvacuate), Outcome::count(1));
    let s = o.raw_state();
    let new = mapped(&s, P0, 0).0;
    assert_ne!(new, old);
    assert_eq!(mapped(&s, P1, 0).0, new);
    let f = &s.folios[&new];
    assert_eq!((f.refcount, f.mapcount), (3, 2));
    assert_eq!(f.memory, Memory::Zone(Zone::Normal));
    assert_eq!(f.contents[0], 77);
    assert!(f.dirty, "the dirty PTE dirtied the folio on unmap");
    assert_eq!(s.objects[0].cache[&0], (new, 0));
}

// ---------------------------------------------------------------------
// IOMMU preregistration (seed 000)
// ---------------------------------------------------------------------

fn prereg(o: &mut Checked, i: u8, start: u32, end: u32) -> Outcome {
    o.apply(&Op::IommuPrereg {
        i: IommuId(i),
        p: P0,
        range: r(start, end),
    })
}

#[test]
fn prereg_short_pin_unwinds_everything() {
    let mut o = oracle();
    anon(&mut o, 0, 100, Zone::Normal);
    write(&mut o, P0, 0, 100, Fill::Const(1));
    let before = o.raw_state();
    // Chunks of 64: the first is full, the second gets 36 of 64 pages.
    // mm_iommu_do_alloc returns that positive short count.
    assert_eq!(prereg(&mut o, 0, 0, 130), Outcome::count(36));
    let after = o.raw_state();
    assert_eq!(after.folios, before.folios);
    assert!(after.iommu.is_empty());
    assert!(has_pinned(&after, P0));
    // Nothing at all pinned: the GUP error.
    assert_eq!(prereg(&mut o, 0, 100, 130), Outcome::Err(Errno::EFAULT));
    assert_eq!(o.raw_state().folios, before.folios);
}

#[test]
fn prereg_pins_translates_and_unregisters() {
    let mut o = oracle();
    anon(&mut o, 0, 100, Zone::Movable);
    write(&mut o, P0, 0, 100, Fill::Index(0));
    assert_eq!(prereg(&mut o, 0, 0, 100), Outcome::OK);
    let s = o.raw_state();
    assert_eq!(s.iommu.len(), 1);
    assert_eq!(s.iommu[0].pages.len(), 100);
    assert_eq!(s.iommu[0].pageshift, 12);
    assert_eq!(
        free(&s, Zone::Movable),
        total(Zone::Movable),
        "migrated out of ZONE_MOVABLE"
    );
    let f = folio_at(&s, P0, 70);
    assert_eq!(f.refcount, 1 + GUP_PIN_COUNTING_BIAS);
    assert_eq!(
        o.apply(&Op::IommuTranslate {
            i: IommuId(0),
            index: 70
        }),
        Outcome::Ok(Payload::Translate {
            page: PageRef::Folio {
                folio: f.id,
                page: 0
            },
            shift: 12
        })
    );
    assert_eq!(
        o.apply(&Op::IommuTranslate {
            i: IommuId(0),
            index: 100
        }),
        Outcome::Err(Errno::EFAULT)
    );
    // Overlapping (and identical) ranges of the same mm: EINVAL, pins undone.
    let s = o.raw_state();
    assert_eq!(prereg(&mut o, 1, 50, 150), Outcome::count(50));
    assert_eq!(prereg(&mut o, 1, 0, 100), Outcome::Err(Errno::EINVAL));
    assert_eq!(prereg(&mut o, 1, 99, 100), Outcome::Err(Errno::EINVAL));
    assert_eq!(o.raw_state().folios, s.folios);
    apply_ok(&mut o, Op::IommuUnreg { i: IommuId(0) });
    let s = o.raw_state();
    assert!(s.iommu.is_empty());
    let f = folio_at(&s, P0, 70);
    assert_eq!(f.refcount, 1);
    assert!(
        f.dirty,
        "try_to_migrate_one moved the dirty PTE bit to the folio"
    );
    // mm_iommu_unpin dirties nothing: no TCE ever set the entry's dirty bit.
    anon(&mut o, 200, 10, Zone::Normal);
    write(&mut o, P0, 200, 210, Fill::Const(2));
    assert_eq!(prereg(&mut o, 1, 200, 210), Outcome::OK);
    assert_eq!(
        folio_at(&o.raw_state(), P0, 205).pincount + folio_at(&o.raw_state(), P0, 205).refcount,
        1025
    );
    apply_ok(&mut o, Op::IommuUnreg { i: IommuId(1) });
    let f = folio_at(&o.raw_state(), P0, 205).clone();
    assert_eq!((f.refcount, f.dirty), (1, false));
}

#[test]
fn prereg_pageshift_follows_mm_iommu_do_alloc() {
    // [huge, small]: the running shift is not reset, so it stays 21.
    // [small, huge]: 12. A lone aligned THP: 21; half a THP: the alignment
    // of the region (2^8 pages → shift 20).
    for (huge_half, start, end, shift) in [
        (Some((0, 512)), 0, 1024, 21),
        (Some((512, 1024)), 0, 1024, 12),
        (Some((0, 512)), 0, 512, 21),
        (Some((0, 512)), 256, 512, 20),
        (None, 0, 1024, 12),
    ] {
        let mut o = oracle();
        anon(&mut o, 0, 1024, Zone::Normal);
        if let Some((s, e)) = huge_half {
            apply_ok(
                &mut o,
                Op::Madvise {
                    p: P0,
                    range: r(s, e),
                    advice: Advice::HugePage,
                },
            );
        }
        write(&mut o, P0, 0, 1024, Fill::Const(1));
        assert_eq!(prereg(&mut o, 0, start, end), Outcome::OK);
        assert_eq!(
            o.raw_state().iommu[0].pageshift,
            shift,
            "{huge_half:?} {start}..{end}"
        );
    }
}

/// handle_userfault() cannot wait without FAULT_FLAG_ALLOW_RETRY: a plain
/// pin_user_pages write on a uffd-wp protected page fails with EFAULT, while
/// the unlockable slow path of pin_user_pages_fast waits for the handler.
#[test]
fn uffd_wp_write_pin_fails_plain_and_blocks_fast() {
    use mmdiff_core::op::*;
    use mmdiff_core::{Config, Errno, Model, Outcome};
    let mut o = Checked::new(&Config::default());
    let r = PageRange::new(SlotId(0), 0, 1);
    for op in [
        Op::Mmap {
            p: ProcId(0),
            slot: SlotId(0),
            at: 0,
            pages: 1,
            kind: MapKind::Anon,
            prot: Prot::RW,
            zone: Zone::Normal,
            foff: 0,
        },
        Op::Write {
            p: ProcId(0),
            range: r,
            fill: Fill::Const(1),
        },
        Op::UffdWp {
            p: ProcId(0),
            range: r,
            on: true,
        },
    ] {
        o.apply(&op);
    }
    let pin = |fast| GupFlags {
        pin: true,
        write: true,
        fast,
        ..GupFlags::default()
    };
    assert_eq!(
        o.apply(&Op::Gup {
            p: ProcId(0),
            range: r,
            h: HandleId(0),
            flags: pin(false)
        }),
        Outcome::Err(Errno::EFAULT)
    );
    assert_eq!(
        o.apply(&Op::Gup {
            p: ProcId(0),
            range: r,
            h: HandleId(0),
            flags: pin(true)
        }),
        Outcome::Blocked { page: 0 }
    );
}
