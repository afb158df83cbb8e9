//! The op language: every operation a scenario, a fuzzer or a test can ask a
//! model to perform.
//!
//! Every operation names its objects by slot number (processes `p0..p3`,
//! mapping windows `m0..m7`, files `f0..f3`, GUP handles `h0..h15`, external
//! folio locks `x0..x3`, IOMMU preregistrations `i0..i3`). An operation on an
//! empty slot is a defined result (`ENOENT`) that changes nothing, so deleting
//! any operation from a valid sequence leaves a valid sequence: this is what
//! makes op-level minimization sound.
//!
//! Page numbers in ops are relative to the start of a mapping window; the
//! window size is part of [`crate::config::Config`].

/// Number of process slots (`p0..p3`).
pub const PROCS: u8 = 4;
/// Number of mapping windows (`m0..m7`).
pub const SLOTS: u8 = 8;
/// Number of file slots (`f0..f3`).
pub const FILES: u8 = 4;
/// Number of GUP handle slots (`h0..h15`).
pub const HANDLES: u8 = 16;
/// Number of external folio-lock holders (`x0..x3`).
pub const LOCKS: u8 = 4;
/// Number of IOMMU preregistration slots (`i0..i3`).
pub const IOMMUS: u8 = 4;
/// Number of devices: `dev0`, `dev1` device-private, `dev2`, `dev3`
/// device-coherent (as `lib/test_hmm.c` creates them).
pub const DEVICES: u8 = 4;
/// Number of interval-notifier snapshot slots (`n0..n3`).
pub const NOTIFIERS: u8 = 4;
/// Number of migration session slots (`s0..s3`).
pub const SESSIONS: u8 = 4;
/// Largest page number (exclusive) any op may name inside a window. Ops
/// naming pages beyond the configured window fail with `EINVAL`; this bound
/// only keeps every input finite.
pub const MAX_PAGE: u32 = 1 << 20;
/// Pages covered by one PMD (x86-64, 4 KiB pages).
pub const PMD_PAGES: u32 = 512;

macro_rules! slot_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $count:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
        pub struct $name(pub u8);

        impl $name {
            /// The text prefix of this slot kind (`p`, `m`, `dev`, ...).
            pub const PREFIX: &'static str = $prefix;
            /// How many slots of this kind exist.
            pub const COUNT: u8 = $count;
            /// Every slot of this kind, in order.
            pub fn all() -> impl Iterator<Item = $name> {
                (0..$count).map($name)
            }
            /// The slot's index as a `usize`, for array indexing.
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}{}", $prefix, self.0)
            }
        }
    };
}

slot_id!(
    /// A process slot `p0..p3`.
    ProcId, "p", PROCS
);
slot_id!(
    /// A mapping window `m0..m7`: a fixed, PMD-aligned address range.
    SlotId, "m", SLOTS
);
slot_id!(
    /// A file slot `f0..f3`.
    FileId, "f", FILES
);
slot_id!(
    /// A GUP handle `h0..h15`: the pages one `get_user_pages`/`pin_user_pages` call returned.
    HandleId, "h", HANDLES
);
slot_id!(
    /// An external folio-lock holder `x0..x3` (other kernel code holding a folio lock and a reference).
    LockId, "x", LOCKS
);
slot_id!(
    /// A powerpc-style IOMMU preregistration `i0..i3` (seed 000).
    IommuId, "i", IOMMUS
);

slot_id!(
    /// A device `dev0..dev3`: 0 and 1 device-private, 2 and 3 device-coherent.
    DevId, "dev", DEVICES
);
slot_id!(
    /// An interval-notifier snapshot `n0..n3` (`mmu_interval_notifier` plus
    /// the sequence of the last `read-begin`).
    NotifierId, "n", NOTIFIERS
);
slot_id!(
    /// A migration session `s0..s3`: one `struct migrate_vma` between
    /// `migrate_vma_setup` and `migrate_vma_finalize`.
    SessionId, "s", SESSIONS
);

impl DevId {
    /// `MEMORY_DEVICE_COHERENT` (dev2, dev3); otherwise `MEMORY_DEVICE_PRIVATE`.
    pub fn coherent(self) -> bool {
        self.0 >= 2
    }
}

