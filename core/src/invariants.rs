//! Invariants of the canonical state (reference §6), checked in both models
//! after every operation. A violation is a failure of its own kind: the
//! model broke a rule the kernel asserts or relies on, whatever the other
//! model did.
//!
//! [`check`] expects a *canonical* state ([`crate::canon::canonicalize`]):
//! entry runs are maximal, so a PMD leaf is exactly one 512-page run.
//! Violations come out in a deterministic order (folios by name, processes
//! by id, entries by address); their `detail` names the folio, process and
//! window-relative address so that a report reads without the state.
//!
//! Each root cause is reported under one id where the ids overlap: a folio
//! with no holder at all is `no-leaked-folio` (not also `refs-balance`); a
//! refcount below 1 is `refcount-positive` (not also `refs-balance`); a
//! negative mapcount is `refcount-positive` (not also `mapcount-balance`).
//!
//! # The model's accounting rule for HMM and device migration
//!
//! - A *migration entry* is neither a mapping nor a reference: while it
//!   exists the migrating code holds the folio (locked, with the session's
//!   reference below). It still counts as a holder for `no-leaked-folio`.
//! - A *device-private* or *device-exclusive* entry is a mapping exactly like
//!   a present entry: mapcount +1 and one reference per PTE; a PMD-level
//!   device-private entry is one mapping, one reference, `entire_mapcount`
//!   +1.
//! - A *migration session* (`migrate_vma_setup` .. `finalize`) holds one
//!   reference per `src[]` entry whose page is a folio page (the
//!   collect/isolation reference; a compound entry is one entry, so one
//!   reference for the whole folio), and one reference per `dst[]` page (the
//!   driver's). The fault page's folio holds one more: the reference
//!   `do_swap_page` took before calling `migrate_to_ram`, which
//!   `folio_migrate_mapping` expects (`extra`).
//! - *Mirror entries* (a device's page table) hold no reference: the
//!   interval-notifier protocol keeps them valid instead (`mirror-coherent`).

use std::collections::BTreeMap;

use crate::canon::{
    folio_name, object_name, page_label, page_ref_name, range_label, swap_name, zone_name,
};
use crate::op::{ProcId, Prot, Zone, PMD_PAGES};
use crate::state::{
    Entry, EntryRun, FolioId, FolioState, Level, Memory, MigKind, MirrorTag, ObjId, PageRef,
    ProcState, State, SwapId, Target, VmaKind, VmaState,
};
use crate::GUP_PIN_COUNTING_BIAS;

/// One broken invariant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// One of [`INVARIANTS`].
    pub invariant: &'static str,
    pub detail: String,
}

/// Every invariant id [`check`] can report.
pub const INVARIANTS: [&str; 24] = [
    REFS_BALANCE,
    MAPCOUNT_BALANCE,
    PINCOUNT_BALANCE,
    PINNED_ANON_EXCLUSIVE,
    WRITABLE_ANON_EXCLUSIVE,
    WRITABLE_NEEDS_VM_WRITE,
    ENTRIES_INSIDE_VMAS,
    PMD_LEAF_SHAPE,
    ZERO_PAGE_PLACEMENT,
    ZONE_ACCOUNTING,
    NO_LEAKED_FOLIO,
    SWAP_ACCOUNTING,
    REFCOUNT_POSITIVE,
    PAGE_CACHE_CONSISTENCY,
    DANGLING_REFERENCE,
    FOLIO_SHAPE,
    MIGRATION_ENTRY_LOCKED,
    DEVICE_PRIVATE_NOT_PRESENT,
    DEVICE_ACCOUNTING,
    DEVPRIV_WRITE_EXCLUSIVE,
    MIRROR_COHERENT,
    SESSION_CONSISTENT,
    NOTIFIER_INSIDE,
    NON_PRESENT_TARGET,
];

