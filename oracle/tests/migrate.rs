//! Device migration in the oracle: the phased `migrate_vma_*` ops, the
//! dmirror migration ioctls and `migrate_to_ram`, driven through the
//! `Model` interface with concrete counters (reference §4, §5; the
//! hmm-tests.c migration cases).

mod support;
use support::*;

use mmdiff_core::op::{
    Advice, DevId, Fill, GupFlags, HandleId, LockId, MapKind, MigrateDest, MigrateSelect, PageAt,
    ProcId, Prot, SessionId, Zone,
};
use mmdiff_core::outcome::MigrateSrc;
use mmdiff_core::state::{
    Entry, FolioId, FolioState, Level, Memory, MigKind, MigratePhase, PageRef, State, Target,
};
use mmdiff_core::{Config, Errno, Model, Op, Outcome, Payload};

const S0: SessionId = SessionId(0);
const DEV0: DevId = DevId(0);
const DEV2: DevId = DevId(2);

fn ok(o: &mut Checked, op: Op) -> Outcome {
    let out = o.apply(&op);
    assert!(matches!(out, Outcome::Ok(_)), "{op:?} -> {out:?}");
    out
}

fn apply(o: &mut Checked, op: Op) -> Outcome {
    o.apply(&op)
}

fn mmap(o: &mut Checked, pages: u32, kind: MapKind, prot: Prot) {
    ok(
        o,
        Op::Mmap {
            p: P0,
            slot: M0,
            at: 0,
            pages,
            kind,
            prot,
            zone: Zone::Normal,
            foff: 0,
        },
    );
}

fn write(o: &mut Checked, p: ProcId, start: u32, end: u32, fill: Fill) {
    assert_eq!(
        apply(
            o,
            Op::Write {
                p,
                range: r(start, end),
                fill
            }
        ),
        Outcome::OK
    );
}

fn read(o: &mut Checked, p: ProcId, start: u32, end: u32) -> Vec<u64> {
    match apply(
        o,
        Op::Read {
            p,
            range: r(start, end),
        },
    ) {
        Outcome::Ok(Payload::Data { values, .. }) => values,
        other => panic!("read: {other:?}"),
    }
}

fn index(start: u32, end: u32) -> Vec<u64> {
    (start as u64..end as u64).collect()
}

fn to_dev(o: &mut Checked, d: DevId, start: u32, end: u32) -> Outcome {
    apply(
        o,
        Op::MigrateToDev {
            d,
            p: P0,
            range: r(start, end),
        },
    )
}

fn dev_data(out: &Outcome) -> (u64, Vec<u64>) {
    match out {
        Outcome::Ok(Payload::Dev {
            cpages,
            faults: 0,
            data: Some((_, values)),
        }) => (*cpages, values.clone()),
        other => panic!("not dev data: {other:?}"),
    }
}

const SYSTEM: MigrateSelect = MigrateSelect {
    system: true,
    private: false,
    coherent: false,
    compound: false,
    fault: false,
};

fn setup(
    o: &mut Checked,
    start: u32,
    end: u32,
    select: MigrateSelect,
    fault_page: Option<u32>,
) -> Outcome {
    apply(
        o,
        Op::MigrateSetup {
            s: S0,
            p: P0,
            range: r(start, end),
            select,
            owner: Some(DEV0),
            fault_page,
        },
    )
}

fn migrate_payload(out: &Outcome) -> (u64, Vec<MigrateSrc>) {
    match out {
        Outcome::Ok(Payload::Migrate { cpages, src }) => (*cpages, src.clone()),
        other => panic!("not a migrate payload: {other:?}"),
    }
}

fn alloc(o: &mut Checked, dest: MigrateDest, fail: Option<(u32, u32)>) -> Outcome {
    apply(
        o,
        Op::MigrateAlloc {
            s: S0,
            dest,
            fail,
            split: false,
        },
    )
}

fn pages(o: &mut Checked) -> Outcome {
    apply(o, Op::MigratePages { s: S0 })
}

fn finalize(o: &mut Checked) {
    assert_eq!(apply(o, Op::MigrateFinalize { s: S0 }), Outcome::OK);
}

fn folio_of(e: &Entry) -> FolioId {
    match e.folio_page() {
        Some((f, _)) => f,
        None => panic!("no folio behind {e:?}"),
    }
}

fn dev_folios(s: &State, d: DevId) -> Vec<&FolioState> {
    s.folios
        .values()
        .filter(|f| f.memory == Memory::Device(d))
        .collect()
}

fn device(s: &State, d: DevId) -> &mmdiff_core::state::DeviceState {
    s.devices.iter().find(|x| x.id == d).expect("device")
}

fn zone_free(s: &State) -> u64 {
    s.zone_free[Zone::Normal.index()]
}

fn is_devpriv(e: Option<Entry>, write: bool, level: Level) -> bool {
    matches!(e, Some(Entry::DevicePrivate { write: w, level: l, .. }) if w == write && l == level)
}

// ---------------------------------------------------------------------
// §4.8: the reference-count walk-throughs
// ---------------------------------------------------------------------

