//! The state both models expose, in one shape.
//!
//! A model builds a *raw* [`State`] with its own internal ids (folio ids,
//! swap slot ids, shm/io object ids) and any run lengths it likes.
//! [`crate::canon::canonicalize`] turns it into the *canonical* state: ids
//! renamed by first appearance in a fixed traversal order (processes, VMAs
//! and entries by address, objects, handles, locks, IOMMU
//! preregistrations), entries merged into maximal runs, folios sorted by
//! name. Two models that allocate differently but behave the same produce
//! equal canonical states; sharing and leaks stay visible.

use std::collections::BTreeMap;

use crate::op::{
    DevId, FileId, FsKind, GupFlags, HandleId, IommuId, LockId, MigrateSelect, NotifierId, ProcId,
    Prot, SessionId, Zone,
};
use crate::outcome::MigrateSrc;

/// A folio id. Raw: whatever the model uses. Canonical: `F<n>`, `n` in
/// order of first appearance; unreachable (leaked) folios come last.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct FolioId(pub u64);

/// A swap slot id. Canonical: `S<n>` by first appearance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SwapId(pub u64);

/// A memory object a VMA can map: a user file, the shmem object behind an
/// anonymous shared mapping, or the I/O memory behind a special mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ObjId {
    File(FileId),
    /// Canonical: `shm<n>` by first appearance.
    Shm(u64),
    /// Canonical: `io<n>` by first appearance.
    Io(u64),
}

/// One page as something outside the page tables (a handle, a lock, an
/// outcome) refers to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum PageRef {
    /// Page `page` (0-based inside the folio) of folio `folio`.
    Folio { folio: FolioId, page: u32 },
    /// The shared zero page.
    Zero,
    /// Page `page` of the huge zero folio.
    HugeZero { page: u32 },
}

impl PageRef {
    /// The page `n` pages after this one in a run: folio and huge-zero
    /// pages advance, the zero page repeats (as [`Target::advanced`]).
    /// Wrapping modulo 2^32: raw page indexes are the models' business,
    /// and a broken model must not make the harness overflow-panic.
    pub fn advanced(self, n: u64) -> PageRef {
        // Truncation is the modulo-2^32 reduction the wrapping add needs.
        let k = n as u32;
        match self {
            PageRef::Folio { folio, page } => PageRef::Folio {
                folio,
                page: page.wrapping_add(k),
            },
            PageRef::HugeZero { page } => PageRef::HugeZero {
                page: page.wrapping_add(k),
            },
            PageRef::Zero => PageRef::Zero,
        }
    }
}

/// Maps raw ids to canonical ids.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Renames {
    pub folios: BTreeMap<FolioId, FolioId>,
    pub swap: BTreeMap<SwapId, SwapId>,
    pub objects: BTreeMap<ObjId, ObjId>,
}

impl PageRef {
    pub fn renamed(&self, r: &Renames) -> PageRef {
        match *self {
            PageRef::Folio { folio, page } => PageRef::Folio {
                folio: r.folios.get(&folio).copied().unwrap_or(folio),
                page,
            },
            other => other,
        }
    }
}

/// Which page-table level maps an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Pte,
    /// A PMD leaf: one entry for 512 pages.
    Pmd,
}

/// Hardware and software bits of a present entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PteBits {
    pub write: bool,
    pub dirty: bool,
    pub young: bool,
    pub soft_dirty: bool,
    pub uffd_wp: bool,
}

/// What a present entry maps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    /// Page `page` of a folio.
    Folio { folio: FolioId, page: u32 },
    /// The shared zero page (a special PTE; never refcounted).
    Zero,
    /// Page `page` of the huge zero folio (PMD level only).
    HugeZero { page: u32 },
    /// Page `page` of an I/O object: a raw pfn without a struct page
    /// (`VM_IO|VM_PFNMAP`).
    Io { obj: ObjId, page: u32 },
}

