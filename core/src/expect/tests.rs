//! `check` against a small hand-built canonical state: every fact kind,
//! matching and mismatching.

use std::collections::BTreeMap;

use super::*;
use crate::op::{FileId, GupFlags};
use crate::outcome::Errno;
use crate::state::{
    Entry, EntryRun, FolioId, FolioState, HugeHint, Level, Memory, ObjId, ProcState, PteBits,
    State, SwapId, SwapState, Target, VmaKind, VmaState,
};
use crate::text::parse_expect;

const W: u64 = 2048;
/// Absolute page of window `m0`, page `n`.
fn m0(n: u64) -> u64 {
    W + n
}

fn folio(id: u64, order: u8, refcount: i64, mapcount: i64) -> FolioState {
    let pages = 1usize << order;
    FolioState {
        id: FolioId(id),
        order,
        memory: Memory::Zone(Zone::Normal),
        refcount,
        mapcount,
        entire_mapcount: 0,
        pincount: 0,
        locked: false,
        lru: true,
        anon: true,
        swapbacked: true,
        dirty: false,
        swapcache: None,
        mapping: None,
        anon_exclusive: vec![true; pages],
        contents: vec![0; pages],
    }
}

/// The shared fixture, with an anon_vma whatever the kind.
fn vma(start: u64, end: u64, kind: VmaKind, prot: Prot) -> VmaState {
    VmaState {
        anon_vma: true,
        ..crate::canon::fixtures::vma(start, end, kind, prot)
    }
}

fn present(level: Level, target: Target, bits: PteBits) -> Entry {
    Entry::Present {
        level,
        target,
        bits,
    }
}

/// p0: an anon THP at m0[0..512] (PMD, F0), the zero page at m0[512..514],
/// swap entries at m0[600] and m0[601], a pinned small folio F1 at m0[700], a file
/// mapping at m0[1024..1040] with an io page at m0[1024].
/// p1: F1 shared at m0[700] (after fork), F2 at m0[701].
fn state() -> State {
    let wd = PteBits {
        write: true,
        dirty: true,
        young: true,
        soft_dirty: false,
        uffd_wp: false,
    };
    let mut p0_anon = vma(m0(0), m0(1024), VmaKind::AnonPrivate, Prot::RW);
    p0_anon.hint = HugeHint::Huge;
    // Flags opposite to p0_anon's, so a check reading the wrong field fails.
    let mut p0_file = vma(m0(1024), m0(1040), VmaKind::FileShared, Prot::R);
    p0_file.backing = Some((ObjId::File(FileId(0)), 0));
    p0_file.anon_vma = false;
    p0_file.hint = HugeHint::NoHuge;
    p0_file.dontfork = true;
    p0_file.uffd_wp = true;
    p0_file.soft_dirty = false;
    p0_file.zone = Zone::Movable;
    let p0 = ProcState {
        id: ProcId(0),
        has_pinned: true,
        vmas: vec![p0_anon, p0_file],
        entries: vec![
            EntryRun {
                start: m0(0),
                len: 512,
                entry: present(
                    Level::Pmd,
                    Target::Folio {
                        folio: FolioId(0),
                        page: 0,
                    },
                    wd,
                ),
            },
            EntryRun {
                start: m0(512),
                len: 2,
                entry: present(Level::Pte, Target::Zero, PteBits::default()),
            },
            EntryRun {
                start: m0(600),
                len: 1,
                entry: Entry::Swap {
                    slot: SwapId(0),
                    exclusive: true,
                    soft_dirty: false,
                    uffd_wp: true,
                },
            },
            // The opposite swap bits, so a check reading the wrong one fails.
            EntryRun {
                start: m0(601),
                len: 1,
                entry: Entry::Swap {
                    slot: SwapId(1),
                    exclusive: false,
                    soft_dirty: true,
                    uffd_wp: true,
                },
            },
            EntryRun {
                start: m0(700),
                len: 1,
                entry: present(
                    Level::Pte,
                    Target::Folio {
                        folio: FolioId(1),
                        page: 0,
                    },
                    PteBits {
                        young: true,
                        ..PteBits::default()
                    },
                ),
            },
            EntryRun {
                start: m0(1024),
                len: 1,
                entry: present(
                    Level::Pte,
                    Target::Io {
                        obj: ObjId::Io(0),
                        page: 0,
                    },
                    PteBits::default(),
                ),
            },
        ],
    };
    let p1 = ProcState {
        id: ProcId(1),
        has_pinned: false,
        vmas: vec![vma(m0(0), m0(1024), VmaKind::AnonPrivate, Prot::RW)],
        entries: vec![EntryRun {
            start: m0(700),
            len: 2,
            entry: present(
                Level::Pte,
                Target::Folio {
                    folio: FolioId(1),
                    page: 0,
                },
                PteBits::default(),
            ),
        }],
    };
    // Distinct counters, and flags of F1 opposite to F0's, so a check
    // reading the wrong field fails.
    let mut thp = folio(0, 9, 3, 2);
    thp.entire_mapcount = 1;
    thp.pincount = 4;
    let mut pinned = folio(1, 0, 1 + 1024 + 1, 2);
    pinned.anon_exclusive = vec![false];
    pinned.lru = false;
    pinned.swapbacked = false;
    pinned.dirty = true;
    pinned.locked = true;
    pinned.swapcache = Some(SwapId(0));
    pinned.memory = Memory::Zone(Zone::Cma);
    let mut folios = BTreeMap::new();
    folios.insert(FolioId(0), thp);
    folios.insert(FolioId(1), pinned);
    let mut swap = BTreeMap::new();
    swap.insert(
        SwapId(0),
        SwapState {
            id: SwapId(0),
            count: 1,
            cached: None,
            contents: 5,
        },
    );
    State {
        window_pages: W as u32,
        procs: vec![p0, p1],
        objects: Vec::new(),
        folios,
        swap,
        zone_free: [100, 4096, 4096],
        zone_total: [16384, 4096, 4096],
        kernel: crate::config::KernelVersion::BASELINE,
        handles: vec![crate::state::HandleState {
            id: crate::op::HandleId(0),
            flags: GupFlags {
                pin: true,
                ..GupFlags::default()
            },
            base: 700,
            pages: vec![crate::state::PageRef::Folio {
                folio: FolioId(1),
                page: 0,
            }],
        }],
        locks: Vec::new(),
        iommu: Vec::new(),
        devices: Vec::new(),
        sessions: Vec::new(),
        notifiers: Vec::new(),
    }
}

