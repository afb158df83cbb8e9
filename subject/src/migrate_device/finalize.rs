//! `migrate_vma_finalize` (`__migrate_device_finalize`).

use std::collections::BTreeSet;

use super::*;

impl World {
    /// `__migrate_device_finalize()`: every source's migration entries
    /// become mappings of its destination when it migrated, of itself
    /// otherwise; system destinations go on the LRU; sources are unlocked
    /// (never the fault folio) and lose the migration's reference;
    /// destinations are unlocked and lose the driver's reference.
    ///
    /// Device page tables forget every migrated source at the end, through
    /// their folio index (oracle: a scan of every table per source entry).
    /// Nothing in the loop reads or adds device-table entries, and removals
    /// commute, so the result is the oracle's.
    pub fn migrate_device_finalize(&mut self, m: &mut Migration) {
        let fault = m.fault_folio();
        let mut migrated = BTreeSet::new();
        for i in 0..m.src.len() {
            let dst = m.dst[i].as_ref().and_then(folio_of).map(|(f, _)| f);
            let Some((src, _)) = m.src[i].page.as_ref().and_then(folio_of) else {
                if let Some(d) = dst {
                    self.unlock_put(d);
                }
                continue;
            };
            let target = match dst {
                Some(d) if m.src[i].migrate => d,
                other => {
                    if let Some(d) = other {
                        self.unlock_put(d);
                    }
                    src
                }
            };
            if !is_zone_device(self.folio(target)) {
                self.folio_mut(target).lru = true; // folio_add_lru()
            }
            self.remove_migration_ptes(src, target);
            if target != src {
                migrated.insert(src);
            }
            if fault != Some(src) {
                self.folio_mut(src).locked = false;
            }
            self.folio_put(src, 1);
            if target != src {
                self.unlock_put(target);
            }
        }
        self.forget_in_mirrors(&migrated);
    }

    pub(crate) fn unlock_put(&mut self, folio: FolioId) {
        self.folio_mut(folio).locked = false;
        self.folio_put(folio, 1);
    }

    /// The zero page at `[start, end)` of process `p` was replaced by an
    /// inserted page: device tables (including the migrating device's own,
    /// whose invalidation was skipped) drop what they held there. The
    /// dmirror ioctls then map the new device pages themselves.
    pub fn forget_addresses_in_mirrors(&mut self, p: usize, start: u64, end: u64) {
        // Only the entries in the range are visited (the oracle filters the
        // whole table; the same entries go).
        for dev in &mut self.devices {
            if let Some(m) = dev.mirrors.get_mut(&p) {
                m.remove_range(start, end);
            }
        }
    }

    /// Migrated-away folios disappear from every device page table. The
    /// kernel's driver relies on the notifier for this, and skips its own
    /// migrations, so test_hmm can keep stale pointers (to pages that are
    /// about to be freed); the model never keeps a reference to a page
    /// that is gone.
    pub fn forget_in_mirrors(&mut self, folios: &BTreeSet<FolioId>) {
        if folios.is_empty() {
            return;
        }
        for dev in &mut self.devices {
            for mirror in dev.mirrors.values_mut() {
                // A device-table run names one folio: the folio's runs go
                // whole (oracle `forget_in_mirrors`: every entry naming the
                // folio, one by one).
                for &folio in folios {
                    mirror.remove_folio(folio);
                }
            }
        }
    }

    /// The caller's part after finalize (`do_swap_page`, or the session
    /// that took it at setup): unlock and put the fault folio.
    pub(crate) fn release_fault_page(&mut self, fault_page: Option<PageRef>) {
        if let Some((f, _)) = fault_page.as_ref().and_then(folio_of) {
            if self.folios.contains_key(&f) {
                self.unlock_put(f);
            }
        }
    }
}