impl Target {
    /// The target of the next page of a run.
    pub fn advanced(&self, n: u32) -> Target {
        // Wrapping: raw ids and indexes are the models' business, and a
        // broken model must not make the harness overflow-panic.
        match *self {
            Target::Folio { folio, page } => Target::Folio {
                folio,
                page: page.wrapping_add(n),
            },
            Target::Zero => Target::Zero,
            Target::HugeZero { page } => Target::HugeZero {
                page: page.wrapping_add(n),
            },
            Target::Io { obj, page } => Target::Io {
                obj,
                page: page.wrapping_add(n),
            },
        }
    }
}

/// The type of a migration entry (`SOFTLEAF_MIGRATION_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MigKind {
    /// Readable: the mapping was read-only and possibly shared.
    Read,
    /// Readable-exclusive: read-only but anon-exclusive.
    ReadExclusive,
    /// Writable (anon-exclusive for anon folios).
    Write,
}

/// One page-table entry (PTE level, or one page's view of a PMD leaf).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Entry {
    Present {
        level: Level,
        target: Target,
        bits: PteBits,
    },
    /// A swap entry (`SOFTLEAF_SWAP`).
    Swap {
        slot: SwapId,
        exclusive: bool,
        soft_dirty: bool,
        uffd_wp: bool,
    },
    /// A migration entry (PTE, or PMD for a whole THP): exists only while
    /// its folio is locked; an access sleeps on it.
    Migration {
        level: Level,
        target: Target,
        kind: MigKind,
        young: bool,
        dirty: bool,
        soft_dirty: bool,
        uffd_wp: bool,
    },
    /// A device-private entry (`SOFTLEAF_DEVICE_PRIVATE_READ/WRITE`; PMD
    /// level for a device-private THP).
    DevicePrivate {
        level: Level,
        target: Target,
        write: bool,
        soft_dirty: bool,
        uffd_wp: bool,
    },
    /// A device-exclusive entry (`make_device_exclusive`): the page stays
    /// mapped (mapcount and reference kept; before 6.15 only the
    /// reference) but the CPU must fault to use it. `write` is the
    /// writable variant (`SWP_DEVICE_EXCLUSIVE_WRITE`) of kernels before
    /// 6.15; from 6.15 there is one type and `write` is always false.
    DeviceExclusive {
        target: Target,
        write: bool,
        soft_dirty: bool,
        uffd_wp: bool,
    },
}

impl Entry {
    /// The entry of the page `n` pages further along a run that starts with
    /// `self`: the same kind and bits, the next page of the same target.
    pub fn advanced(&self, n: u32) -> Entry {
        match *self {
            Entry::Present {
                level,
                target,
                bits,
            } => Entry::Present {
                level,
                target: target.advanced(n),
                bits,
            },
            Entry::Swap {
                slot,
                exclusive,
                soft_dirty,
                uffd_wp,
            } => Entry::Swap {
                slot: SwapId(slot.0.wrapping_add(n as u64)),
                exclusive,
                soft_dirty,
                uffd_wp,
            },
            Entry::Migration {
                level,
                target,
                kind,
                young,
                dirty,
                soft_dirty,
                uffd_wp,
            } => Entry::Migration {
                level,
                target: target.advanced(n),
                kind,
                young,
                dirty,
                soft_dirty,
                uffd_wp,
            },
            Entry::DevicePrivate {
                level,
                target,
                write,
                soft_dirty,
                uffd_wp,
            } => Entry::DevicePrivate {
                level,
                target: target.advanced(n),
                write,
                soft_dirty,
                uffd_wp,
            },
            Entry::DeviceExclusive {
                target,
                write,
                soft_dirty,
                uffd_wp,
            } => Entry::DeviceExclusive {
                target: target.advanced(n),
                write,
                soft_dirty,
                uffd_wp,
            },
        }
    }