/// Mismatches of `text` (an expectation) against the fixed state and `outcome`.
fn run(text: &str, outcome: &Outcome) -> Vec<String> {
    let expect = parse_expect(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    check(&expect, outcome, &state())
}

fn facts(text: &str) -> Vec<String> {
    run(text, &Outcome::OK)
}

#[test]
fn outcomes() {
    let data = Outcome::Ok(Payload::Data {
        base: 10,
        values: vec![10, 11, 12, 0],
    });
    assert!(run("ok data=[3*index,0]", &data).is_empty());
    assert!(run("ok data=[3*index+0,1*0]", &data).is_empty());
    assert_eq!(
        run("ok data=index", &data),
        vec![
            "outcome: expected ok data=index, found ok data=[3*index,0] \
              (first difference at page 13: expected 13, found 0)"
        ]
    );
    assert_eq!(
        run("ok data=[3*index]", &data),
        vec![
            "outcome: expected ok data=[3*index], found ok data=[3*index,0] \
              (expected 3 values or a different count, found 4)"
        ]
    );
    assert_eq!(
        run("ok data=7", &Outcome::Err(Errno::EFAULT)),
        vec!["outcome: expected ok data=7, found EFAULT"]
    );
    assert!(run("EFAULT", &Outcome::Err(Errno::EFAULT)).is_empty());
    assert!(run(
        "SIGSEGV@3",
        &Outcome::Signal {
            sig: crate::outcome::Signal::Segv,
            page: 3
        }
    )
    .is_empty());
    assert_eq!(
        run("ok 2", &Outcome::count(1)),
        vec!["outcome: expected ok 2, found ok 1"]
    );
    // No outcome expected: any outcome passes.
    assert!(run("folios count=2", &Outcome::Err(Errno::EINVAL)).is_empty());
}

#[test]
fn entry_facts() {
    assert!(facts("entry p0 m0[0] page write dirty young !soft-dirty !uffd-wp pmd").is_empty());
    assert!(facts("entry p0 m0[511] page pmd").is_empty());
    assert!(
        facts("entry p0 m0[700] page young !dirty !write !soft-dirty !uffd-wp !pmd").is_empty()
    );
    assert_eq!(
        facts("entry p0 m0[600] swap !exclusive !uffd-wp soft-dirty"),
        vec![
            "entry p0 m0[600]: exclusive expected clear, found set",
            "entry p0 m0[600]: uffd-wp expected clear, found set",
            "entry p0 m0[600]: soft-dirty expected set, found clear",
        ]
    );
    assert!(facts("entry p0 m0[513] zero !pmd !write").is_empty());
    assert!(facts("entry p0 m0[514] none").is_empty());
    assert!(facts("entry p0 m0[600] swap exclusive uffd-wp !soft-dirty").is_empty());
    assert!(facts("entry p0 m0[601] swap !exclusive uffd-wp soft-dirty").is_empty());
    assert!(facts("entry p0 m0[1024] io").is_empty());
    assert!(facts("entry p3 m0[0] none").len() == 1);
    assert_eq!(
        facts("entry p0 m0[700] page write"),
        vec!["entry p0 m0[700]: write expected set, found clear"]
    );
    assert_eq!(
        facts("entry p0 m0[600] page"),
        vec!["entry p0 m0[600]: expected page, found swap S0"]
    );
    assert_eq!(
        facts("entry p0 m0[514] zero"),
        vec!["entry p0 m0[514]: expected zero, found none"]
    );
    assert_eq!(
        facts("entry p0 m0[3] none"),
        vec!["entry p0 m0[3]: expected none, found F0[3] (pmd)"]
    );
    assert_eq!(
        facts("entry p0 m1[0] hugezero"),
        vec!["entry p0 m1[0]: expected hugezero, found none"]
    );
    assert_eq!(
        facts("entry p0 m0[5000] none"),
        vec!["entry p0 m0[5000]: page 5000 is beyond the 2048-page window"]
    );
    assert_eq!(
        facts("entry p2 m0[0] none"),
        vec!["entry p2 m0[0]: no process p2"]
    );
}

#[test]
fn folio_facts() {
    assert!(facts(
        "folio p0 m0[7] ref=3 map=2 entire=1 pin=4 order=9 subpage=7 zone=normal large pinned excl lru anon swapbacked !dirty !swapcache !locked"
    )
    .is_empty());
    assert!(facts(
        "folio p0 m0[700] ref=1026 map=2 entire=0 pin=0 order=0 subpage=0 zone=cma pinned !large !excl !lru anon !swapbacked dirty swapcache locked"
    )
    .is_empty());
    assert_eq!(
        facts("folio p0 m0[7] ref=2 map=3 entire=0 pin=0 subpage=6 lru !anon"),
        vec![
            "folio p0 m0[7]: ref expected 2, found 3",
            "folio p0 m0[7]: map expected 3, found 2",
            "folio p0 m0[7]: entire expected 0, found 1",
            "folio p0 m0[7]: pin expected 0, found 4",
            "folio p0 m0[7]: subpage expected 6, found 7",
            "folio p0 m0[7]: anon expected clear, found set",
        ]
    );
    assert_eq!(
        facts("folio p0 m0[700] ref=1 pinned order=9 zone=cma"),
        vec![
            "folio p0 m0[700]: ref expected 1, found 1026",
            "folio p0 m0[700]: order expected 9, found 0",
        ]
    );
    assert_eq!(
        facts("folio p0 m0[700] !pinned"),
        vec!["folio p0 m0[700]: pinned expected clear, found set"]
    );
    assert_eq!(
        facts("folio p0 m0[512]"),
        vec!["folio p0 m0[512]: expected a folio page, found zero"]
    );
    assert_eq!(
        facts("folio p0 m0[900] ref=1"),
        vec!["folio p0 m0[900]: expected a folio page, found none"]
    );
    // A folio the state does not list.
    let mut broken = state();
    broken.folios.remove(&FolioId(1));
    let expect = parse_expect("folio p1 m0[701]").expect("parses");
    assert_eq!(
        check(&expect, &Outcome::OK, &broken),
        vec!["folio p1 m0[701]: maps F1[1], which is not in the state"]
    );
}

#[test]
fn same_facts() {
    assert!(facts("same p0 m0[700] p1 m0[700]").is_empty());
    assert!(facts("same p0 m0[512] p0 m0[513]").is_empty());
    assert!(facts("!same p0 m0[700] p1 m0[701]").is_empty());
    assert!(facts("!same p0 m0[900] p1 m0[900]").is_empty());
    assert_eq!(
        facts("same p0 m0[700] p1 m0[701]"),
        vec!["same p0 m0[700] p1 m0[701]: expected the same page, found p0 m0[700] -> F1[0] and p1 m0[701] -> F1[1]"]
    );
    assert_eq!(
        facts("!same p0 m0[700] p1 m0[700]"),
        vec!["!same p0 m0[700] p1 m0[700]: expected different pages, both map F1[0]"]
    );
    assert_eq!(facts("same p0 m0[900] p1 m0[900]").len(), 1);
    assert_eq!(
        facts("same p0 m0[0] p3 m0[0]"),
        vec!["same p0 m0[0] p3 m0[0]: no process p3"]
    );
}

#[test]
fn vma_facts() {
    assert!(facts("vma p0 m0[5] start=0 end=1024 prot=rw kind=anon zone=normal hugepage !nohugepage !dontfork !uffd-wp soft-dirty anon-vma").is_empty());
    assert!(facts("vma p0 m0[1030] start=1024 end=1040 prot=r kind=file-shared zone=movable !anon-vma nohugepage !hugepage dontfork uffd-wp !soft-dirty").is_empty());
    assert_eq!(
        facts("vma p0 m0[1030] end=1041 zone=normal !nohugepage !dontfork"),
        vec![
            "vma p0 m0[1030]: end expected 1041, found 1040",
            "vma p0 m0[1030]: zone expected normal, found movable",
            "vma p0 m0[1030]: nohugepage expected clear, found set",
            "vma p0 m0[1030]: dontfork expected clear, found set",
        ]
    );
    assert!(facts("vma p0 m0[1040] none").is_empty());
    assert!(facts("vma p0 m0[0]").is_empty());
    assert_eq!(
        facts("vma p0 m0[5] start=1 end=1024 prot=r kind=special !hugepage"),
        vec![
            "vma p0 m0[5]: start expected 1, found 0",
            "vma p0 m0[5]: prot expected r, found rw",
            "vma p0 m0[5]: kind expected special, found anon",
            "vma p0 m0[5]: hugepage expected clear, found set",
        ]
    );
    assert_eq!(
        facts("vma p0 m0[5] none"),
        vec!["vma p0 m0[5]: expected no VMA, found one at 0..1024"]
    );
    assert_eq!(
        facts("vma p0 m0[2000] prot=r"),
        vec!["vma p0 m0[2000]: expected a VMA, found none"]
    );
    assert_eq!(facts("vma p0 m1[0] none"), Vec::<String>::new());
}

#[test]
fn global_facts() {
    assert!(
        facts("zone normal free=100 ; zone movable free=4096 ; swap used=1 ; folios count=2")
            .is_empty()
    );
    assert!(facts("has-pinned p0 ; !has-pinned p1").is_empty());
    assert_eq!(
        facts(
            "zone normal free=99 ; swap used=0 ; folios count=3 ; has-pinned p1 ; !has-pinned p3"
        ),
        vec![
            "zone normal: free expected 99, found 100",
            "swap: used expected 0, found 1",
            "folios: count expected 3, found 2",
            "has-pinned p1: has-pinned expected set, found clear",
            "!has-pinned p3: no process p3",
        ]
    );
}

#[test]
fn data_patterns() {
    let uniform = DataPattern::Uniform(DataValue::Index(0));
    assert!(uniform.matches(5, &[5, 6, 7]));
    assert!(!uniform.matches(5, &[]));
    assert!(!uniform.matches(4, &[5, 6, 7]));
    // Index runs wrap like page arithmetic.
    assert!(DataPattern::Uniform(DataValue::Index(2)).matches(u64::MAX, &[1, 2]));
    let runs = DataPattern::Runs(vec![
        DataRun {
            count: 2,
            value: DataValue::Const(9),
        },
        DataRun {
            count: u64::MAX,
            value: DataValue::Const(1),
        },
    ]);
    assert_eq!(runs.first_mismatch(0, &[9, 9, 1]), Some(3));
    assert!(DataPattern::Runs(Vec::new()).matches(3, &[]));
    assert_eq!(
        ExpectedOutcome::from_outcome(&Outcome::Ok(Payload::Data {
            base: 0,
            values: vec![1, 1]
        })),
        ExpectedOutcome::Data(DataPattern::Uniform(DataValue::Const(1)))
    );
}

/// Mismatches of facts against the HMM fixture state.
fn hmm_facts(text: &str) -> Vec<String> {
    let expect = parse_expect(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    check(&expect, &Outcome::OK, &crate::canon::fixtures::hmm_state())
}

#[test]
fn hmm_entry_and_folio_facts() {
    assert!(hmm_facts(
        "entry p0 m0[0] devpriv write soft-dirty !uffd-wp !pmd ; entry p0 m0[2] devexcl soft-dirty \
         ; entry p0 m0[4] migration write !exclusive young dirty !pmd ; entry p0 m0[600] devpriv pmd \
         ; folio p0 m0[0] dev=dev0 ref=1 map=1 excl ; folio p0 m0[4] locked ref=1 map=0 zone=normal \
         ; folio p0 m0[2] zone=normal ; folio p0 m0[600] dev=dev0 subpage=88 order=9"
    )
    .is_empty());
    assert_eq!(
        hmm_facts("entry p0 m0[0] page"),
        vec!["entry p0 m0[0]: expected page, found devpriv F0[0]"]
    );
    assert_eq!(
        hmm_facts("entry p0 m0[4] migration exclusive"),
        vec!["entry p0 m0[4]: exclusive expected set, found clear"]
    );
    assert_eq!(
        hmm_facts("entry p0 m0[600] migration"),
        vec!["entry p0 m0[600]: expected migration, found devpriv F5[88] (pmd)"]
    );
    assert_eq!(
        hmm_facts("folio p0 m0[0] zone=normal ; folio p0 m0[1] dev=dev0 ; folio p0 m0[3] dev=dev3"),
        vec![
            "folio p0 m0[0]: zone expected normal, found device memory of dev0",
            "folio p0 m0[1]: dev expected dev0, found zone normal",
            "folio p0 m0[3]: dev expected dev3, found dev2",
        ]
    );
}

#[test]
fn hmm_device_facts() {
    assert!(hmm_facts(
        "device dev0 free=1534 refs=514 !released !fail-alloc ; device dev2 free=2047 \
         ; mirror dev0 p0 m0[0] write same-as p0 m0[0] ; mirror dev0 p0 m0[2] atomic same-as p0 m0[2] \
         ; mirror dev0 p0 m0[3] none ; mirror dev1 p0 m0[0] none ; mirror dev0 p1 m0[0] none \
         ; mirror dev0 p0 m0[4] write same-as p0 m0[4] \
         ; session s0 allocated cpages=2 ; session s1 none ; notifier n0 fresh ; notifier n1 none"
    )
    .is_empty());
    assert_eq!(
        hmm_facts(
            "device dev0 free=1 refs=2 released fail-alloc ; device dev3 free=0 ; mirror dev0 p0 m0[1] write \
             ; mirror dev0 p0 m0[3] read ; mirror dev0 p0 m0[1] read same-as p0 m0[2] \
             ; session s0 setup cpages=1 ; session s2 migrated ; notifier n0 stale ; notifier n1 fresh"
        ),
        vec![
            "device dev0: free expected 1, found 1534",
            "device dev0: refs expected 2, found 514",
            "device dev0: released expected set, found clear",
            "device dev0: fail-alloc expected set, found clear",
            "device dev3: no device dev3",
            "mirror dev0 p0 m0[1]: expected write, found read F1[0]",
            "mirror dev0 p0 m0[3]: expected read, found none",
            "mirror dev0 p0 m0[1]: expected the page p0 m0[2] maps, devexcl F2[0], found F1[0]",
            "session s0: phase expected setup, found allocated",
            "session s0: cpages expected 1, found 2",
            "session s2: phase expected migrated, found none",
            "notifier n0: state expected stale, found fresh",
            "notifier n1: state expected fresh, found none",
        ]
    );
}

#[test]
fn dev_outcome_mismatch_names_the_page() {
    let actual = Outcome::Ok(Payload::Dev {
        cpages: 4,
        faults: 0,
        data: Some((8, vec![8, 9, 0, 11])),
    });
    assert_eq!(
        run("ok cpages=4 faults=0 data=index", &actual),
        vec![
            "outcome: expected ok cpages=4 faults=0 data=index, found ok cpages=4 faults=0 \
             data=[2*index,0,11] (first difference at page 10: expected 10, found 0)"
        ]
    );
    assert!(run("ok cpages=4 faults=0 data=[2*index,0,index]", &actual).is_empty());
    assert!(run("ok cpages=4 faults=0 data=[2*index,0,11]", &actual).is_empty());
}
