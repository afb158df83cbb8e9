//! Page faults: `handle_mm_fault()` for one page.
//!
//! The caller has already checked that a VMA covers the page and allows the
//! access (the CPU gets SIGSEGV, GUP `check_vma_flags`); a fault makes the
//! entry usable for the access, or says why it cannot.

use mmdiff_core::op::Zone;
use mmdiff_core::state::{Entry, FolioId, PteBits, Target, VmaKind, VmaState};

use crate::pte::{entry_folio, pte};
use crate::vma::{is_cow, soft_dirty_tracking};
use crate::world::World;

/// Why a fault did not complete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultError {
    /// `VM_FAULT_SIGBUS`.
    Bus,
    /// `VM_FAULT_OOM`.
    Oom,
    /// The fault would sleep: a folio lock held by someone else.
    Blocked,
    /// A userfaultfd write-protect fault (`handle_userfault`): it waits for
    /// the handler when the fault may be retried (`FAULT_FLAG_ALLOW_RETRY`:
    /// CPU faults, the unlockable GUP paths) and is `VM_FAULT_SIGBUS`
    /// otherwise (plain GUP, HMM).
    Userfault,
}

/// What the fault is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaultKind {
    /// `FAULT_FLAG_WRITE`.
    pub write: bool,
    /// `FAULT_FLAG_UNSHARE`: make an anon page exclusive without making it
    /// writable (R/O pins of possibly shared pages).
    pub unshare: bool,
    /// `memalloc_pin_save()` is active (FOLL_LONGTERM): new pages come from
    /// `ZONE_NORMAL`, never movable or CMA memory.
    pub pin_alloc: bool,
}

impl FaultKind {
    pub const READ: FaultKind = FaultKind {
        write: false,
        unshare: false,
        pin_alloc: false,
    };
    pub const WRITE: FaultKind = FaultKind {
        write: true,
        unshare: false,
        pin_alloc: false,
    };
}

pub type FaultResult = Result<(), FaultError>;

/// Faults one access (CPU, GUP, `make_device_exclusive`) may take on one
/// page before it is declared stuck. Every fault path makes progress, so a
/// well-formed model never reaches this; the kernel would retry forever.
pub const MAX_FAULTS: usize = 8;

/// The bits of a PTE just built from `vm_page_prot`: young, since x86's
/// protection values carry `_PAGE_ACCESSED`.
pub fn fresh_bits() -> PteBits {
    PteBits {
        young: true,
        ..PteBits::default()
    }
}

/// `pte_mkdirty()` on x86 also sets the soft-dirty bit.
pub fn mkdirty(bits: &mut PteBits) {
    bits.dirty = true;
    bits.soft_dirty = true;
}

impl World {
    /// The zone a fault in `vma` allocates from.
    pub fn fault_zone(vma: &VmaState, kind: FaultKind) -> Zone {
        if kind.pin_alloc {
            Zone::Normal
        } else {
            vma.zone
        }
    }

    /// `handle_mm_fault()` for one page of process `p`.
    pub fn handle_fault(&mut self, p: usize, page: u64, kind: FaultKind) -> FaultResult {
        let vma = self.vma_at(p, page).expect("caller checked the VMA");
        match self.entry(p, page) {
            None => self.fault_none(p, page, &vma, kind),
            Some(e @ Entry::Present { .. }) if crate::pte::is_pmd_leaf(&e) => {
                self.fault_huge_pmd(p, page, &vma, kind)
            }
            Some(Entry::Present { target, bits, .. }) => {
                if !kind.write && !kind.unshare {
                    return Ok(());
                }
                self.do_wp_page(p, page, &vma, target, bits, kind)
            }
            Some(Entry::Swap { .. }) => {
                self.do_swap_page(p, page, &vma, kind)?;
                if kind.write || kind.unshare {
                    // do_swap_page continues with do_wp_page when the page
                    // could not be mapped writable (or exclusive) right away.
                    return self.handle_fault(p, page, kind);
                }
                Ok(())
            }
            // migration_entry_wait(): sleeps until the migration ends.
            Some(Entry::Migration { .. }) => Err(FaultError::Blocked),
            // do_swap_page() -> pgmap->ops->migrate_to_ram(); the access is
            // retried on whatever it left there.
            Some(Entry::DevicePrivate { level, .. }) => self.device_private_fault(p, page, level),
            // do_swap_page() -> remove_device_exclusive_entry().
            Some(Entry::DeviceExclusive { .. }) => self.restore_device_exclusive(p, page),
        }
    }

