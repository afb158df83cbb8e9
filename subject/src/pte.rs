//! Page-table entries and the rmap accounting that goes with installing and
//! removing them.
//!
//! Every entry that maps a folio page holds one folio reference and one
//! mapcount (`folio_add_*_rmap_pte` / `folio_remove_rmap_pte`); a PMD leaf
//! holds one reference and one mapcount for the whole folio and one
//! `_entire_mapcount` (`folio_add_anon_rmap_pmd`). A swap entry holds one
//! swap-map count. Before 6.15 a device-exclusive entry holds only the
//! reference (`page_make_device_exclusive_one` removed the rmap). These
//! are the only functions that change those counters for mappings.

use mmdiff_core::op::PMD_PAGES;
use mmdiff_core::state::{Entry, FolioId, Level, MigKind, PteBits, Target};

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

/// The folio page an entry maps, counting as a mapping (present,
/// device-private and device-exclusive entries hold a mapcount and a
/// reference; migration entries do not).
pub fn mapped_folio(e: &Entry) -> Option<(FolioId, u32)> {
    match e {
        Entry::Migration { .. } | Entry::Swap { .. } => None,
        _ => e.folio_page(),
    }
}

/// Whether the entry is one page of a PMD-level leaf (present, migration
/// or device-private).
pub fn is_pmd_leaf(e: &Entry) -> bool {
    crate::pt::is_leaf(e)
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

/// The same migration entry with another kind.
pub fn with_mig_kind(mut e: Entry, k: MigKind) -> Entry {
    if let Entry::Migration { kind, .. } = &mut e {
        *kind = k;
    }
    e
}

/// The same device-private entry, writable or not.
pub fn with_devpriv_write(mut e: Entry, w: bool) -> Entry {
    if let Entry::DevicePrivate { write, .. } = &mut e {
        *write = w;
    }
    e
}

/// The same PMD-level migration or device-private entry at PTE level.
pub fn at_pte_level(mut e: Entry) -> Entry {
    if let Entry::Migration { level, .. } | Entry::DevicePrivate { level, .. } = &mut e {
        *level = Level::Pte;
    }
    e
}

/// The entry without its uffd-wp bit (`pte_swp_clear_uffd_wp`).
pub fn without_uffd_wp(e: Entry) -> Entry {
    let mut e = e;
    match &mut e {
        Entry::Swap { uffd_wp, .. }
        | Entry::Migration { uffd_wp, .. }
        | Entry::DevicePrivate { uffd_wp, .. }
        | Entry::DeviceExclusive { uffd_wp, .. } => *uffd_wp = false,
        Entry::Present { bits, .. } => bits.uffd_wp = false,
    }
    e
}

impl World {
    /// The folio page `e` maps as a mapping (mapcount and reference):
    /// [`mapped_folio`], except device-exclusive entries before 6.15.
    pub fn mapping_of(&self, e: &Entry) -> Option<(FolioId, u32)> {
        match e {
            Entry::DeviceExclusive { .. } if !self.cfg.kernel.device_exclusive_keeps_mapcount() => {
                None
            }
            _ => mapped_folio(e),
        }
    }

    /// The folio a device-exclusive entry holds a reference on without a
    /// mapcount (before 6.15).
    fn unmapped_reference(&self, e: &Entry) -> Option<FolioId> {
        match e {
            Entry::DeviceExclusive { .. } if !self.cfg.kernel.device_exclusive_keeps_mapcount() => {
                e.folio_page().map(|(folio, _)| folio)
            }
            _ => None,
        }
    }

    pub fn entry(&self, p: usize, page: u64) -> Option<Entry> {
        self.procs[p].as_ref()?.pt.get(page)
    }

    /// Install a PTE-level entry in an empty slot (`set_pte_at` plus the
    /// rmap/swap accounting of the caller's path).
    pub fn set_pte(&mut self, p: usize, page: u64, e: Entry) {
        debug_assert!(!is_pmd_leaf(&e));
        if let Some((folio, _)) = self.mapping_of(&e) {
            let f = self.folio_mut(folio);
            f.mapcount += 1;
            f.refcount += 1;
        }
        if let Some(folio) = self.unmapped_reference(&e) {
            self.folio_get(folio, 1);
        }
        if let Entry::Swap { slot, .. } = e {
            if let Some(s) = self.swap.get_mut(&slot) {
                s.count += 1;
            }
        }
        let old = self.mm_mut(p).pt.set_pte(page, e);
        debug_assert!(old.is_none(), "set_pte over an existing entry");
    }

    /// Remove a PTE-level entry (`ptep_get_and_clear`, `folio_remove_rmap_pte`
    /// and `folio_put`, or the swap-map decrement). Returns what was there.
    /// Swap slots whose count drops to zero are left for the caller's path
    /// (`free_swap_and_cache` on zap, reuse on swap-in).
    pub fn clear_pte(&mut self, p: usize, page: u64) -> Option<Entry> {
        let e = self.mm_mut(p).pt.clear_pte(page)?;
        if let Some((folio, _)) = self.mapping_of(&e) {
            self.folio_mut(folio).mapcount -= 1;
            self.folio_put(folio, 1);
        }
        if let Some(folio) = self.unmapped_reference(&e) {
            self.folio_put(folio, 1);
        }
        if let Entry::Swap { slot, .. } = e {
            if let Some(s) = self.swap.get_mut(&slot) {
                s.count -= 1;
            }
        }
        Some(e)
    }

    /// Install a present PMD leaf at PMD-aligned `start`: `target` is the
    /// target of the first page.
    pub fn set_pmd(&mut self, p: usize, start: u64, target: Target, bits: PteBits) {
        let first = Entry::Present {
            level: Level::Pmd,
            target,
            bits,
        };
        self.set_pmd_entry(p, start, first);
    }

    /// Install a PMD-level entry (present, migration or device-private)
    /// whose first page is `first`: one table slot. A mapping PMD takes one
    /// mapcount, one entire mapcount and one reference for the whole folio
    /// (oracle `set_pmd_entry`).
    pub fn set_pmd_entry(&mut self, p: usize, start: u64, first: Entry) {
        debug_assert_eq!(start % PMD_PAGES as u64, 0);
        debug_assert!(is_pmd_leaf(&first));
        if let Some((folio, _)) = mapped_folio(&first) {
            let f = self.folio_mut(folio);
            f.mapcount += 1;
            f.entire_mapcount += 1;
            f.refcount += 1;
        }
        self.mm_mut(p).pt.set_leaf(start, first);
    }

    /// Remove the PMD leaf starting at `start` (`zap_huge_pmd`): returns the
    /// entry of its first page.
    pub fn clear_pmd(&mut self, p: usize, start: u64) -> Option<Entry> {
        let first = self.mm_mut(p).pt.clear_leaf(start)?;
        if let Some((folio, _)) = mapped_folio(&first) {
            let f = self.folio_mut(folio);
            f.mapcount -= 1;
            f.entire_mapcount -= 1;
            self.folio_put(folio, 1);
        }
        Some(first)
    }

    /// Change the bits of the present entry at `page`; for a PMD leaf the
    /// whole leaf changes (it is one hardware entry, one table slot here).
    pub fn update_bits(&mut self, p: usize, page: u64, change: impl Fn(&mut PteBits)) {
        let Some(mm) = self.procs[p].as_mut() else {
            return;
        };
        mm.pt.modify(page, |e| {
            if let Entry::Present { bits, .. } = e {
                change(bits);
            }
        });
    }

    /// Change the bits of a swap entry in place.
    pub fn update_swap_bits(
        &mut self,
        p: usize,
        page: u64,
        change: impl Fn(&mut bool, &mut bool, &mut bool),
    ) {
        self.mm_mut(p).pt.modify(page, |e| {
            if let Entry::Swap {
                exclusive,
                soft_dirty,
                uffd_wp,
                ..
            } = e
            {
                change(exclusive, soft_dirty, uffd_wp);
            }
        });
    }

    /// Change the soft-dirty and uffd-wp bits of any non-present entry
    /// (they live in the swap-format entry, `pte_swp_*`); a PMD-level entry
    /// changes as a whole.
    pub fn update_swp_bits(&mut self, p: usize, page: u64, change: impl Fn(&mut bool, &mut bool)) {
        let Some(mm) = self.procs[p].as_mut() else {
            return;
        };
        mm.pt.modify(page, |e| match e {
            Entry::Swap {
                soft_dirty,
                uffd_wp,
                ..
            }
            | Entry::Migration {
                soft_dirty,
                uffd_wp,
                ..
            }
            | Entry::DevicePrivate {
                soft_dirty,
                uffd_wp,
                ..
            }
            | Entry::DeviceExclusive {
                soft_dirty,
                uffd_wp,
                ..
            } => change(soft_dirty, uffd_wp),
            Entry::Present { .. } => {}
        });
    }

    /// Replace the entry at `page` (PTE level) or the PMD leaf containing it
    /// in place, without touching any counter: for rewrites that keep the
    /// same folio mapped (fork and mprotect downgrades, device-exclusive
    /// conversions). `change` edits the first page's entry.
    pub fn rewrite_entry(&mut self, p: usize, page: u64, change: impl Fn(&mut Entry)) {
        let Some(mm) = self.procs[p].as_mut() else {
            return;
        };
        mm.pt.modify(page, change);
    }

    /// The PMD leaf covering `page`, if the page is mapped by one.
    pub fn pmd_leaf_at(&self, p: usize, page: u64) -> Option<Entry> {
        self.entry(p, page).filter(is_pmd_leaf)
    }

    /// True when no entry exists in the PMD block of `page` (`pmd_none`:
    /// page tables are freed when empty).
    pub fn pmd_block_empty(&self, p: usize, page: u64) -> bool {
        self.mm(p).pt.block_empty(page)
    }
}
