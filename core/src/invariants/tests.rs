use super::*;
use crate::canon::canonicalize;
use crate::canon::fixtures::{abs, folio, present, run, sample_state, vma};
use crate::op::{GupFlags, HandleId, LockId};
use crate::state::{HandleState, LockState, PteBits, SwapState};

fn ids(st: &State) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = check(st).iter().map(|x| x.invariant).collect();
    v.dedup();
    v
}

/// Asserts `st` violates exactly `id` (possibly several times), and returns
/// the details for further checks.
#[track_caller]
pub(super) fn only(st: &State, id: &'static str) -> Vec<String> {
    let v = check(st);
    assert!(!v.is_empty(), "expected a {id} violation, got none");
    assert!(
        v.iter().all(|x| x.invariant == id),
        "expected only {id}, got {v:#?}"
    );
    v.into_iter().map(|x| x.detail).collect()
}

/// The fixture folio `F<id>`, to break.
pub(super) fn f(st: &mut State, id: u64) -> &mut FolioState {
    st.folios.get_mut(&FolioId(id)).expect("fixture folio")
}

#[test]
fn sample_state_passes_everything() {
    let st = sample_state();
    assert_eq!(check(&st), vec![]);
    assert_eq!(canonicalize(&st).0, st);
}

#[test]
fn ids_are_distinct() {
    let mut v = INVARIANTS.to_vec();
    v.sort();
    v.dedup();
    assert_eq!(v.len(), INVARIANTS.len());
}

#[test]
fn refs_balance() {
    let mut st = sample_state();
    f(&mut st, 3).refcount = 3;
    let d = only(&st, REFS_BALANCE);
    assert_eq!(
        d,
        vec!["F3: refcount 3 but 2 expected (pte=1 pmd=0 cache=1 swapcache=0 get=0 pin=0 lock=0)"]
    );
    // A small folio's pin counts GUP_PIN_COUNTING_BIAS.
    let mut st = sample_state();
    f(&mut st, 1).refcount = 2;
    let v = check(&st);
    assert_eq!(ids(&st), vec![REFS_BALANCE, PINCOUNT_BALANCE], "{v:#?}");
}

#[test]
fn mapcount_balance() {
    let mut st = sample_state();
    f(&mut st, 3).mapcount = 2;
    only(&st, MAPCOUNT_BALANCE);
    let mut st = sample_state();
    f(&mut st, 0).entire_mapcount = 0;
    only(&st, MAPCOUNT_BALANCE);
    let mut st = sample_state();
    f(&mut st, 3).entire_mapcount = 1;
    only(&st, MAPCOUNT_BALANCE);
    let mut st = sample_state();
    f(&mut st, 1).pincount = 1;
    only(&st, MAPCOUNT_BALANCE);
}

#[test]
fn pincount_balance() {
    let mut st = sample_state();
    f(&mut st, 0).pincount = 2;
    let d = only(&st, PINCOUNT_BALANCE);
    assert_eq!(d, vec!["F0: pincount 2 with 1 pins, refcount 4"]);
}

#[test]
fn pinned_anon_exclusive() {
    // The pinned small folio F1 loses its flag (its PTE made read-only so
    // that only the pin rule applies).
    let mut st = sample_state();
    f(&mut st, 1).anon_exclusive = vec![false];
    st.procs[0].entries[1] = run(abs(0, 512), 1, present(Level::Pte, 1, 0, false));
    let d = only(&st, PINNED_ANON_EXCLUSIVE);
    assert_eq!(
        d,
        vec!["h0 page 0: pinned anon page F1[0] not anon-exclusive"]
    );

    // Large folio: page 3 pinned, exclusive itself; page 4 pinned, only the
    // first page's flag could save it.
    let mut st = sample_state();
    st.handles[1].flags.pin = true;
    st.procs[0].entries[0] = run(abs(0, 0), 512, present(Level::Pmd, 0, 0, false));
    let big = f(&mut st, 0);
    big.pincount = 3;
    big.anon_exclusive = vec![false; 512];
    big.anon_exclusive[3] = true;
    let d = only(&st, PINNED_ANON_EXCLUSIVE);
    assert_eq!(
        d,
        vec![
            "h1 page 1: pinned anon page F0[4] not anon-exclusive",
            "i0 entry 0: pinned anon page F0[0] not anon-exclusive"
        ]
    );
    f(&mut st, 0).anon_exclusive[0] = true;
    assert_eq!(check(&st), vec![]);
}

