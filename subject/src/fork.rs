//! fork(): `dup_mmap()` and `copy_page_range()` (mm/memory.c,
//! mm/huge_memory.c `copy_huge_pmd`).

use mmdiff_core::outcome::{Errno, Outcome};
use mmdiff_core::state::{Entry, FolioId, MigKind, Target, VmaKind, VmaState};

use crate::fault::{fresh_bits, mkdirty};
use crate::pte::{
    entry_folio, is_pmd_leaf, pte, with_devpriv_write, with_mig_kind, without_uffd_wp,
};
use crate::vma::is_cow;
use crate::world::{Mm, World};

impl World {
    /// fork of process `p` into the empty slot `child`. If a page that has
    /// to be copied for the child cannot be allocated, the child is torn
    /// down and fork fails with `ENOMEM`; what fork already did to the
    /// parent (write-protection, shared anon pages) stays.
    pub fn fork(&mut self, p: usize, child: usize) -> Outcome {
        self.procs[child] = Some(Mm::new(child));
        let vmas: Vec<VmaState> = self.mm(p).vmas.values().copied().collect();
        for v in vmas {
            if v.dontfork {
                continue;
            }
            // dup_userfaultfd(): without UFFD_FEATURE_EVENT_FORK the child
            // VMA is not registered.
            let mut cv = v;
            cv.uffd_wp = false;
            self.mm_mut(child).vmas.insert(cv.start, cv);
            if !vma_needs_copy(&v) {
                continue;
            }
            if is_cow(&v) {
                // copy_page_range() write-protects the parent's COW pages
                // under MMU_NOTIFY_PROTECTION_PAGE.
                self.invalidate(p, v.start, v.end, crate::device::Inval::Clear);
            }
            if self.copy_range(p, child, &v, &cv).is_err() {
                self.exit(child);
                return Outcome::Err(Errno::ENOMEM);
            }
        }
        Outcome::OK
    }

    fn copy_range(
        &mut self,
        p: usize,
        child: usize,
        v: &VmaState,
        cv: &VmaState,
    ) -> Result<(), ()> {
        let pages: Vec<u64> = self.mm(p).pt.pages_leaf_once(v.start, v.end);
        for page in pages {
            let Some(e) = self.entry(p, page) else {
                continue;
            };
            if is_pmd_leaf(&e) {
                if page == World::pmd_start(page) && !self.copy_huge_pmd(p, child, page, v, cv) {
                    // The parent's PMD was split: copy its PTEs one by one.
                    for pg in page..page + World::pmd_pages() {
                        self.copy_pte(p, child, pg, v, cv)?;
                    }
                }
                continue;
            }
            if self.entry(child, page).is_none() {
                self.copy_pte(p, child, page, v, cv)?;
            }
        }
        Ok(())
    }

    /// `copy_huge_pmd()`. Returns false when the PMD had to be split
    /// (an exclusive THP that may be pinned cannot be shared).
    fn copy_huge_pmd(
        &mut self,
        p: usize,
        child: usize,
        start: u64,
        v: &VmaState,
        cv: &VmaState,
    ) -> bool {
        let Some(first) = self.entry(p, start) else {
            return true;
        };
        let Entry::Present { target, bits, .. } = first else {
            self.copy_huge_non_present_pmd(p, child, start, v, cv, first);
            return true;
        };
        match target {
            Target::HugeZero { .. } => {
                let zb = fresh_bits();
                self.set_pmd(child, start, target, zb);
                true
            }
            Target::Folio { folio, .. } => {
                if self.dup_anon_rmap_fails(p, v, folio, 0) {
                    self.split_pmd(p, start);
                    return false;
                }
                self.folio_mut(folio).anon_exclusive.set(0, false);
                let mut cb = bits;
                if is_cow(v) && bits.write {
                    self.update_bits(p, start, |b| b.write = false);
                    cb.write = false;
                }
                cb.young = false;
                if !cv.uffd_wp {
                    cb.uffd_wp = false;
                }
                self.set_pmd(child, start, target, cb);
                true
            }
            _ => true,
        }
    }

    /// `copy_huge_non_present_pmd()`: a PMD migration entry or a PMD
    /// device-private entry. Writable ones become read-only in the parent
    /// (a device-private PMD unconditionally, keeping soft-dirty and
    /// uffd-wp); the child gets the same entry without uffd-wp unless its
    /// VMA is registered. A device-private PMD is a mapping: the folio gets a
    /// reference and a mapcount and is no longer exclusive.
    fn copy_huge_non_present_pmd(
        &mut self,
        p: usize,
        child: usize,
        start: u64,
        v: &VmaState,
        cv: &VmaState,
        first: Entry,
    ) {
        let downgraded = match first {
            Entry::Migration { kind, .. } if is_cow(v) && kind != MigKind::Read => {
                Some(with_mig_kind(first, MigKind::Read))
            }
            Entry::DevicePrivate { write: true, .. } => Some(with_devpriv_write(first, false)),
            _ => None,
        };
        #[cfg(feature = "planted")]
        let downgraded = downgraded.filter(|_| {
            !(matches!(first, Entry::DevicePrivate { .. }) && planted!(Seed001ForkKeepsDeviceWrite))
        });
        if let Some(d) = downgraded {
            self.rewrite_entry(p, start, |e| *e = d);
        }
        let mut ce = downgraded.unwrap_or(first);
        if !cv.uffd_wp {
            ce = without_uffd_wp(ce);
        }
        if let Entry::DevicePrivate {
            target: Target::Folio { folio, .. },
            ..
        } = ce
        {
            self.folio_mut(folio).anon_exclusive.set(0, false);
        }
        self.set_pmd_entry(child, start, ce);
    }

