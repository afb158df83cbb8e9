//! Unit tests of the HMM walk on hand-built states.

//! Entries the op language cannot build yet without device migration
//! (device-private, device-coherent and migration entries), installed
//! directly with the page-table primitives.

use super::*;
use mmdiff_core::op::{MapKind, Op, PageRange, ProcId, Prot, SlotId, Zone};
use mmdiff_core::state::{Level, MigKind, PteBits};
use mmdiff_core::Config;

const DEV0: DevId = DevId(0);
const DEV1: DevId = DevId(1);
const DEV2: DevId = DevId(2);
const DEV3: DevId = DevId(3);

fn r(start: u32, end: u32) -> PageRange {
    PageRange::new(SlotId(0), start, end)
}

fn abs(page: u32) -> u64 {
    Config::default().window_base(0) + page as u64
}

/// A world with an anon RW VMA of `pages` pages at page 0 of m0.
fn world(pages: u32) -> World {
    let mut w = World::new(&Config::default());
    let out = w.apply(&Op::Mmap {
        p: ProcId(0),
        slot: SlotId(0),
        at: 0,
        pages,
        kind: MapKind::Anon,
        prot: Prot::RW,
        zone: Zone::Normal,
        foff: 0,
    });
    assert_eq!(out, Outcome::OK);
    w
}

/// A device folio of `d` (order 0 or 9) as `migrate_vma_pages` leaves
/// it: anon, exclusive, unlocked, holding only its mapping's reference.
fn device_folio(w: &mut World, d: DevId, order: u8, value: u64) -> FolioId {
    let f = w.alloc_device_folio(d, order).expect("device memory");
    let fs = w.folio_mut(f);
    fs.anon = true;
    fs.locked = false;
    fs.anon_exclusive.iter_mut().for_each(|x| *x = true);
    fs.contents.iter_mut().for_each(|c| *c = value);
    f
}

/// A device-private PTE of `d` at window page `page`.
fn device_private_pte(w: &mut World, d: DevId, page: u32, write: bool, value: u64) -> FolioId {
    let f = device_folio(w, d, 0, value);
    w.set_pte(
        0,
        abs(page),
        Entry::DevicePrivate {
            level: Level::Pte,
            target: Target::Folio { folio: f, page: 0 },
            write,
            soft_dirty: false,
            uffd_wp: false,
        },
    );
    w.folio_put(f, 1);
    f
}

fn hmm(w: &mut World, start: u32, end: u32, req: HmmReq, owner: Option<DevId>) -> Outcome {
    w.apply(&Op::HmmFault {
        p: ProcId(0),
        range: r(start, end),
        req,
        page_req: None,
        owner,
        seq: None,
    })
}

fn words(out: Outcome) -> Vec<HmmPfn> {
    match out {
        Outcome::Ok(Payload::Pfns(w)) => w.to_vec(),
        other => panic!("not pfn words: {other:?}"),
    }
}

fn snapshot(w: &mut World, d: DevId, start: u32, end: u32) -> Vec<u8> {
    match w.apply(&Op::DevSnapshot {
        d,
        p: ProcId(0),
        range: r(start, end),
    }) {
        Outcome::Ok(Payload::Snapshot(b)) => b,
        other => panic!("snapshot failed: {other:?}"),
    }
}

fn valid(folio: FolioId, page: u32, write: bool, order: u8) -> HmmPfn {
    valid_word(
        PageRef::Folio { folio, page },
        CpuFlags { valid: true, write },
        order,
    )
}

/// Device-private pages of the caller are reported and never faulted,
/// even with REQ_WRITE on a read-only one (reference §7 16(d)); another
/// device's (or no owner's) are 0 in a pure walk. HMM takes no pgmap
/// references.
#[test]
fn owned_device_private_pte() {
    let mut w = world(4);
    let rw = device_private_pte(&mut w, DEV0, 0, true, 11);
    let ro = device_private_pte(&mut w, DEV0, 1, false, 12);
    let refs = w.device(DEV0).pgmap_refs;
    let before = w.mm(0).ptes.clone();

    let got = words(hmm(&mut w, 0, 2, HmmReq::Write, Some(DEV0)));
    assert_eq!(got, vec![valid(rw, 0, true, 0), valid(ro, 0, false, 0)]);
    assert_eq!(w.mm(0).ptes, before);
    assert_eq!(w.device(DEV0).pgmap_refs, refs);

    for owner in [Some(DEV1), None] {
        let got = words(hmm(&mut w, 0, 2, HmmReq::None, owner));
        assert_eq!(got, vec![HmmPfn::default(); 2]);
    }
    assert_eq!(snapshot(&mut w, DEV0, 0, 3), vec![0x22, 0x21, 0x00]);
    assert_eq!(snapshot(&mut w, DEV1, 0, 3), vec![0x00, 0x00, 0x00]);
}

/// The device reads its own device-private pages through entries that
/// point at the device page; a device write needs a writable one
/// (`dmirror_do_fault` fails a read-only page with EFAULT).
#[test]
fn dmirror_on_owned_device_private() {
    let mut w = world(4);
    let rw = device_private_pte(&mut w, DEV0, 0, true, 11);
    let ro = device_private_pte(&mut w, DEV0, 1, false, 12);
    let out = w.apply(&Op::DevRead {
        d: DEV0,
        p: ProcId(0),
        range: r(0, 2),
    });
    assert_eq!(
        out,
        Outcome::Ok(Payload::Dev {
            cpages: 2,
            faults: 1,
            data: Some((0, vec![11, 12])),
        })
    );
    let m = w.device(DEV0).mirrors[&0].clone();
    use mmdiff_core::state::MirrorTag;
    assert_eq!(
        m[&abs(0)],
        (PageRef::Folio { folio: rw, page: 0 }, MirrorTag::Write)
    );
    assert_eq!(
        m[&abs(1)],
        (PageRef::Folio { folio: ro, page: 0 }, MirrorTag::Read)
    );
    let out = w.apply(&Op::DevWrite {
        d: DEV0,
        p: ProcId(0),
        range: r(0, 2),
        fill: mmdiff_core::op::Fill::Const(5),
    });
    assert_eq!(out, Outcome::Err(Errno::EFAULT));
    // The writable page was written before the fault round.
    assert_eq!(w.folio(rw).contents[0], 5);
    assert_eq!(w.folio(ro).contents[0], 12);
}