    /// The same entry with its target replaced (swap entries, which have
    /// none, unchanged).
    pub fn with_target(self, t: Target) -> Entry {
        match self {
            Entry::Present { level, bits, .. } => Entry::Present {
                level,
                target: t,
                bits,
            },
            Entry::Migration {
                level,
                kind,
                young,
                dirty,
                soft_dirty,
                uffd_wp,
                ..
            } => Entry::Migration {
                level,
                target: t,
                kind,
                young,
                dirty,
                soft_dirty,
                uffd_wp,
            },
            Entry::DevicePrivate {
                level,
                write,
                soft_dirty,
                uffd_wp,
                ..
            } => Entry::DevicePrivate {
                level,
                target: t,
                write,
                soft_dirty,
                uffd_wp,
            },
            Entry::DeviceExclusive {
                write,
                soft_dirty,
                uffd_wp,
                ..
            } => Entry::DeviceExclusive {
                target: t,
                write,
                soft_dirty,
                uffd_wp,
            },
            Entry::Swap { .. } => self,
        }
    }

    /// Whether this is a PMD-level leaf (present, migration or
    /// device-private): one hardware entry for 512 pages.
    pub fn is_pmd_leaf(&self) -> bool {
        matches!(
            self,
            Entry::Present {
                level: Level::Pmd,
                ..
            } | Entry::Migration {
                level: Level::Pmd,
                ..
            } | Entry::DevicePrivate {
                level: Level::Pmd,
                ..
            }
        )
    }

    /// The folio page this entry refers to (present, migration,
    /// device-private and device-exclusive entries), if any.
    pub fn folio_page(&self) -> Option<(FolioId, u32)> {
        let target = match self {
            Entry::Present { target, .. }
            | Entry::Migration { target, .. }
            | Entry::DevicePrivate { target, .. }
            | Entry::DeviceExclusive { target, .. } => target,
            Entry::Swap { .. } => return None,
        };
        match *target {
            Target::Folio { folio, page } => Some((folio, page)),
            _ => None,
        }
    }
}

/// `len` consecutive pages starting at absolute page `start`; page `start+i`
/// holds `entry.advanced(i)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntryRun {
    pub start: u64,
    pub len: u32,
    pub entry: Entry,
}

/// The VMA kinds of SPEC §2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum VmaKind {
    AnonPrivate,
    AnonShared,
    FilePrivate,
    FileShared,
    /// `VM_IO|VM_PFNMAP`.
    Special,
}

/// `MADV_HUGEPAGE` / `MADV_NOHUGEPAGE` state of a VMA.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum HugeHint {
    #[default]
    None,
    Huge,
    NoHuge,
}

/// One VMA, `[start, end)` in absolute pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VmaState {
    pub start: u64,
    pub end: u64,
    pub kind: VmaKind,
    /// The object mapped and the object page mapped at `start`.
    pub backing: Option<(ObjId, u64)>,
    pub prot: Prot,
    pub hint: HugeHint,
    /// `VM_DONTCOPY`.
    pub dontfork: bool,
    /// The zone new pages of this VMA come from.
    pub zone: Zone,
    /// Registered for userfaultfd write-protect (`VM_UFFD_WP`).
    pub uffd_wp: bool,
    /// `VM_SOFTDIRTY`: every page counts as soft-dirty (set on new VMAs,
    /// cleared by clear_refs).
    pub soft_dirty: bool,
    /// The VMA has an `anon_vma` (it had an anonymous folio mapped). Fork
    /// copies page tables only of VMAs that have one (`vma_needs_copy`).
    pub anon_vma: bool,
}

/// One process.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ProcState {
    pub id: ProcId,
    /// `MMF_HAS_PINNED`.
    pub has_pinned: bool,
    /// VMAs by address.
    pub vmas: Vec<VmaState>,
    /// Entries by address (non-none entries only).
    pub entries: Vec<EntryRun>,
}