    /// `folio_try_dup_anon_rmap_*()` fails with -EBUSY when the page is
    /// exclusive and the folio may be DMA-pinned in a COW mapping of an mm
    /// that ever pinned (`folio_needs_cow_for_dma`).
    fn dup_anon_rmap_fails(&self, p: usize, v: &VmaState, folio: FolioId, sub: u32) -> bool {
        #[cfg(feature = "planted")]
        if planted!(ForkSharesPinnedPage) {
            return false;
        }
        let f = self.folio(folio);
        f.anon
            && f.anon_exclusive.get(sub as usize)
            && is_cow(v)
            && self.mm(p).has_pinned
            && f.maybe_dma_pinned()
    }

    /// `copy_present_pte()` / `copy_nonpresent_pte()` for one PTE.
    fn copy_pte(
        &mut self,
        p: usize,
        child: usize,
        page: u64,
        v: &VmaState,
        cv: &VmaState,
    ) -> Result<(), ()> {
        let Some(e) = self.entry(p, page) else {
            return Ok(());
        };
        match e {
            // copy_nonpresent_pte(): a writable or read-exclusive migration
            // entry becomes plain readable in a COW parent; the child gets
            // the same entry. No reference: the migration owns the folio.
            Entry::Migration { kind, .. } => {
                let mut pe = e;
                if is_cow(v) && kind != MigKind::Read {
                    pe = with_mig_kind(e, MigKind::Read);
                    self.rewrite_entry(p, page, |x| *x = pe);
                }
                let ce = if cv.uffd_wp { pe } else { without_uffd_wp(pe) };
                self.set_pte(child, page, ce);
            }
            // A writable device-private entry becomes read-only in both
            // (the parent's loses soft-dirty, keeps uffd-wp); dup of the
            // rmap never fails for device-private folios.
            Entry::DevicePrivate { write, target, .. } => {
                let mut pe = e;
                let downgrade = write && is_cow(v);
                #[cfg(feature = "planted")]
                let downgrade = downgrade && !planted!(Seed001ForkKeepsDeviceWrite);
                if downgrade {
                    pe = with_devpriv_write(e, false);
                    if let Entry::DevicePrivate { soft_dirty, .. } = &mut pe {
                        *soft_dirty = false;
                    }
                    self.rewrite_entry(p, page, |x| *x = pe);
                }
                if let Target::Folio { folio, page: sub } = target {
                    self.folio_mut(folio)
                        .anon_exclusive
                        .set(sub as usize, false);
                }
                let ce = if cv.uffd_wp { pe } else { without_uffd_wp(pe) };
                self.set_pte(child, page, ce);
            }
            // try_restore_exclusive_pte(): restore a present PTE first
            // (folio_trylock; failure makes the whole fork fail with
            // -ENOMEM), then copy that.
            Entry::DeviceExclusive { target, .. } => {
                if let Target::Folio { folio, .. } = target {
                    if self.folio(folio).locked {
                        return Err(());
                    }
                }
                self.restore_exclusive_pte(p, page);
                return self.copy_pte(p, child, page, v, cv);
            }
            Entry::Swap {
                slot,
                soft_dirty,
                uffd_wp,
                ..
            } => {
                // The parent's entry loses its exclusive marker.
                self.update_swap_bits(p, page, |x, _, _| *x = false);
                let ce = Entry::Swap {
                    slot,
                    exclusive: false,
                    soft_dirty,
                    uffd_wp: uffd_wp && cv.uffd_wp,
                };
                self.set_pte(child, page, ce);
            }
            Entry::Present { target, bits, .. } => {
                if let Some((folio, sub)) = entry_folio(&e) {
                    if self.dup_anon_rmap_fails(p, v, folio, sub) {
                        return self.copy_present_page(child, page, cv, folio, sub);
                    }
                    if self.folio(folio).anon {
                        self.folio_mut(folio)
                            .anon_exclusive
                            .set(sub as usize, false);
                    }
                }
                let mut cb = bits;
                if is_cow(v) && bits.write {
                    self.update_bits(p, page, |b| b.write = false);
                    cb.write = false;
                }
                if !is_cow(v) {
                    cb.dirty = false;
                }
                cb.young = false;
                if !cv.uffd_wp {
                    cb.uffd_wp = false;
                }
                self.set_pte(child, page, pte(target, cb));
            }
        }
        Ok(())
    }

    /// `copy_present_page()`: the child gets its own copy of a page the
    /// parent may have pinned; the parent's PTE is untouched.
    fn copy_present_page(
        &mut self,
        child: usize,
        page: u64,
        cv: &VmaState,
        folio: FolioId,
        sub: u32,
    ) -> Result<(), ()> {
        let value = self.folio(folio).contents.get(sub as usize);
        let new = self.new_anon_page(cv.zone, value).ok_or(())?;
        let mut bits = fresh_bits();
        mkdirty(&mut bits);
        bits.write = cv.prot.writable();
        self.map_new_page(child, page, new, bits);
        Ok(())
    }
}

/// `vma_needs_copy()`: page tables are copied at fork only for VMAs with
/// anon pages (an anon_vma) and for raw pfn mappings; the child faults the
/// rest in from the page cache.
fn vma_needs_copy(v: &VmaState) -> bool {
    v.kind == VmaKind::Special || v.anon_vma
}
