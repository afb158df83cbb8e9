//! GUP: `get_user_pages*` / `pin_user_pages*` (mm/gup.c), the release of
//! what they returned, and DMA through the returned pages.
//!
//! Page by page: every address of the range is followed on its own
//! (`follow_page_mask`), faulted in when needed (`faultin_page`) and grabbed
//! (`try_grab_folio`). A PMD leaf is followed one page at a time too; the
//! kernel's batching over a folio (`page_mask`, `follow_pte_batch`) has the
//! same effect.
//!
//! Zero pages: the shared zero page and the huge zero folio are not folios
//! of this model, so GUP records them as [`PageRef::Zero`] /
//! [`PageRef::HugeZero`] without any accounting. For FOLL_PIN this is the
//! kernel's rule (`try_grab_folio` never pins the zero page); for FOLL_GET
//! the kernel does take a reference on the zero page, which the model does
//! not count.
//!
//! A GUP that would sleep (a fault on a folio locked by someone else, a
//! userfaultfd write-protect fault) stops there: it returns the pages it got
//! so far, or `blocked` at that page when it got none.

use mmdiff_core::op::{Fill, GupFlags, HandleId, Zone};
use mmdiff_core::outcome::{Errno, Outcome, Payload};
use mmdiff_core::state::{
    Entry, FolioId, HandleState, Level, Memory, ObjId, PageRef, PteBits, Target, VmaKind, VmaState,
};
use mmdiff_core::GUP_PIN_COUNTING_BIAS;

use crate::fault::{mkdirty, FaultError, FaultKind};
use crate::vma::{is_cow, is_shared};
use crate::world::World;

/// Faults one address may take before GUP is declared stuck. Every fault
/// path makes progress, so a well-formed model never reaches this; the
/// kernel would retry forever.
const MAX_FAULTS: usize = 8;

/// Rounds of pin / migrate / re-pin in `__gup_longterm_locked`. The kernel
/// loops while migration succeeds; after one successful migration every
/// folio of the range is pinnable, so this bound is never reached by a
/// well-formed model.
const MAX_LONGTERM_ROUNDS: usize = 8;

/// The effective `FOLL_*` flags of one GUP call (after the entry point
/// added its own).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Foll {
    /// `FOLL_PIN`; otherwise `FOLL_GET`.
    pub pin: bool,
    pub write: bool,
    pub longterm: bool,
    pub force: bool,
    pub nofault: bool,
    /// `FOLL_TOUCH`: set by `get_user_pages` and the slow path of the
    /// `*_fast` variants, not by `pin_user_pages`.
    pub touch: bool,
}

impl Foll {
    /// `pin_user_pages(FOLL_WRITE | FOLL_LONGTERM)`, as `mm_iommu_do_alloc` calls it.
    pub const PIN_LONGTERM_WRITE: Foll = Foll {
        pin: true,
        write: true,
        longterm: true,
        force: false,
        nofault: false,
        touch: false,
    };
}

/// Why GUP stopped before the end of its range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GupStop {
    /// A negative errno.
    Err(Errno),
    /// The kernel would sleep at this absolute page.
    Blocked(u64),
}

/// Pages grabbed (at least one), or why none were.
pub type GupResult = Result<Vec<PageRef>, GupStop>;

/// What `follow_page_mask` found at one address.
enum Follow {
    /// The page, grabbed.
    Page(PageRef),
    /// `NULL`: a fault is needed.
    Fault,
    /// `-EMLINK`: an unshare fault is needed.
    Unshare,
    /// Another error pointer.
    Err(Errno),
}

impl World {
    // ----------------------------------------------------------------
    // Entry points
    // ----------------------------------------------------------------

    /// The `gup` op over absolute pages `[start, end)` of process `p`;
    /// `base` is the window-relative page of `start` (kept in the handle).
    /// `flags.pin` selects `pin_user_pages[_fast]`, otherwise
    /// `get_user_pages[_fast]`. The handle holds exactly the returned pages.
    pub fn gup_op(
        &mut self,
        p: usize,
        start: u64,
        end: u64,
        base: u64,
        h: HandleId,
        flags: GupFlags,
    ) -> Outcome {
        // is_valid_gup_args(): LONGTERM only with PIN. Only get_user_pages*
        // can reach this, and they return -EINVAL.
        if flags.longterm && !flags.pin {
            return Outcome::Err(Errno::EINVAL);
        }
        let f = Foll {
            pin: flags.pin,
            write: flags.write,
            longterm: flags.longterm,
            force: flags.force,
            nofault: flags.nofault,
            touch: !flags.pin && !flags.fast,
        };
        let result = if flags.fast {
            self.gup_fast_fallback(p, start, end, f)
        } else {
            self.gup_longterm_locked(p, start, end, f)
        };
        match result {
            Ok(pages) => {
                let n = pages.len() as u64;
                self.handles[h.index()] = Some(HandleState {
                    id: h,
                    flags,
                    base,
                    pages,
                });
                Outcome::count(n)
            }
            Err(GupStop::Err(e)) => Outcome::Err(e),
            Err(GupStop::Blocked(page)) => Outcome::Blocked {
                page: (base + (page - start)) as u32,
            },
        }
    }

