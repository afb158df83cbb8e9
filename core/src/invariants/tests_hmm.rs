//! The HMM invariants: each test breaks [`hmm_state`] in one way and
//! expects exactly the invariant about it.

use super::*;
use crate::canon::canonicalize;
use crate::canon::fixtures::{abs, hmm_state, present, run};
use crate::op::{DevId, GupFlags, HandleId, ProcId};
use crate::state::{HandleState, MirrorTag};

use super::tests::{f, only};

fn dev(st: &mut State, d: u8) -> &mut crate::state::DeviceState {
    st.devices
        .iter_mut()
        .find(|x| x.id == DevId(d))
        .expect("fixture device")
}

#[test]
fn hmm_state_passes_everything() {
    let st = hmm_state();
    assert_eq!(check(&st), vec![]);
    assert_eq!(canonicalize(&st).0, st);
}

#[test]
fn device_exclusive_entries_before_6_15_hold_a_reference_without_a_mapping() {
    let old = crate::config::KernelVersion::new(6, 12);
    // F2 is behind a device-exclusive entry: from 6.15 a mapping, before
    // only the reference.
    let mut st = hmm_state();
    st.kernel = old;
    only(&st, MAPCOUNT_BALANCE);
    f(&mut st, 2).mapcount = 0;
    assert_eq!(check(&st), vec![]);
    f(&mut st, 2).refcount = 2;
    assert_eq!(
        only(&st, REFS_BALANCE),
        vec!["F2: refcount 2 but 1 expected (pte=0 pmd=0 cache=0 swapcache=0 get=0 pin=0 lock=0 devexcl=1)"]
    );
}

#[test]
fn device_entries_count_as_mappings_migration_entries_do_not() {
    // Device-private PTE: one mapping, one reference.
    let mut st = hmm_state();
    f(&mut st, 0).refcount = 2;
    assert_eq!(
        only(&st, REFS_BALANCE),
        vec!["F0: refcount 2 but 1 expected (pte=1 pmd=0 cache=0 swapcache=0 get=0 pin=0 lock=0)"]
    );
    // Device-private PMD: entire_mapcount counts it.
    let mut st = hmm_state();
    f(&mut st, 5).entire_mapcount = 0;
    only(&st, MAPCOUNT_BALANCE);
    // Device-exclusive: still a mapping.
    let mut st = hmm_state();
    f(&mut st, 2).mapcount = 0;
    only(&st, MAPCOUNT_BALANCE);
    // Migration entry: not a mapping; the only reference is the session's.
    let mut st = hmm_state();
    f(&mut st, 4).mapcount = 1;
    only(&st, MAPCOUNT_BALANCE);
    let mut st = hmm_state();
    f(&mut st, 4).refcount = 2;
    assert_eq!(
        only(&st, REFS_BALANCE),
        vec!["F4: refcount 2 but 1 expected (pte=0 pmd=0 cache=0 swapcache=0 get=0 pin=0 lock=0 session=1 mig=1)"]
    );
    // A session's destination page: the driver's reference.
    let mut st = hmm_state();
    f(&mut st, 6).refcount = 2;
    only(&st, REFS_BALANCE);
    // Without the session, nothing holds the destination page.
    let mut st = hmm_state();
    st.sessions[0].dst[0] = None;
    only(&st, NO_LEAKED_FOLIO);
}

#[test]
fn migration_entry_locked() {
    let mut st = hmm_state();
    f(&mut st, 4).locked = false;
    // Not selected by the session, so only the entry's rule applies.
    st.sessions[0].src[0].migrate = false;
    assert_eq!(
        only(&st, MIGRATION_ENTRY_LOCKED),
        vec!["p0 m0[4..5): migration entry of unlocked F4"]
    );
    // The fault page is exempt from the session's lock rule (its caller
    // locks it), not from the entry's.
    let mut st = hmm_state();
    f(&mut st, 4).locked = false;
    st.sessions[0].fault_page = Some(PageRef::Folio {
        folio: FolioId(4),
        page: 0,
    });
    // The fault page carries do_swap_page's reference.
    f(&mut st, 4).refcount += 1;
    only(&st, MIGRATION_ENTRY_LOCKED);
}