/// A file, shmem object or I/O object.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ObjectState {
    pub id: ObjId,
    /// `None` for I/O objects.
    pub fs: Option<FsKind>,
    pub pages: u64,
    /// Page-cache folios: object page index -> (folio, page inside the folio).
    pub cache: BTreeMap<u64, (FolioId, u32)>,
    /// Contents of pages not in the page cache (on disk, in swap for tmpfs,
    /// or the I/O memory itself); pages absent here read 0.
    pub backing: BTreeMap<u64, u64>,
}

/// Where a folio's memory comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Memory {
    Zone(Zone),
    /// ZONE_DEVICE memory of a device (private or coherent, as the device is).
    Device(DevId),
}

/// One live folio.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FolioState {
    pub id: FolioId,
    /// 0 or 9.
    pub order: u8,
    pub memory: Memory,
    /// `folio_ref_count()`.
    pub refcount: i64,
    /// `folio_mapcount()`: small folios: PTE mappings; large folios:
    /// `_large_mapcount + 1` (every PTE mapping of any page plus every PMD mapping).
    pub mapcount: i64,
    /// `_entire_mapcount + 1`: PMD mappings (large folios; 0 for small).
    pub entire_mapcount: i64,
    /// `_pincount` (large folios; small folios count pins in `refcount`).
    pub pincount: i64,
    pub locked: bool,
    pub lru: bool,
    pub anon: bool,
    /// `PG_swapbacked`; an anon folio without it is lazyfree (MADV_FREE).
    pub swapbacked: bool,
    pub dirty: bool,
    /// The swap slot this folio caches (`PG_swapcache`).
    pub swapcache: Option<SwapId>,
    /// Page-cache membership: object and index of the first page.
    pub mapping: Option<(ObjId, u64)>,
    /// `PageAnonExclusive` per page.
    pub anon_exclusive: Vec<bool>,
    /// Contents per page.
    pub contents: Vec<u64>,
}

impl FolioState {
    pub fn nr_pages(&self) -> u64 {
        1u64 << self.order
    }
    pub fn is_large(&self) -> bool {
        self.order > 0
    }
    /// `folio_maybe_dma_pinned()` (include/linux/mm.h).
    pub fn maybe_dma_pinned(&self) -> bool {
        if self.is_large() {
            self.pincount > 0
        } else {
            self.refcount >= crate::GUP_PIN_COUNTING_BIAS
        }
    }
}

/// One swap slot in use.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SwapState {
    pub id: SwapId,
    /// Swap entries referring to this slot (the swap map count).
    pub count: u32,
    /// The folio caching this slot, if any.
    pub cached: Option<FolioId>,
    /// The contents written to swap.
    pub contents: u64,
}

/// A GUP handle.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HandleState {
    pub id: HandleId,
    pub flags: GupFlags,
    /// Window-relative page number of the first page (for the "index" pattern of DMA).
    pub base: u64,
    pub pages: Vec<PageRef>,
}

/// An external folio-lock holder.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LockState {
    pub id: LockId,
    pub folio: FolioId,
}

/// An IOMMU preregistration (powerpc `mm_iommu_table_group_mem_t`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PreregState {
    pub id: IommuId,
    pub proc: ProcId,
    /// Absolute page number of the first entry.
    pub start: u64,
    /// The pinned pages, one per entry.
    pub pages: Vec<PageRef>,
    /// The smallest page shift over all entries.
    pub pageshift: u8,
}

/// How a device's page table maps a page (`lib/test_hmm.c` xarray tags).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MirrorTag {
    /// Untagged: the device may read.
    Read,
    /// `DPT_XA_TAG_WRITE`: the device may write.
    Write,
    /// `DPT_XA_TAG_ATOMIC`: device-exclusive access.
    Atomic,
}

/// One device page-table entry: the page the device uses for an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MirrorEntry {
    /// Absolute page number of the address.
    pub page: u64,
    pub target: PageRef,
    pub tag: MirrorTag,
}