    /// `gup_fast_fallback()` (`get_user_pages_fast`, `pin_user_pages_fast`):
    /// the lockless walk pins a prefix of the range; the rest goes through
    /// the slow path with `FOLL_TOUCH`. If the slow path fails after some
    /// fast pins, the fast count is returned.
    pub fn gup_fast_fallback(&mut self, p: usize, start: u64, end: u64, f: Foll) -> GupResult {
        if f.pin {
            self.mm_mut(p).has_pinned = true;
        }
        let mut pages = self.gup_fast(p, start, end, f);
        let resume = start + pages.len() as u64;
        if resume == end {
            return Ok(pages);
        }
        let slow = Foll { touch: true, ..f };
        match self.gup_longterm_locked(p, resume, end, slow) {
            Ok(more) => {
                pages.extend(more);
                Ok(pages)
            }
            Err(stop) if pages.is_empty() => Err(stop),
            Err(_) => Ok(pages),
        }
    }

    /// `__gup_longterm_locked()`: without FOLL_LONGTERM just
    /// `__get_user_pages_locked`. With it (allocations avoid movable and CMA
    /// memory, `memalloc_pin_save`): pin, and if any returned folio is not
    /// long-term pinnable, unpin everything, migrate those folios to
    /// `ZONE_NORMAL` and pin the whole range again.
    pub fn gup_longterm_locked(&mut self, p: usize, start: u64, end: u64, f: Foll) -> GupResult {
        if !f.longterm {
            return self.get_user_pages_locked(p, start, end, f);
        }
        for _ in 0..MAX_LONGTERM_ROUNDS {
            let pages = self.get_user_pages_locked(p, start, end, f)?;
            let movable = self.collect_longterm_unpinnable_folios(&pages);
            if movable.is_empty() {
                return Ok(pages);
            }
            self.migrate_longterm_unpinnable_folios(&pages, &movable)?;
        }
        Err(GupStop::Err(Errno::ENOMEM))
    }

    /// `__get_user_pages_locked()`: sets `MMF_HAS_PINNED` for FOLL_PIN, runs
    /// the page loop, and turns "nothing pinned" into `-EFAULT`.
    pub fn get_user_pages_locked(&mut self, p: usize, start: u64, end: u64, f: Foll) -> GupResult {
        if f.pin {
            self.mm_mut(p).has_pinned = true;
        }
        let (pages, stop) = self.get_user_pages(p, start, end, f);
        if !pages.is_empty() {
            return Ok(pages);
        }
        Err(stop.unwrap_or(GupStop::Err(Errno::EFAULT)))
    }

    /// `__get_user_pages()`: every address in order; the first one that
    /// cannot be grabbed stops the loop. Returns the pages grabbed and why
    /// the loop stopped early, if it did.
    fn get_user_pages(
        &mut self,
        p: usize,
        start: u64,
        end: u64,
        f: Foll,
    ) -> (Vec<PageRef>, Option<GupStop>) {
        let mut pages = Vec::new();
        for page in start..end {
            match self.get_user_page(p, page, f) {
                Ok(r) => pages.push(r),
                Err(stop) => return (pages, Some(stop)),
            }
        }
        (pages, None)
    }

    /// One address of `__get_user_pages()`: the VMA checks, then follow and
    /// fault until the page can be grabbed.
    fn get_user_page(&mut self, p: usize, page: u64, f: Foll) -> Result<PageRef, GupStop> {
        // gup_vma_lookup(): no VMA (no stack expansion any more): -EFAULT.
        let vma = self.vma_at(p, page).ok_or(GupStop::Err(Errno::EFAULT))?;
        self.check_vma_flags(&vma, f).map_err(GupStop::Err)?;
        for _ in 0..=MAX_FAULTS {
            let vma = self.vma_at(p, page).expect("faults keep the VMA");
            match self.follow_page_mask(p, page, &vma, f) {
                Follow::Page(r) => return Ok(r),
                Follow::Err(e) => return Err(GupStop::Err(e)),
                Follow::Fault => self.faultin_page(p, page, f, false)?,
                Follow::Unshare => self.faultin_page(p, page, f, true)?,
            }
        }
        Err(GupStop::Blocked(page))
    }

