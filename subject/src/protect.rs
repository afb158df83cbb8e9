//! Changes to entries that leave the mapping in place: `change_protection`
//! (mprotect, uffd-wp), `clear_refs` soft-dirty, `MADV_FREE`, `MADV_PAGEOUT`.

use mmdiff_core::op::FsKind;
use mmdiff_core::outcome::{Errno, Outcome};
use mmdiff_core::state::{Entry, FolioId, MigKind, ObjId, PteBits, Target, VmaKind, VmaState};

use crate::device::Inval;
use crate::pte::{entry_folio, is_pmd_leaf, with_devpriv_write, with_mig_kind};
use crate::vma::is_shared;
use crate::world::World;

impl World {
    /// `vma_wants_manual_pte_write_upgrade()`: mprotect and uffd-wp resolve
    /// may make individual PTEs writable (`MM_CP_TRY_CHANGE_WRITABLE`).
    fn wants_manual_write_upgrade(&self, vma: &VmaState) -> bool {
        if is_shared(vma) {
            self.wants_writenotify(vma)
        } else {
            vma.prot.writable()
        }
    }

    /// `can_change_pte_writable()` (and the PMD twin): no soft-dirty or
    /// uffd-wp tracking needs the write fault, and either the page is an
    /// exclusive anon page of a private mapping or, in a shared mapping,
    /// the PTE is already dirty.
    pub(crate) fn can_change_writable(&self, vma: &VmaState, e: &Entry) -> bool {
        let Entry::Present { target, bits, .. } = e else {
            return false;
        };
        if !vma.prot.writable() || World::needs_soft_dirty_wp(vma, bits) || bits.uffd_wp {
            return false;
        }
        if !is_shared(vma) {
            return match *target {
                Target::Folio { folio, page } => {
                    let f = self.folio(folio);
                    let sub = if is_pmd_leaf(e) { 0 } else { page as usize };
                    f.anon && f.anon_exclusive.get(sub)
                }
                _ => false,
            };
        }
        bits.dirty
    }

    /// `change_protection()` after an mprotect of `[s, e)`: every present
    /// entry is rebuilt from the new `vm_page_prot` (`pte_modify`) and may
    /// be upgraded to writable; non-present entries are unchanged.
    pub fn change_protection(&mut self, p: usize, s: u64, e: u64) {
        self.invalidate(p, s, e, Inval::Clear);
        let pages: Vec<u64> = self.mm(p).pt.pages_leaf_once(s, e);
        for page in pages {
            let Some(entry) = self.entry(p, page) else {
                continue;
            };
            if is_pmd_leaf(&entry) && page != World::pmd_start(page) {
                continue;
            }
            if !matches!(entry, Entry::Present { .. }) {
                self.change_softleaf(p, page, entry);
                continue;
            }
            let vma = self.vma_at(p, page).expect("entry inside a VMA");
            let mut write = self.page_prot_writable(&vma);
            if !write
                && self.wants_manual_write_upgrade(&vma)
                && self.can_change_writable(&vma, &entry)
            {
                write = true;
            }
            self.update_bits(p, page, |b| b.write = write && !b.uffd_wp);
        }
    }

    /// `change_softleaf_pte()` / `change_non_present_huge_pmd()`: a
    /// writable migration entry becomes read-exclusive (anon) or readable
    /// (file), keeping soft-dirty; a writable device-private entry becomes
    /// read-only, dropping soft-dirty and keeping uffd-wp (at PMD level too:
    /// the 2026 fix of `change_non_present_huge_pmd`, Fixes 368076f52ebe, is
    /// modelled). The writable device-exclusive variant of kernels before
    /// 6.15 becomes the readable one, keeping soft-dirty and uffd-wp.
    /// Everything else is unchanged.
    fn change_softleaf(&mut self, p: usize, page: u64, entry: Entry) {
        #[cfg(feature = "planted")]
        if matches!(entry, Entry::DevicePrivate { .. }) && planted!(Seed001MprotectKeepsDeviceWrite)
        {
            return;
        }
        let new = match entry {
            Entry::Migration {
                kind: MigKind::Write,
                target,
                ..
            } => {
                let anon = match target {
                    Target::Folio { folio, .. } => self.folio(folio).anon,
                    _ => false,
                };
                with_mig_kind(
                    entry,
                    if anon {
                        MigKind::ReadExclusive
                    } else {
                        MigKind::Read
                    },
                )
            }
            Entry::DevicePrivate { write: true, .. } => {
                let mut d = with_devpriv_write(entry, false);
                if let Entry::DevicePrivate { soft_dirty, .. } = &mut d {
                    *soft_dirty = false;
                }
                d
            }
            Entry::DeviceExclusive { write: true, .. } => {
                let mut d = entry;
                if let Entry::DeviceExclusive { write, .. } = &mut d {
                    *write = false;
                }
                d
            }
            _ => return,
        };
        self.rewrite_entry(p, page, |e| *e = new);
    }