    /// A fault on an empty entry: anonymous memory, a file page, or nothing.
    fn fault_none(&mut self, p: usize, page: u64, vma: &VmaState, kind: FaultKind) -> FaultResult {
        match vma.kind {
            VmaKind::AnonPrivate => {
                if self.thp_fault_eligible(p, page, vma) {
                    if let Some(r) = self.do_huge_pmd_anonymous_page(p, page, vma, kind) {
                        return r;
                    }
                }
                self.do_anonymous_page(p, page, vma, kind)
            }
            VmaKind::FilePrivate | VmaKind::FileShared | VmaKind::AnonShared => {
                self.do_file_fault(p, page, vma, kind)
            }
            // A VM_PFNMAP mapping without a PTE has no fault handler.
            VmaKind::Special => Err(FaultError::Bus),
        }
    }

    /// `do_anonymous_page()`: a read maps the shared zero page; a write maps
    /// a new zeroed exclusive folio.
    fn do_anonymous_page(
        &mut self,
        p: usize,
        page: u64,
        vma: &VmaState,
        kind: FaultKind,
    ) -> FaultResult {
        if !kind.write {
            // The zero page needs no anon_vma; the PTE is old-style special
            // and read-only (x86 vm_page_prot carries the accessed bit).
            let bits = fresh_bits();
            self.set_pte(p, page, pte(Target::Zero, bits));
            return Ok(());
        }
        let folio = self
            .new_anon_page(World::fault_zone(vma, kind), 0)
            .ok_or(FaultError::Oom)?;
        self.set_anon_vma(p, page);
        let mut bits = fresh_bits();
        if vma.prot.writable() {
            bits.write = true;
            mkdirty(&mut bits);
        }
        self.map_new_page(p, page, folio, bits);
        Ok(())
    }

    /// A new exclusive anon page holding `value` (`folio_prealloc`,
    /// `folio_add_new_anon_rmap(RMAP_EXCLUSIVE)`, `folio_add_lru_vma`); the
    /// caller holds the allocation's reference.
    pub fn new_anon_page(&mut self, zone: mmdiff_core::op::Zone, value: u64) -> Option<FolioId> {
        let folio = self.alloc_folio(zone, 0)?;
        self.make_new_anon(folio);
        let f = self.folio_mut(folio);
        f.contents.set(0, value);
        f.anon_exclusive.set(0, true);
        Some(folio)
    }

    /// Map a small folio the caller just allocated at `page`; the mapping
    /// takes over the allocation's reference.
    pub fn map_new_page(&mut self, p: usize, page: u64, folio: FolioId, bits: PteBits) {
        self.set_pte(p, page, pte(Target::Folio { folio, page: 0 }, bits));
        self.folio_put(folio, 1);
    }

    /// `anon_vma_prepare()`: the VMA covering `page` gets an anon_vma.
    pub fn set_anon_vma(&mut self, p: usize, page: u64) {
        if let Some(v) = self.vma_at(p, page) {
            if let Some(vm) = self.mm_mut(p).vmas.get_mut(&v.start) {
                vm.anon_vma = true;
            }
        }
    }

    /// `do_wp_page()`: a write (or unshare) fault on a present PTE that does
    /// not allow it.
    fn do_wp_page(
        &mut self,
        p: usize,
        page: u64,
        vma: &VmaState,
        target: Target,
        bits: PteBits,
        kind: FaultKind,
    ) -> FaultResult {
        if kind.write && bits.write {
            return Ok(());
        }
        // A uffd-wp protected PTE hands write faults to userspace.
        if kind.write && !kind.unshare && bits.uffd_wp {
            return Err(FaultError::Userfault);
        }
        match target {
            Target::Io { .. } => Ok(()),
            Target::HugeZero { .. } => unreachable!("huge zero is PMD level"),
            Target::Zero => {
                if !is_cow(vma) {
                    return Ok(());
                }
                self.wp_page_copy(p, page, vma, None, bits, kind)
            }
            Target::Folio { folio, page: sub } => {
                if !is_cow(vma) {
                    if kind.unshare {
                        return Ok(());
                    }
                    return self.wp_page_shared(p, page, vma, folio);
                }
                if self.folio(folio).anon
                    && (self.folio(folio).anon_exclusive.get(sub as usize)
                        || self.wp_can_reuse_anon_folio(p, folio))
                {
                    self.folio_mut(folio).anon_exclusive.set(sub as usize, true);
                    if !kind.unshare {
                        self.wp_page_reuse(p, page, vma);
                    }
                    return Ok(());
                }
                self.wp_page_copy(p, page, vma, Some((folio, sub)), bits, kind)
            }
        }
    }