    // ----------------------------------------------------------------
    // Rules of the slow path
    // ----------------------------------------------------------------

    /// `check_vma_flags()`, for each VMA the range runs into.
    fn check_vma_flags(&self, vma: &VmaState, f: Foll) -> Result<(), Errno> {
        if vma.kind == VmaKind::Special {
            return Err(Errno::EFAULT); // VM_IO | VM_PFNMAP
        }
        // vma_is_anonymous(): private anonymous only (shmem has vm_ops).
        let vma_anon = vma.kind == VmaKind::AnonPrivate;
        if f.write {
            if !vma_anon && !self.writable_file_mapping_allowed(vma, f) {
                return Err(Errno::EFAULT);
            }
            if !vma.prot.writable() && (!f.force || !is_cow(vma)) {
                return Err(Errno::EFAULT);
            }
        } else if !vma.prot.readable() && !f.force {
            return Err(Errno::EFAULT);
        }
        Ok(())
    }

    /// `writable_file_mapping_allowed()`: a writable long-term pin of a
    /// mapping that needs dirty tracking is refused.
    fn writable_file_mapping_allowed(&self, vma: &VmaState, f: Foll) -> bool {
        if !(f.pin && f.longterm) {
            return true;
        }
        !self.vma_needs_dirty_tracking(vma)
    }

    /// `vma_needs_dirty_tracking()` (mm/mmap.c): shared writable mappings of
    /// a filesystem with `page_mkwrite` or writeback (ext4; not tmpfs/shmem).
    fn vma_needs_dirty_tracking(&self, vma: &VmaState) -> bool {
        is_shared(vma) && vma.prot.writable() && self.needs_page_mkwrite(vma)
    }

    /// `follow_page_mask()` → `follow_page_pte()` / `follow_huge_pmd()` for
    /// one address: grab the page, or say which fault is needed.
    fn follow_page_mask(&mut self, p: usize, page: u64, vma: &VmaState, f: Foll) -> Follow {
        // Not present (none, swap): a fault is needed.
        let Some(Entry::Present {
            level,
            target,
            bits,
        }) = self.entry(p, page)
        else {
            return Follow::Fault;
        };
        // vm_normal_page(): raw pfns have no page.
        let page_ref = match target {
            Target::Folio { folio, page } => Some(PageRef::Folio { folio, page }),
            Target::Zero => Some(PageRef::Zero),
            Target::HugeZero { page } => Some(PageRef::HugeZero { page }),
            Target::Io { .. } => None,
        };
        if f.write && !self.can_follow_write(vma, level, &bits, page_ref, f) {
            return Follow::Fault;
        }
        // follow_pfn_pte(): a valid entry without a struct page.
        let Some(r) = page_ref else {
            return Follow::Err(Errno::EEXIST);
        };
        if !bits.write && self.gup_must_unshare(Some(vma), f, r, level) {
            return Follow::Unshare;
        }
        self.try_grab_folio(r, f.pin);
        if f.touch {
            self.gup_touch(p, page, level, &bits, r, f.write);
        }
        Follow::Page(r)
    }

    /// `can_follow_write_pte()` / `can_follow_write_pmd()`: a writable entry,
    /// or FOLL_FORCE on a private mapping without `VM_WRITE` where the page
    /// is an exclusive anon page and no soft-dirty or uffd-wp write fault is
    /// pending (`can_follow_write_common`).
    fn can_follow_write(
        &self,
        vma: &VmaState,
        level: Level,
        bits: &PteBits,
        r: Option<PageRef>,
        f: Foll,
    ) -> bool {
        if bits.write {
            return true;
        }
        // Every private mapping of this model has VM_MAYWRITE.
        if !f.force || is_shared(vma) || vma.prot.writable() {
            return false;
        }
        if r.and_then(|r| self.page_anon_exclusive(r, level)) != Some(true) {
            return false;
        }
        if World::needs_soft_dirty_wp(vma, bits) {
            return false;
        }
        !(vma.uffd_wp && bits.uffd_wp)
    }