#[test]
fn system_to_device_then_cpu_fault_back_walkthrough() {
    let mut o = oracle();
    mmap(&mut o, 1, MapKind::Anon, Prot::RW);
    write(&mut o, P0, 0, 1, Fill::Const(7));
    let free0 = zone_free(&o.raw_state());

    // Setup: the PTE becomes a writable migration entry, the folio is
    // locked, off the LRU, unmapped, held by the session's reference.
    let (cpages, src) = migrate_payload(&setup(&mut o, 0, 1, SYSTEM, None));
    assert_eq!(cpages, 1);
    assert_eq!(src.len(), 1);
    assert!(src[0].migrate && src[0].write && !src[0].compound && src[0].page.is_some());
    let s = o.raw_state();
    let e = entry(&s, P0, 0).expect("entry");
    assert!(matches!(
        e,
        Entry::Migration {
            level: Level::Pte,
            kind: MigKind::Write,
            young: true,
            dirty: true,
            ..
        }
    ));
    let f = &s.folios[&folio_of(&e)];
    assert_eq!(
        (f.refcount, f.mapcount, f.locked, f.lru),
        (1, 0, true, false)
    );
    assert!(f.dirty, "the dirty PTE dirtied the folio");
    assert!(!f.anon_exclusive[0], "shared into the migration entry");
    assert_eq!(s.sessions[0].phase, MigratePhase::Setup);

    // The driver: a device page, refcount 1, locked, contents copied.
    assert_eq!(
        alloc(&mut o, MigrateDest::Device(DEV0), None),
        Outcome::count(1)
    );
    let s = o.raw_state();
    let d = dev_folios(&s, DEV0);
    assert_eq!(d.len(), 1);
    assert_eq!((d[0].refcount, d[0].locked, d[0].contents[0]), (1, true, 7));
    assert_eq!(device(&s, DEV0).pgmap_refs, 1);

    let (_, src) = migrate_payload(&pages(&mut o));
    assert!(
        src[0].migrate,
        "folio_migrate_mapping: refcount 1 == 0 + 0 + 1"
    );
    finalize(&mut o);

    let s = o.raw_state();
    assert!(s.sessions.is_empty());
    assert_eq!(zone_free(&s), free0 + 1, "the source was freed");
    assert!(is_devpriv(entry(&s, P0, 0), true, Level::Pte));
    let f = folio_at(&s, P0, 0);
    assert_eq!((f.refcount, f.mapcount, f.locked), (1, 1, false));
    assert!(f.anon && f.anon_exclusive[0]);
    assert_eq!(device(&s, DEV0).pool_free, device(&s, DEV0).pool_total - 1);

    // A CPU read faults it back (do_swap_page -> migrate_to_ram).
    assert_eq!(read(&mut o, P0, 0, 1), vec![7]);
    let s = o.raw_state();
    match entry(&s, P0, 0) {
        Some(Entry::Present {
            level: Level::Pte,
            bits,
            ..
        }) => {
            assert!(bits.write, "the device-private entry was writable");
            assert!(!bits.dirty, "a device-private entry carries no dirty bit");
        }
        other => panic!("{other:?}"),
    }
    let f = folio_at(&s, P0, 0);
    assert_eq!(
        (f.refcount, f.mapcount, f.locked, f.lru),
        (1, 1, false, true)
    );
    assert!(matches!(f.memory, Memory::Zone(Zone::Normal)));
    assert!(dev_folios(&s, DEV0).is_empty());
    let dev = device(&s, DEV0);
    assert_eq!((dev.pool_free, dev.pgmap_refs), (dev.pool_total, 0));
    assert_eq!(zone_free(&s), free0);
}

// ---------------------------------------------------------------------
// hmm-tests.c cases
// ---------------------------------------------------------------------

#[test]
fn hmm_migrate() {
    let mut o = oracle();
    let free0 = zone_free(&o.raw_state());
    mmap(&mut o, 1024, MapKind::Anon, Prot::RW);
    write(&mut o, P0, 0, 1024, Fill::Index(0));
    let (cpages, data) = dev_data(&to_dev(&mut o, DEV0, 0, 1024));
    assert_eq!(cpages, 1024);
    assert_eq!(data, index(0, 1024));
    let s = o.raw_state();
    assert_eq!(zone_free(&s), free0, "every system page went to the device");
    assert_eq!(
        device(&s, DEV0).pool_free,
        device(&s, DEV0).pool_total - 1024
    );
    assert!((0..1024).all(|i| is_devpriv(entry(&s, P0, i), true, Level::Pte)));
    assert_eq!(device(&s, DEV0).mirrors[0].entries.len(), 1024);
    ok(
        &mut o,
        Op::Munmap {
            p: P0,
            range: r(0, 1024),
        },
    );
    let s = o.raw_state();
    assert_eq!(device(&s, DEV0).pool_free, device(&s, DEV0).pool_total);
    assert_eq!(device(&s, DEV0).pgmap_refs, 0);
    assert!(device(&s, DEV0).mirrors[0].entries.is_empty());
}

#[test]
fn hmm_migrate_fault() {
    let mut o = oracle();
    mmap(&mut o, 1024, MapKind::Anon, Prot::RW);
    write(&mut o, P0, 0, 1024, Fill::Index(0));
    assert_eq!(dev_data(&to_dev(&mut o, DEV0, 0, 1024)).1, index(0, 1024));
    assert_eq!(read(&mut o, P0, 0, 512), index(0, 512));
    let s = o.raw_state();
    assert_eq!(
        device(&s, DEV0).pool_free,
        device(&s, DEV0).pool_total - 512
    );
    assert!(matches!(entry(&s, P0, 0), Some(Entry::Present { .. })));
    assert!(is_devpriv(entry(&s, P0, 512), true, Level::Pte));
    // The faulted pages left the device table; the others stayed.
    assert_eq!(device(&s, DEV0).mirrors[0].entries.len(), 512);
    let (cpages, data) = dev_data(&to_dev(&mut o, DEV0, 0, 1024));
    assert_eq!(cpages, 1024);
    assert_eq!(data, index(0, 1024));
    let s = o.raw_state();
    assert_eq!(
        device(&s, DEV0).pool_free,
        device(&s, DEV0).pool_total - 1024
    );
    assert!((0..1024).all(|i| is_devpriv(entry(&s, P0, i), true, Level::Pte)));
}

#[test]
fn hmm_migrate_shared_is_enoent() {
    let mut o = oracle();
    mmap(&mut o, 1024, MapKind::AnonShared, Prot::RW);
    assert_eq!(to_dev(&mut o, DEV0, 0, 1024), Outcome::Err(Errno::ENOENT));
    let s = o.raw_state();
    assert!(dev_folios(&s, DEV0).is_empty());
    assert_eq!(device(&s, DEV0).pool_free, device(&s, DEV0).pool_total);
}