/// What an `hmm-fault` asks for a page (`HMM_PFN_REQ_FAULT`,
/// `HMM_PFN_REQ_WRITE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum HmmReq {
    /// Snapshot only: report what is there, fault nothing.
    #[default]
    None,
    /// `HMM_PFN_REQ_FAULT`: make the page valid (readable).
    Fault,
    /// `HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE`: make it valid and writable.
    Write,
}

/// `enum migrate_vma_direction` selection flags of a `migrate-setup`, plus
/// seed 004's `MIGRATE_VMA_FAULT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct MigrateSelect {
    /// `MIGRATE_VMA_SELECT_SYSTEM`.
    pub system: bool,
    /// `MIGRATE_VMA_SELECT_DEVICE_PRIVATE`.
    pub private: bool,
    /// `MIGRATE_VMA_SELECT_DEVICE_COHERENT`.
    pub coherent: bool,
    /// `MIGRATE_VMA_SELECT_COMPOUND`.
    pub compound: bool,
    /// `MIGRATE_VMA_FAULT` (seed 004, unmerged): fault not-valid entries in
    /// first, through the HMM walk.
    pub fault: bool,
}

/// Where `migrate-alloc` gets destination pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MigrateDest {
    /// Device memory of this device (`zone_device_page_init`).
    Device(DevId),
    /// System memory (`alloc_page`, as `migrate_to_ram` does).
    System,
}

/// A half-open page range `[start, end)` inside one mapping window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PageRange {
    pub slot: SlotId,
    pub start: u32,
    pub end: u32,
}

impl PageRange {
    pub fn new(slot: SlotId, start: u32, end: u32) -> Self {
        PageRange { slot, start, end }
    }
    pub fn len(&self) -> u32 {
        self.end.saturating_sub(self.start)
    }
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }
}

/// One page inside one mapping window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PageAt {
    pub slot: SlotId,
    pub page: u32,
}

/// What an `mmap` maps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MapKind {
    /// `MAP_PRIVATE|MAP_ANONYMOUS`: the only kind `vma_is_anonymous()` accepts.
    Anon,
    /// `MAP_SHARED|MAP_ANONYMOUS`: shmem-backed, *not* anonymous for migrate/HMM rules.
    AnonShared,
    /// `MAP_PRIVATE` of a file: page cache pages, COWed into anon pages on write.
    FilePrivate(FileId),
    /// `MAP_SHARED` of a file: page cache pages written in place.
    FileShared(FileId),
    /// A driver mapping with `VM_IO|VM_PFNMAP`: raw pfns without struct pages.
    Special,
}

/// Protection of a VMA (`PROT_NONE`, `PROT_READ`, `PROT_READ|PROT_WRITE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Prot {
    None,
    R,
    RW,
}

impl Prot {
    pub fn readable(self) -> bool {
        !matches!(self, Prot::None)
    }
    pub fn writable(self) -> bool {
        matches!(self, Prot::RW)
    }
}

/// A physical memory zone new pages of a VMA come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Zone {
    Normal,
    /// `ZONE_MOVABLE`: not long-term pinnable.
    Movable,
    /// CMA pageblocks: not long-term pinnable.
    Cma,
}

impl Zone {
    pub const ALL: [Zone; 3] = [Zone::Normal, Zone::Movable, Zone::Cma];
    pub fn index(self) -> usize {
        match self {
            Zone::Normal => 0,
            Zone::Movable => 1,
            Zone::Cma => 2,
        }
    }
    /// `folio_is_longterm_pinnable()` for ordinary memory (include/linux/mm.h).
    pub fn longterm_pinnable(self) -> bool {
        matches!(self, Zone::Normal)
    }
}

/// `madvise()` advice values that the models implement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Advice {
    DontNeed,
    Free,
    HugePage,
    NoHugePage,
    Collapse,
    PageOut,
    DontFork,
    DoFork,
}

impl Advice {
    pub const ALL: [Advice; 8] = [
        Advice::DontNeed,
        Advice::Free,
        Advice::HugePage,
        Advice::NoHugePage,
        Advice::Collapse,
        Advice::PageOut,
        Advice::DontFork,
        Advice::DoFork,
    ];
}

