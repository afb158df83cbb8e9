//! `hmm_range_fault` and the `lib/test_hmm.c` ioctls (READ, WRITE,
//! SNAPSHOT, EXCLUSIVE, CHECK_EXCLUSIVE) in the oracle, driven through the
//! `Model` interface, with the results the kernel's selftests
//! (tools/testing/selftests/mm/hmm-tests.c) assert.

mod support;
use support::*;

use mmdiff_core::op::{
    Advice, DevId, FileId, Fill, FsKind, HmmReq, MapKind, MigrateSelect, NotifierId, PageRange,
    Prot, SessionId, SlotId, Zone,
};
use mmdiff_core::outcome::HmmPfn;
use mmdiff_core::state::{Entry, Level, MirrorTag, PageRef, State, Target};
use mmdiff_core::{Errno, Model, Op, Outcome, Payload};

const M1: SlotId = SlotId(1);
const DEV0: DevId = DevId(0);
const DEV1: DevId = DevId(1);
const N0: NotifierId = NotifierId(0);

fn mmap_at(o: &mut Checked, slot: SlotId, at: u32, pages: u32, kind: MapKind, prot: Prot) {
    apply_ok(o, mmap_op(slot, at, pages, kind, prot, Zone::Normal));
}

fn mmap(o: &mut Checked, at: u32, pages: u32, kind: MapKind, prot: Prot) {
    mmap_at(o, M0, at, pages, kind, prot);
}

fn mprotect(o: &mut Checked, start: u32, end: u32, prot: Prot) {
    apply_ok(
        o,
        Op::Mprotect {
            p: P0,
            range: r(start, end),
            prot,
        },
    );
}

fn write(o: &mut Checked, start: u32, end: u32, fill: Fill) {
    apply_ok(
        o,
        Op::Write {
            p: P0,
            range: r(start, end),
            fill,
        },
    );
}

fn read(o: &mut Checked, slot: SlotId, start: u32, end: u32) -> Vec<u64> {
    match o.apply(&Op::Read {
        p: P0,
        range: PageRange::new(slot, start, end),
    }) {
        Outcome::Ok(Payload::Data { values, .. }) => values,
        other => panic!("read failed: {other:?}"),
    }
}

fn index(start: u32, end: u32, offset: u64) -> Vec<u64> {
    (start as u64..end as u64).map(|i| i + offset).collect()
}

fn hmm(o: &mut Checked, start: u32, end: u32, req: HmmReq) -> Outcome {
    hmm_full(o, start, end, req, None, None, None)
}

fn hmm_full(
    o: &mut Checked,
    start: u32,
    end: u32,
    req: HmmReq,
    page_req: Option<(u32, u32, HmmReq)>,
    owner: Option<DevId>,
    seq: Option<NotifierId>,
) -> Outcome {
    o.apply(&Op::HmmFault {
        p: P0,
        range: r(start, end),
        req,
        page_req,
        owner,
        seq,
    })
}

fn words(out: Outcome) -> Vec<HmmPfn> {
    match out {
        Outcome::Ok(Payload::Pfns(w)) => w.to_vec(),
        other => panic!("not pfn words: {other:?}"),
    }
}

fn snapshot(o: &mut Checked, d: DevId, start: u32, end: u32) -> Vec<u8> {
    match o.apply(&Op::DevSnapshot {
        d,
        p: P0,
        range: r(start, end),
    }) {
        Outcome::Ok(Payload::Snapshot(b)) => b,
        other => panic!("snapshot failed: {other:?}"),
    }
}

fn dev_read(o: &mut Checked, d: DevId, start: u32, end: u32) -> Outcome {
    o.apply(&Op::DevRead {
        d,
        p: P0,
        range: r(start, end),
    })
}

fn dev_write(o: &mut Checked, d: DevId, start: u32, end: u32, fill: Fill) -> Outcome {
    o.apply(&Op::DevWrite {
        d,
        p: P0,
        range: r(start, end),
        fill,
    })
}

fn dev_ok(cpages: u64, faults: u64, data: Option<(u64, Vec<u64>)>) -> Outcome {
    Outcome::Ok(Payload::Dev {
        cpages,
        faults,
        data,
    })
}

fn mirror_tags(s: &State, d: DevId) -> Vec<(u64, MirrorTag)> {
    let dev = s.devices.iter().find(|x| x.id == d).expect("device");
    dev.mirrors
        .iter()
        .filter(|m| m.proc == P0)
        .flat_map(|m| m.entries.iter().map(|e| (e.page, e.tag)))
        .collect()
}

const INVALID: HmmPfn = HmmPfn {
    valid: false,
    write: false,
    error: false,
    order: 0,
    page: None,
};