#[test]
fn hmm_migrate_multiple() {
    let mut o = oracle();
    let free0 = zone_free(&o.raw_state());
    for c in 0..10u64 {
        mmap(&mut o, 1024, MapKind::Anon, Prot::RW);
        write(&mut o, P0, 0, 1024, Fill::Index(c));
        let (cpages, data) = dev_data(&to_dev(&mut o, DEV0, 0, 1024));
        assert_eq!(cpages, 1024);
        assert_eq!(data, (c..c + 1024).collect::<Vec<_>>());
        assert_eq!(read(&mut o, P0, 0, 1024), (c..c + 1024).collect::<Vec<_>>());
        ok(
            &mut o,
            Op::Munmap {
                p: P0,
                range: r(0, 1024),
            },
        );
    }
    let s = o.raw_state();
    assert_eq!(zone_free(&s), free0);
    assert_eq!(device(&s, DEV0).pool_free, device(&s, DEV0).pool_total);
    assert!(s.folios.is_empty());
}

#[test]
fn hmm_migrate_multiple_coherent_needs_migrate_to_sys() {
    let mut o = oracle();
    mmap(&mut o, 64, MapKind::Anon, Prot::RW);
    write(&mut o, P0, 0, 64, Fill::Index(3));
    assert_eq!(dev_data(&to_dev(&mut o, DEV2, 0, 64)).0, 64);
    let s = o.raw_state();
    // Coherent memory is CPU-mapped by present PTEs.
    let f = folio_at(&s, P0, 5);
    assert_eq!(f.memory, Memory::Device(DEV2));
    assert!(matches!(entry(&s, P0, 5), Some(Entry::Present { bits, .. }) if bits.write));
    let out = apply(
        &mut o,
        Op::MigrateToSys {
            d: DEV2,
            p: P0,
            range: r(0, 64),
        },
    );
    assert_eq!(
        out,
        Outcome::Ok(Payload::Dev {
            cpages: 64,
            faults: 0,
            data: None
        })
    );
    let s = o.raw_state();
    assert!(dev_folios(&s, DEV2).is_empty());
    assert_eq!(read(&mut o, P0, 0, 64), (3..67).collect::<Vec<_>>());
}

#[test]
fn hmm_migrate_release() {
    let mut o = oracle();
    mmap(&mut o, 1024, MapKind::Anon, Prot::RW);
    write(&mut o, P0, 0, 1024, Fill::Index(0));
    assert_eq!(dev_data(&to_dev(&mut o, DEV0, 0, 1024)).0, 1024);
    assert_eq!(apply(&mut o, Op::DevRelease { d: DEV0 }), Outcome::OK);
    let s = o.raw_state();
    let dev = device(&s, DEV0);
    assert!(dev.released);
    assert_eq!((dev.pgmap_refs, dev.pool_free), (0, dev.pool_total));
    // Every page was evicted: present, writable (the entries were).
    assert!((0..1024)
        .all(|i| matches!(entry(&s, P0, i), Some(Entry::Present { bits, .. }) if bits.write)));
    assert_eq!(read(&mut o, P0, 0, 512), index(0, 512));
    // A released device allocates nothing any more.
    assert_eq!(to_dev(&mut o, DEV0, 0, 4), Outcome::Err(Errno::ENOENT));
}

#[test]
fn hmm_migrate_anon_huge_empty() {
    let mut o = oracle();
    mmap(&mut o, 1024, MapKind::Anon, Prot::R);
    ok(
        &mut o,
        Op::Madvise {
            p: P0,
            range: r(0, 1024),
            advice: Advice::HugePage,
        },
    );
    let (cpages, data) = dev_data(&to_dev(&mut o, DEV0, 0, 512));
    assert_eq!(cpages, 512);
    assert_eq!(data, vec![0; 512]);
    let s = o.raw_state();
    assert!(
        is_devpriv(entry(&s, P0, 0), false, Level::Pmd),
        "read-only VMA"
    );
    let d = dev_folios(&s, DEV0);
    assert_eq!(d.len(), 1);
    assert_eq!(
        (
            d[0].order,
            d[0].refcount,
            d[0].mapcount,
            d[0].entire_mapcount
        ),
        (9, 1, 1, 1)
    );
    // The device table maps the THP read-only (the hole had no WRITE).
    let m = &device(&s, DEV0).mirrors[0];
    assert_eq!(m.entries.len(), 512);
    assert!(m
        .entries
        .iter()
        .all(|e| e.tag == mmdiff_core::state::MirrorTag::Read));
}

#[test]
fn hmm_migrate_anon_huge_zero() {
    let mut o = oracle();
    mmap(&mut o, 1024, MapKind::Anon, Prot::R);
    ok(
        &mut o,
        Op::Madvise {
            p: P0,
            range: r(0, 1024),
            advice: Advice::HugePage,
        },
    );
    assert_eq!(read(&mut o, P0, 0, 1), vec![0]);
    let s = o.raw_state();
    assert!(matches!(
        entry(&s, P0, 0),
        Some(Entry::Present {
            level: Level::Pmd,
            target: Target::HugeZero { .. },
            ..
        })
    ));
    let (cpages, data) = dev_data(&to_dev(&mut o, DEV0, 0, 512));
    assert_eq!((cpages, data), (512, vec![0; 512]));
    assert!(is_devpriv(entry(&o.raw_state(), P0, 0), false, Level::Pmd));
    // Faulting it back migrates the whole THP through the PMD.
    assert_eq!(read(&mut o, P0, 0, 512), vec![0; 512]);
    let s = o.raw_state();
    match entry(&s, P0, 0) {
        Some(Entry::Present {
            level: Level::Pmd,
            target: Target::Folio { folio, .. },
            bits,
        }) => {
            assert!(!bits.write);
            assert_eq!(s.folios[&folio].order, 9);
        }
        other => panic!("{other:?}"),
    }
    assert!(dev_folios(&s, DEV0).is_empty());
}

