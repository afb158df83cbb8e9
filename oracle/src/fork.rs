//! fork(): `dup_mmap()` and `copy_page_range()` (mm/memory.c,
//! mm/huge_memory.c `copy_huge_pmd`).

use mmdiff_core::outcome::{Errno, Outcome};
use mmdiff_core::state::{Entry, FolioId, PteBits, Target, VmaKind, VmaState};

use crate::fault::mkdirty;
use crate::pte::{entry_folio, is_pmd_leaf, pte};
use crate::vma::is_cow;
use crate::world::{Mm, World};

impl World {
    /// fork of process `p` into the empty slot `child`. If a page that has
    /// to be copied for the child cannot be allocated, the child is torn
    /// down and fork fails with `ENOMEM`; what fork already did to the
    /// parent (write-protection, shared anon pages) stays.
    pub fn fork(&mut self, p: usize, child: usize) -> Outcome {
        self.procs[child] = Some(Mm::default());
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
        let pages: Vec<u64> = self
            .mm(p)
            .ptes
            .range(v.start..v.end)
            .map(|(&k, _)| k)
            .collect();
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
        let Some(Entry::Present { target, bits, .. }) = self.entry(p, start) else {
            return true;
        };
        match target {
            Target::HugeZero { .. } => {
                let zb = PteBits {
                    young: true,
                    ..PteBits::default()
                };
                self.set_pmd(child, start, target, zb);
                true
            }
            Target::Folio { folio, .. } => {
                if self.dup_anon_rmap_fails(p, v, folio, 0) {
                    self.split_pmd(p, start);
                    return false;
                }
                self.folio_mut(folio).anon_exclusive[0] = false;
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

    /// `folio_try_dup_anon_rmap_*()` fails with -EBUSY when the page is
    /// exclusive and the folio may be DMA-pinned in a COW mapping of an mm
    /// that ever pinned (`folio_needs_cow_for_dma`).
    fn dup_anon_rmap_fails(&self, p: usize, v: &VmaState, folio: FolioId, sub: u32) -> bool {
        let f = self.folio(folio);
        f.anon
            && f.anon_exclusive[sub as usize]
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
                        return self.copy_present_page(p, child, page, cv, folio, sub);
                    }
                    if self.folio(folio).anon {
                        self.folio_mut(folio).anon_exclusive[sub as usize] = false;
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
        _p: usize,
        child: usize,
        page: u64,
        cv: &VmaState,
        folio: FolioId,
        sub: u32,
    ) -> Result<(), ()> {
        let new = self.alloc_folio(cv.zone, 0).ok_or(())?;
        let value = self.folio(folio).contents[sub as usize];
        self.make_new_anon(new);
        {
            let f = self.folio_mut(new);
            f.contents[0] = value;
            f.anon_exclusive[0] = true;
        }
        let mut bits = PteBits {
            young: true,
            ..PteBits::default()
        };
        mkdirty(&mut bits);
        bits.write = cv.prot.writable();
        self.set_pte(
            child,
            page,
            pte(
                Target::Folio {
                    folio: new,
                    page: 0,
                },
                bits,
            ),
        );
        self.folio_put(new, 1);
        Ok(())
    }
}

/// `vma_needs_copy()`: page tables are copied at fork only for VMAs with
/// anon pages (an anon_vma) and for raw pfn mappings; the child faults the
/// rest in from the page cache.
fn vma_needs_copy(v: &VmaState) -> bool {
    v.kind == VmaKind::Special || v.anon_vma
}
