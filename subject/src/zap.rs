//! Tearing mappings down: `zap_pte_range`, `zap_huge_pmd`, and what they do
//! to folios, swap slots and the swap cache.

use mmdiff_core::op::PMD_PAGES;
use mmdiff_core::state::{Entry, FolioId, ObjId, SwapId};

use crate::device::Inval;
use crate::pte::{entry_folio, is_pmd_leaf};
use crate::world::World;

impl World {
    /// Zap every entry of process `p` in `[start, end)` (munmap,
    /// MADV_DONTNEED, exit). PMD leaves only partly inside are split first
    /// (`__split_huge_pmd` from `zap_pmd_range`).
    pub fn zap_range(&mut self, p: usize, start: u64, end: u64) {
        self.invalidate(p, start, end, Inval::Clear);
        let pages: Vec<u64> = self.mm(p).pt.pages_leaf_once(start, end);
        for page in pages {
            let Some(e) = self.entry(p, page) else {
                continue;
            };
            if is_pmd_leaf(&e) {
                let s = World::pmd_start(page);
                if s >= start && s + PMD_PAGES as u64 <= end {
                    if page == s {
                        self.zap_pmd(p, s);
                    }
                    continue;
                }
                self.split_pmd(p, page);
            }
            self.zap_pte(p, page);
        }
    }

    /// `zap_huge_pmd()`.
    fn zap_pmd(&mut self, p: usize, start: u64) {
        if let Some(e) = self.clear_pmd(p, start) {
            if let Some((folio, _)) = entry_folio(&e) {
                self.free_swap_cache(folio);
            }
        }
    }

    /// One PTE of `zap_pte_range()`.
    pub fn zap_pte(&mut self, p: usize, page: u64) {
        let Some(e) = self.entry(p, page) else { return };
        match e {
            Entry::Present { bits, .. } => {
                if let Some((folio, _)) = entry_folio(&e) {
                    // zap_present_folio_ptes: a dirty PTE dirties a file folio
                    // (anon folios are only dirtied when they are unmapped for swap).
                    if bits.dirty && !self.folio(folio).anon {
                        self.folio_mut(folio).dirty = true;
                    }
                    // Keep the folio alive across the put to look at it after.
                    self.folio_get(folio, 1);
                    self.clear_pte(p, page);
                    self.free_swap_cache(folio);
                    self.folio_put(folio, 1);
                } else {
                    self.clear_pte(p, page);
                }
            }
            Entry::Swap { slot, .. } => {
                self.clear_pte(p, page);
                self.free_swap_and_cache(slot);
            }
            // zap_nonpresent_ptes(): a migration entry is cleared and holds
            // no reference (the migration owns the folio); device-private and
            // device-exclusive entries drop their mapping and reference.
            Entry::Migration { .. }
            | Entry::DevicePrivate { .. }
            | Entry::DeviceExclusive { .. } => {
                self.clear_pte(p, page);
            }
        }
    }

    /// `free_swap_cache()` as called when unmapping: an anon folio that is
    /// no longer mapped leaves the swap cache if the folio lock can be taken
    /// and no swap entry refers to its slot any more (`folio_free_swap`).
    pub fn free_swap_cache(&mut self, folio: FolioId) {
        let Some(f) = self.folios.get(&folio) else {
            return;
        };
        if f.mapcount > 0 || f.locked {
            return;
        }
        let Some(slot) = f.swapcache else { return };
        if self.swap.get(&slot).is_some_and(|s| s.count == 0) {
            self.delete_from_swap_cache(folio);
        }
    }

    /// `free_swap_and_cache()`: a swap entry went away; when it was the last
    /// one, the slot is freed, together with its cached folio if that folio
    /// is unmapped and not locked (`__try_to_reclaim_swap`).
    pub fn free_swap_and_cache(&mut self, slot: SwapId) {
        let Some(s) = self.swap.get(&slot) else {
            return;
        };
        if s.count > 0 {
            return;
        }
        match s.cached {
            None => {
                self.swap.remove(&slot);
            }
            Some(folio) => self.free_swap_cache(folio),
        }
    }

    /// `delete_from_swap_cache()` + `swap_free`: the folio loses its swap
    /// cache reference and the slot is released.
    pub fn delete_from_swap_cache(&mut self, folio: FolioId) {
        let Some(slot) = self.folio_mut(folio).swapcache.take() else {
            return;
        };
        self.swap.remove(&slot);
        self.folio_put(folio, 1);
    }

    /// Release a shm or io object once no VMA of any process maps it
    /// (`fput` of the last reference): its page cache is truncated.
    pub fn release_unused_objects(&mut self) {
        let used: Vec<ObjId> = self
            .procs
            .iter()
            .flatten()
            .flat_map(|mm| mm.vmas.values().filter_map(|v| v.backing.map(|(o, _)| o)))
            .collect();
        let dead: Vec<ObjId> = self
            .objects
            .keys()
            .copied()
            .filter(|o| !matches!(o, ObjId::File(_)) && !used.contains(o))
            .collect();
        for obj in dead {
            self.truncate_object(obj);
            self.objects.remove(&obj);
        }
    }

    /// Drop every page-cache folio of an object (`truncate_inode_pages`):
    /// each loses the page cache's reference; pinned ones live on, detached.
    fn truncate_object(&mut self, obj: ObjId) {
        let cache = match self.objects.get_mut(&obj) {
            Some(o) => std::mem::take(&mut o.cache),
            None => return,
        };
        for (_, (folio, _)) in cache {
            let nr = self.folio(folio).nr_pages() as i64;
            let f = self.folio_mut(folio);
            f.mapping = None;
            f.lru = false;
            self.folio_put(folio, nr);
        }
    }
}