/// The filesystem a file lives on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FsKind {
    /// shmem: no writeback, no dirty tracking through write-notify.
    Tmpfs,
    /// A writeback filesystem: shared writable mappings need dirty tracking,
    /// so `FOLL_LONGTERM|FOLL_WRITE` pins of them fail (`writable_file_mapping_allowed`).
    Ext4,
}

/// The value written to each page of a range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fill {
    /// Every page gets the same value.
    Const(u64),
    /// Page `i` (window-relative page number, or handle base + index for DMA)
    /// gets `i + offset`: the selftests' "index" pattern.
    Index(u64),
}

impl Fill {
    /// The value this fill puts into the page numbered `page`.
    pub fn value_at(self, page: u64) -> u64 {
        match self {
            Fill::Const(v) => v,
            Fill::Index(k) => page.wrapping_add(k),
        }
    }
}

/// Flags of one `gup` op: which GUP entry point, and its `FOLL_*` flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct GupFlags {
    /// `FOLL_PIN` (`pin_user_pages*`); otherwise `FOLL_GET` (`get_user_pages*`).
    pub pin: bool,
    /// `FOLL_WRITE`.
    pub write: bool,
    /// `FOLL_LONGTERM` (only valid with `pin`).
    pub longterm: bool,
    /// The `*_fast` entry point: lockless walk first, slow path for the rest.
    pub fast: bool,
    /// `FOLL_FORCE`.
    pub force: bool,
    /// `FOLL_NOFAULT`.
    pub nofault: bool,
}

