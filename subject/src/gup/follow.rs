//! Following one address: `check_vma_flags`, `follow_page_mask` and its
//! helpers, grabbing and releasing references, `faultin_page`.

use super::*;

impl World {
    /// `check_vma_flags()`, for each VMA the range runs into.
    pub(crate) fn check_vma_flags(&self, vma: &VmaState, f: Foll) -> Result<(), Errno> {
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
    pub(crate) fn writable_file_mapping_allowed(&self, vma: &VmaState, f: Foll) -> bool {
        if !(f.pin && f.longterm) {
            return true;
        }
        !self.vma_needs_dirty_tracking(vma)
    }

    /// `vma_needs_dirty_tracking()` (mm/mmap.c): shared writable mappings of
    /// a filesystem with `page_mkwrite` or writeback (ext4; not tmpfs/shmem).
    pub(crate) fn vma_needs_dirty_tracking(&self, vma: &VmaState) -> bool {
        is_shared(vma) && vma.prot.writable() && self.needs_page_mkwrite(vma)
    }

    /// `follow_page_mask()` → `follow_page_pte()` / `follow_huge_pmd()` for
    /// one address: grab the page, or say which fault is needed.
    pub(crate) fn follow_page_mask(
        &mut self,
        p: usize,
        page: u64,
        vma: &VmaState,
        f: Foll,
    ) -> Follow {
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
    pub(crate) fn can_follow_write(
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
    pub(crate) fn page_anon_exclusive(&self, r: PageRef, level: Level) -> Option<bool> {
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
        Some(f.anon_exclusive.get(idx))
    }

    /// `gup_must_unshare()` (mm/internal.h): only R/O pins unshare. Anon
    /// pages must be exclusive; other pages (file, zero) only for
    /// FOLL_LONGTERM in a COW mapping (always, without a VMA: GUP-fast).
    pub(crate) fn gup_must_unshare(
        &self,
        vma: Option<&VmaState>,
        f: Foll,
        r: PageRef,
        level: Level,
    ) -> bool {
        if !f.pin || f.write {
            return false;
        }
        match self.page_anon_exclusive(r, level) {
            // CVE-2020-29374: a shared anon page pinned as it is.
            #[cfg(feature = "planted")]
            Some(_) if planted!(Cve202029374RoPinNoUnshare) => false,
            Some(exclusive) => !exclusive,
            None => f.longterm && vma.is_none_or(is_cow),
        }
    }

    /// `try_grab_folio(folio, 1, flags)`: FOLL_GET takes a reference;
    /// FOLL_PIN adds `GUP_PIN_COUNTING_BIAS` to a small folio, or one
    /// reference and one `_pincount` to a large one. Zero pages: nothing.
    pub(crate) fn try_grab_folio(&mut self, r: PageRef, pin: bool) {
        let PageRef::Folio { folio, .. } = r else {
            return;
        };
        self.try_grab_folio_refs(folio, pin, 1);
    }

    /// `try_grab_folio(folio, refs, flags)` for `refs` pages of one folio.
    pub(crate) fn try_grab_folio_refs(&mut self, folio: FolioId, pin: bool, refs: i64) {
        #[cfg(feature = "planted")]
        let pin = pin && (self.folio(folio).is_large() || !planted!(Seed003PinWithoutBias));
        let f = self.folio_mut(folio);
        if !pin {
            f.refcount += refs;
        } else if f.is_large() {
            f.refcount += refs;
            f.pincount += refs;
        } else {
            f.refcount += GUP_PIN_COUNTING_BIAS * refs;
        }
    }

    /// `gup_put_folio(folio, 1, flags)`: the inverse of `try_grab_folio`;
    /// dropping the last reference frees the folio.
    pub fn gup_put_folio(&mut self, r: PageRef, pin: bool) {
        self.gup_put_folio_refs(r, pin, 1);
    }

    /// `gup_put_folio(folio, refs, flags)` for `refs` pages of one folio.
    pub fn gup_put_folio_refs(&mut self, r: PageRef, pin: bool, refs: i64) {
        let PageRef::Folio { folio, .. } = r else {
            return;
        };
        let Some(f) = self.folios.get_mut(&folio) else {
            return;
        };
        #[cfg(feature = "planted")]
        let pin = pin && (f.is_large() || !planted!(Seed003PinWithoutBias));
        // Seed 003: get or pin decided from the folio, not from the flags.
        #[cfg(feature = "planted")]
        let pin = pin || (!f.is_large() && f.maybe_dma_pinned() && planted!(Seed003PutPageUnpins));
        let put = if !pin {
            refs
        } else if f.is_large() {
            f.pincount -= refs;
            refs
        } else {
            GUP_PIN_COUNTING_BIAS * refs
        };
        self.folio_put(folio, put);
    }

    /// `unpin_user_pages()`: one `gup_put_folio(folio, npages)` per run of
    /// one folio (as the kernel's `gup_folio_range_next` batches them).
    /// Oracle rule preserved (`unpin_user_pages`, page by page): the folio
    /// ends with the same counts, and once a put frees it the later ones
    /// change nothing, so putting `n` at once is `n` puts in a row.
    pub fn unpin_user_pages(&mut self, pages: &PageRuns) {
        for r in pages.runs() {
            self.gup_put_folio_refs(r.first, true, r.len as i64);
        }
    }

    /// FOLL_TOUCH after a grab. PTE level (`follow_page_pte`): a write
    /// through a clean PTE dirties a clean folio (`folio_mark_dirty`); the
    /// accessed state is folio-only (`folio_mark_accessed`, not modelled).
    /// PMD level (`touch_pmd`): the PMD becomes young, and dirty for a write.
    pub(crate) fn gup_touch(
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
    pub(crate) fn faultin_page(
        &mut self,
        p: usize,
        page: u64,
        f: Foll,
        unshare: bool,
    ) -> Result<(), GupStop> {
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
            // handle_userfault() without FAULT_FLAG_ALLOW_RETRY: SIGBUS.
            FaultError::Userfault if f.unlockable => GupStop::Blocked(page),
            FaultError::Userfault => GupStop::Err(Errno::EFAULT),
        })
    }

    // ----------------------------------------------------------------
    // GUP-fast
    // ----------------------------------------------------------------
}