#[test]
fn device_private_not_present() {
    // A present entry of device-private memory (F1 moved to dev1).
    let mut st = hmm_state();
    f(&mut st, 1).memory = Memory::Device(DevId(1));
    dev(&mut st, 1).pool_free -= 1;
    dev(&mut st, 1).pgmap_refs += 1;
    st.zone_free[0] += 1;
    assert_eq!(
        only(&st, DEVICE_PRIVATE_NOT_PRESENT),
        vec!["p0 m0[1..2): present entry of device-private F1"]
    );
    // A device-private entry of system memory (F0 moved to the normal zone).
    let mut st = hmm_state();
    f(&mut st, 0).memory = Memory::Zone(crate::op::Zone::Normal);
    dev(&mut st, 0).pool_free += 1;
    dev(&mut st, 0).pgmap_refs -= 1;
    st.zone_free[0] -= 1;
    only(&st, DEVICE_PRIVATE_NOT_PRESENT);
    // A GUP handle on device-private memory.
    let mut st = hmm_state();
    st.handles.push(HandleState {
        id: HandleId(0),
        flags: GupFlags::default(),
        base: 0,
        pages: vec![PageRef::Folio {
            folio: FolioId(0),
            page: 0,
        }],
    });
    f(&mut st, 0).refcount += 1;
    assert_eq!(
        only(&st, DEVICE_PRIVATE_NOT_PRESENT),
        vec!["h0 page 0: holds device-private F0[0]"]
    );
    // Device memory is anon.
    let mut st = hmm_state();
    f(&mut st, 3).anon = false;
    only(&st, DEVICE_PRIVATE_NOT_PRESENT);
    // Coherent memory may be mapped by present entries (F3 is dev2's).
    assert!(check(&hmm_state()).is_empty());
}

#[test]
fn device_accounting() {
    let mut st = hmm_state();
    dev(&mut st, 0).pool_free += 1;
    assert_eq!(
        only(&st, DEVICE_ACCOUNTING),
        vec!["dev0: 1535 free + 514 in folios != 2048 total"]
    );
    let mut st = hmm_state();
    dev(&mut st, 0).pgmap_refs -= 1;
    assert_eq!(
        only(&st, DEVICE_ACCOUNTING),
        vec!["dev0: 513 pgmap refs for 514 pages in folios"]
    );
    // Memory of a device the state does not have.
    let mut st = hmm_state();
    f(&mut st, 3).memory = Memory::Device(DevId(3));
    dev(&mut st, 2).pool_free += 1;
    dev(&mut st, 2).pgmap_refs -= 1;
    assert_eq!(
        only(&st, DEVICE_ACCOUNTING),
        vec!["F3: memory of missing device dev3"]
    );
}

#[test]
fn devpriv_write_exclusive() {
    let mut st = hmm_state();
    f(&mut st, 0).anon_exclusive = vec![false];
    only(&st, DEVPRIV_WRITE_EXCLUSIVE);
    // PMD level: the first page decides.
    let mut st = hmm_state();
    f(&mut st, 5).anon_exclusive[1] = false;
    assert!(check(&st).is_empty());
    f(&mut st, 5).anon_exclusive[0] = false;
    only(&st, DEVPRIV_WRITE_EXCLUSIVE);
}

#[test]
fn mirror_coherent() {
    // Write tag behind a read-only present entry.
    let mut st = hmm_state();
    st.procs[0].entries[1] = run(abs(0, 1), 1, present(Level::Pte, 1, 0, false));
    st.devices[0].mirrors[0].entries[1].tag = MirrorTag::Write;
    assert_eq!(
        only(&st, MIRROR_COHERENT),
        vec!["dev0 p0 m0[1]: write F1[0] but the process has pte F1[0] a sd"]
    );
    // A page the process does not map there.
    let mut st = hmm_state();
    st.devices[0].mirrors[0].entries[1].target = PageRef::Folio {
        folio: FolioId(2),
        page: 0,
    };
    only(&st, MIRROR_COHERENT);
    // Atomic needs a device-exclusive entry; write is not allowed on one.
    let mut st = hmm_state();
    st.devices[0].mirrors[0].entries[1].tag = MirrorTag::Atomic;
    only(&st, MIRROR_COHERENT);
    let mut st = hmm_state();
    st.devices[0].mirrors[0].entries[2].tag = MirrorTag::Write;
    only(&st, MIRROR_COHERENT);
    // Read is fine behind a device-exclusive entry.
    let mut st = hmm_state();
    st.devices[0].mirrors[0].entries[2].tag = MirrorTag::Read;
    assert!(check(&st).is_empty());
    // The page behind a migration entry only while the device's own
    // session runs.
    let mut st = hmm_state();
    st.sessions[0].owner = None;
    assert_eq!(
        only(&st, MIRROR_COHERENT),
        vec!["dev0 p0 m0[4]: write F4[0] but the process has mig pte F4[0] w d a sd"]
    );
    // A freed page.
    let mut st = hmm_state();
    st.devices[0].mirrors[0].entries[3].target = PageRef::Folio {
        folio: FolioId(99),
        page: 0,
    };
    assert_eq!(
        only(&st, MIRROR_COHERENT),
        vec!["dev0 p0 m0[4]: maps freed folio page F99[0]"]
    );
    // A mirror of a process that is gone.
    let mut st = hmm_state();
    st.devices[1].mirrors.push(crate::state::MirrorState {
        proc: ProcId(3),
        entries: vec![crate::state::MirrorEntry {
            page: abs(0, 0),
            target: PageRef::Zero,
            tag: MirrorTag::Read,
        }],
    });
    only(&st, MIRROR_COHERENT);
}