/// One operation.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// `mmap(MAP_FIXED)` of `pages` pages at page `at` of window `slot`;
    /// `foff` is the file page offset for file mappings.
    Mmap {
        p: ProcId,
        slot: SlotId,
        at: u32,
        pages: u32,
        kind: MapKind,
        prot: Prot,
        zone: Zone,
        foff: u32,
    },
    Munmap {
        p: ProcId,
        range: PageRange,
    },
    Mprotect {
        p: ProcId,
        range: PageRange,
        prot: Prot,
    },
    Madvise {
        p: ProcId,
        range: PageRange,
        advice: Advice,
    },
    /// `mremap(MREMAP_MAYMOVE|MREMAP_FIXED)` of `range` to start at `to`, same size.
    Mremap {
        p: ProcId,
        range: PageRange,
        to: PageAt,
    },
    Fork {
        p: ProcId,
        child: ProcId,
    },
    Exit {
        p: ProcId,
    },
    /// Create file slot `f` with `pages` pages (a sparse file: pages read 0).
    File {
        f: FileId,
        fs: FsKind,
        pages: u32,
    },
    /// CPU reads of one value from every page of the range, in order.
    Read {
        p: ProcId,
        range: PageRange,
    },
    /// CPU writes of one value to every page of the range, in order.
    Write {
        p: ProcId,
        range: PageRange,
        fill: Fill,
    },
    /// `echo 4 > /proc/PID/clear_refs`.
    ClearSoftDirty {
        p: ProcId,
    },
    /// `UFFDIO_WRITEPROTECT` over the range (registering the VMAs for WP first).
    UffdWp {
        p: ProcId,
        range: PageRange,
        on: bool,
    },
    /// A GUP call over the range; the pages it returns go into handle `h`.
    Gup {
        p: ProcId,
        range: PageRange,
        h: HandleId,
        flags: GupFlags,
    },
    /// Release every page of handle `h` with the API matching how it was
    /// taken: `unpin_user_pages_dirty_lock(.., dirty)` for pins, `put_page`
    /// (after `set_page_dirty_lock` if `dirty`) for gets.
    Release {
        h: HandleId,
        dirty: bool,
    },
    /// What a device reads through the pages of handle `h`, indices `[start, end)`.
    DmaRead {
        h: HandleId,
        start: u32,
        end: u32,
    },
    /// A device writing through the pages of handle `h`, indices `[start, end)`.
    DmaWrite {
        h: HandleId,
        start: u32,
        end: u32,
        fill: Fill,
    },
    /// Global reclaim: swap out / write back / drop everything that can be.
    Reclaim,
    /// Split the large folio mapped at `at` (`split_huge_page` via debugfs).
    SplitThp {
        p: ProcId,
        at: PageAt,
    },
    /// Other kernel code takes a reference on and locks the folio mapped at `at`.
    Lock {
        x: LockId,
        p: ProcId,
        at: PageAt,
    },
    Unlock {
        x: LockId,
    },
    /// `alloc_contig_range()` over the CMA area: migrate every in-use folio out.
    CmaEvacuate,
    /// The next allocation from `zone` fails once.
    FailAlloc {
        zone: Zone,
    },
    /// `mm_iommu_new()`: long-term pin the range for IOMMU use (seed 000).
    IommuPrereg {
        i: IommuId,
        p: ProcId,
        range: PageRange,
    },
    /// `mm_iommu_ua_to_hpa()` for entry `index` of a preregistration.
    IommuTranslate {
        i: IommuId,
        index: u32,
    },
    /// `mm_iommu_put()`: unpin everything of a preregistration.
    IommuUnreg {
        i: IommuId,
    },
    /// `hmm_range_fault()` over the range: `req` is `default_flags`;
    /// `page_req` gives pages `[start, end)` (window-relative) their own
    /// input flags (`pfn_flags_mask` = REQ_FAULT|REQ_WRITE); `owner` is
    /// `dev_private_owner`; `seq` checks a notifier snapshot first
    /// (`mmu_interval_check_retry`).
    HmmFault {
        p: ProcId,
        range: PageRange,
        req: HmmReq,
        page_req: Option<(u32, u32, HmmReq)>,
        owner: Option<DevId>,
        seq: Option<NotifierId>,
    },
    /// `mmu_interval_notifier_insert()` over the range, then
    /// `mmu_interval_read_begin()`.
    Notifier {
        n: NotifierId,
        p: ProcId,
        range: PageRange,
    },
    /// `mmu_interval_read_begin()` again.
    ReadBegin {
        n: NotifierId,
    },
    /// `mmu_interval_read_retry()`: `ok 1` when an invalidation hit the
    /// interval since `read-begin`, `ok 0` otherwise.
    ReadRetry {
        n: NotifierId,
    },
    /// `migrate_vma_setup()`: collect and unmap; `owner` is `pgmap_owner`;
    /// `fault_page` (window-relative, same window) is `migrate_vma.fault_page`
    /// (a device-private page, locked by the caller as `do_swap_page` does).
    MigrateSetup {
        s: SessionId,
        p: ProcId,
        range: PageRange,
        select: MigrateSelect,
        owner: Option<DevId>,
        fault_page: Option<u32>,
    },
    /// The driver's part between setup and pages: a locked destination page
    /// for every selected entry, with the data copied. Entries `[start, end)`
    /// of `fail` (session-relative) are declined (allocation failure);
    /// `split` allocates base pages for compound entries.
    MigrateAlloc {
        s: SessionId,
        dest: MigrateDest,
        fail: Option<(u32, u32)>,
        split: bool,
    },
    /// `migrate_vma_pages()`.
    MigratePages {
        s: SessionId,
    },
    /// `migrate_vma_finalize()`; the session ends.
    MigrateFinalize {
        s: SessionId,
    },
    /// `HMM_DMIRROR_READ`: the device reads the range through its mirror,
    /// faulting missing entries with `hmm_range_fault`.
    DevRead {
        d: DevId,
        p: ProcId,
        range: PageRange,
    },
    /// `HMM_DMIRROR_WRITE`.
    DevWrite {
        d: DevId,
        p: ProcId,
        range: PageRange,
        fill: Fill,
    },
    /// `HMM_DMIRROR_MIGRATE_TO_DEV`.
    MigrateToDev {
        d: DevId,
        p: ProcId,
        range: PageRange,
    },
    /// `HMM_DMIRROR_MIGRATE_TO_SYS`.
    MigrateToSys {
        d: DevId,
        p: ProcId,
        range: PageRange,
    },
    /// `HMM_DMIRROR_SNAPSHOT`: one `HMM_DMIRROR_PROT_*` byte per page.
    DevSnapshot {
        d: DevId,
        p: ProcId,
        range: PageRange,
    },
    /// `HMM_DMIRROR_EXCLUSIVE` (`make_device_exclusive`).
    DevExclusive {
        d: DevId,
        p: ProcId,
        range: PageRange,
    },
    /// `HMM_DMIRROR_CHECK_EXCLUSIVE`.
    DevCheckExclusive {
        d: DevId,
        p: ProcId,
        range: PageRange,
    },
    /// `HMM_DMIRROR_RELEASE`: evict every device page, then unmap the chunks.
    DevRelease {
        d: DevId,
    },
    /// `HMM_DMIRROR_FLAGS` with `HMM_DMIRROR_FLAG_FAIL_ALLOC`: the next
    /// allocation of a migration by this device fails once.
    DevFailAlloc {
        d: DevId,
    },
    /// Closing the mirror of process `p` on device `d`: its device table and
    /// notifier go, and the device's pages are evicted to system memory.
    DevClose {
        d: DevId,
        p: ProcId,
    },
}