const ERROR: HmmPfn = HmmPfn {
    valid: false,
    write: false,
    error: true,
    order: 0,
    page: None,
};

fn valid(page: PageRef, write: bool, order: u8) -> HmmPfn {
    HmmPfn {
        valid: true,
        write,
        error: false,
        order,
        page: Some(page),
    }
}

/// The folio page mapped at `page`.
fn mapped(s: &State, page: u32) -> PageRef {
    match entry(s, P0, page) {
        Some(Entry::Present {
            target: Target::Folio { folio, page },
            ..
        }) => PageRef::Folio { folio, page },
        other => panic!("no folio at {page}: {other:?}"),
    }
}

// ---------------------------------------------------------------------
// hmm_range_fault: the pure walk (snapshot mode)

/// Present RW, zero page, nothing, present RO, PROT_NONE, no VMA and a
/// VM_PFNMAP mapping, as `hmm-fault` words and snapshot bytes.
#[test]
fn snapshot_of_every_pte_kind() {
    let mut o = oracle();
    mmap(&mut o, 0, 4, MapKind::Anon, Prot::RW);
    write(&mut o, 0, 1, Fill::Const(7));
    read(&mut o, M0, 1, 2);
    write(&mut o, 3, 4, Fill::Const(9));
    mprotect(&mut o, 3, 4, Prot::R);
    mmap(&mut o, 4, 2, MapKind::Anon, Prot::None);
    mmap(&mut o, 8, 2, MapKind::Special, Prot::RW);

    let s = o.raw_state();
    let w = words(hmm(&mut o, 0, 10, HmmReq::None));
    assert_eq!(
        w,
        vec![
            valid(mapped(&s, 0), true, 0),
            valid(PageRef::Zero, false, 0),
            INVALID,
            valid(mapped(&s, 3), false, 0),
            ERROR,
            ERROR,
            ERROR,
            ERROR,
            ERROR,
            ERROR,
        ]
    );
    assert_eq!(
        snapshot(&mut o, DEV0, 0, 10),
        vec![0x02, 0x11, 0x00, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
    );
    // A pure walk changes nothing.
    assert_eq!(o.raw_state().procs, s.procs);
}

/// A THP is reported page by page with order 9; the huge zero page is
/// read-only, order 9, and its snapshot type is NONE (`is_zero_pfn` is the
/// 4 KiB zero page only): 0x05.
#[test]
fn snapshot_of_pmd_leaves() {
    let mut o = oracle();
    mmap(&mut o, 0, 1024, MapKind::Anon, Prot::RW);
    apply_ok(
        &mut o,
        Op::Madvise {
            p: P0,
            range: r(0, 1024),
            advice: Advice::HugePage,
        },
    );
    write(&mut o, 0, 1, Fill::Const(1));
    read(&mut o, M0, 512, 513);
    let s = o.raw_state();
    assert!(matches!(
        entry(&s, P0, 0),
        Some(Entry::Present {
            level: Level::Pmd,
            ..
        })
    ));

    let w = words(hmm(&mut o, 510, 514, HmmReq::None));
    let PageRef::Folio { folio, .. } = mapped(&s, 0) else {
        unreachable!()
    };
    assert_eq!(
        w,
        vec![
            valid(PageRef::Folio { folio, page: 510 }, true, 9),
            valid(PageRef::Folio { folio, page: 511 }, true, 9),
            valid(PageRef::HugeZero { page: 0 }, false, 9),
            valid(PageRef::HugeZero { page: 1 }, false, 9),
        ]
    );
    let snap = snapshot(&mut o, DEV0, 0, 1024);
    assert!(snap[..512].iter().all(|&b| b == 0x06), "{:x?}", &snap[..4]);
    assert!(
        snap[512..].iter().all(|&b| b == 0x05),
        "{:x?}",
        &snap[512..516]
    );
}

// ---------------------------------------------------------------------
// hmm_range_fault: faulting

/// REQ_FAULT on nothing maps the zero page; REQ_WRITE on the zero page
/// COWs it into a new writable page.
#[test]
fn fault_read_then_write_cows_zero_page() {
    let mut o = oracle();
    mmap(&mut o, 0, 4, MapKind::Anon, Prot::RW);
    let w = words(hmm(&mut o, 0, 2, HmmReq::Fault));
    assert_eq!(w, vec![valid(PageRef::Zero, false, 0); 2]);

    let w = words(hmm(&mut o, 0, 1, HmmReq::Write));
    let s = o.raw_state();
    let page = mapped(&s, 0);
    assert_eq!(w, vec![valid(page, true, 0)]);
    assert!(matches!(
        entry(&s, P0, 0),
        Some(Entry::Present { bits, .. }) if bits.write && bits.dirty
    ));
    // Page 1 was not asked for and keeps the zero page.
    assert!(matches!(
        entry(&s, P0, 1),
        Some(Entry::Present {
            target: Target::Zero,
            ..
        })
    ));
}

/// A write request on a VMA without VM_WRITE is EPERM and faults nothing;
/// a read request there works.
#[test]
fn write_request_on_read_only_vma_is_eperm() {
    let mut o = oracle();
    mmap(&mut o, 0, 4, MapKind::Anon, Prot::R);
    assert_eq!(hmm(&mut o, 0, 4, HmmReq::Write), Outcome::Err(Errno::EPERM));
    assert_eq!(entry(&o.raw_state(), P0, 0), None);
    let w = words(hmm(&mut o, 0, 4, HmmReq::Fault));
    assert_eq!(w, vec![valid(PageRef::Zero, false, 0); 4]);
}

/// A fault required where there is no VMA, a PROT_NONE VMA or a
/// VM_PFNMAP VMA is EFAULT; without a request those pages are ERROR.
#[test]
fn fault_request_on_unusable_ranges_is_efault() {
    let mut o = oracle();
    mmap(&mut o, 0, 2, MapKind::Anon, Prot::RW);
    mmap(&mut o, 4, 2, MapKind::Anon, Prot::None);
    mmap(&mut o, 8, 2, MapKind::Special, Prot::RW);
    assert_eq!(
        hmm(&mut o, 0, 3, HmmReq::Fault),
        Outcome::Err(Errno::EFAULT)
    );
    assert_eq!(
        hmm(&mut o, 4, 5, HmmReq::Fault),
        Outcome::Err(Errno::EFAULT)
    );
    assert_eq!(
        hmm(&mut o, 8, 10, HmmReq::Fault),
        Outcome::Err(Errno::EFAULT)
    );
    // The request of one page decides: page 2 (no VMA) is only reported.
    let w = words(hmm_full(
        &mut o,
        0,
        4,
        HmmReq::None,
        Some((0, 2, HmmReq::Fault)),
        None,
        None,
    ));
    assert_eq!(
        w,
        vec![
            valid(PageRef::Zero, false, 0),
            valid(PageRef::Zero, false, 0),
            ERROR,
            ERROR
        ]
    );
}

/// A hole (empty PMD) is faulted from its first page to the end of the
/// chunk, even where nothing was asked; inside a page table only from the
/// first page that needs it.
#[test]
fn fault_covers_hole_chunk_but_not_earlier_ptes() {
    let mut o = oracle();
    mmap(&mut o, 0, 16, MapKind::Anon, Prot::RW);
    let w = words(hmm_full(
        &mut o,
        0,
        16,
        HmmReq::None,
        Some((5, 6, HmmReq::Fault)),
        None,
        None,
    ));
    assert_eq!(w, vec![valid(PageRef::Zero, false, 0); 16]);

    let mut o = oracle();
    mmap(&mut o, 0, 16, MapKind::Anon, Prot::RW);
    write(&mut o, 15, 16, Fill::Const(3));
    let w = words(hmm_full(
        &mut o,
        0,
        16,
        HmmReq::None,
        Some((5, 6, HmmReq::Fault)),
        None,
        None,
    ));
    let s = o.raw_state();
    let mut want = vec![INVALID; 5];
    want.extend(vec![valid(PageRef::Zero, false, 0); 10]);
    want.push(valid(mapped(&s, 15), true, 0));
    assert_eq!(w, want);
    assert_eq!(entry(&s, P0, 4), None);
}

/// A swapped-out page is 0 without a request and swapped in with one.
#[test]
fn swap_entry_is_zero_or_swapped_in() {
    let mut o = oracle();
    mmap(&mut o, 0, 2, MapKind::Anon, Prot::RW);
    write(&mut o, 0, 2, Fill::Index(40));
    assert!(matches!(o.apply(&Op::Reclaim), Outcome::Ok(_)));
    assert!(matches!(
        entry(&o.raw_state(), P0, 0),
        Some(Entry::Swap { .. })
    ));
    assert_eq!(words(hmm(&mut o, 0, 2, HmmReq::None)), vec![INVALID; 2]);
    let w = words(hmm(&mut o, 0, 2, HmmReq::Fault));
    assert!(w.iter().all(|x| x.valid), "{w:?}");
    assert_eq!(read(&mut o, M0, 0, 2), vec![40, 41]);
}

/// `seq`: a notifier hit by an invalidation since read-begin makes the
/// call EBUSY before it walks; so does the call's own COW fault.
#[test]
fn stale_notifier_is_ebusy() {
    let mut o = oracle();
    mmap(&mut o, 0, 8, MapKind::Anon, Prot::RW);
    read(&mut o, M0, 0, 1);
    apply_ok(
        &mut o,
        Op::Notifier {
            n: N0,
            p: P0,
            range: r(0, 8),
        },
    );
    // A fault that only fills a hole invalidates nothing.
    let w = words(hmm_full(&mut o, 4, 5, HmmReq::Write, None, None, Some(N0)));
    assert!(w[0].valid && w[0].write);

    // The COW of the zero page at page 0 invalidates it: the walk's
    // restart sees the stale snapshot.
    assert_eq!(
        hmm_full(&mut o, 0, 1, HmmReq::Write, None, None, Some(N0)),
        Outcome::Err(Errno::EBUSY)
    );
    // The fault itself happened.
    let s = o.raw_state();
    let page = mapped(&s, 0);
    assert_eq!(o.apply(&Op::ReadRetry { n: N0 }), Outcome::count(1));
    apply_ok(&mut o, Op::ReadBegin { n: N0 });
    let w = words(hmm_full(&mut o, 0, 1, HmmReq::Write, None, None, Some(N0)));
    assert_eq!(w, vec![valid(page, true, 0)]);

    // mprotect invalidates: EBUSY before anything is walked.
    mprotect(&mut o, 0, 8, Prot::R);
    assert_eq!(
        hmm_full(&mut o, 0, 8, HmmReq::None, None, None, Some(N0)),
        Outcome::Err(Errno::EBUSY)
    );
    apply_ok(&mut o, Op::ReadBegin { n: N0 });
    assert!(matches!(
        hmm_full(&mut o, 0, 8, HmmReq::None, None, None, Some(N0)),
        Outcome::Ok(Payload::Pfns(_))
    ));
}

/// A uffd-wp protected page: a read request reports it read-only; a
/// write request faults without FAULT_FLAG_ALLOW_RETRY, so
/// handle_userfault() fails it (VM_FAULT_SIGBUS): EFAULT, nothing changes.
#[test]
fn write_request_on_uffd_wp_page_is_efault() {
    let mut o = oracle();
    mmap(&mut o, 0, 2, MapKind::Anon, Prot::RW);
    write(&mut o, 0, 2, Fill::Const(1));
    apply_ok(
        &mut o,
        Op::UffdWp {
            p: P0,
            range: r(0, 1),
            on: true,
        },
    );
    let s = o.raw_state();
    let w = words(hmm(&mut o, 0, 2, HmmReq::Fault));
    assert_eq!(
        w,
        vec![
            valid(mapped(&s, 0), false, 0),
            valid(mapped(&s, 1), true, 0)
        ]
    );
    assert_eq!(
        hmm(&mut o, 0, 2, HmmReq::Write),
        Outcome::Err(Errno::EFAULT)
    );
    assert_eq!(o.raw_state().procs, s.procs);
    // The same through the device: a write is EFAULT.
    assert_eq!(
        dev_write(&mut o, DEV0, 0, 2, Fill::Const(2)),
        Outcome::Err(Errno::EFAULT)
    );
}

/// REQ_WRITE on the huge zero page of a MADV_HUGEPAGE VMA maps a THP.
#[test]
fn write_request_on_huge_zero_maps_thp() {
    let mut o = oracle();
    mmap(&mut o, 0, 512, MapKind::Anon, Prot::RW);
    apply_ok(
        &mut o,
        Op::Madvise {
            p: P0,
            range: r(0, 512),
            advice: Advice::HugePage,
        },
    );
    let w = words(hmm(&mut o, 0, 512, HmmReq::Fault));
    assert_eq!(w[3], valid(PageRef::HugeZero { page: 3 }, false, 9));
    let w = words(hmm(&mut o, 0, 4, HmmReq::Write));
    let s = o.raw_state();
    let PageRef::Folio { folio, .. } = mapped(&s, 0) else {
        unreachable!()
    };
    assert_eq!(s.folios[&folio].order, 9);
    assert_eq!(w[2], valid(PageRef::Folio { folio, page: 2 }, true, 9));
}

// ---------------------------------------------------------------------
// The dmirror READ / WRITE ioctls (hmm-tests.c)

/// hmm.anon_read: pages 0 and 1 untouched (1 read by the CPU: zero page),
/// the rest written, all read-only; one fault round.
#[test]
fn anon_read() {
    let mut o = oracle();
    mmap(&mut o, 0, 1024, MapKind::Anon, Prot::RW);
    write(&mut o, 2, 1024, Fill::Index(0));
    mprotect(&mut o, 0, 1024, Prot::R);
    assert_eq!(read(&mut o, M0, 1, 2), vec![0]);
    let mut want = vec![0, 0];
    want.extend(index(2, 1024, 0));
    assert_eq!(
        dev_read(&mut o, DEV0, 0, 1024),
        dev_ok(1024, 1, Some((0, want)))
    );
    let s = o.raw_state();
    let tags = mirror_tags(&s, DEV0);
    assert_eq!(tags.len(), 1024);
    assert!(tags.iter().all(|&(_, t)| t == MirrorTag::Read));
    assert!(matches!(
        entry(&s, P0, 0),
        Some(Entry::Present {
            target: Target::Zero,
            ..
        })
    ));
    // Everything is mapped now: a second read takes no fault.
    assert!(matches!(
        dev_read(&mut o, DEV0, 0, 1024),
        Outcome::Ok(Payload::Dev {
            cpages: 1024,
            faults: 0,
            ..
        })
    ));
}

/// hmm.anon_read_prot: PROT_NONE makes the device read EFAULT; nothing
/// changes for the CPU afterwards.
#[test]
fn anon_read_prot() {
    let mut o = oracle();
    mmap(&mut o, 0, 1024, MapKind::Anon, Prot::RW);
    write(&mut o, 0, 1024, Fill::Index(0));
    mprotect(&mut o, 0, 1024, Prot::None);
    assert_eq!(dev_read(&mut o, DEV0, 0, 1024), Outcome::Err(Errno::EFAULT));
    mprotect(&mut o, 0, 1024, Prot::R);
    assert_eq!(read(&mut o, M0, 0, 1024), index(0, 1024, 0));
    assert!(mirror_tags(&o.raw_state(), DEV0).is_empty());
}

/// hmm.anon_write: the device writes an untouched mapping in one fault
/// round; the CPU sees the data.
#[test]
fn anon_write() {
    let mut o = oracle();
    mmap(&mut o, 0, 1024, MapKind::Anon, Prot::RW);
    assert_eq!(
        dev_write(&mut o, DEV0, 0, 1024, Fill::Index(0)),
        dev_ok(1024, 1, None)
    );
    assert_eq!(read(&mut o, M0, 0, 1024), index(0, 1024, 0));
    let tags = mirror_tags(&o.raw_state(), DEV0);
    assert_eq!(tags.len(), 1024);
    assert!(tags.iter().all(|&(_, t)| t == MirrorTag::Write));
}

/// hmm.anon_write_prot: read-only VMA: READ of one page faults in the zero
/// page; WRITE is EPERM and writes nothing; after mprotect RW it works.
#[test]
fn anon_write_prot() {
    let mut o = oracle();
    mmap(&mut o, 0, 1024, MapKind::Anon, Prot::R);
    assert_eq!(
        dev_read(&mut o, DEV0, 0, 1),
        dev_ok(1, 1, Some((0, vec![0])))
    );
    assert_eq!(
        dev_write(&mut o, DEV0, 0, 1024, Fill::Index(0)),
        Outcome::Err(Errno::EPERM)
    );
    assert_eq!(read(&mut o, M0, 0, 1024), vec![0; 1024]);
    mprotect(&mut o, 0, 1024, Prot::RW);
    assert_eq!(
        dev_write(&mut o, DEV0, 0, 1024, Fill::Index(0)),
        dev_ok(1024, 1, None)
    );
    assert_eq!(read(&mut o, M0, 0, 1024), index(0, 1024, 0));
}

/// hmm.anon_write_huge: a MADV_HUGEPAGE PMD-sized window is written by the
/// device in one fault round through a THP.
#[test]
fn anon_write_huge() {
    let mut o = oracle();
    mmap(&mut o, 0, 1024, MapKind::Anon, Prot::RW);
    apply_ok(
        &mut o,
        Op::Madvise {
            p: P0,
            range: r(512, 1024),
            advice: Advice::HugePage,
        },
    );
    assert_eq!(
        dev_write(&mut o, DEV0, 512, 1024, Fill::Index(0)),
        dev_ok(512, 1, None)
    );
    assert_eq!(read(&mut o, M0, 512, 1024), index(512, 1024, 0));
    assert!(matches!(
        entry(&o.raw_state(), P0, 512),
        Some(Entry::Present {
            level: Level::Pmd,
            ..
        })
    ));
}

/// hmm.file_read: a read-only shared file mapping is read by the device
/// in one fault round.
#[test]
fn file_read() {
    let mut o = oracle();
    let f = FileId(0);
    apply_ok(
        &mut o,
        Op::File {
            f,
            fs: FsKind::Ext4,
            pages: 1024,
        },
    );
    // Fill the file through another mapping.
    mmap_at(&mut o, M1, 0, 1024, MapKind::FileShared(f), Prot::RW);
    apply_ok(
        &mut o,
        Op::Write {
            p: P0,
            range: PageRange::new(M1, 0, 1024),
            fill: Fill::Index(0),
        },
    );
    mmap(&mut o, 0, 1024, MapKind::FileShared(f), Prot::R);
    assert_eq!(
        dev_read(&mut o, DEV0, 0, 1024),
        dev_ok(1024, 1, Some((0, index(0, 1024, 0))))
    );
}

/// hmm.file_write: the device writes a shared file mapping; the CPU and
/// the file (another mapping of it) see the data.
#[test]
fn file_write() {
    let mut o = oracle();
    let f = FileId(0);
    apply_ok(
        &mut o,
        Op::File {
            f,
            fs: FsKind::Tmpfs,
            pages: 1024,
        },
    );
    mmap(&mut o, 0, 1024, MapKind::FileShared(f), Prot::RW);
    assert_eq!(
        dev_write(&mut o, DEV0, 0, 1024, Fill::Index(0)),
        dev_ok(1024, 1, None)
    );
    assert_eq!(read(&mut o, M0, 0, 1024), index(0, 1024, 0));
    mmap_at(&mut o, M1, 0, 1024, MapKind::FileShared(f), Prot::R);
    assert_eq!(read(&mut o, M1, 0, 1024), index(0, 1024, 0));
}

/// A device write through a read entry needs a write fault (a second
/// round); an invalidation (CPU COW, mprotect) drops entries so the next
/// access faults again.
#[test]
fn read_entries_upgrade_and_invalidation() {
    let mut o = oracle();
    mmap(&mut o, 0, 64, MapKind::Anon, Prot::RW);
    assert_eq!(
        dev_read(&mut o, DEV0, 0, 64),
        dev_ok(64, 1, Some((0, vec![0; 64])))
    );
    // Zero pages: read entries.
    assert!(mirror_tags(&o.raw_state(), DEV0)
        .iter()
        .all(|&(_, t)| t == MirrorTag::Read));
    assert_eq!(
        dev_write(&mut o, DEV0, 0, 64, Fill::Const(5)),
        dev_ok(64, 1, None)
    );
    assert_eq!(read(&mut o, M0, 0, 64), vec![5; 64]);
    // dev1 has its own table.
    assert!(mirror_tags(&o.raw_state(), DEV1).is_empty());
    mprotect(&mut o, 0, 32, Prot::R);
    // dmirror_do_update erases through the page just past the range.
    let tags = mirror_tags(&o.raw_state(), DEV0);
    assert_eq!(tags.first().map(|t| t.0), Some(abs(33)));
    assert_eq!(
        dev_read(&mut o, DEV0, 0, 64),
        dev_ok(64, 1, Some((0, vec![5; 64])))
    );
}

// ---------------------------------------------------------------------
// EXCLUSIVE / CHECK_EXCLUSIVE

/// hmm.exclusive: every page becomes device-exclusive and is read back;
/// CPU accesses revoke them and the notifier drops the ATOMIC entries.
#[test]
fn exclusive() {
    let mut o = oracle();
    mmap(&mut o, 0, 1024, MapKind::Anon, Prot::RW);
    write(&mut o, 0, 1024, Fill::Index(0));
    let op = Op::DevExclusive {
        d: DEV0,
        p: P0,
        range: r(0, 1024),
    };
    assert_eq!(o.apply(&op), dev_ok(1024, 0, Some((0, index(0, 1024, 0)))));
    let s = o.raw_state();
    assert!(matches!(
        entry(&s, P0, 7),
        Some(Entry::DeviceExclusive { .. })
    ));
    let tags = mirror_tags(&s, DEV0);
    assert_eq!(tags.len(), 1024);
    assert!(tags.iter().all(|&(_, t)| t == MirrorTag::Atomic));
    // The folios are unlocked and hold no extra reference.
    let Some(Entry::DeviceExclusive {
        target: Target::Folio { folio, .. },
        ..
    }) = entry(&s, P0, 7)
    else {
        unreachable!()
    };
    assert!(!s.folios[&folio].locked);
    assert_eq!(s.folios[&folio].refcount, 1);

    let check = Op::DevCheckExclusive {
        d: DEV0,
        p: P0,
        range: r(0, 1024),
    };
    assert_eq!(o.apply(&check), Outcome::Err(Errno::EPERM));
    assert_eq!(read(&mut o, M0, 0, 1024), index(0, 1024, 0));
    write(&mut o, 0, 1024, Fill::Index(1));
    assert_eq!(read(&mut o, M0, 0, 1024), index(0, 1024, 1));
    assert_eq!(o.apply(&check), Outcome::OK);
}

/// hmm.exclusive_mprotect: after mprotect PROT_READ a device write is
/// EPERM.
#[test]
fn exclusive_mprotect() {
    let mut o = oracle();
    mmap(&mut o, 0, 1024, MapKind::Anon, Prot::RW);
    write(&mut o, 0, 1024, Fill::Index(0));
    assert_eq!(
        o.apply(&Op::DevExclusive {
            d: DEV0,
            p: P0,
            range: r(0, 1024),
        }),
        dev_ok(1024, 0, Some((0, index(0, 1024, 0))))
    );
    mprotect(&mut o, 0, 1024, Prot::R);
    assert_eq!(
        dev_write(&mut o, DEV0, 0, 1024, Fill::Index(0)),
        Outcome::Err(Errno::EPERM)
    );
}

/// A device-exclusive page is 0 in a pure walk and given back to the CPU
/// by a fault request (one page only).
#[test]
fn hmm_on_device_exclusive_entry() {
    let mut o = oracle();
    mmap(&mut o, 0, 2, MapKind::Anon, Prot::RW);
    write(&mut o, 0, 2, Fill::Const(3));
    assert!(matches!(
        o.apply(&Op::DevExclusive {
            d: DEV1,
            p: P0,
            range: r(0, 2),
        }),
        Outcome::Ok(_)
    ));
    assert_eq!(words(hmm(&mut o, 0, 2, HmmReq::None)), vec![INVALID; 2]);
    assert_eq!(snapshot(&mut o, DEV1, 0, 2), vec![0, 0]);
    let w = words(hmm(&mut o, 0, 1, HmmReq::Fault));
    assert!(w[0].valid && w[0].write, "{w:?}");
    let s = o.raw_state();
    assert!(matches!(entry(&s, P0, 0), Some(Entry::Present { .. })));
    assert!(matches!(
        entry(&s, P0, 1),
        Some(Entry::DeviceExclusive { .. })
    ));
    // The restore invalidated page 0, and dmirror_do_update erases
    // through the page just past it: page 1's atomic entry goes too,
    // although page 1 is still device-exclusive.
    assert!(mirror_tags(&s, DEV1).is_empty());
}

/// EXCLUSIVE on a read-only VMA fails (GUP with FOLL_WRITE: EFAULT).
#[test]
fn exclusive_read_only_fails() {
    let mut o = oracle();
    mmap(&mut o, 0, 4, MapKind::Anon, Prot::R);
    assert_eq!(
        o.apply(&Op::DevExclusive {
            d: DEV0,
            p: P0,
            range: r(0, 4),
        }),
        Outcome::Err(Errno::EFAULT)
    );
}

// ---------------------------------------------------------------------
// Device-private pages (through MIGRATE_TO_DEV) and migration entries

fn migrate_to_dev(o: &mut Checked, d: DevId, start: u32, end: u32) {
    let out = o.apply(&Op::MigrateToDev {
        d,
        p: P0,
        range: r(start, end),
    });
    assert!(
        matches!(out, Outcome::Ok(Payload::Dev { cpages, .. }) if cpages == (end - start) as u64),
        "{out:?}"
    );
}

/// The device page behind a device-private entry.
fn device_page(s: &State, page: u32) -> (PageRef, bool) {
    match entry(s, P0, page) {
        Some(Entry::DevicePrivate {
            target: Target::Folio { folio, page },
            write,
            ..
        }) => (PageRef::Folio { folio, page }, write),
        other => panic!("no device-private entry at {page}: {other:?}"),
    }
}

/// The owner's device-private pages are reported and never faulted
/// (even REQ_WRITE on a read-only one); another device sees 0 and faults
/// them back to system memory (`migrate_to_ram`).
#[test]
fn device_private_owned_and_foreign() {
    let mut o = oracle();
    mmap(&mut o, 0, 4, MapKind::Anon, Prot::RW);
    write(&mut o, 0, 4, Fill::Index(10));
    migrate_to_dev(&mut o, DEV0, 0, 4);
    // mprotect downgrades the device-private entries; RW again keeps them
    // read-only.
    mprotect(&mut o, 2, 4, Prot::R);
    mprotect(&mut o, 2, 4, Prot::RW);
    let s = o.raw_state();
    let pages: Vec<(PageRef, bool)> = (0..4).map(|i| device_page(&s, i)).collect();
    assert_eq!(
        pages.iter().map(|x| x.1).collect::<Vec<_>>(),
        [true, true, false, false]
    );

    let w = words(hmm_full(
        &mut o,
        0,
        4,
        HmmReq::Write,
        None,
        Some(DEV0),
        None,
    ));
    let want: Vec<HmmPfn> = pages.iter().map(|&(pg, wr)| valid(pg, wr, 0)).collect();
    assert_eq!(w, want);
    assert_eq!(o.raw_state().procs, s.procs);
    assert_eq!(snapshot(&mut o, DEV0, 0, 4), vec![0x22, 0x22, 0x21, 0x21]);
    assert_eq!(snapshot(&mut o, DEV1, 0, 4), vec![0x00; 4]);
    assert_eq!(
        words(hmm_full(&mut o, 0, 4, HmmReq::None, None, Some(DEV1), None)),
        vec![INVALID; 4]
    );

    // The owner's device write gets a read-only page for pages 2 and 3:
    // dmirror_do_fault fails (EFAULT); pages 0 and 1 were written.
    assert_eq!(
        dev_write(&mut o, DEV0, 0, 4, Fill::Const(7)),
        Outcome::Err(Errno::EFAULT)
    );

    // Another device faults them in: migrate_to_ram, page by page.
    let w = words(hmm_full(
        &mut o,
        0,
        4,
        HmmReq::Fault,
        None,
        Some(DEV1),
        None,
    ));
    assert!(w.iter().all(|x| x.valid && x.order == 0), "{w:?}");
    let s = o.raw_state();
    for i in 0..4 {
        assert_eq!(w[i as usize].page, Some(mapped(&s, i)));
    }
    assert_eq!(read(&mut o, M0, 0, 4), vec![7, 7, 12, 13]);
}

/// A device-private THP: the owner sees order-9 words and 0x26; another
/// device sees ERROR (0xFF), not 0, and a fault request brings the whole
/// THP back.
#[test]
fn device_private_pmd_foreign_is_error() {
    let mut o = oracle();
    mmap(&mut o, 0, 1024, MapKind::Anon, Prot::RW);
    write(&mut o, 512, 1024, Fill::Index(0));
    apply_ok(
        &mut o,
        Op::Madvise {
            p: P0,
            range: r(512, 1024),
            advice: Advice::Collapse,
        },
    );
    migrate_to_dev(&mut o, DEV0, 512, 1024);
    let s = o.raw_state();
    let (PageRef::Folio { folio, .. }, true) = device_page(&s, 512) else {
        panic!("not a writable device THP")
    };
    let w = words(hmm_full(
        &mut o,
        512,
        516,
        HmmReq::None,
        None,
        Some(DEV0),
        None,
    ));
    assert_eq!(w[1], valid(PageRef::Folio { folio, page: 1 }, true, 9));
    let snap = snapshot(&mut o, DEV1, 512, 1024);
    assert!(snap.iter().all(|&b| b == 0xFF), "{:x?}", &snap[..4]);
    assert_eq!(
        words(hmm_full(
            &mut o,
            512,
            514,
            HmmReq::None,
            None,
            Some(DEV1),
            None
        )),
        vec![ERROR; 2]
    );

    let w = words(hmm_full(
        &mut o,
        600,
        602,
        HmmReq::Fault,
        None,
        Some(DEV1),
        None,
    ));
    assert!(w.iter().all(|x| x.valid && x.order == 9), "{w:?}");
    assert_eq!(read(&mut o, M0, 512, 1024), index(512, 1024, 0));
}

/// Between migrate_vma_setup and finalize the pages are migration
/// entries: 0 in a pure walk; a fault request sleeps (blocked) at the
/// first one and changes nothing.
#[test]
fn migration_entry_blocks_fault_request() {
    let mut o = oracle();
    mmap(&mut o, 0, 8, MapKind::Anon, Prot::RW);
    write(&mut o, 0, 8, Fill::Index(0));
    let out = o.apply(&Op::MigrateSetup {
        s: SessionId(0),
        p: P0,
        range: r(2, 6),
        select: MigrateSelect {
            system: true,
            ..MigrateSelect::default()
        },
        owner: Some(DEV0),
        fault_page: None,
    });
    assert!(matches!(out, Outcome::Ok(_)), "{out:?}");
    assert!(matches!(
        entry(&o.raw_state(), P0, 3),
        Some(Entry::Migration { .. })
    ));
    let before = o.raw_state();
    let w = words(hmm(&mut o, 0, 8, HmmReq::None));
    assert_eq!(w[2..6], [INVALID; 4]);
    assert!(w[0].valid && w[7].valid);
    assert_eq!(
        hmm(&mut o, 0, 8, HmmReq::Fault),
        Outcome::Blocked { page: 2 }
    );
    assert_eq!(dev_read(&mut o, DEV1, 4, 8), Outcome::Blocked { page: 4 });
    assert_eq!(o.raw_state().procs, before.procs);
    assert_eq!(snapshot(&mut o, DEV0, 1, 3), vec![0x02, 0x00]);
    apply_ok(&mut o, Op::MigrateFinalize { s: SessionId(0) });
    assert_eq!(
        dev_read(&mut o, DEV1, 0, 8),
        dev_ok(8, 1, Some((0, index(0, 8, 0))))
    );
}