#[test]
fn session_consistent() {
    let mut st = hmm_state();
    f(&mut st, 6).locked = false;
    assert_eq!(
        only(&st, SESSION_CONSISTENT),
        vec!["s0 dst[0]: F6 not locked"]
    );
    let mut st = hmm_state();
    st.sessions[0].dst.push(None);
    assert_eq!(
        only(&st, SESSION_CONSISTENT),
        vec!["s0: 2 pages but 2 src and 3 dst entries"]
    );
    // A selected source page must be locked: here one that no entry maps
    // (so only the session rule speaks).
    let mut st = hmm_state();
    st.sessions[0].src[1].page = Some(PageRef::Folio {
        folio: FolioId(1),
        page: 0,
    });
    f(&mut st, 1).refcount += 1;
    assert_eq!(
        only(&st, SESSION_CONSISTENT),
        vec!["s0 src[1]: F1 selected but not locked"]
    );
}

#[test]
fn notifier_inside() {
    let mut st = hmm_state();
    st.notifiers[0].proc = ProcId(2);
    only(&st, NOTIFIER_INSIDE);
    let mut st = hmm_state();
    st.notifiers[0].end = st.notifiers[0].start;
    only(&st, NOTIFIER_INSIDE);
}

#[test]
fn non_present_target() {
    for target in [
        Target::Zero,
        Target::Io {
            obj: ObjId::Io(0),
            page: 0,
        },
    ] {
        let mut st = hmm_state();
        st.procs[0].entries.push(run(
            abs(0, 10),
            1,
            Entry::DevicePrivate {
                level: Level::Pte,
                target,
                write: false,
                soft_dirty: false,
                uffd_wp: false,
            },
        ));
        only(&st, NON_PRESENT_TARGET);
    }
}

#[test]
fn writable_device_entries_need_vm_write() {
    // Only the writable device-private and migration entries (F1's PTE
    // made read-only).
    let mut st = hmm_state();
    st.procs[0].vmas[0].prot = crate::op::Prot::R;
    st.procs[0].entries[1] = run(abs(0, 1), 1, present(Level::Pte, 1, 0, false));
    st.devices[0].mirrors[0].entries[0].tag = MirrorTag::Read;
    st.devices[0].mirrors[0].entries[3].tag = MirrorTag::Read;
    let d = only(&st, WRITABLE_NEEDS_VM_WRITE);
    assert_eq!(d.len(), 3, "{d:?}");
}

/// A session's fault page holds one reference more than its src[] entry
/// (do_swap_page's), and a session may outlive its process.
#[test]
fn fault_page_reference_and_orphan_session() {
    let mut st = hmm_state();
    st.sessions[0].fault_page = Some(PageRef::Folio {
        folio: FolioId(4),
        page: 0,
    });
    assert!(
        crate::invariants::check(&st)
            .iter()
            .any(|v| v.invariant == crate::invariants::REFS_BALANCE),
        "a fault page without its extra reference must break refs-balance"
    );
    f(&mut st, 4).refcount += 1;
    assert_eq!(crate::invariants::check(&st), Vec::new());
    // The process exits while the session is open: no session violation.
    st.sessions[0].proc = crate::op::ProcId(3);
    assert!(crate::invariants::check(&st)
        .iter()
        .all(|v| v.invariant != crate::invariants::SESSION_CONSISTENT));
}