/// The kind of an op, without its arguments: for statistics, swarm weights
/// and divergence signatures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum OpKind {
    Mmap,
    Munmap,
    Mprotect,
    Madvise,
    Mremap,
    Fork,
    Exit,
    File,
    Read,
    Write,
    ClearSoftDirty,
    UffdWp,
    Gup,
    Release,
    DmaRead,
    DmaWrite,
    Reclaim,
    SplitThp,
    Lock,
    Unlock,
    CmaEvacuate,
    FailAlloc,
    IommuPrereg,
    IommuTranslate,
    IommuUnreg,
    HmmFault,
    Notifier,
    ReadBegin,
    ReadRetry,
    MigrateSetup,
    MigrateAlloc,
    MigratePages,
    MigrateFinalize,
    DevRead,
    DevWrite,
    MigrateToDev,
    MigrateToSys,
    DevSnapshot,
    DevExclusive,
    DevCheckExclusive,
    DevRelease,
    DevFailAlloc,
    DevClose,
}

impl OpKind {
    pub const ALL: [OpKind; 43] = [
        OpKind::Mmap,
        OpKind::Munmap,
        OpKind::Mprotect,
        OpKind::Madvise,
        OpKind::Mremap,
        OpKind::Fork,
        OpKind::Exit,
        OpKind::File,
        OpKind::Read,
        OpKind::Write,
        OpKind::ClearSoftDirty,
        OpKind::UffdWp,
        OpKind::Gup,
        OpKind::Release,
        OpKind::DmaRead,
        OpKind::DmaWrite,
        OpKind::Reclaim,
        OpKind::SplitThp,
        OpKind::Lock,
        OpKind::Unlock,
        OpKind::CmaEvacuate,
        OpKind::FailAlloc,
        OpKind::IommuPrereg,
        OpKind::IommuTranslate,
        OpKind::IommuUnreg,
        OpKind::HmmFault,
        OpKind::Notifier,
        OpKind::ReadBegin,
        OpKind::ReadRetry,
        OpKind::MigrateSetup,
        OpKind::MigrateAlloc,
        OpKind::MigratePages,
        OpKind::MigrateFinalize,
        OpKind::DevRead,
        OpKind::DevWrite,
        OpKind::MigrateToDev,
        OpKind::MigrateToSys,
        OpKind::DevSnapshot,
        OpKind::DevExclusive,
        OpKind::DevCheckExclusive,
        OpKind::DevRelease,
        OpKind::DevFailAlloc,
        OpKind::DevClose,
    ];