    /// `PageAnonExclusive()` of a page as GUP sees it: `None` for pages that
    /// are not anonymous (file pages, zero pages). A PMD leaf is looked at
    /// through its head page (`pmd_page`).
    fn page_anon_exclusive(&self, r: PageRef, level: Level) -> Option<bool> {
        let PageRef::Folio { folio, page } = r else {
            return None;
        };
        let f = self.folio(folio);
        if !f.anon {
            return None;
        }
        let idx = if level == Level::Pmd {
            0
        } else {
            page as usize
        };
        Some(f.anon_exclusive[idx])
    }

    /// `gup_must_unshare()` (mm/internal.h): only R/O pins unshare. Anon
    /// pages must be exclusive; other pages (file, zero) only for
    /// FOLL_LONGTERM in a COW mapping (always, without a VMA: GUP-fast).
    fn gup_must_unshare(&self, vma: Option<&VmaState>, f: Foll, r: PageRef, level: Level) -> bool {
        if !f.pin || f.write {
            return false;
        }
        match self.page_anon_exclusive(r, level) {
            Some(exclusive) => !exclusive,
            None => f.longterm && vma.is_none_or(is_cow),
        }
    }

    /// `try_grab_folio(folio, 1, flags)`: FOLL_GET takes a reference;
    /// FOLL_PIN adds `GUP_PIN_COUNTING_BIAS` to a small folio, or one
    /// reference and one `_pincount` to a large one. Zero pages: nothing.
    fn try_grab_folio(&mut self, r: PageRef, pin: bool) {
        let PageRef::Folio { folio, .. } = r else {
            return;
        };
        let f = self.folio_mut(folio);
        if !pin {
            f.refcount += 1;
        } else if f.is_large() {
            f.refcount += 1;
            f.pincount += 1;
        } else {
            f.refcount += GUP_PIN_COUNTING_BIAS;
        }
    }

    /// `gup_put_folio(folio, 1, flags)`: the inverse of [`World::try_grab_folio`];
    /// dropping the last reference frees the folio.
    pub fn gup_put_folio(&mut self, r: PageRef, pin: bool) {
        let PageRef::Folio { folio, .. } = r else {
            return;
        };
        let Some(f) = self.folios.get_mut(&folio) else {
            return;
        };
        let refs = if !pin {
            1
        } else if f.is_large() {
            f.pincount -= 1;
            1
        } else {
            GUP_PIN_COUNTING_BIAS
        };
        self.folio_put(folio, refs);
    }

    /// `unpin_user_pages()`.
    pub fn unpin_user_pages(&mut self, pages: &[PageRef]) {
        for &r in pages {
            self.gup_put_folio(r, true);
        }
    }

    /// FOLL_TOUCH after a grab. PTE level (`follow_page_pte`): a write
    /// through a clean PTE dirties a clean folio (`folio_mark_dirty`); the
    /// accessed state is folio-only (`folio_mark_accessed`, not modelled).
    /// PMD level (`touch_pmd`): the PMD becomes young, and dirty for a write.
    fn gup_touch(
        &mut self,
        p: usize,
        page: u64,
        level: Level,
        bits: &PteBits,
        r: PageRef,
        write: bool,
    ) {
        match level {
            Level::Pmd => self.update_bits(p, page, |b| {
                b.young = true;
                if write {
                    mkdirty(b);
                }
            }),
            Level::Pte => {
                if let PageRef::Folio { folio, .. } = r {
                    if write && !bits.dirty && !self.folio(folio).dirty {
                        self.folio_mut(folio).dirty = true;
                    }
                }
            }
        }
    }

    /// `faultin_page()`: FOLL_NOFAULT refuses; otherwise `handle_mm_fault`
    /// with `FAULT_FLAG_WRITE` or `FAULT_FLAG_UNSHARE` (`vm_fault_to_errno`:
    /// OOM → `-ENOMEM`, SIGBUS → `-EFAULT`). A fault that would sleep stops
    /// the GUP.
    fn faultin_page(&mut self, p: usize, page: u64, f: Foll, unshare: bool) -> Result<(), GupStop> {
        if f.nofault {
            return Err(GupStop::Err(Errno::EFAULT));
        }
        let kind = FaultKind {
            write: f.write,
            unshare,
            pin_alloc: f.longterm,
        };
        self.handle_fault(p, page, kind).map_err(|e| match e {
            FaultError::Oom => GupStop::Err(Errno::ENOMEM),
            FaultError::Bus => GupStop::Err(Errno::EFAULT),
            FaultError::Blocked => GupStop::Blocked(page),
        })
    }