    /// `clear_refs` with `CLEAR_REFS_SOFT_DIRTY`: every VMA loses
    /// `VM_SOFTDIRTY`, present entries are write-protected and lose their
    /// soft-dirty bit (except writable pinned pages of COW mappings,
    /// `pte_is_pinned`; the PMD path has no such exception), swap entries
    /// lose theirs. `VM_PFNMAP` VMAs are skipped.
    pub fn clear_soft_dirty(&mut self, p: usize) {
        let vmas: Vec<VmaState> = self.mm(p).vmas.values().copied().collect();
        let has_pinned = self.mm(p).has_pinned;
        for v in vmas {
            if v.kind == VmaKind::Special {
                continue;
            }
            if let Some(vm) = self.mm_mut(p).vmas.get_mut(&v.start) {
                vm.soft_dirty = false;
            }
            // MMU_NOTIFY_SOFT_DIRTY over the VMA.
            self.invalidate(p, v.start, v.end, Inval::Clear);
            let pages: Vec<u64> = self.mm(p).pt.pages_leaf_once(v.start, v.end);
            for page in pages {
                match self.entry(p, page) {
                    Some(e @ Entry::Present { bits, .. }) => {
                        if is_pmd_leaf(&e) {
                            if page == World::pmd_start(page) {
                                self.update_bits(p, page, |b| {
                                    b.write = false;
                                    b.soft_dirty = false;
                                });
                            }
                            continue;
                        }
                        let pinned = bits.write
                            && crate::vma::is_cow(&v)
                            && has_pinned
                            && entry_folio(&e)
                                .is_some_and(|(f, _)| self.folio(f).maybe_dma_pinned());
                        if !pinned {
                            self.update_bits(p, page, |b| {
                                b.write = false;
                                b.soft_dirty = false;
                            });
                        }
                    }
                    // clear_soft_dirty(): swap-format entries lose the bit too.
                    Some(_) => self.update_swp_bits(p, page, |sd, _| *sd = false),
                    None => {}
                }
            }
        }
    }

    /// `UFFDIO_REGISTER(MODE_WP)` + `UFFDIO_WRITEPROTECT` over `[s, e)`.
    /// Registration needs the range mapped throughout (`EINVAL`) by VMAs
    /// userfaultfd supports: anonymous and shmem (`vma_can_userfault`).
    /// Protecting sets the uffd-wp bit on present and swap entries and
    /// write-protects; resolving clears it and may make PTEs writable again.
    /// (No PTE markers are installed on empty entries.)
    pub fn uffd_wp(&mut self, p: usize, s: u64, e: u64, on: bool) -> Outcome {
        if !self.fully_mapped(p, s, e) {
            return Outcome::Err(Errno::EINVAL);
        }
        for v in self.vmas_in(p, s, e) {
            let shmem = match (v.kind, v.backing) {
                (VmaKind::AnonShared, _) => true,
                (VmaKind::FilePrivate | VmaKind::FileShared, Some((ObjId::File(f), _))) => {
                    self.file(f).and_then(|o| o.fs) == Some(FsKind::Tmpfs)
                }
                _ => false,
            };
            if v.kind != VmaKind::AnonPrivate && !shmem {
                return Outcome::Err(Errno::EINVAL);
            }
        }
        self.set_vma_attr(p, s, e, |vm| vm.uffd_wp = true);
        self.invalidate(p, s, e, Inval::Clear);
        let pages: Vec<u64> = self.mm(p).pt.pages_leaf_once(s, e);
        for page in pages {
            match self.entry(p, page) {
                Some(entry @ Entry::Present { .. }) => {
                    if is_pmd_leaf(&entry) && page != World::pmd_start(page) {
                        continue;
                    }
                    if on {
                        self.update_bits(p, page, |b| {
                            b.uffd_wp = true;
                            b.write = false;
                        });
                    } else {
                        self.update_bits(p, page, |b| b.uffd_wp = false);
                        let vma = self.vma_at(p, page).expect("entry inside a VMA");
                        let entry = self.entry(p, page).expect("still there");
                        if self.wants_manual_write_upgrade(&vma)
                            && self.can_change_writable(&vma, &entry)
                        {
                            self.update_bits(p, page, |b| b.write = true);
                        }
                    }
                }
                Some(entry) if !is_pmd_leaf(&entry) || page == World::pmd_start(page) => {
                    self.update_swp_bits(p, page, |_, u| *u = on);
                }
                Some(_) | None => {}
            }
        }
        self.merge_vmas(p);
        Outcome::OK
    }