    /// The op's keyword in scenario text.
    pub fn keyword(self) -> &'static str {
        match self {
            OpKind::Mmap => "mmap",
            OpKind::Munmap => "munmap",
            OpKind::Mprotect => "mprotect",
            OpKind::Madvise => "madvise",
            OpKind::Mremap => "mremap",
            OpKind::Fork => "fork",
            OpKind::Exit => "exit",
            OpKind::File => "file",
            OpKind::Read => "read",
            OpKind::Write => "write",
            OpKind::ClearSoftDirty => "clear-soft-dirty",
            OpKind::UffdWp => "uffd-wp",
            OpKind::Gup => "gup",
            OpKind::Release => "release",
            OpKind::DmaRead => "dma-read",
            OpKind::DmaWrite => "dma-write",
            OpKind::Reclaim => "reclaim",
            OpKind::SplitThp => "split-thp",
            OpKind::Lock => "lock",
            OpKind::Unlock => "unlock",
            OpKind::CmaEvacuate => "cma-evacuate",
            OpKind::FailAlloc => "fail-alloc",
            OpKind::IommuPrereg => "iommu-prereg",
            OpKind::IommuTranslate => "iommu-translate",
            OpKind::IommuUnreg => "iommu-unreg",
            OpKind::HmmFault => "hmm-fault",
            OpKind::Notifier => "notifier",
            OpKind::ReadBegin => "read-begin",
            OpKind::ReadRetry => "read-retry",
            OpKind::MigrateSetup => "migrate-setup",
            OpKind::MigrateAlloc => "migrate-alloc",
            OpKind::MigratePages => "migrate-pages",
            OpKind::MigrateFinalize => "migrate-finalize",
            OpKind::DevRead => "dev-read",
            OpKind::DevWrite => "dev-write",
            OpKind::MigrateToDev => "migrate-to-dev",
            OpKind::MigrateToSys => "migrate-to-sys",
            OpKind::DevSnapshot => "dev-snapshot",
            OpKind::DevExclusive => "dev-exclusive",
            OpKind::DevCheckExclusive => "dev-check-exclusive",
            OpKind::DevRelease => "dev-release",
            OpKind::DevFailAlloc => "dev-fail-alloc",
            OpKind::DevClose => "dev-close",
        }
    }

    pub fn from_keyword(word: &str) -> Option<OpKind> {
        OpKind::ALL.iter().copied().find(|k| k.keyword() == word)
    }
}

impl Op {
    /// The page range the op works on, if it has one (`mremap`: the
    /// source; `hmm-fault`, `migrate-setup`: the whole range).
    pub fn range(&self) -> Option<PageRange> {
        let mut op = self.clone();
        op.range_mut().copied()
    }

    /// The op's page range, to change in place; see [`Op::range`].
    pub fn range_mut(&mut self) -> Option<&mut PageRange> {
        match self {
            Op::Munmap { range, .. }
            | Op::Mprotect { range, .. }
            | Op::Madvise { range, .. }
            | Op::Mremap { range, .. }
            | Op::Read { range, .. }
            | Op::Write { range, .. }
            | Op::UffdWp { range, .. }
            | Op::Gup { range, .. }
            | Op::IommuPrereg { range, .. }
            | Op::HmmFault { range, .. }
            | Op::Notifier { range, .. }
            | Op::MigrateSetup { range, .. }
            | Op::DevRead { range, .. }
            | Op::DevWrite { range, .. }
            | Op::MigrateToDev { range, .. }
            | Op::MigrateToSys { range, .. }
            | Op::DevSnapshot { range, .. }
            | Op::DevExclusive { range, .. }
            | Op::DevCheckExclusive { range, .. } => Some(range),
            _ => None,
        }
    }

    pub fn kind(&self) -> OpKind {
        match self {
            Op::Mmap { .. } => OpKind::Mmap,
            Op::Munmap { .. } => OpKind::Munmap,
            Op::Mprotect { .. } => OpKind::Mprotect,
            Op::Madvise { .. } => OpKind::Madvise,
            Op::Mremap { .. } => OpKind::Mremap,
            Op::Fork { .. } => OpKind::Fork,
            Op::Exit { .. } => OpKind::Exit,
            Op::File { .. } => OpKind::File,
            Op::Read { .. } => OpKind::Read,
            Op::Write { .. } => OpKind::Write,
            Op::ClearSoftDirty { .. } => OpKind::ClearSoftDirty,
            Op::UffdWp { .. } => OpKind::UffdWp,
            Op::Gup { .. } => OpKind::Gup,
            Op::Release { .. } => OpKind::Release,
            Op::DmaRead { .. } => OpKind::DmaRead,
            Op::DmaWrite { .. } => OpKind::DmaWrite,
            Op::Reclaim => OpKind::Reclaim,
            Op::SplitThp { .. } => OpKind::SplitThp,
            Op::Lock { .. } => OpKind::Lock,
            Op::Unlock { .. } => OpKind::Unlock,
            Op::CmaEvacuate => OpKind::CmaEvacuate,
            Op::FailAlloc { .. } => OpKind::FailAlloc,
            Op::IommuPrereg { .. } => OpKind::IommuPrereg,
            Op::IommuTranslate { .. } => OpKind::IommuTranslate,
            Op::IommuUnreg { .. } => OpKind::IommuUnreg,
            Op::HmmFault { .. } => OpKind::HmmFault,
            Op::Notifier { .. } => OpKind::Notifier,
            Op::ReadBegin { .. } => OpKind::ReadBegin,
            Op::ReadRetry { .. } => OpKind::ReadRetry,
            Op::MigrateSetup { .. } => OpKind::MigrateSetup,
            Op::MigrateAlloc { .. } => OpKind::MigrateAlloc,
            Op::MigratePages { .. } => OpKind::MigratePages,
            Op::MigrateFinalize { .. } => OpKind::MigrateFinalize,
            Op::DevRead { .. } => OpKind::DevRead,
            Op::DevWrite { .. } => OpKind::DevWrite,
            Op::MigrateToDev { .. } => OpKind::MigrateToDev,
            Op::MigrateToSys { .. } => OpKind::MigrateToSys,
            Op::DevSnapshot { .. } => OpKind::DevSnapshot,
            Op::DevExclusive { .. } => OpKind::DevExclusive,
            Op::DevCheckExclusive { .. } => OpKind::DevCheckExclusive,
            Op::DevRelease { .. } => OpKind::DevRelease,
            Op::DevFailAlloc { .. } => OpKind::DevFailAlloc,
            Op::DevClose { .. } => OpKind::DevClose,
        }
    }
}

