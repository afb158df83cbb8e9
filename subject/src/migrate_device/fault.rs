//! A CPU fault on a device-private entry: `do_swap_page` and the driver's `migrate_to_ram` (`dmirror_devmem_fault`).

use super::*;

impl World {
    /// A CPU (or GUP, or HMM) fault on the device-private entry at `page`:
    /// `do_swap_page` / `do_huge_pmd_device_private` take the folio lock
    /// (held by someone else: the 6.15–6.19 retry loop, here `blocked`) and
    /// a reference, call `pgmap->ops->migrate_to_ram` (test_hmm's
    /// `dmirror_devmem_fault`), then unlock and put. `vmf->page` is the
    /// faulting page for a PTE, the head page for a PMD.
    pub fn device_private_fault(&mut self, p: usize, page: u64, level: Level) -> FaultResult {
        let Some(Entry::DevicePrivate {
            target: Target::Folio { folio, page: sub },
            ..
        }) = self.entry(p, page)
        else {
            return Ok(());
        };
        let Memory::Device(d) = self.folio(folio).memory else {
            return Ok(());
        };
        let fault = match level {
            Level::Pte => PageRef::Folio { folio, page: sub },
            Level::Pmd => PageRef::Folio { folio, page: 0 },
        };
        if self.folio(folio).locked {
            return Err(FaultError::Blocked);
        }
        self.folio_get(folio, 1);
        self.folio_mut(folio).locked = true;
        let (result, fault_page) = self.dmirror_devmem_fault(p, page, level, d, fault);
        self.release_fault_page(fault_page);
        result
    }

    /// `dmirror_devmem_fault()` (lib/test_hmm.c `migrate_to_ram`): migrate
    /// the faulting page (PTE) or the whole folio (PMD, with
    /// `SELECT_COMPOUND`) back to system memory from the VMA's zone, erasing
    /// the device-PT entries; `migrate_vma_setup` failure is `SIGBUS`, an
    /// allocation failure `OOM` (after finalize). Returns the fault page
    /// as it is afterwards (a split may have moved it to another folio).
    pub(crate) fn dmirror_devmem_fault(
        &mut self,
        p: usize,
        page: u64,
        level: Level,
        d: DevId,
        fault: PageRef,
    ) -> (FaultResult, Option<PageRef>) {
        let large =
            level == Level::Pmd && folio_of(&fault).is_some_and(|(f, _)| self.folio(f).is_large());
        let (start, end) = if large {
            let s = World::pmd_start(page);
            (s, s + NR)
        } else {
            (page, page + 1)
        };
        let select = MigrateSelect {
            private: !d.coherent(),
            coherent: d.coherent(),
            compound: large,
            ..MigrateSelect::default()
        };
        let ctx = VmaCtx {
            p,
            start,
            end,
            select,
            owner: Some(d),
        };
        let mut m = Migration::new(ctx, Some((page, fault)));
        if self.migrate_vma_setup(&mut m).is_err() {
            return (Err(FaultError::Bus), m.fault_page);
        }
        let zone = self.vma_at(p, page).map_or(Zone::Normal, |v| v.zone);
        if self
            .dmirror_devmem_fault_alloc_and_copy(&mut m, d, zone)
            .is_err()
        {
            self.migrate_device_finalize(&mut m);
            return (Err(FaultError::Oom), m.fault_page);
        }
        self.migrate_device_pages(&mut m);
        self.migrate_device_finalize(&mut m);
        (Ok(()), m.fault_page)
    }
}