    /// `wp_page_reuse()` (and its PMD twin in `do_huge_pmd_wp_page`): the
    /// entry becomes young, dirty, and writable if the VMA is.
    pub fn wp_page_reuse(&mut self, p: usize, page: u64, vma: &VmaState) {
        let writable = vma.prot.writable();
        self.update_bits(p, page, |b| {
            b.young = true;
            mkdirty(b);
            b.write |= writable;
        });
    }

    /// `wp_can_reuse_anon_folio()`: a non-exclusive anon folio can be reused
    /// when our mapping holds the only reference. Small folios: free an
    /// unneeded swap cache under a trylock, then require refcount 1. Large
    /// folios (`__wp_can_reuse_large_anon_folio`): every reference is a
    /// mapping and all mappings belong to this process.
    fn wp_can_reuse_anon_folio(&mut self, p: usize, folio: FolioId) -> bool {
        let f = self.folio(folio);
        if f.is_large() {
            if f.mapcount <= 1 {
                return false;
            }
            if self.mappers(folio).iter().any(|&(q, _)| q != p) {
                return false;
            }
            if f.swapcache.is_some() {
                if f.locked {
                    return false;
                }
                self.try_folio_free_swap(folio);
            }
            let f = self.folio(folio);
            return f.mapcount == f.refcount;
        }
        let swapcache = i64::from(f.swapcache.is_some());
        if f.refcount > 1 + swapcache || f.locked {
            return false;
        }
        self.try_folio_free_swap(folio);
        self.folio(folio).refcount == 1
    }

    /// `folio_free_swap()`: leave the swap cache when no swap entry refers
    /// to the slot any more.
    pub fn try_folio_free_swap(&mut self, folio: FolioId) {
        if let Some(slot) = self.folio(folio).swapcache {
            if self.swap.get(&slot).is_some_and(|s| s.count == 0) {
                self.delete_from_swap_cache(folio);
            }
        }
    }

    /// `wp_page_copy()`: COW into a new exclusive anon folio. `old` is the
    /// folio page being copied, `None` for the zero page. An unshare fault
    /// maps the copy read-only and keeps soft-dirty/uffd-wp; a write fault
    /// maps it writable and dirty.
    fn wp_page_copy(
        &mut self,
        p: usize,
        page: u64,
        vma: &VmaState,
        old: Option<(FolioId, u32)>,
        old_bits: PteBits,
        kind: FaultKind,
    ) -> FaultResult {
        let value = old.map_or(0, |(f, s)| self.folio(f).contents.get(s as usize));
        let new = self
            .new_anon_page(World::fault_zone(vma, kind), value)
            .ok_or(FaultError::Oom)?;
        self.invalidate(p, page, page + 1, crate::device::Inval::Clear);
        self.set_anon_vma(p, page);
        let mut bits = fresh_bits();
        if kind.unshare {
            bits.soft_dirty = old_bits.soft_dirty;
            bits.uffd_wp = old_bits.uffd_wp;
        } else {
            mkdirty(&mut bits);
            bits.write = vma.prot.writable();
        }
        if let Some((f, _)) = old {
            self.folio_get(f, 1);
            self.clear_pte(p, page);
            self.free_swap_cache(f);
            self.folio_put(f, 1);
        } else {
            self.clear_pte(p, page);
        }
        self.map_new_page(p, page, new, bits);
        Ok(())
    }

    /// `wp_page_shared()`: a write to a read-only PTE of a shared mapping
    /// (write-notify). Filesystems with `page_mkwrite` lock the folio.
    fn wp_page_shared(
        &mut self,
        p: usize,
        page: u64,
        vma: &VmaState,
        folio: FolioId,
    ) -> FaultResult {
        if self.folio(folio).locked && self.needs_page_mkwrite(vma) {
            return Err(FaultError::Blocked);
        }
        if !vma.prot.writable() {
            return Ok(());
        }
        self.update_bits(p, page, |b| {
            b.young = true;
            b.write = true;
            mkdirty(b);
        });
        // fault_dirty_shared_page
        self.folio_mut(folio).dirty = true;
        Ok(())
    }

    /// Whether soft-dirty tracking write-protects a PTE that is not yet
    /// soft-dirty (`pte_needs_soft_dirty_wp`).
    pub fn needs_soft_dirty_wp(vma: &VmaState, bits: &PteBits) -> bool {
        soft_dirty_tracking(vma) && !bits.soft_dirty
    }

    /// The folio page a present entry of `p` at `page` maps.
    pub fn folio_at(&self, p: usize, page: u64) -> Option<(FolioId, u32)> {
        self.entry(p, page).as_ref().and_then(entry_folio)
    }
}