/// A mirror: a device opened by one process (its device page table and
/// interval notifier).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MirrorState {
    pub proc: ProcId,
    /// By address.
    pub entries: Vec<MirrorEntry>,
}

/// One device and its memory.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DeviceState {
    pub id: DevId,
    /// Pages of device memory, and how many are free.
    pub pool_total: u64,
    pub pool_free: u64,
    /// Live references of the `dev_pagemap` (one per allocated device page,
    /// `zone_device_page_init` / `free_zone_device_folio`).
    pub pgmap_refs: i64,
    /// The chunks were released (`HMM_DMIRROR_RELEASE`): no more allocations.
    pub released: bool,
    /// `HMM_DMIRROR_FLAG_FAIL_ALLOC`: the next page allocation of a
    /// migration by this device (device or system pages) fails once.
    pub fail_alloc: bool,
    /// Mirrors by process.
    pub mirrors: Vec<MirrorState>,
}

/// The phase a migration session is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MigratePhase {
    /// After `migrate_vma_setup`.
    Setup,
    /// After the driver allocated destinations.
    Allocated,
    /// After `migrate_vma_pages`.
    Migrated,
}

/// A migration session (`struct migrate_vma` between setup and finalize).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SessionState {
    pub id: SessionId,
    pub proc: ProcId,
    /// Absolute pages `[start, end)`.
    pub start: u64,
    pub end: u64,
    pub select: MigrateSelect,
    pub owner: Option<DevId>,
    /// `migrate->fault_page` (absolute page).
    pub fault_page: Option<PageRef>,
    pub phase: MigratePhase,
    pub cpages: u64,
    pub src: Vec<MigrateSrc>,
    /// `dst[]`: the locked destination page of each entry, if any.
    pub dst: Vec<Option<PageRef>>,
}

/// An interval-notifier snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NotifierState {
    pub id: NotifierId,
    pub proc: ProcId,
    /// Absolute pages `[start, end)`.
    pub start: u64,
    pub end: u64,
    /// An invalidation hit the interval since the last `read-begin`
    /// (`mmu_interval_read_retry` would say retry).
    pub stale: bool,
}

/// Everything a model exposes. See the module documentation for raw vs
/// canonical.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct State {
    /// Needed to render absolute pages as window-relative ones.
    pub window_pages: u32,
    /// Existing processes, by id.
    pub procs: Vec<ProcState>,
    /// Existing objects: files by id, then shm and io objects.
    pub objects: Vec<ObjectState>,
    /// Every live folio, reachable or not.
    pub folios: BTreeMap<FolioId, FolioState>,
    /// Every swap slot in use.
    pub swap: BTreeMap<SwapId, SwapState>,
    /// Free pages per zone, indexed by [`Zone::index`].
    pub zone_free: [u64; 3],
    /// Total pages per zone (from the config), for the accounting invariant.
    pub zone_total: [u64; 3],
    /// The kernel version whose rules made the state (from the config),
    /// for the invariants whose rules changed between versions.
    pub kernel: crate::config::KernelVersion,
    pub handles: Vec<HandleState>,
    pub locks: Vec<LockState>,
    pub iommu: Vec<PreregState>,
    pub devices: Vec<DeviceState>,
    pub sessions: Vec<SessionState>,
    pub notifiers: Vec<NotifierState>,
}

impl State {
    /// The state of a machine with no process, no memory in use and
    /// nothing held: the starting point of hand-built states.
    pub fn empty(config: &crate::Config) -> State {
        State {
            window_pages: config.window_pages,
            procs: Vec::new(),
            objects: Vec::new(),
            folios: BTreeMap::new(),
            swap: BTreeMap::new(),
            zone_free: config.zone_pages,
            zone_total: config.zone_pages,
            kernel: config.kernel,
            handles: Vec::new(),
            locks: Vec::new(),
            iommu: Vec::new(),
            devices: Vec::new(),
            sessions: Vec::new(),
            notifiers: Vec::new(),
        }
    }
}