    // ----------------------------------------------------------------
    // GUP-fast
    // ----------------------------------------------------------------

    /// `gup_fast()`: the lockless walk grabs a prefix of the range and stops
    /// at the first page it cannot take. No faults, no FOLL_TOUCH.
    fn gup_fast(&mut self, p: usize, start: u64, end: u64, f: Foll) -> Vec<PageRef> {
        let mut pages = Vec::new();
        for page in start..end {
            match self.gup_fast_page(p, page, f) {
                Some(r) => pages.push(r),
                None => break,
            }
        }
        pages
    }

    /// One page of `gup_fast_pte_range()` / `gup_fast_pmd_leaf()`.
    fn gup_fast_page(&mut self, p: usize, page: u64, f: Foll) -> Option<PageRef> {
        let Some(Entry::Present {
            level,
            target,
            bits,
        }) = self.entry(p, page)
        else {
            return None; // !pte_present
        };
        // pte_protnone(): every PTE of a PROT_NONE VMA is PAGE_NONE.
        let vma = self.vma_at(p, page)?;
        if !vma.prot.readable() {
            return None;
        }
        // pte_access_permitted(pte, write)
        if f.write && !bits.write {
            return None;
        }
        // pte_special() / pmd_special(): the zero pages and raw pfns.
        let Target::Folio { folio, page: sub } = target else {
            return None;
        };
        let r = PageRef::Folio { folio, page: sub };
        // try_grab_folio_fast(): FOLL_LONGTERM refuses unpinnable folios.
        if f.longterm && !self.folio_is_longterm_pinnable(folio) {
            return None;
        }
        if !self.gup_fast_folio_allowed(folio, f) {
            return None;
        }
        if !bits.write && self.gup_must_unshare(None, f, r, level) {
            return None;
        }
        self.try_grab_folio(r, f.pin);
        Some(r)
    }

    /// `gup_fast_folio_allowed()`: writable long-term pins only of anon and
    /// shmem folios; small folios without a mapping (possible secretmem or
    /// truncated) fall back to the slow path.
    fn gup_fast_folio_allowed(&self, folio: FolioId, f: Foll) -> bool {
        let reject_file_backed = f.pin && f.longterm && f.write;
        let fo = self.folio(folio);
        let check_secretmem = !fo.is_large();
        if !reject_file_backed && !check_secretmem {
            return true;
        }
        if fo.anon {
            return true;
        }
        match fo.mapping {
            None => false,
            Some((obj, _)) => !reject_file_backed || self.is_shmem_object(obj),
        }
    }

    /// `shmem_mapping()`: anonymous shared memory and tmpfs files.
    fn is_shmem_object(&self, obj: ObjId) -> bool {
        match obj {
            ObjId::Shm(_) => true,
            ObjId::File(f) => {
                self.file(f).and_then(|o| o.fs) == Some(mmdiff_core::op::FsKind::Tmpfs)
            }
            ObjId::Io(_) => false,
        }
    }

    // ----------------------------------------------------------------
    // FOLL_LONGTERM
    // ----------------------------------------------------------------

    /// `folio_is_longterm_pinnable()`: not in `ZONE_MOVABLE` or CMA.
    pub fn folio_is_longterm_pinnable(&self, folio: FolioId) -> bool {
        matches!(self.folio(folio).memory, Memory::Zone(z) if z.longterm_pinnable())
    }

    /// `collect_longterm_unpinnable_folios()`: each unpinnable folio among
    /// the returned pages, once, in order; folios that cannot be isolated
    /// from the LRU (`folio_isolate_lru` fails) are not collected.
    fn collect_longterm_unpinnable_folios(&self, pages: &[PageRef]) -> Vec<FolioId> {
        let mut list = Vec::new();
        for r in pages {
            let PageRef::Folio { folio, .. } = *r else {
                continue;
            };
            if self.folio_is_longterm_pinnable(folio)
                || list.contains(&folio)
                || !self.folio(folio).lru
            {
                continue;
            }
            list.push(folio);
        }
        list
    }

    /// `migrate_longterm_unpinnable_folios()`: unpin every returned page,
    /// then `migrate_pages(MR_LONGTERM_PIN)` to `ZONE_NORMAL`. Any folio
    /// left behind makes the pin fail with `-ENOMEM` (nothing stays pinned);
    /// success means "pin the range again" (`-EAGAIN`). A folio freed once
    /// the pins were dropped counts as migrated (`migrate_folio_unmap`).
    fn migrate_longterm_unpinnable_folios(
        &mut self,
        pages: &[PageRef],
        movable: &[FolioId],
    ) -> Result<(), GupStop> {
        self.unpin_user_pages(pages);
        let mut failed = false;
        for &folio in movable {
            if self.folios.contains_key(&folio) && !self.migrate_folio_to(folio, Zone::Normal) {
                failed = true;
            }
        }
        if failed {
            return Err(GupStop::Err(Errno::ENOMEM));
        }
        Ok(())
    }

