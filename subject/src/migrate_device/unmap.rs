//! Unmap (`migrate_device_unmap`, `migrate_vma_check_page`, `try_to_migrate`).

use super::*;

impl World {
    /// `migrate_device_unmap()`: isolate system folios from the LRU,
    /// `try_to_migrate()` the mappings collect did not reach, and check
    /// references (`migrate_vma_check_page`); failures are restored
    /// (`remove_migration_ptes(folio, folio)`, unlock, put, entry cleared).
    /// Returns the entries still migrating.
    pub fn migrate_device_unmap(&mut self, m: &mut Migration) -> u64 {
        let n = m.src.len();
        let fault = m.fault_folio();
        let mut unmapped = 0;
        let mut i = 0;
        while i < n {
            let Some((folio, _)) = m.src[i].page.as_ref().and_then(folio_of) else {
                if m.src[i].migrate {
                    unmapped += 1;
                }
                i += 1;
                continue;
            };
            let page = m.src[i].page;
            let nr = self.folio(folio).nr_pages() as usize;
            if nr > 1 {
                m.src[i].compound = true;
            }
            let device = is_zone_device(self.folio(folio));
            if !device {
                // folio_isolate_lru(): the isolation reference replaces
                // the collect reference.
                if !self.folio(folio).lru {
                    m.src[i].migrate = false;
                    i += nr;
                    continue;
                }
                self.folio_mut(folio).lru = false;
            }
            if self.folio(folio).mapcount > 0 {
                self.try_to_migrate(folio);
            }
            if self.folio(folio).mapcount > 0
                || !self.migrate_vma_check_page(folio, page, m.fault_page)
            {
                if !device {
                    self.folio_mut(folio).lru = true; // folio_putback_lru()
                }
                m.src[i].migrate = false;
                i += nr;
                continue;
            }
            unmapped += 1;
            i += nr;
        }
        for i in 0..n {
            let Some((folio, _)) = m.src[i].page.as_ref().and_then(folio_of) else {
                continue;
            };
            if m.src[i].migrate {
                continue;
            }
            self.remove_migration_ptes(folio, folio);
            m.src[i] = MigrateSrc::default();
            if fault != Some(folio) {
                self.folio_mut(folio).locked = false;
            }
            self.folio_put(folio, 1);
        }
        unmapped
    }

    /// `migrate_vma_check_page()`: no references beyond the caller's
    /// (collect or isolation), the fault page's, one tolerated extra for
    /// ZONE_DEVICE folios, and a page or swap cache's.
    pub(crate) fn migrate_vma_check_page(
        &self,
        folio: FolioId,
        page: Option<PageRef>,
        fault: Option<PageRef>,
    ) -> bool {
        let f = self.folio(folio);
        let mut extra = 1 + i64::from(page.is_some() && page == fault);
        if is_zone_device(f) {
            extra += 1;
        }
        if f.mapping.is_some() || f.swapcache.is_some() {
            extra += 1;
        }
        #[cfg(feature = "planted")]
        if planted!(MigrateIgnoresExtraRefs) {
            return true;
        }
        f.refcount - extra <= f.mapcount
    }

    /// `try_to_migrate(folio, 0)`: every remaining mapping in every process
    /// becomes a migration entry (`MMU_NOTIFY_CLEAR` per mapping); a PMD
    /// mapping becomes a PMD migration entry. The walk stops at an
    /// anon-exclusive page that may be pinned (that mapping stays).
    /// `try_to_migrate_one` starts its `MMU_NOTIFY_CLEAR` for every VMA the
    /// rmap walk visits, before it looks at the PTEs: where collect left
    /// a migration entry of the folio, devices lose their mirror of the
    /// page too (seen on the 6.12 guest). VMAs of the walk that hold no
    /// entry of the folio are not invalidated: the models keep no
    /// anon_vma or i_mmap tree to name them.
    pub(crate) fn try_to_migrate(&mut self, folio: FolioId) {
        let mut visited = Vec::new();
        for (q, mm) in self.procs.iter().enumerate() {
            let Some(mm) = mm else { continue };
            for page in mm.pt.entries_of(folio) {
                if let Some(Entry::Migration { level, .. }) = mm.pt.get(page) {
                    let n = if level == Level::Pmd { NR } else { 1 };
                    visited.extend((page..page + n).map(|x| (q, x)));
                }
            }
        }
        for (q, page) in visited {
            self.invalidate(q, page, page + 1, Inval::Clear);
        }
        // ZONE_DEVICE folios that are neither private nor coherent do not
        // exist here.
        for (q, page) in self.mappers(folio) {
            let Some(e) = self.entry(q, page) else {
                continue;
            };
            if is_pmd_leaf(&e) {
                if page != World::pmd_start(page) {
                    continue;
                }
                self.invalidate(q, page, page + NR, Inval::Clear);
                if !self.set_pmd_migration_entry(q, page) {
                    return;
                }
                continue;
            }
            let (sub, write) = match e {
                Entry::Present {
                    target: Target::Folio { page, .. },
                    bits,
                    ..
                } => (page, bits.write),
                Entry::DevicePrivate {
                    target: Target::Folio { page, .. },
                    write,
                    ..
                } => (page, write),
                Entry::DeviceExclusive {
                    target: Target::Folio { page, .. },
                    ..
                } => (page, false),
                _ => continue,
            };
            self.invalidate(q, page, page + 1, Inval::Clear);
            let Some(anon_exclusive) = self.try_share_anon(folio, sub as usize) else {
                return;
            };
            self.install_migration_pte(q, page, write, anon_exclusive);
        }
    }
}
