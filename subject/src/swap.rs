//! Swap: swap-in (`do_swap_page`) and reclaim (`shrink_folio_list`,
//! `try_to_unmap`, `__remove_mapping`), used by the `reclaim` op and by
//! `MADV_PAGEOUT`.
//!
//! Reclaim is modelled as one complete pass: every candidate folio is
//! either reclaimed or left where it is, in a fixed order (folio creation
//! order), and the swap cache of a reclaimed anon folio is dropped at once.

use mmdiff_core::state::{Entry, FolioId, ObjId, PteBits, SwapId, Target, VmaState};

use crate::device::Inval;
use crate::fault::{mkdirty, FaultError, FaultKind, FaultResult};
use crate::pte::pte;
use crate::world::World;

impl World {
    /// `do_swap_page()` for a swap entry at `page`.
    pub fn do_swap_page(
        &mut self,
        p: usize,
        page: u64,
        vma: &VmaState,
        kind: FaultKind,
    ) -> FaultResult {
        let Some(Entry::Swap {
            slot,
            exclusive,
            soft_dirty,
            uffd_wp,
        }) = self.entry(p, page)
        else {
            return Ok(());
        };
        let cached = self.swap.get(&slot).and_then(|s| s.cached);
        let folio = match cached {
            Some(f) => {
                // folio_lock_or_retry sleeps on a folio locked elsewhere.
                if self.folio(f).locked {
                    return Err(FaultError::Blocked);
                }
                f
            }
            None => self.swapin_folio(slot, World::fault_zone(vma, kind))?,
        };
        // The fault's own reference while it works.
        self.folio_get(folio, 1);
        self.clear_pte(p, page);
        // should_try_to_free_swap(): a write fault frees the swap cache when
        // nobody else holds the folio (swap cache + our reference).
        if kind.write && self.folio(folio).refcount == 2 {
            self.try_folio_free_swap(folio);
        }
        // Exclusive if the swap entry said so, or the folio is ours alone.
        let exclusive = exclusive || self.folio(folio).refcount == 1;
        let mut bits = PteBits {
            young: true,
            soft_dirty,
            uffd_wp,
            ..PteBits::default()
        };
        if exclusive {
            if vma.prot.writable() && !uffd_wp && !World::needs_soft_dirty_wp(vma, &bits) {
                bits.write = true;
                if kind.write {
                    mkdirty(&mut bits);
                }
            }
            self.folio_mut(folio).anon_exclusive.set(0, true);
        }
        self.set_pte(p, page, pte(Target::Folio { folio, page: 0 }, bits));
        self.folio_put(folio, 1);
        Ok(())
    }

    /// Read a swapped page into a new folio added to the swap cache
    /// (`swapin_readahead` without readahead). The folio holds the swap
    /// cache's reference.
    fn swapin_folio(
        &mut self,
        slot: SwapId,
        zone: mmdiff_core::op::Zone,
    ) -> Result<FolioId, FaultError> {
        let value = self.swap.get(&slot).map_or(0, |s| s.contents);
        let folio = self.alloc_folio(zone, 0).ok_or(FaultError::Oom)?;
        self.make_new_anon(folio);
        {
            let f = self.folio_mut(folio);
            f.contents.set(0, value);
            f.swapcache = Some(slot);
        }
        if let Some(s) = self.swap.get_mut(&slot) {
            s.cached = Some(folio);
        }
        Ok(folio)
    }

    /// The `reclaim` op: one pass of `shrink_folio_list()` over every folio
    /// on the LRU. Returns how many folios were freed.
    pub fn reclaim_all(&mut self) -> u64 {
        let candidates: Vec<FolioId> = self.folios.in_alloc_order(|f| f.lru);
        self.reclaim_folios(&candidates)
    }

    /// `reclaim_pages()` over the given folios.
    pub fn reclaim_folios(&mut self, folios: &[FolioId]) -> u64 {
        let mut freed = 0;
        for &folio in folios {
            if self.folios.contains_key(&folio) && self.shrink_folio(folio) {
                freed += 1;
            }
        }
        freed
    }

    /// One folio through `shrink_folio_list()`. Returns true when freed.
    fn shrink_folio(&mut self, folio: FolioId) -> bool {
        // folio_trylock: someone else's lock makes reclaim skip the folio.
        if self.folio(folio).locked {
            return false;
        }
        // A device holds it exclusively: reclaim leaves it alone (model
        // decision; the device would have to give it back first).
        let exclusive_elsewhere = self
            .mappers(folio)
            .iter()
            .any(|&(q, pg)| matches!(self.entry(q, pg), Some(Entry::DeviceExclusive { .. })));
        if exclusive_elsewhere {
            return false;
        }
        // folio_referenced() clears the young bits of every mapping; the
        // model does not age folios, so a referenced folio is still
        // reclaimed in the same pass.
        for (q, page) in self.mappers(folio) {
            self.update_bits(q, page, |b| b.young = false);
        }
        if self.folio(folio).anon {
            self.shrink_anon_folio(folio)
        } else {
            self.shrink_file_folio(folio)
        }
    }