impl Op {
    /// The op domain: every op the text parser accepts, the byte decoder
    /// can produce and the encoder can encode. Slot ids are in range, page
    /// ranges are non-empty and end at or below [`MAX_PAGE`], sizes are
    /// positive. Whether a range fits the configured window is *not* part of
    /// the domain: that is an `EINVAL` outcome.
    pub fn validate(&self) -> Result<(), String> {
        fn range(r: &PageRange) -> Result<(), String> {
            slot(r.slot)?;
            if r.start >= r.end {
                return Err(format!("empty page range {}..{}", r.start, r.end));
            }
            if r.end > MAX_PAGE {
                return Err(format!("page range end {} exceeds {MAX_PAGE}", r.end));
            }
            Ok(())
        }
        fn slot(s: SlotId) -> Result<(), String> {
            check(s.0, SlotId::COUNT, "mapping window")
        }
        fn page(p: u32) -> Result<(), String> {
            if p >= MAX_PAGE {
                return Err(format!("page {p} exceeds {}", MAX_PAGE - 1));
            }
            Ok(())
        }
        fn size(n: u32) -> Result<(), String> {
            if n == 0 || n > MAX_PAGE {
                return Err(format!("size {n} not in 1..={MAX_PAGE}"));
            }
            Ok(())
        }
        fn check(v: u8, count: u8, what: &str) -> Result<(), String> {
            if v >= count {
                return Err(format!("{what} {v} out of range 0..{count}"));
            }
            Ok(())
        }
        fn at(a: &PageAt) -> Result<(), String> {
            slot(a.slot)?;
            page(a.page)
        }
        fn proc(p: ProcId) -> Result<(), String> {
            check(p.0, ProcId::COUNT, "process")
        }
        fn file_of(kind: &MapKind) -> Result<(), String> {
            match kind {
                MapKind::FilePrivate(f) | MapKind::FileShared(f) => {
                    check(f.0, FileId::COUNT, "file")
                }
                _ => Ok(()),
            }
        }
        fn idx_range(start: u32, end: u32) -> Result<(), String> {
            if start >= end || end > MAX_PAGE {
                return Err(format!("bad index range {start}..{end}"));
            }
            Ok(())
        }
        match self {
            Op::Mmap {
                p,
                slot: s,
                at: a,
                pages,
                kind,
                foff,
                ..
            } => {
                proc(*p)?;
                slot(*s)?;
                page(*a)?;
                size(*pages)?;
                page(*foff)?;
                file_of(kind)
            }
            Op::Munmap { p, range: r }
            | Op::Mprotect { p, range: r, .. }
            | Op::Madvise { p, range: r, .. }
            | Op::Read { p, range: r }
            | Op::Write { p, range: r, .. }
            | Op::UffdWp { p, range: r, .. } => {
                proc(*p)?;
                range(r)
            }
            Op::Mremap { p, range: r, to } => {
                proc(*p)?;
                range(r)?;
                at(to)
            }
            Op::Fork { p, child } => {
                proc(*p)?;
                proc(*child)
            }
            Op::Exit { p } | Op::ClearSoftDirty { p } => proc(*p),
            Op::File { f, pages, .. } => {
                check(f.0, FileId::COUNT, "file")?;
                size(*pages)
            }
            Op::Gup { p, range: r, h, .. } => {
                proc(*p)?;
                range(r)?;
                check(h.0, HandleId::COUNT, "handle")
            }
            Op::Release { h, .. } => check(h.0, HandleId::COUNT, "handle"),
            Op::DmaRead { h, start, end } | Op::DmaWrite { h, start, end, .. } => {
                check(h.0, HandleId::COUNT, "handle")?;
                idx_range(*start, *end)
            }
            Op::Reclaim | Op::CmaEvacuate | Op::FailAlloc { .. } => Ok(()),
            Op::SplitThp { p, at: a } => {
                proc(*p)?;
                at(a)
            }
            Op::Lock { x, p, at: a } => {
                check(x.0, LockId::COUNT, "lock holder")?;
                proc(*p)?;
                at(a)
            }
            Op::Unlock { x } => check(x.0, LockId::COUNT, "lock holder"),
            Op::IommuPrereg { i, p, range: r } => {
                check(i.0, IommuId::COUNT, "iommu slot")?;
                proc(*p)?;
                range(r)
            }
            Op::IommuTranslate { i, index } => {
                check(i.0, IommuId::COUNT, "iommu slot")?;
                page(*index)
            }
            Op::IommuUnreg { i } => check(i.0, IommuId::COUNT, "iommu slot"),
            Op::HmmFault {
                p,
                range: r,
                page_req,
                owner,
                seq,
                ..
            } => {
                proc(*p)?;
                range(r)?;
                if let Some((a, b, _)) = page_req {
                    idx_range(*a, *b)?;
                }
                if let Some(d) = owner {
                    check(d.0, DevId::COUNT, "device")?;
                }
                if let Some(n) = seq {
                    check(n.0, NotifierId::COUNT, "notifier")?;
                }
                Ok(())
            }
            Op::Notifier { n, p, range: r } => {
                check(n.0, NotifierId::COUNT, "notifier")?;
                proc(*p)?;
                range(r)
            }
            Op::ReadBegin { n } | Op::ReadRetry { n } => check(n.0, NotifierId::COUNT, "notifier"),
            Op::MigrateSetup {
                s,
                p,
                range: r,
                owner,
                fault_page,
                ..
            } => {
                check(s.0, SessionId::COUNT, "session")?;
                proc(*p)?;
                range(r)?;
                if let Some(d) = owner {
                    check(d.0, DevId::COUNT, "device")?;
                }
                if let Some(fp) = fault_page {
                    page(*fp)?;
                }
                Ok(())
            }
            Op::MigrateAlloc { s, dest, fail, .. } => {
                check(s.0, SessionId::COUNT, "session")?;
                if let MigrateDest::Device(d) = dest {
                    check(d.0, DevId::COUNT, "device")?;
                }
                if let Some((a, b)) = fail {
                    idx_range(*a, *b)?;
                }
                Ok(())
            }
            Op::MigratePages { s } | Op::MigrateFinalize { s } => {
                check(s.0, SessionId::COUNT, "session")
            }
            Op::DevRead { d, p, range: r }
            | Op::DevWrite { d, p, range: r, .. }
            | Op::MigrateToDev { d, p, range: r }
            | Op::MigrateToSys { d, p, range: r }
            | Op::DevSnapshot { d, p, range: r }
            | Op::DevExclusive { d, p, range: r }
            | Op::DevCheckExclusive { d, p, range: r } => {
                check(d.0, DevId::COUNT, "device")?;
                proc(*p)?;
                range(r)
            }
            Op::DevRelease { d } | Op::DevFailAlloc { d } => check(d.0, DevId::COUNT, "device"),
            Op::DevClose { d, p } => {
                check(d.0, DevId::COUNT, "device")?;
                proc(*p)
            }
        }
    }
}