/// `refcount` == PTE mappings + PMD mappings + page cache (nr_pages) + swap
/// cache (nr_pages) + GUP gets + pins (1024 each on small folios, 1 on
/// large) + IOMMU pins + lock holders + session references
/// (`folio_expected_ref_count` plus the extra refs the state records).
/// Device-private and device-exclusive entries count as mappings; migration
/// entries count as nothing (see the module docs).
pub const REFS_BALANCE: &str = "refs-balance";
/// `mapcount` == PTE + PMD mappings; `entire_mapcount` == PMD mappings;
/// small folios have `entire_mapcount` 0 and `pincount` 0.
pub const MAPCOUNT_BALANCE: &str = "mapcount-balance";
/// Large folios: `pincount` == pins held; pins imply refs (large:
/// `refcount >= pincount`; small: `refcount >= 1024 * pins`).
pub const PINCOUNT_BALANCE: &str = "pincount-balance";
/// A pinned anon page is `PageAnonExclusive`, or (large folios) the
/// folio's first page is (`sanity_check_pinned_pages`).
pub const PINNED_ANON_EXCLUSIVE: &str = "pinned-anon-exclusive";
/// A writable mapping of an anon page ⇒ `PageAnonExclusive` (PMD: first page).
pub const WRITABLE_ANON_EXCLUSIVE: &str = "writable-anon-exclusive";
/// A writable entry lies in a VMA with `VM_WRITE`.
pub const WRITABLE_NEEDS_VM_WRITE: &str = "writable-needs-vm-write";
/// Every entry lies inside a VMA of its process.
pub const ENTRIES_INSIDE_VMAS: &str = "entries-inside-vmas";
/// A PMD leaf is a 512-aligned 512-page run mapping pages 0..512 of an
/// order-9 folio or of the huge zero folio; folios have order 0 or 9.
pub const PMD_LEAF_SHAPE: &str = "pmd-leaf-shape";
/// Zero and huge zero pages only in private anon VMAs, never writable; the
/// huge zero page only at PMD level.
pub const ZERO_PAGE_PLACEMENT: &str = "zero-page-placement";
/// Per zone: free + pages of live folios == total.
pub const ZONE_ACCOUNTING: &str = "zone-accounting";
/// Every live folio has a holder.
pub const NO_LEAKED_FOLIO: &str = "no-leaked-folio";
/// Slot counts match swap entries; no unused slot; swap cache and slot
/// agree both ways.
pub const SWAP_ACCOUNTING: &str = "swap-accounting";
/// `refcount >= 1` and mapcounts, pincount `>= 0`.
pub const REFCOUNT_POSITIVE: &str = "refcount-positive";
/// `object.cache[i] == (F, k)` ⇔ `F.mapping == (object, i - k)`; cached
/// pages lie inside the object.
pub const PAGE_CACHE_CONSISTENCY: &str = "page-cache-consistency";
/// A reference to a folio, page or object that does not exist.
pub const DANGLING_REFERENCE: &str = "dangling-reference";
/// Per-page vectors of a folio have `nr_pages` entries; the map key is the id.
pub const FOLIO_SHAPE: &str = "folio-shape";
/// A folio referenced by a migration entry is locked (migration entries
/// exist only under the folio lock; `remove_migration_ptes` runs before
/// the unlock).
pub const MIGRATION_ENTRY_LOCKED: &str = "migration-entry-locked";
/// Device-private memory (`dev0`, `dev1`) is never CPU-mapped: such a folio
/// is never the target of a present entry, a GUP handle or an IOMMU page;
/// device-private entries target only device-private folios; device folios
/// (private or coherent) are anon.
pub const DEVICE_PRIVATE_NOT_PRESENT: &str = "device-private-not-present";
/// Per device: free pages + pages of live folios in its memory == total,
/// and `pgmap_refs` == pages of those folios; folios live only in the
/// memory of existing devices.
pub const DEVICE_ACCOUNTING: &str = "device-accounting";
/// A writable device-private entry maps an anon-exclusive page (PMD: the
/// folio's first page), as a writable present entry would.
pub const DEVPRIV_WRITE_EXCLUSIVE: &str = "devpriv-write-exclusive";
/// Every mirror entry maps what its process maps at that address: a live
/// folio page (or the zero page) behind a present, device-private or
/// device-exclusive entry; `atomic` only behind a device-exclusive entry;
/// `write` only behind a writable present or device-private entry. While a
/// session owned by the device covers the address, the page behind a
/// migration entry (writable for `write`) also counts.
pub const MIRROR_COHERENT: &str = "mirror-coherent";
/// A session's `src` and `dst` have one entry per page of its range, its
/// process exists, its `src` pages with `migrate` set are locked (the fault
/// page is locked by its caller) and its `dst` pages are locked.
pub const SESSION_CONSISTENT: &str = "session-consistent";
/// A notifier's range is non-empty and its process exists.
pub const NOTIFIER_INSIDE: &str = "notifier-inside";
/// Migration, device-private and device-exclusive entries refer to a
/// struct page of a folio: never the zero pages nor a raw pfn.
pub const NON_PRESENT_TARGET: &str = "non-present-target";

/// Who holds a folio, as counted for the balance invariants.
#[derive(Clone, Copy, Debug, Default)]
struct Holders {
    /// PTE-level mappings: present, device-private and device-exclusive.
    pte: i64,
    /// PMD-level mappings: present and device-private leaves.
    pmd: i64,
    cache: i64,
    swapcache: i64,
    gets: i64,
    pins: i64,
    locks: i64,
    /// Session references: `src[]` folio pages and `dst[]` pages.
    sessions: i64,
    /// Pages behind migration entries: holders without a reference.
    migration: i64,
    /// Device-exclusive entries before 6.15: a reference without a mapping.
    exclusive: i64,
}