#[test]
fn writable_anon_exclusive() {
    let mut st = sample_state();
    // Drop the pin on F1 so that only the writable PTE needs the flag.
    st.handles.remove(0);
    let small = f(&mut st, 1);
    small.refcount = 1;
    small.anon_exclusive = vec![false];
    let d = only(&st, WRITABLE_ANON_EXCLUSIVE);
    assert!(
        d[0].starts_with("p0 m0[512..513): writable PTEs of F1"),
        "{d:?}"
    );
    // PMD level: the first page's flag governs (no pin on F0 here).
    let mut st = sample_state();
    st.iommu.clear();
    let big = f(&mut st, 0);
    big.refcount = 3;
    big.pincount = 0;
    big.anon_exclusive[0] = false;
    only(&st, WRITABLE_ANON_EXCLUSIVE);
    f(&mut st, 0).anon_exclusive = vec![false; 512];
    f(&mut st, 0).anon_exclusive[0] = true;
    assert_eq!(check(&st), vec![]);
}

#[test]
fn writable_needs_vm_write() {
    let mut st = sample_state();
    st.procs[0].vmas[0].prot = Prot::R;
    let d = only(&st, WRITABLE_NEEDS_VM_WRITE);
    assert_eq!(d.len(), 2, "{d:?}");
}

#[test]
fn entries_inside_vmas() {
    let mut st = sample_state();
    st.procs[0].vmas.remove(1);
    let d = only(&st, ENTRIES_INSIDE_VMAS);
    assert_eq!(d, vec!["p0 m0[1024..1030): entries outside any VMA"]);
    // Partly covered.
    let mut st = sample_state();
    st.procs[0].vmas[1].end = abs(0, 1028);
    let d = only(&st, ENTRIES_INSIDE_VMAS);
    assert_eq!(d, vec!["p0 m0[1028..1030): entries outside any VMA"]);
}

fn huge_zero(start: u64, len: u32) -> EntryRun {
    run(
        start,
        len,
        Entry::Present {
            level: Level::Pmd,
            target: Target::HugeZero { page: 0 },
            bits: PteBits::default(),
        },
    )
}

#[test]
fn pmd_leaf_shape() {
    let mut st = sample_state();
    st.procs[0]
        .vmas
        .push(vma(abs(2, 0), abs(2, 1024), VmaKind::AnonPrivate, Prot::R));
    st.procs[0].entries.push(huge_zero(abs(2, 0), 512));
    assert_eq!(check(&st), vec![]);
    // Half a leaf.
    let mut bad = st.clone();
    bad.procs[0].entries.pop();
    bad.procs[0].entries.push(huge_zero(abs(2, 0), 256));
    only(&bad, PMD_LEAF_SHAPE);
    // Misaligned.
    let mut bad = st.clone();
    bad.procs[0].entries.pop();
    bad.procs[0].entries.push(huge_zero(abs(2, 256), 512));
    only(&bad, PMD_LEAF_SHAPE);
    // The small zero page at PMD level.
    let mut bad = st.clone();
    bad.procs[0].entries.pop();
    bad.procs[0].entries.push(run(
        abs(2, 0),
        512,
        Entry::Present {
            level: Level::Pmd,
            target: Target::Zero,
            bits: PteBits::default(),
        },
    ));
    only(&bad, PMD_LEAF_SHAPE);
    // An order the models do not have.
    let mut bad = sample_state();
    let odd = f(&mut bad, 4);
    odd.order = 2;
    odd.contents = vec![0; 4];
    odd.anon_exclusive = vec![false; 4];
    bad.zone_free[0] -= 3;
    // (its page cache now covers 4 pages, only one cached)
    let v = check(&bad);
    assert!(v.iter().any(|x| x.invariant == PMD_LEAF_SHAPE), "{v:#?}");
}

#[test]
fn zero_page_placement() {
    let mut st = sample_state();
    st.procs[0].vmas[0].kind = VmaKind::AnonShared;
    let d = only(&st, ZERO_PAGE_PLACEMENT);
    assert_eq!(d, vec!["p0 m0[513..1024): zero page in a AnonShared VMA"]);
    let mut st = sample_state();
    if let Entry::Present { bits, .. } = &mut st.procs[0].entries[2].entry {
        bits.write = true;
    }
    only(&st, ZERO_PAGE_PLACEMENT);
    // The huge zero page at PTE level.
    let mut st = sample_state();
    st.procs[0]
        .vmas
        .push(vma(abs(2, 0), abs(2, 1024), VmaKind::AnonPrivate, Prot::R));
    st.procs[0].entries.push(run(
        abs(2, 0),
        3,
        Entry::Present {
            level: Level::Pte,
            target: Target::HugeZero { page: 0 },
            bits: PteBits::default(),
        },
    ));
    only(&st, ZERO_PAGE_PLACEMENT);
}

