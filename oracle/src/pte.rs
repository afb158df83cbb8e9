//! Page-table entries and the rmap accounting that goes with installing and
//! removing them.
//!
//! Every entry that maps a folio page holds one folio reference and one
//! mapcount (`folio_add_*_rmap_pte` / `folio_remove_rmap_pte`); a PMD leaf
//! holds one reference and one mapcount for the whole folio and one
//! `_entire_mapcount` (`folio_add_anon_rmap_pmd`). A swap entry holds one
//! swap-map count. These are the only functions that change those counters
//! for mappings.

use mmdiff_core::op::PMD_PAGES;
use mmdiff_core::state::{Entry, FolioId, Level, PteBits, Target};

use crate::world::World;

/// The folio page a present entry maps, if it maps one.
pub fn entry_folio(e: &Entry) -> Option<(FolioId, u32)> {
    match e {
        Entry::Present {
            target: Target::Folio { folio, page },
            ..
        } => Some((*folio, *page)),
        _ => None,
    }
}

pub fn is_pmd_leaf(e: &Entry) -> bool {
    matches!(
        e,
        Entry::Present {
            level: Level::Pmd,
            ..
        }
    )
}

/// The bits of a present entry.
pub fn bits_of(e: &Entry) -> Option<PteBits> {
    match e {
        Entry::Present { bits, .. } => Some(*bits),
        _ => None,
    }
}

pub fn pte(target: Target, bits: PteBits) -> Entry {
    Entry::Present {
        level: Level::Pte,
        target,
        bits,
    }
}

impl World {
    pub fn entry(&self, p: usize, page: u64) -> Option<Entry> {
        self.procs[p].as_ref()?.ptes.get(&page).copied()
    }

    /// Install a PTE-level entry in an empty slot (`set_pte_at` plus the
    /// rmap/swap accounting of the caller's path).
    pub fn set_pte(&mut self, p: usize, page: u64, e: Entry) {
        debug_assert!(!is_pmd_leaf(&e));
        if let Some((folio, _)) = entry_folio(&e) {
            let f = self.folio_mut(folio);
            f.mapcount += 1;
            f.refcount += 1;
        }
        if let Entry::Swap { slot, .. } = e {
            if let Some(s) = self.swap.get_mut(&slot) {
                s.count += 1;
            }
        }
        let old = self.mm_mut(p).ptes.insert(page, e);
        debug_assert!(old.is_none(), "set_pte over an existing entry");
    }

    /// Remove a PTE-level entry (`ptep_get_and_clear`, `folio_remove_rmap_pte`
    /// and `folio_put`, or the swap-map decrement). Returns what was there.
    /// Swap slots whose count drops to zero are left for the caller's path
    /// (`free_swap_and_cache` on zap, reuse on swap-in).
    pub fn clear_pte(&mut self, p: usize, page: u64) -> Option<Entry> {
        let e = self.mm_mut(p).ptes.remove(&page)?;
        debug_assert!(!is_pmd_leaf(&e));
        if let Some((folio, _)) = entry_folio(&e) {
            self.folio_mut(folio).mapcount -= 1;
            self.folio_put(folio, 1);
        }
        if let Entry::Swap { slot, .. } = e {
            if let Some(s) = self.swap.get_mut(&slot) {
                s.count -= 1;
            }
        }
        Some(e)
    }

    /// Install a PMD leaf at PMD-aligned `start`: `target` is the target of
    /// the first page.
    pub fn set_pmd(&mut self, p: usize, start: u64, target: Target, bits: PteBits) {
        debug_assert_eq!(start % PMD_PAGES as u64, 0);
        if let Target::Folio { folio, .. } = target {
            let f = self.folio_mut(folio);
            f.mapcount += 1;
            f.entire_mapcount += 1;
            f.refcount += 1;
        }
        let mm = self.mm_mut(p);
        for i in 0..PMD_PAGES {
            let e = Entry::Present {
                level: Level::Pmd,
                target: target.advanced(i),
                bits,
            };
            let old = mm.ptes.insert(start + i as u64, e);
            debug_assert!(old.is_none(), "set_pmd over an existing entry");
        }
    }

    /// Remove the PMD leaf starting at `start` (`zap_huge_pmd`): returns the
    /// entry of its first page.
    pub fn clear_pmd(&mut self, p: usize, start: u64) -> Option<Entry> {
        let first = self.entry(p, start)?;
        debug_assert!(is_pmd_leaf(&first));
        let mm = self.mm_mut(p);
        for i in 0..PMD_PAGES as u64 {
            mm.ptes.remove(&(start + i));
        }
        if let Some((folio, _)) = entry_folio(&first) {
            let f = self.folio_mut(folio);
            f.mapcount -= 1;
            f.entire_mapcount -= 1;
            self.folio_put(folio, 1);
        }
        Some(first)
    }

    /// Change the bits of the present entry at `page`; for a PMD leaf the
    /// whole leaf changes (it is one hardware entry).
    pub fn update_bits(&mut self, p: usize, page: u64, change: impl Fn(&mut PteBits)) {
        let Some(e) = self.entry(p, page) else { return };
        let pages: Vec<u64> = if is_pmd_leaf(&e) {
            let s = World::pmd_start(page);
            (s..s + PMD_PAGES as u64).collect()
        } else {
            vec![page]
        };
        let mm = self.mm_mut(p);
        for pg in pages {
            if let Some(Entry::Present { bits, .. }) = mm.ptes.get_mut(&pg) {
                change(bits);
            }
        }
    }

    /// Change the bits of a swap entry in place.
    pub fn update_swap_bits(
        &mut self,
        p: usize,
        page: u64,
        change: impl Fn(&mut bool, &mut bool, &mut bool),
    ) {
        if let Some(Entry::Swap {
            exclusive,
            soft_dirty,
            uffd_wp,
            ..
        }) = self.mm_mut(p).ptes.get_mut(&page)
        {
            change(exclusive, soft_dirty, uffd_wp);
        }
    }

    /// The PMD leaf covering `page`, if the page is mapped by one.
    pub fn pmd_leaf_at(&self, p: usize, page: u64) -> Option<Entry> {
        self.entry(p, page).filter(is_pmd_leaf)
    }

    /// True when no entry exists in the PMD block of `page` (`pmd_none`:
    /// page tables are freed when empty).
    pub fn pmd_block_empty(&self, p: usize, page: u64) -> bool {
        let s = World::pmd_start(page);
        self.mm(p)
            .ptes
            .range(s..s + PMD_PAGES as u64)
            .next()
            .is_none()
    }
}