#[test]
fn hmm_migrate_anon_huge_free() {
    let mut o = oracle();
    mmap(&mut o, 1024, MapKind::Anon, Prot::RW);
    ok(
        &mut o,
        Op::Madvise {
            p: P0,
            range: r(0, 1024),
            advice: Advice::HugePage,
        },
    );
    write(&mut o, P0, 0, 512, Fill::Index(0));
    assert_eq!(folio_at(&o.raw_state(), P0, 0).order, 9);
    let (cpages, data) = dev_data(&to_dev(&mut o, DEV0, 0, 512));
    assert_eq!((cpages, data), (512, index(0, 512)));
    let s = o.raw_state();
    assert!(is_devpriv(entry(&s, P0, 0), true, Level::Pmd));
    assert_eq!(dev_folios(&s, DEV0)[0].order, 9);
    assert_eq!(
        apply(
            &mut o,
            Op::Madvise {
                p: P0,
                range: r(0, 512),
                advice: Advice::Free,
            }
        ),
        Outcome::OK
    );
}

#[test]
fn hmm_migrate_anon_huge_fault() {
    let mut o = oracle();
    mmap(&mut o, 1024, MapKind::Anon, Prot::RW);
    write(&mut o, P0, 0, 512, Fill::Index(0));
    assert_eq!(
        apply(
            &mut o,
            Op::Madvise {
                p: P0,
                range: r(0, 512),
                advice: Advice::Collapse,
            }
        ),
        Outcome::OK
    );
    assert_eq!(folio_at(&o.raw_state(), P0, 0).order, 9);
    let (cpages, data) = dev_data(&to_dev(&mut o, DEV0, 0, 512));
    assert_eq!((cpages, data), (512, index(0, 512)));
    assert!(is_devpriv(entry(&o.raw_state(), P0, 0), true, Level::Pmd));
    assert_eq!(read(&mut o, P0, 0, 512), index(0, 512));
    let s = o.raw_state();
    match entry(&s, P0, 7) {
        Some(Entry::Present {
            level: Level::Pmd,
            bits,
            ..
        }) => assert!(bits.write),
        other => panic!("{other:?}"),
    }
    assert!(dev_folios(&s, DEV0).is_empty());
}

#[test]
fn pmd_fault_with_fail_alloc_falls_back_to_base_pages() {
    let mut o = oracle();
    mmap(&mut o, 512, MapKind::Anon, Prot::RW);
    ok(
        &mut o,
        Op::Madvise {
            p: P0,
            range: r(0, 512),
            advice: Advice::HugePage,
        },
    );
    write(&mut o, P0, 0, 512, Fill::Index(0));
    assert_eq!(dev_data(&to_dev(&mut o, DEV0, 0, 512)).0, 512);
    ok(&mut o, Op::DevFailAlloc { d: DEV0 });
    // The THP allocation fails: 512 base pages, the device THP is split
    // and (the fault page being the head) only the head page moves.
    assert_eq!(read(&mut o, P0, 0, 1), vec![0]);
    let s = o.raw_state();
    assert!(matches!(
        entry(&s, P0, 0),
        Some(Entry::Present {
            level: Level::Pte,
            ..
        })
    ));
    assert!(is_devpriv(entry(&s, P0, 1), true, Level::Pte));
    assert_eq!(dev_folios(&s, DEV0).len(), 511);
    assert!(dev_folios(&s, DEV0)
        .iter()
        .all(|f| f.order == 0 && !f.locked && f.refcount == 1));
    // The rest comes back page by page.
    assert_eq!(read(&mut o, P0, 0, 512), index(0, 512));
    assert!(dev_folios(&o.raw_state(), DEV0).is_empty());
}

// ---------------------------------------------------------------------
// Phased sessions with other ops in between
// ---------------------------------------------------------------------

#[test]
fn cpu_access_on_a_migration_entry_is_blocked() {
    let mut o = oracle();
    mmap(&mut o, 2, MapKind::Anon, Prot::RW);
    write(&mut o, P0, 0, 2, Fill::Const(5));
    migrate_payload(&setup(&mut o, 0, 2, SYSTEM, None));
    let before = o.raw_state();
    assert_eq!(
        apply(
            &mut o,
            Op::Read {
                p: P0,
                range: r(1, 2)
            }
        ),
        Outcome::Blocked { page: 1 }
    );
    assert_eq!(o.raw_state(), before, "a blocked access changes nothing");
    // A second setup over the same pages selects nothing (migration
    // entries are skipped), and the busy slot is EBUSY.
    assert_eq!(
        setup(&mut o, 0, 2, SYSTEM, None),
        Outcome::Err(Errno::EBUSY)
    );
    finalize(&mut o);
    assert_eq!(read(&mut o, P0, 0, 2), vec![5, 5]);
}

#[test]
fn fork_between_setup_and_finalize_shares_the_device_page_read_only() {
    let mut o = oracle();
    mmap(&mut o, 1, MapKind::Anon, Prot::RW);
    write(&mut o, P0, 0, 1, Fill::Const(9));
    assert_eq!(migrate_payload(&setup(&mut o, 0, 1, SYSTEM, None)).0, 1);
    ok(&mut o, Op::Fork { p: P0, child: P1 });
    let s = o.raw_state();
    for p in [P0, P1] {
        assert!(matches!(
            entry(&s, p, 0),
            Some(Entry::Migration {
                kind: MigKind::Read,
                ..
            })
        ));
    }
    alloc(&mut o, MigrateDest::Device(DEV0), None);
    pages(&mut o);
    finalize(&mut o);
    let s = o.raw_state();
    let e0 = entry(&s, P0, 0);
    let e1 = entry(&s, P1, 0);
    assert!(is_devpriv(e0, false, Level::Pte) && is_devpriv(e1, false, Level::Pte));
    assert_eq!(folio_of(&e0.unwrap()), folio_of(&e1.unwrap()));
    let f = folio_at(&s, P0, 0);
    assert_eq!((f.refcount, f.mapcount), (2, 2));
    assert!(
        !f.anon_exclusive[0],
        "readable migration entries: not exclusive"
    );
    // The child's read fault migrates the shared page back for both.
    assert_eq!(read(&mut o, P1, 0, 1), vec![9]);
    let s = o.raw_state();
    assert!(dev_folios(&s, DEV0).is_empty());
    let (a, b) = (entry(&s, P0, 0).unwrap(), entry(&s, P1, 0).unwrap());
    assert!(matches!(a, Entry::Present { bits, .. } if !bits.write));
    assert_eq!(folio_of(&a), folio_of(&b));
}