impl Holders {
    fn any(&self) -> bool {
        self.pte
            + self.pmd
            + self.cache
            + self.swapcache
            + self.gets
            + self.pins
            + self.locks
            + self.sessions
            + self.migration
            + self.exclusive
            > 0
    }
    fn expected_refs(&self, large: bool) -> i64 {
        let pin = if large { 1 } else { GUP_PIN_COUNTING_BIAS };
        self.pte
            + self.pmd
            + self.cache
            + self.swapcache
            + self.gets
            + self.locks
            + self.sessions
            + self.exclusive
            + self.pins * pin
    }
    fn describe(&self) -> String {
        let mut s = format!(
            "pte={} pmd={} cache={} swapcache={} get={} pin={} lock={}",
            self.pte, self.pmd, self.cache, self.swapcache, self.gets, self.pins, self.locks
        );
        // Only when present, so existing reports read as before.
        if self.sessions != 0 || self.migration != 0 {
            s.push_str(&format!(
                " session={} mig={}",
                self.sessions, self.migration
            ));
        }
        if self.exclusive != 0 {
            s.push_str(&format!(" devexcl={}", self.exclusive));
        }
        s
    }
}

struct Checker<'a> {
    st: &'a State,
    out: Vec<Violation>,
    holders: BTreeMap<FolioId, Holders>,
}

/// `p0 m0[3..5)`: a process and a page range, displayed on demand.
pub(crate) struct At {
    proc: ProcId,
    window_pages: u32,
    start: u64,
    len: u64,
}

impl std::fmt::Display for At {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}",
            self.proc,
            range_label(self.window_pages, self.start, self.len)
        )
    }
}

impl<'a> Checker<'a> {
    fn report(&mut self, invariant: &'static str, detail: String) {
        self.out.push(Violation { invariant, detail });
    }

    /// Where an entry run is, for a violation's detail; formatted only
    /// when a violation is reported (checking runs after every op).
    fn at(&self, p: &ProcState, start: u64, len: u64) -> At {
        At {
            proc: p.id,
            window_pages: self.st.window_pages,
            start,
            len,
        }
    }

    fn folio(&self, f: FolioId) -> Option<&'a FolioState> {
        self.st.folios.get(&f)
    }

    fn holders(&mut self, f: FolioId) -> &mut Holders {
        self.holders.entry(f).or_default()
    }
}

/// Check every invariant of a canonical state.
pub fn check(state: &State) -> Vec<Violation> {
    let mut c = Checker {
        st: state,
        out: Vec::new(),
        holders: BTreeMap::new(),
    };
    folio_shapes(&mut c);
    for p in &state.procs {
        for v in &p.vmas {
            if let Some((obj, _)) = v.backing {
                if !state.objects.iter().any(|o| o.id == obj) {
                    let at = c.at(p, v.start, v.end.saturating_sub(v.start));
                    c.report(
                        DANGLING_REFERENCE,
                        format!("{at}: VMA backed by missing object {}", object_name(obj)),
                    );
                }
            }
        }
        for r in &p.entries {
            entries::entry_run(&mut c, p, r);
        }
    }
    accounting::external_holders(&mut c);
    hmm::sessions(&mut c);
    accounting::folio_balances(&mut c);
    accounting::zones(&mut c);
    hmm::devices(&mut c);
    accounting::swap(&mut c);
    accounting::page_cache(&mut c);
    hmm::mirrors(&mut c);
    hmm::notifiers(&mut c);
    c.out
}

fn folio_shapes(c: &mut Checker) {
    for (key, f) in &c.st.folios {
        let name = folio_name(f.id);
        if *key != f.id {
            c.report(
                FOLIO_SHAPE,
                format!("{name}: stored under {}", folio_name(*key)),
            );
        }
        if f.order != 0 && f.order != 9 {
            c.report(
                PMD_LEAF_SHAPE,
                format!("{name}: order {} (only 0 and 9 exist)", f.order),
            );
        }
        let nr = f.nr_pages();
        if f.contents.len() as u64 != nr || f.anon_exclusive.len() as u64 != nr {
            c.report(
                FOLIO_SHAPE,
                format!(
                    "{name}: {nr} pages but {} contents and {} anon-exclusive flags",
                    f.contents.len(),
                    f.anon_exclusive.len()
                ),
            );
        }
    }
}

mod accounting;
mod entries;
mod hmm;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_hmm;