#[test]
fn zone_accounting() {
    let mut st = sample_state();
    st.zone_free[0] += 1;
    let d = only(&st, ZONE_ACCOUNTING);
    assert_eq!(
        d,
        vec!["zone normal: 15869 free + 516 in folios != 16384 total"]
    );
    let mut st = sample_state();
    f(&mut st, 2).memory = Memory::Zone(Zone::Cma);
    assert_eq!(ids(&st), vec![ZONE_ACCOUNTING]);
    assert_eq!(check(&st).len(), 2);
}

#[test]
fn no_leaked_folio() {
    let mut st = sample_state();
    let mut lost = folio(5, 0);
    lost.refcount = 1;
    st.folios.insert(lost.id, lost);
    st.zone_free[0] -= 1;
    let d = only(&st, NO_LEAKED_FOLIO);
    assert_eq!(
        d,
        vec!["F5: no holder (not mapped, cached, held or locked) but refcount 1"]
    );
}

#[test]
fn swap_accounting() {
    let mut st = sample_state();
    st.swap.get_mut(&SwapId(1)).expect("S1").count = 2;
    let d = only(&st, SWAP_ACCOUNTING);
    assert_eq!(d, vec!["S1: count 2 but 1 swap entries"]);
    // An unused slot.
    let mut st = sample_state();
    st.swap.insert(
        SwapId(6),
        SwapState {
            id: SwapId(6),
            count: 0,
            cached: None,
            contents: 0,
        },
    );
    only(&st, SWAP_ACCOUNTING);
    // Swap cache and slot disagree.
    let mut st = sample_state();
    st.swap.get_mut(&SwapId(0)).expect("S0").cached = None;
    only(&st, SWAP_ACCOUNTING);
    let mut st = sample_state();
    st.swap.get_mut(&SwapId(1)).expect("S1").cached = Some(FolioId(2));
    only(&st, SWAP_ACCOUNTING);
    // An entry of a slot that does not exist.
    let mut st = sample_state();
    st.swap.remove(&SwapId(5));
    let d = only(&st, SWAP_ACCOUNTING);
    assert_eq!(
        d,
        vec!["p0 m0[1029]: swap entry of missing slot S5 (1 entries)"]
    );
}

#[test]
fn refcount_positive() {
    let mut st = sample_state();
    f(&mut st, 3).refcount = 0;
    only(&st, REFCOUNT_POSITIVE);
    let mut st = sample_state();
    f(&mut st, 4).mapcount = -1;
    only(&st, REFCOUNT_POSITIVE);
}

#[test]
fn page_cache_consistency() {
    let mut st = sample_state();
    f(&mut st, 4).mapping = Some((ObjId::File(crate::op::FileId(0)), 2));
    let d = only(&st, PAGE_CACHE_CONSISTENCY);
    assert_eq!(d.len(), 2, "both directions: {d:?}");
    // Cached beyond the end of the file.
    let mut st = sample_state();
    st.objects[0].pages = 1;
    let d = only(&st, PAGE_CACHE_CONSISTENCY);
    assert_eq!(d, vec!["f0[1]: cached beyond the object's 1 pages"]);
}

#[test]
fn dangling_reference() {
    let mut st = sample_state();
    st.locks.push(LockState {
        id: LockId(1),
        folio: FolioId(99),
    });
    only(&st, DANGLING_REFERENCE);
    let mut st = sample_state();
    st.handles.push(HandleState {
        id: HandleId(2),
        flags: GupFlags::default(),
        base: 0,
        pages: vec![PageRef::Folio {
            folio: FolioId(1),
            page: 1,
        }],
    });
    f(&mut st, 1).refcount += 1;
    only(&st, DANGLING_REFERENCE);
}

#[test]
fn folio_shape() {
    let mut st = sample_state();
    f(&mut st, 3).contents.clear();
    let d = only(&st, FOLIO_SHAPE);
    assert_eq!(
        d,
        vec!["F3: 1 pages but 0 contents and 1 anon-exclusive flags"]
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

    /// `check` is total: arbitrary (inconsistent) canonical states never panic it.
    #[test]
    fn check_never_panics(seed in proptest::prelude::any::<u64>()) {
        let (c, _) = canonicalize(&crate::canon::scramble::arb_abstract(seed));
        let v = check(&c);
        for x in &v {
            proptest::prop_assert!(INVARIANTS.contains(&x.invariant));
        }
    }
}