#[test]
fn munmap_between_setup_and_finalize() {
    let mut o = oracle();
    let free0 = zone_free(&o.raw_state());
    mmap(&mut o, 4, MapKind::Anon, Prot::RW);
    write(&mut o, P0, 0, 4, Fill::Index(0));
    assert_eq!(migrate_payload(&setup(&mut o, 0, 4, SYSTEM, None)).0, 4);
    alloc(&mut o, MigrateDest::Device(DEV0), None);
    ok(
        &mut o,
        Op::Munmap {
            p: P0,
            range: r(1, 3),
        },
    );
    let (_, src) = migrate_payload(&pages(&mut o));
    assert!(src.iter().all(|e| e.migrate));
    finalize(&mut o);
    let s = o.raw_state();
    assert!(entry(&s, P0, 1).is_none() && entry(&s, P0, 2).is_none());
    assert!(is_devpriv(entry(&s, P0, 0), true, Level::Pte));
    assert!(is_devpriv(entry(&s, P0, 3), true, Level::Pte));
    assert_eq!(
        dev_folios(&s, DEV0).len(),
        2,
        "unmapped destinations were freed"
    );
    assert_eq!(zone_free(&s), free0, "all sources were freed");
    assert_eq!(read(&mut o, P0, 3, 4), vec![3]);
}

#[test]
fn pinned_page_is_skipped_by_collect() {
    let mut o = oracle();
    mmap(&mut o, 2, MapKind::Anon, Prot::RW);
    write(&mut o, P0, 0, 2, Fill::Const(1));
    let pin = GupFlags {
        pin: true,
        write: true,
        longterm: false,
        fast: false,
        force: false,
        nofault: false,
    };
    assert_eq!(
        apply(
            &mut o,
            Op::Gup {
                p: P0,
                range: r(1, 2),
                h: HandleId(0),
                flags: pin
            }
        ),
        Outcome::count(1)
    );
    let before = entry(&o.raw_state(), P0, 1);
    let (cpages, src) = migrate_payload(&setup(&mut o, 0, 2, SYSTEM, None));
    assert_eq!(cpages, 1);
    assert!(src[0].migrate);
    assert_eq!(src[1], MigrateSrc::default());
    let s = o.raw_state();
    assert_eq!(entry(&s, P0, 1), before, "the pinned page's PTE stays");
    let f = folio_at(&s, P0, 1);
    assert!(!f.locked && f.anon_exclusive[0]);
    assert_eq!(f.refcount, 1 + mmdiff_core::GUP_PIN_COUNTING_BIAS);
    alloc(&mut o, MigrateDest::Device(DEV0), None);
    pages(&mut o);
    finalize(&mut o);
    let s = o.raw_state();
    assert!(is_devpriv(entry(&s, P0, 0), true, Level::Pte));
    assert_eq!(entry(&s, P0, 1), before);
}

#[test]
fn referenced_page_is_restored_by_unmap() {
    let mut o = oracle();
    mmap(&mut o, 1, MapKind::Anon, Prot::RW);
    write(&mut o, P0, 0, 1, Fill::Const(1));
    let get = GupFlags {
        pin: false,
        write: false,
        longterm: false,
        fast: false,
        force: false,
        nofault: false,
    };
    apply(
        &mut o,
        Op::Gup {
            p: P0,
            range: r(0, 1),
            h: HandleId(0),
            flags: get,
        },
    );
    let before = o.raw_state();
    let (cpages, src) = migrate_payload(&setup(&mut o, 0, 1, SYSTEM, None));
    assert_eq!((cpages, src[0]), (0, MigrateSrc::default()));
    let s = o.raw_state();
    // migrate_vma_check_page failed: the migration entry was removed again
    // (the same page, writable, exclusive, on the LRU, unlocked); the
    // dirty PTE left its mark on the folio.
    assert_eq!(entry(&s, P0, 0), entry(&before, P0, 0));
    let (now, then) = (folio_at(&s, P0, 0), folio_at(&before, P0, 0));
    assert!(now.dirty && !then.dirty);
    assert_eq!(
        FolioState {
            dirty: false,
            ..now.clone()
        },
        *then
    );
    finalize(&mut o);
}

#[test]
fn external_lock_holder_makes_collect_skip_the_page() {
    let mut o = oracle();
    mmap(&mut o, 2, MapKind::Anon, Prot::RW);
    write(&mut o, P0, 0, 2, Fill::Const(1));
    ok(
        &mut o,
        Op::Lock {
            x: LockId(0),
            p: P0,
            at: PageAt { slot: M0, page: 1 },
        },
    );
    let (cpages, src) = migrate_payload(&setup(&mut o, 0, 2, SYSTEM, None));
    assert_eq!(cpages, 1);
    assert!(src[0].migrate && src[1] == MigrateSrc::default());
    assert!(matches!(
        entry(&o.raw_state(), P0, 1),
        Some(Entry::Present { .. })
    ));
    finalize(&mut o);
    // Nothing migrated (no destinations): every page is back.
    let s = o.raw_state();
    assert!(matches!(entry(&s, P0, 0), Some(Entry::Present { bits, .. }) if bits.write));
    assert!(!folio_at(&s, P0, 0).locked);
    assert!(folio_at(&s, P0, 1).locked, "x0 still holds it");
}

