//! FOLL_LONGTERM: finding and migrating folios that must not be pinned long-term.

use super::*;

impl World {
    /// `folio_is_longterm_pinnable()`: not in `ZONE_MOVABLE` or CMA.
    pub fn folio_is_longterm_pinnable(&self, folio: FolioId) -> bool {
        matches!(self.folio(folio).memory, Memory::Zone(z) if z.longterm_pinnable())
    }

    /// `collect_longterm_unpinnable_folios()`: each unpinnable folio among
    /// the returned pages, once, in order; folios that cannot be isolated
    /// from the LRU (`folio_isolate_lru` fails) are not collected.
    /// A run names one folio, so looking at each run's first page finds
    /// the folios the per-page scan finds, in the same order.
    pub(crate) fn collect_longterm_unpinnable_folios(&self, pages: &PageRuns) -> Vec<FolioId> {
        let mut list = Vec::new();
        for r in pages.runs() {
            let PageRef::Folio { folio, .. } = r.first else {
                continue;
            };
            // A device-coherent folio is collected as it is (it is on no
            // LRU); any other one only if it can be isolated.
            let device = matches!(self.folio(folio).memory, Memory::Device(_));
            if self.folio_is_longterm_pinnable(folio)
                || list.contains(&folio)
                || (!device && !self.folio(folio).lru)
            {
                continue;
            }
            list.push(folio);
        }
        list
    }

    /// `migrate_longterm_unpinnable_folios()`: unpin every returned page,
    /// migrate device-coherent folios with
    /// `migrate_device_coherent_folio()` (`-EBUSY` when one stays), then
    /// `migrate_pages(MR_LONGTERM_PIN)` to `ZONE_NORMAL`. Any folio
    /// left behind makes the pin fail with `-ENOMEM` (nothing stays pinned);
    /// success means "pin the range again" (`-EAGAIN`). A folio freed once
    /// the pins were dropped counts as migrated (`migrate_folio_unmap`).
    pub(crate) fn migrate_longterm_unpinnable_folios(
        &mut self,
        pages: &PageRuns,
        movable: &[FolioId],
    ) -> Result<(), GupStop> {
        self.unpin_user_pages(pages);
        let device = |w: &Self, f: FolioId| {
            w.folios
                .get(&f)
                .is_some_and(|x| matches!(x.memory, Memory::Device(_)))
        };
        // Device-coherent folios first (their pins became references):
        // one that stays fails the pin with -EBUSY before anything else
        // migrates.
        for &folio in movable {
            if device(self, folio) && !self.migrate_device_coherent_folio(folio) {
                return Err(GupStop::Err(Errno::EBUSY));
            }
        }
        let mut failed = false;
        for &folio in movable {
            if self.folios.contains_key(&folio) && !self.migrate_folio_to(folio, Zone::Normal) {
                failed = true;
            }
        }
        if failed {
            return Err(GupStop::Err(Errno::ENOMEM));
        }
        Ok(())
    }

    // ----------------------------------------------------------------
    // Release and DMA
    // ----------------------------------------------------------------
}