    // ----------------------------------------------------------------
    // Release and DMA
    // ----------------------------------------------------------------

    /// The `release` op. Pins: `unpin_user_pages_dirty_lock(pages, n,
    /// dirty)`, which locks each folio that is not yet dirty to mark it
    /// dirty. Gets: `set_page_dirty_lock()` (always locks) if `dirty`, then
    /// `put_page()`. If a folio that would be locked is held locked by
    /// someone else, the kernel would sleep: `blocked` at the handle's first
    /// page, and nothing changes. Zero pages need nothing.
    pub fn release_handle(&mut self, h: HandleId, dirty: bool) -> Outcome {
        let Some(handle) = self.handles[h.index()].clone() else {
            return Outcome::Err(Errno::ENOENT);
        };
        let pin = handle.flags.pin;
        if dirty && self.release_would_sleep(&handle.pages, pin) {
            return Outcome::Blocked {
                page: handle.base as u32,
            };
        }
        for &r in &handle.pages {
            if dirty {
                if let PageRef::Folio { folio, .. } = r {
                    if let Some(f) = self.folios.get_mut(&folio) {
                        f.dirty = true; // folio_mark_dirty
                    }
                }
            }
            self.gup_put_folio(r, pin);
        }
        self.handles[h.index()] = None;
        Outcome::OK
    }

    /// Whether dirtying the handle's pages would wait for a folio lock held
    /// by someone else: `unpin_user_pages_dirty_lock` locks only clean
    /// folios, `set_page_dirty_lock` locks every one.
    fn release_would_sleep(&self, pages: &[PageRef], pin: bool) -> bool {
        pages.iter().any(|r| match *r {
            PageRef::Folio { folio, .. } => self
                .folios
                .get(&folio)
                .is_some_and(|f| f.locked && (!pin || !f.dirty)),
            _ => false,
        })
    }

    /// The value a device reads through a page (zero pages read 0).
    fn dma_value(&self, r: PageRef) -> u64 {
        match r {
            PageRef::Folio { folio, page } => self
                .folios
                .get(&folio)
                .map_or(0, |f| f.contents[page as usize]),
            PageRef::Zero | PageRef::HugeZero { .. } => 0,
        }
    }

    /// The `dma-read` op: what the device sees through handle pages
    /// `[start, end)`. Indices beyond the handle: `EINVAL`.
    pub fn dma_read(&self, h: HandleId, start: u32, end: u32) -> Outcome {
        let Some(handle) = self.handles[h.index()].as_ref() else {
            return Outcome::Err(Errno::ENOENT);
        };
        if start >= end || end as usize > handle.pages.len() {
            return Outcome::Err(Errno::EINVAL);
        }
        let values = handle.pages[start as usize..end as usize]
            .iter()
            .map(|&r| self.dma_value(r))
            .collect();
        Outcome::Ok(Payload::Data {
            base: handle.base + start as u64,
            values,
        })
    }

    /// The `dma-write` op: the device writes `fill.value_at(base + i)` into
    /// handle page `i` for `i` in `[start, end)`. Indices beyond the handle:
    /// `EINVAL`; a handle taken without FOLL_WRITE: `EPERM` (a device may
    /// only write through a writable pin). Neither PTE nor folio becomes
    /// dirty: that is what `release dirty` is for.
    pub fn dma_write(&mut self, h: HandleId, start: u32, end: u32, fill: Fill) -> Outcome {
        let Some(handle) = self.handles[h.index()].clone() else {
            return Outcome::Err(Errno::ENOENT);
        };
        if start >= end || end as usize > handle.pages.len() {
            return Outcome::Err(Errno::EINVAL);
        }
        if !handle.flags.write {
            return Outcome::Err(Errno::EPERM);
        }
        for i in start..end {
            // A write GUP never returns a zero page.
            if let PageRef::Folio { folio, page } = handle.pages[i as usize] {
                if let Some(f) = self.folios.get_mut(&folio) {
                    f.contents[page as usize] = fill.value_at(handle.base + i as u64);
                }
            }
        }
        Outcome::OK
    }
}