#[test]
fn fail_mask_declines_entries_and_finalize_restores_them() {
    let mut o = oracle();
    mmap(&mut o, 4, MapKind::Anon, Prot::RW);
    write(&mut o, P0, 0, 4, Fill::Index(10));
    let before = o.raw_state();
    assert_eq!(migrate_payload(&setup(&mut o, 0, 4, SYSTEM, None)).0, 4);
    assert_eq!(
        alloc(&mut o, MigrateDest::Device(DEV0), Some((1, 3))),
        Outcome::count(2)
    );
    // A second allocation is a driver bug.
    assert_eq!(
        alloc(&mut o, MigrateDest::Device(DEV0), None),
        Outcome::Err(Errno::EINVAL)
    );
    let (_, src) = migrate_payload(&pages(&mut o));
    assert_eq!(
        src.iter().map(|e| e.migrate).collect::<Vec<_>>(),
        vec![true, false, false, true]
    );
    finalize(&mut o);
    let s = o.raw_state();
    assert!(is_devpriv(entry(&s, P0, 0), true, Level::Pte));
    assert!(is_devpriv(entry(&s, P0, 3), true, Level::Pte));
    for i in [1, 2] {
        assert_eq!(entry(&s, P0, i), entry(&before, P0, i), "page {i} restored");
        let f = folio_at(&s, P0, i);
        assert!(!f.locked && f.lru && f.anon_exclusive[0]);
    }
    assert_eq!(dev_folios(&s, DEV0).len(), 2);
    assert_eq!(read(&mut o, P0, 0, 4), vec![10, 11, 12, 13]);
}

