//! Device migration: `migrate_vma_setup` / `migrate_vma_pages` /
//! `migrate_vma_finalize` and the `migrate_device_*` range APIs
//! (mm/migrate_device.c), as the phased `migrate-*` ops and as the
//! building blocks of the dmirror driver ([`crate::dmirror_migrate`]) and
//! of `migrate_to_ram` on a CPU fault.
//!
//! One implementation of each step serves every caller: [`Migration`] is
//! `struct migrate_vma` (or the bare `src`/`dst` arrays of the device-range
//! APIs when it has no VMA), and collect, unmap, pages and finalize work on
//! it. Collect is done by the HMM walk (seed 004, [`crate::hmm`]'s
//! `migrate.rs`); `collect.rs` keeps the entry-installing helpers it shares
//! with unmap.
//!
//! Who holds what while a migration is in flight (between setup and
//! finalize): every `src` entry with a page holds one reference on its
//! folio (the collect reference, replaced by the LRU isolation reference
//! for system folios) and the folio lock (except the fault folio, whose
//! lock and extra reference belong to the caller); every `dst` page holds
//! the driver's reference and is locked. Migration entries hold no
//! reference and no mapcount.
//!
//! The caller of a `migrate-setup` op with a fault page plays the part of
//! `do_swap_page`: the setup takes the fault folio's lock and a reference
//! (it must not be locked by anyone else: that would sleep, `blocked`), and
//! the session gives both back at finalize, after `migrate_vma_finalize`
//! (which never unlocks the fault folio).

use mmdiff_core::op::{DevId, MigrateDest, MigrateSelect, ProcId, SessionId, Zone, PMD_PAGES};
use mmdiff_core::outcome::{Errno, MigrateSrc, Outcome, Payload};
use mmdiff_core::state::{
    Entry, FolioId, Level, Memory, MigKind, MigratePhase, PageRef, PteBits, SessionState, Target,
    VmaKind, VmaState,
};

use crate::device::Inval;
use crate::fault::fresh_bits;
use crate::fault::{mkdirty, FaultError, FaultResult};
use crate::folios::Folio;
use crate::pte::is_pmd_leaf;
use crate::world::World;

const NR: u64 = PMD_PAGES as u64;

/// The VMA side of a `struct migrate_vma`.
#[derive(Clone, Copy, Debug)]
pub struct VmaCtx {
    pub p: usize,
    /// Absolute pages `[start, end)`.
    pub start: u64,
    pub end: u64,
    pub select: MigrateSelect,
    /// `pgmap_owner`.
    pub owner: Option<DevId>,
}

/// `struct migrate_vma` (with `vma`), or the `src`/`dst` arrays of
/// `migrate_device_range` (without).
#[derive(Clone, Debug)]
pub struct Migration {
    pub vma: Option<VmaCtx>,
    /// `fault_page`: locked and referenced by the caller.
    pub fault_page: Option<PageRef>,
    /// Where the fault page is mapped in `vma.p` (to find its folio again
    /// after a split during collect).
    pub fault_at: Option<u64>,
    pub src: Vec<MigrateSrc>,
    /// `dst[]`: the locked destination page of each entry.
    pub dst: Vec<Option<PageRef>>,
    pub cpages: u64,
}

impl Migration {
    pub fn new(ctx: VmaCtx, fault: Option<(u64, PageRef)>) -> Migration {
        Migration {
            vma: Some(ctx),
            fault_page: fault.map(|(_, r)| r),
            fault_at: fault.map(|(a, _)| a),
            src: Vec::new(),
            dst: Vec::new(),
            cpages: 0,
        }
    }

    /// The folio of `fault_page`.
    pub fn fault_folio(&self) -> Option<FolioId> {
        self.fault_page.and_then(|r| folio_of(&r)).map(|(f, _)| f)
    }

    pub(crate) fn from_session(s: &SessionState) -> Migration {
        Migration {
            vma: Some(VmaCtx {
                p: s.proc.index(),
                start: s.start,
                end: s.end,
                select: s.select,
                owner: s.owner,
            }),
            fault_page: s.fault_page,
            fault_at: None,
            src: s.src.clone(),
            dst: s.dst.clone(),
            cpages: s.cpages,
        }
    }
}

/// The folio page a page reference names.
pub fn folio_of(r: &PageRef) -> Option<(FolioId, u32)> {
    match *r {
        PageRef::Folio { folio, page } => Some((folio, page)),
        _ => None,
    }
}

/// `MIGRATE_PFN_MIGRATE` for a hole or the zero page (no pfn).
pub(crate) fn hole() -> MigrateSrc {
    MigrateSrc {
        migrate: true,
        ..MigrateSrc::default()
    }
}

/// A collected page: `migrate_pfn(pfn) | MIGRATE [| WRITE]`.
pub(crate) fn selected(folio: FolioId, page: u32, write: bool) -> MigrateSrc {
    MigrateSrc {
        page: Some(PageRef::Folio { folio, page }),
        migrate: true,
        write,
        compound: false,
    }
}

/// `folio_is_zone_device()`.
fn is_zone_device(f: &Folio) -> bool {
    matches!(f.memory, Memory::Device(_))
}

/// `folio_is_device_private()`.
fn is_device_private(f: &Folio) -> bool {
    matches!(f.memory, Memory::Device(d) if !d.coherent())
}

mod collect;
mod fault;
mod finalize;
mod ops;
mod pages;
mod remove;
mod setup;
mod unmap;

/// The migration entry type: writable, readable-exclusive or readable.
fn mig_kind(write: bool, anon_exclusive: bool) -> MigKind {
    if write {
        MigKind::Write
    } else if anon_exclusive {
        MigKind::ReadExclusive
    } else {
        MigKind::Read
    }
}

/// The entry `migrate_vma_insert_page` writes: device-private (writable
/// iff `VM_WRITE`), or a present young entry, writable and dirty iff
/// `VM_WRITE`.
fn inserted_entry(level: Level, target: Target, private: bool, vm_write: bool) -> Entry {
    if private {
        return Entry::DevicePrivate {
            level,
            target,
            write: vm_write,
            soft_dirty: false,
            uffd_wp: false,
        };
    }
    let mut bits = fresh_bits();
    if vm_write {
        bits.write = true;
        mkdirty(&mut bits);
    }
    Entry::Present {
        level,
        target,
        bits,
    }
}