/// A device-private PMD: the owner sees 512 words of order 9; anyone
/// else sees ERROR, not 0 (reference §7 16(e)).
#[test]
fn device_private_pmd() {
    let mut w = world(1024);
    let f = device_folio(&mut w, DEV1, 9, 3);
    w.set_pmd_entry(
        0,
        abs(512),
        Entry::DevicePrivate {
            level: Level::Pmd,
            target: Target::Folio { folio: f, page: 0 },
            write: true,
            soft_dirty: false,
            uffd_wp: false,
        },
    );
    w.folio_put(f, 1);

    // Pages 510 and 511 (an empty PMD) are write-faulted in.
    let got = words(hmm(&mut w, 510, 1024, HmmReq::Write, Some(DEV1)));
    assert!(got[0].valid && got[0].write && got[0].order == 0);
    assert_eq!(got[2], valid(f, 0, true, 9));
    assert_eq!(got[513], valid(f, 511, true, 9));
    assert_eq!(w.folio(f).refcount, 1);

    let got = words(hmm(&mut w, 512, 516, HmmReq::None, Some(DEV0)));
    assert_eq!(got, vec![ERROR_WORD; 4]);
    let snap = snapshot(&mut w, DEV1, 512, 1024);
    assert!(snap.iter().all(|&b| b == 0x26), "{:x?}", &snap[..4]);
    let snap = snapshot(&mut w, DEV0, 510, 514);
    assert_eq!(snap, vec![0x02, 0x02, 0xFF, 0xFF]);
}

/// Device-coherent pages are mapped by present PTEs: reported like any
/// page, whoever asks; the snapshot tells local from remote.
#[test]
fn device_coherent_pte() {
    let mut w = world(2);
    let f = device_folio(&mut w, DEV2, 0, 8);
    let bits = PteBits {
        write: true,
        dirty: true,
        young: true,
        ..PteBits::default()
    };
    w.set_pte(
        0,
        abs(0),
        crate::pte::pte(Target::Folio { folio: f, page: 0 }, bits),
    );
    w.folio_put(f, 1);
    let got = words(hmm(&mut w, 0, 1, HmmReq::Write, Some(DEV3)));
    assert_eq!(got, vec![valid(f, 0, true, 0)]);
    assert_eq!(snapshot(&mut w, DEV2, 0, 1), vec![0x42]);
    assert_eq!(snapshot(&mut w, DEV3, 0, 1), vec![0x52]);
}

/// A migration entry is 0 in a pure walk; a fault request waits for
/// the migration: blocked at that page, nothing changed. A PMD
/// migration entry blocks at the start of the walked chunk.
#[test]
fn migration_entries_block_fault_requests() {
    let mut w = world(1024);
    let mig = |level, folio| Entry::Migration {
        level,
        target: Target::Folio { folio, page: 0 },
        kind: MigKind::Write,
        young: true,
        dirty: true,
        soft_dirty: false,
        uffd_wp: false,
    };
    let small = w.alloc_folio(Zone::Normal, 0).expect("memory");
    w.folio_mut(small).locked = true;
    w.set_pte(0, abs(3), mig(Level::Pte, small));
    let huge = w.alloc_folio(Zone::Normal, 9).expect("memory");
    w.folio_mut(huge).locked = true;
    w.set_pmd_entry(0, abs(512), mig(Level::Pmd, huge));

    assert_eq!(
        words(hmm(&mut w, 2, 4, HmmReq::None, None)),
        vec![HmmPfn::default(); 2]
    );
    assert_eq!(snapshot(&mut w, DEV0, 511, 513), vec![0x00, 0x00]);
    let before = w.mm(0).ptes.clone();
    // The page table of [0, 512) exists: page 0 needs a fault, so the
    // fault round covers [0, 8); pages 0..3 get the zero page, then
    // the fault of page 3 sleeps on the migration entry.
    assert_eq!(
        hmm(&mut w, 0, 8, HmmReq::Fault, None),
        Outcome::Blocked { page: 3 }
    );
    for page in 0..3 {
        assert!(matches!(
            w.entry(0, abs(page)),
            Some(Entry::Present {
                target: Target::Zero,
                ..
            })
        ));
    }
    assert_eq!(w.entry(0, abs(3)), before.get(&abs(3)).copied());
    assert_eq!(w.entry(0, abs(4)), None);
    // With page 3 valid-requested only, the walk itself waits there.
    let out = w.apply(&Op::HmmFault {
        p: ProcId(0),
        range: r(3, 8),
        req: HmmReq::None,
        page_req: Some((3, 4, HmmReq::Fault)),
        owner: None,
        seq: None,
    });
    assert_eq!(out, Outcome::Blocked { page: 3 });
    let w2 = &mut w;
    assert_eq!(
        hmm(w2, 600, 700, HmmReq::Fault, None),
        Outcome::Blocked { page: 600 }
    );
}