#[test]
fn holes_and_zero_pages_are_populated_by_pages() {
    let mut o = oracle();
    mmap(&mut o, 3, MapKind::Anon, Prot::RW);
    assert_eq!(read(&mut o, P0, 1, 2), vec![0]); // zero page
    let (cpages, src) = migrate_payload(&setup(&mut o, 0, 3, SYSTEM, None));
    assert_eq!(cpages, 3);
    assert!(src.iter().all(|e| e.migrate && e.page.is_none()));
    assert!(matches!(
        entry(&o.raw_state(), P0, 1),
        Some(Entry::Present {
            target: Target::Zero,
            ..
        })
    ));
    alloc(&mut o, MigrateDest::System, Some((2, 3)));
    let (_, src) = migrate_payload(&pages(&mut o));
    assert_eq!(
        src.iter().map(|e| e.migrate).collect::<Vec<_>>(),
        vec![true, true, false]
    );
    finalize(&mut o);
    let s = o.raw_state();
    for i in [0, 1] {
        match entry(&s, P0, i) {
            Some(Entry::Present {
                target: Target::Folio { folio, .. },
                bits,
                ..
            }) => {
                assert!(bits.write && bits.dirty);
                let f = &s.folios[&folio];
                assert!(f.anon && f.anon_exclusive[0] && f.lru && !f.locked);
                assert_eq!((f.refcount, f.mapcount), (1, 1));
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(entry(&s, P0, 2).is_none(), "declined hole stays empty");
}

#[test]
fn fault_page_session_migrates_back_and_releases_the_lock() {
    let mut o = oracle();
    mmap(&mut o, 2, MapKind::Anon, Prot::RW);
    write(&mut o, P0, 0, 2, Fill::Const(4));
    assert_eq!(dev_data(&to_dev(&mut o, DEV0, 0, 2)).0, 2);
    // Not a device-private page: EINVAL.
    let private = MigrateSelect {
        private: true,
        ..MigrateSelect::default()
    };
    let (cpages, src) = migrate_payload(&setup(&mut o, 0, 1, private, Some(0)));
    assert_eq!(cpages, 1);
    assert!(src[0].migrate && src[0].write);
    let s = o.raw_state();
    let dev = dev_folios(&s, DEV0);
    let fault_folio = match s.sessions[0].fault_page {
        Some(PageRef::Folio { folio, .. }) => folio,
        other => panic!("{other:?}"),
    };
    let f = &s.folios[&fault_folio];
    // Mapping gone, collect reference + the caller's reference.
    assert_eq!((f.refcount, f.mapcount, f.locked), (2, 0, true));
    assert_eq!(dev.len(), 2);
    alloc(&mut o, MigrateDest::System, None);
    let (_, src) = migrate_payload(&pages(&mut o));
    assert!(src[0].migrate, "expected 0 + 1 (fault page) + 1 == 2");
    finalize(&mut o);
    let s = o.raw_state();
    assert!(
        !s.folios.contains_key(&fault_folio),
        "freed by the caller's put"
    );
    assert_eq!(dev_folios(&s, DEV0).len(), 1);
    assert!(matches!(entry(&s, P0, 0), Some(Entry::Present { bits, .. }) if bits.write));
    assert_eq!(read(&mut o, P0, 0, 2), vec![4, 4]);
}

#[test]
fn fault_page_must_be_device_private_and_not_locked_elsewhere() {
    let mut o = oracle();
    mmap(&mut o, 2, MapKind::Anon, Prot::RW);
    write(&mut o, P0, 0, 2, Fill::Const(4));
    let private = MigrateSelect {
        private: true,
        ..MigrateSelect::default()
    };
    assert_eq!(
        setup(&mut o, 0, 1, private, Some(0)),
        Outcome::Err(Errno::EINVAL)
    );
    to_dev(&mut o, DEV0, 0, 2);
    ok(
        &mut o,
        Op::Lock {
            x: LockId(0),
            p: P0,
            at: PageAt { slot: M0, page: 1 },
        },
    );
    let before = o.raw_state();
    assert_eq!(
        setup(&mut o, 0, 2, private, Some(1)),
        Outcome::Blocked { page: 1 }
    );
    assert_eq!(o.raw_state(), before);
    // A CPU fault on that page is blocked the same way.
    assert_eq!(
        apply(
            &mut o,
            Op::Read {
                p: P0,
                range: r(1, 2)
            }
        ),
        Outcome::Blocked { page: 1 }
    );
}

#[test]
fn special_vma_and_range_beyond_the_vma_are_einval() {
    let mut o = oracle();
    mmap(&mut o, 4, MapKind::Special, Prot::RW);
    assert_eq!(
        setup(&mut o, 0, 4, SYSTEM, None),
        Outcome::Err(Errno::EINVAL)
    );
    let mut o = oracle();
    mmap(&mut o, 4, MapKind::Anon, Prot::RW);
    assert_eq!(
        setup(&mut o, 0, 5, SYSTEM, None),
        Outcome::Err(Errno::EINVAL)
    );
    assert_eq!(
        setup(&mut o, 4, 5, SYSTEM, None),
        Outcome::Err(Errno::EINVAL)
    );
    assert!(o.raw_state().sessions.is_empty());
}

#[test]
fn compound_thp_becomes_one_pmd_migration_entry() {
    let mut o = oracle();
    mmap(&mut o, 512, MapKind::Anon, Prot::RW);
    ok(
        &mut o,
        Op::Madvise {
            p: P0,
            range: r(0, 512),
            advice: Advice::HugePage,
        },
    );
    write(&mut o, P0, 0, 512, Fill::Index(0));
    let compound = MigrateSelect {
        compound: true,
        ..SYSTEM
    };
    let (cpages, src) = migrate_payload(&setup(&mut o, 0, 512, compound, None));
    assert_eq!(cpages, 1);
    assert!(src[0].compound && src[0].migrate && src[0].write);
    assert!(src[1..].iter().all(|e| *e == MigrateSrc::default()));
    assert!(matches!(
        entry(&o.raw_state(), P0, 100),
        Some(Entry::Migration {
            level: Level::Pmd,
            kind: MigKind::Write,
            ..
        })
    ));
    // Base-page destinations: the source THP is split in pages.
    assert_eq!(
        apply(
            &mut o,
            Op::MigrateAlloc {
                s: S0,
                dest: MigrateDest::Device(DEV0),
                fail: None,
                split: true,
            }
        ),
        Outcome::count(512)
    );
    let (_, src) = migrate_payload(&pages(&mut o));
    assert!(src
        .iter()
        .all(|e| e.migrate && !e.compound && e.page.is_some()));
    finalize(&mut o);
    let s = o.raw_state();
    assert!((0..512).all(|i| is_devpriv(entry(&s, P0, i), true, Level::Pte)));
    assert_eq!(dev_folios(&s, DEV0).len(), 512);
    assert!(s.folios.values().all(|f| f.memory == Memory::Device(DEV0)));
    assert_eq!(read(&mut o, P0, 0, 512), index(0, 512));
}

#[test]
fn unaligned_compound_range_splits_the_thp() {
    let mut o = oracle();
    mmap(&mut o, 512, MapKind::Anon, Prot::RW);
    ok(
        &mut o,
        Op::Madvise {
            p: P0,
            range: r(0, 512),
            advice: Advice::HugePage,
        },
    );
    // No page holds zeros, so none goes to the zero page when the split
    // remaps the pieces (try_to_map_unused_to_zeropage).
    write(&mut o, P0, 0, 512, Fill::Index(1));
    let compound = MigrateSelect {
        compound: true,
        ..SYSTEM
    };
    let (cpages, src) = migrate_payload(&setup(&mut o, 0, 2, compound, None));
    assert_eq!(cpages, 2);
    assert!(src.iter().all(|e| e.migrate && !e.compound));
    let s = o.raw_state();
    assert!(matches!(
        entry(&s, P0, 0),
        Some(Entry::Migration {
            level: Level::Pte,
            ..
        })
    ));
    assert!(matches!(
        entry(&s, P0, 2),
        Some(Entry::Present {
            level: Level::Pte,
            ..
        })
    ));
    assert_eq!(folio_at(&s, P0, 2).order, 0, "the THP was split");
    finalize(&mut o);
}

#[test]
fn device_pool_exhaustion_leaves_pages_in_system_memory() {
    let cfg = Config {
        device_pages: 4,
        ..Config::default()
    };
    let mut o = Checked::new(&cfg);
    mmap(&mut o, 8, MapKind::Anon, Prot::RW);
    write(&mut o, P0, 0, 8, Fill::Index(0));
    assert_eq!(to_dev(&mut o, DEV0, 0, 8), Outcome::Err(Errno::ENOENT));
    let s = o.raw_state();
    assert_eq!(device(&s, DEV0).pool_free, 0);
    assert!((0..4).all(|i| is_devpriv(entry(&s, P0, i), true, Level::Pte)));
    assert!((4..8).all(|i| matches!(entry(&s, P0, i), Some(Entry::Present { .. }))));
    assert_eq!(read(&mut o, P0, 0, 8), index(0, 8));
    // The pages came back: the pool is full again.
    assert_eq!(device(&o.raw_state(), DEV0).pool_free, 4);
}

#[test]
fn fail_alloc_on_a_base_page_fault_is_oom() {
    let mut o = oracle();
    mmap(&mut o, 1, MapKind::Anon, Prot::RW);
    write(&mut o, P0, 0, 1, Fill::Const(2));
    to_dev(&mut o, DEV0, 0, 1);
    ok(&mut o, Op::DevFailAlloc { d: DEV0 });
    let before_entry = entry(&o.raw_state(), P0, 0);
    assert_eq!(
        apply(
            &mut o,
            Op::Read {
                p: P0,
                range: r(0, 1)
            }
        ),
        Outcome::Signal {
            sig: mmdiff_core::outcome::Signal::Oom,
            page: 0
        }
    );
    let s = o.raw_state();
    assert_eq!(entry(&s, P0, 0), before_entry, "restored by finalize");
    assert!(!folio_at(&s, P0, 0).locked);
    assert_eq!(read(&mut o, P0, 0, 1), vec![2]);
}

#[test]
fn dev_release_with_a_locked_page_is_stuck() {
    let mut o = oracle();
    mmap(&mut o, 2, MapKind::Anon, Prot::RW);
    write(&mut o, P0, 0, 2, Fill::Const(8));
    to_dev(&mut o, DEV0, 0, 2);
    ok(
        &mut o,
        Op::Lock {
            x: LockId(0),
            p: P0,
            at: PageAt { slot: M0, page: 0 },
        },
    );
    assert_eq!(apply(&mut o, Op::DevRelease { d: DEV0 }), Outcome::Stuck);
    let s = o.raw_state();
    assert!(device(&s, DEV0).released);
    assert!(is_devpriv(entry(&s, P0, 0), true, Level::Pte));
    assert!(matches!(entry(&s, P0, 1), Some(Entry::Present { .. })));
    assert_eq!(device(&s, DEV0).pgmap_refs, 1);
}

#[test]
fn dev_close_evicts_the_device_and_drops_the_mirror() {
    let mut o = oracle();
    mmap(&mut o, 4, MapKind::Anon, Prot::RW);
    write(&mut o, P0, 0, 4, Fill::Index(0));
    assert_eq!(
        apply(&mut o, Op::DevClose { d: DEV0, p: P0 }),
        Outcome::Err(Errno::ENOENT)
    );
    to_dev(&mut o, DEV0, 0, 4);
    assert_eq!(apply(&mut o, Op::DevClose { d: DEV0, p: P0 }), Outcome::OK);
    let s = o.raw_state();
    let dev = device(&s, DEV0);
    assert!(dev.mirrors.is_empty() && !dev.released);
    assert_eq!((dev.pool_free, dev.pgmap_refs), (dev.pool_total, 0));
    assert!((0..4).all(|i| matches!(entry(&s, P0, i), Some(Entry::Present { .. }))));
    assert_eq!(read(&mut o, P0, 0, 4), index(0, 4));
}

#[test]
fn seed004_fault_flag_faults_holes_and_swap_first() {
    let mut o = oracle();
    mmap(&mut o, 4, MapKind::Anon, Prot::RW);
    write(&mut o, P0, 0, 2, Fill::Const(6));
    ok(
        &mut o,
        Op::Madvise {
            p: P0,
            range: r(1, 2),
            advice: Advice::PageOut,
        },
    );
    assert!(matches!(
        entry(&o.raw_state(), P0, 1),
        Some(Entry::Swap { .. })
    ));
    // Classic: the swapped page is skipped, holes are selected unfaulted.
    let (cpages, src) = migrate_payload(&setup(&mut o, 0, 4, SYSTEM, None));
    assert_eq!(cpages, 3);
    assert_eq!(src[1], MigrateSrc::default());
    finalize(&mut o);
    // MIGRATE_VMA_FAULT: the swap entry is read back in, the holes get
    // the zero page, then everything is selected.
    let fault = MigrateSelect {
        fault: true,
        ..SYSTEM
    };
    let (cpages, src) = migrate_payload(&setup(&mut o, 0, 4, fault, None));
    assert_eq!(cpages, 4);
    assert!(src[1].page.is_some() && src[1].migrate);
    let s = o.raw_state();
    assert!(matches!(
        entry(&s, P0, 3),
        Some(Entry::Present {
            target: Target::Zero,
            ..
        })
    ));
    finalize(&mut o);
    assert_eq!(read(&mut o, P0, 0, 4), vec![6, 6, 0, 0]);
}

#[test]
fn pte_fault_on_a_split_device_thp_moves_the_callers_lock_to_the_new_folio() {
    let mut o = oracle();
    mmap(&mut o, 512, MapKind::Anon, Prot::RW);
    ok(
        &mut o,
        Op::Madvise {
            p: P0,
            range: r(0, 512),
            advice: Advice::HugePage,
        },
    );
    write(&mut o, P0, 0, 512, Fill::Index(0));
    assert_eq!(dev_data(&to_dev(&mut o, DEV0, 0, 512)).0, 512);
    // A partial munmap splits the device-private PMD into 512 PTEs of the
    // still-large device folio.
    ok(
        &mut o,
        Op::Munmap {
            p: P0,
            range: r(511, 512),
        },
    );
    let s = o.raw_state();
    assert!(is_devpriv(entry(&s, P0, 5), true, Level::Pte));
    assert_eq!(folio_at(&s, P0, 5).order, 9);
    // The PTE-level fault splits the device folio (the fault folio: the
    // lock and the reference of do_swap_page follow page 5) and migrates
    // that one page.
    assert_eq!(read(&mut o, P0, 5, 6), vec![5]);
    let s = o.raw_state();
    assert!(matches!(
        entry(&s, P0, 5),
        Some(Entry::Present {
            level: Level::Pte,
            ..
        })
    ));
    let dev = dev_folios(&s, DEV0);
    assert_eq!(dev.len(), 510);
    assert!(dev
        .iter()
        .all(|f| f.order == 0 && !f.locked && f.refcount == 1 && f.mapcount == 1));
    assert_eq!(
        device(&s, DEV0).pool_free,
        device(&s, DEV0).pool_total - 510
    );
    assert_eq!(read(&mut o, P0, 0, 511), index(0, 511));
    assert!(dev_folios(&o.raw_state(), DEV0).is_empty());
}

#[test]
fn large_hole_without_page_tables_is_one_compound_entry() {
    // walk_page_range reports the empty PUD as one hole: with
    // SELECT_COMPOUND and an aligned range, migrate_vma_collect_hole makes
    // one compound entry and skips the rest of the hole.
    let mut o = oracle();
    mmap(&mut o, 1024, MapKind::Anon, Prot::RW);
    let compound = MigrateSelect {
        compound: true,
        ..SYSTEM
    };
    let (cpages, src) = migrate_payload(&setup(&mut o, 0, 1024, compound, None));
    assert_eq!(cpages, 1);
    assert!(src[0].compound && src[0].migrate);
    assert!(src[1..].iter().all(|e| *e == MigrateSrc::default()));
    finalize(&mut o);
    // With a page table in the second PMD, each PMD is its own hole.
    write(&mut o, P0, 1000, 1001, Fill::Const(1));
    let (cpages, src) = migrate_payload(&setup(&mut o, 0, 1024, compound, None));
    assert_eq!(cpages, 1 + 511 + 1);
    assert!(src[0].compound);
    assert!(src[512..].iter().all(|e| e.migrate && !e.compound));
    finalize(&mut o);
}