    /// `MADV_FREE` (`madvise_free_pte_range`): swap entries are freed;
    /// anon folios mapped only here become clean, old and lazyfree (a
    /// later reclaim discards them unless they are written again). Large
    /// folios are split first; if they cannot be, they are skipped.
    pub fn madvise_free(&mut self, p: usize, s: u64, e: u64) {
        self.invalidate(p, s, e, Inval::Clear);
        let pages: Vec<u64> = self.mm(p).pt.pages_leaf_once(s, e);
        for page in pages {
            match self.entry(p, page) {
                Some(Entry::Swap { slot, .. }) => {
                    self.clear_pte(p, page);
                    self.free_swap_and_cache(slot);
                }
                Some(entry @ Entry::Present { .. }) => {
                    let Some((folio, _)) = entry_folio(&entry) else {
                        continue;
                    };
                    if !self.folios.contains_key(&folio) {
                        continue;
                    }
                    if self.folio(folio).is_large() {
                        // "Do not interfere with other mappings": a large
                        // folio another process maps is neither split nor
                        // freed (`folio_maybe_mapped_shared`).
                        if self.mappers(folio).iter().any(|&(q, _)| q != p) {
                            continue;
                        }
                        let leaf = is_pmd_leaf(&entry);
                        let whole = leaf
                            && World::pmd_start(page) >= s
                            && World::pmd_start(page) + World::pmd_pages() <= e;
                        if whole {
                            if page == World::pmd_start(page) && self.folio(folio).mapcount == 1 {
                                self.mark_lazyfree(p, page, folio);
                            }
                            continue;
                        }
                        if self.split_folio(folio).is_none() {
                            continue;
                        }
                    }
                    let Some((folio, _)) = self.folio_at(p, page) else {
                        continue;
                    };
                    if self.folio(folio).mapcount != 1 || !self.folio(folio).anon {
                        continue;
                    }
                    self.mark_lazyfree(p, page, folio);
                }
                // Migration, device-private and device-exclusive entries are
                // not swap entries: MADV_FREE leaves them.
                Some(_) | None => {}
            }
        }
    }

    /// The per-folio part of `MADV_FREE`.
    fn mark_lazyfree(&mut self, p: usize, page: u64, folio: FolioId) {
        let f = self.folio(folio);
        if f.swapcache.is_some() || f.dirty {
            if f.locked {
                return;
            }
            self.try_folio_free_swap(folio);
            if self.folio(folio).swapcache.is_some() {
                return;
            }
            self.folio_mut(folio).dirty = false;
        }
        self.update_bits(p, page, |b: &mut PteBits| {
            b.young = false;
            b.dirty = false;
        });
        // folio_mark_lazyfree()
        let f = self.folio_mut(folio);
        if f.lru && f.swapbacked {
            f.swapbacked = false;
        }
    }

    /// `MADV_PAGEOUT` (`madvise_cold_or_pageout_pte_range`): reclaim the
    /// folios mapped in the range that are mapped only here, in address
    /// order. A large folio the range covers only in part is split first,
    /// unless another process maps it ("do not interfere with other
    /// mappings", `folio_maybe_mapped_shared`), and only its pieces in the
    /// range are reclaimed.
    pub fn madvise_pageout(&mut self, p: usize, s: u64, e: u64) {
        let mut list: Vec<FolioId> = Vec::new();
        let pages: Vec<u64> = self.mm(p).pt.pages_leaf_once(s, e);
        for page in pages {
            let Some(mut entry) = self.entry(p, page) else {
                continue;
            };
            let Some((mut folio, sub)) = entry_folio(&entry) else {
                continue;
            };
            if !self.folios.contains_key(&folio) {
                continue;
            }
            if self.folio(folio).is_large() && !self.pageout_whole(p, page, &entry, sub, e) {
                if self.mappers(folio).iter().any(|&(q, _)| q != p) {
                    continue;
                }
                if self.split_folio(folio).is_none() {
                    continue;
                }
                // This page's piece, unless it went to the zero page.
                match self
                    .entry(p, page)
                    .and_then(|x| entry_folio(&x).map(|(f, _)| (x, f)))
                {
                    Some((x, f)) => (entry, folio) = (x, f),
                    None => continue,
                }
            }
            let f = self.folio(folio);
            if !f.lru || list.contains(&folio) {
                continue;
            }
            let expected = if is_pmd_leaf(&entry) {
                1
            } else {
                f.nr_pages() as i64
            };
            if f.mapcount != expected {
                continue;
            }
            list.push(folio);
        }
        self.reclaim_folios(&list);
    }

    /// Whether the range (ending at `e`) covers the whole large folio
    /// mapped at `page` (page `sub` of it): its PMD lies inside, or its
    /// pages are mapped by consecutive PTEs from here on (the batch of
    /// `madvise_folio_pte_batch` is the whole folio).
    fn pageout_whole(&self, p: usize, page: u64, entry: &Entry, sub: u32, e: u64) -> bool {
        let Some((folio, _)) = entry_folio(entry) else {
            return false;
        };
        let nr = self.folio(folio).nr_pages();
        if is_pmd_leaf(entry) {
            // The walk meets a PMD first at the range's start or its own.
            let start = World::pmd_start(page);
            return page == start && start + nr <= e;
        }
        sub == 0
            && page + nr <= e
            && (0..nr).all(|i| {
                self.entry(p, page + i).and_then(|x| entry_folio(&x)) == Some((folio, i as u32))
            })
    }
}