    /// Anon folios: lazyfree folios that stayed clean are discarded;
    /// others get a swap slot, every mapping becomes a swap entry, and the
    /// folio is freed if no one else holds it. Large folios are split
    /// first (no THP swap in this model).
    fn shrink_anon_folio(&mut self, folio: FolioId) -> bool {
        if self.folio(folio).is_large() {
            let Some(pieces) = self.split_folio(folio) else {
                return false;
            };
            // Each piece gets its own pass.
            let mut all = true;
            for piece in pieces {
                all &= self.shrink_folio(piece);
            }
            return all;
        }
        if !self.folio(folio).swapbacked {
            return self.discard_lazyfree(folio);
        }
        let slot = match self.folio(folio).swapcache {
            Some(s) => s,
            // A folio that may be pinned is not added to the swap cache
            // (shrink_folio_list: `folio_maybe_dma_pinned` -> keep).
            None if self.folio(folio).maybe_dma_pinned() => return false,
            None => {
                let value = self.folio(folio).contents.get(0);
                let Some(s) = self.alloc_swap(value) else {
                    return false;
                };
                self.folio_mut(folio).swapcache = Some(s);
                self.folio_get(folio, 1);
                if let Some(sw) = self.swap.get_mut(&s) {
                    sw.cached = Some(folio);
                }
                s
            }
        };
        if !self.try_to_unmap_anon(folio, slot) {
            return false;
        }
        // pageout(): the contents reach the swap slot.
        let value = self.folio(folio).contents.get(0);
        if let Some(sw) = self.swap.get_mut(&slot) {
            sw.contents = value;
        }
        self.folio_mut(folio).dirty = false;
        // __remove_mapping(): only the swap cache's reference may remain.
        if self.folio(folio).refcount != 1 {
            return false;
        }
        self.folio_mut(folio).swapcache = None;
        if let Some(sw) = self.swap.get_mut(&slot) {
            sw.cached = None;
        }
        if self.swap.get(&slot).is_some_and(|s| s.count == 0) {
            self.swap.remove(&slot);
        }
        self.folio_put(folio, 1);
        true
    }

    /// `try_to_unmap()` of an anon folio: every PTE becomes a swap entry
    /// carrying the exclusive, soft-dirty and uffd-wp bits. An exclusive
    /// page that may be pinned cannot be shared (`folio_try_share_anon_rmap_pte`
    /// fails), which aborts the walk: pinned anon pages are never swapped.
    fn try_to_unmap_anon(&mut self, folio: FolioId, slot: SwapId) -> bool {
        for (q, page) in self.mappers(folio) {
            let Some(Entry::Present { bits, .. }) = self.entry(q, page) else {
                continue;
            };
            let exclusive = self.folio(folio).anon_exclusive.get(0);
            if exclusive && self.folio(folio).maybe_dma_pinned() {
                return false;
            }
            if bits.dirty {
                self.folio_mut(folio).dirty = true;
            }
            self.folio_mut(folio).anon_exclusive.set(0, false);
            self.invalidate(q, page, page + 1, Inval::Clear);
            self.clear_pte(q, page);
            self.set_pte(
                q,
                page,
                Entry::Swap {
                    slot,
                    exclusive,
                    soft_dirty: bits.soft_dirty,
                    uffd_wp: bits.uffd_wp,
                },
            );
        }
        true
    }

    /// A lazyfree (`MADV_FREE`) folio: discarded if it is still clean and
    /// only its mappings hold it; re-dirtied ones become swap-backed again.
    fn discard_lazyfree(&mut self, folio: FolioId) -> bool {
        let mappers = self.mappers(folio);
        let dirty = self.folio(folio).dirty
            || mappers
                .iter()
                .any(|&(q, pg)| matches!(self.entry(q, pg), Some(Entry::Present { bits, .. }) if bits.dirty));
        let f = self.folio(folio);
        if dirty || f.refcount != f.mapcount {
            self.folio_mut(folio).swapbacked = true;
            return false;
        }
        for (q, page) in mappers {
            self.invalidate(q, page, page + 1, Inval::Clear);
            self.clear_pte(q, page);
        }
        true
    }

    /// File and shmem folios: unmapped from every process, written back
    /// (contents to the backing store), then removed from the page cache if
    /// nothing else holds them.
    fn shrink_file_folio(&mut self, folio: FolioId) -> bool {
        let Some((obj, index)) = self.folio(folio).mapping else {
            return false;
        };
        for (q, page) in self.mappers(folio) {
            if let Some(Entry::Present { bits, .. }) = self.entry(q, page) {
                if bits.dirty {
                    self.folio_mut(folio).dirty = true;
                }
            }
            self.invalidate(q, page, page + 1, Inval::Clear);
            self.clear_pte(q, page);
        }
        let value = self.folio(folio).contents.get(0);
        self.folio_mut(folio).dirty = false;
        if let Some(o) = self.objects.get_mut(&obj) {
            o.backing.insert(index, value);
        }
        if self.folio(folio).refcount != 1 {
            return false;
        }
        self.remove_from_page_cache(folio, obj, index);
        true
    }

    /// `__filemap_remove_folio()` + the page cache's `folio_put`.
    pub fn remove_from_page_cache(&mut self, folio: FolioId, obj: ObjId, index: u64) {
        if let Some(o) = self.objects.get_mut(&obj) {
            o.cache.remove(&index);
        }
        let f = self.folio_mut(folio);
        f.mapping = None;
        f.lru = false;
        self.folio_put(folio, 1);
    }
}
