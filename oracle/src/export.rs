//! The oracle's state as the shared crate's raw [`State`]: a copy, one
//! entry run per page.

use mmdiff_core::op::{DevId, ProcId};
use mmdiff_core::state::{DeviceState, EntryRun, ProcState, State};

use crate::world::World;

impl World {
    pub fn export(&self) -> State {
        let procs = self
            .procs
            .iter()
            .enumerate()
            .filter_map(|(i, mm)| {
                let mm = mm.as_ref()?;
                Some(ProcState {
                    id: ProcId(i as u8),
                    has_pinned: mm.has_pinned,
                    vmas: mm.vmas.values().copied().collect(),
                    entries: mm
                        .ptes
                        .iter()
                        .map(|(&start, &entry)| EntryRun {
                            start,
                            len: 1,
                            entry,
                        })
                        .collect(),
                })
            })
            .collect();
        State {
            window_pages: self.cfg.window_pages,
            procs,
            objects: self.objects.values().cloned().collect(),
            folios: self.folios.clone(),
            swap: self.swap.clone(),
            zone_free: self.zone_free,
            zone_total: self.cfg.zone_pages,
            handles: self.handles.iter().flatten().cloned().collect(),
            locks: self.locks.iter().flatten().cloned().collect(),
            iommu: self.iommu.iter().flatten().cloned().collect(),
            devices: DevId::all()
                .map(|d| {
                    let dev = self.device(d);
                    DeviceState {
                        id: d,
                        pool_total: self.cfg.device_pages,
                        pool_free: dev.pool_free,
                        pgmap_refs: dev.pgmap_refs,
                        released: dev.released,
                        fail_alloc: dev.fail_alloc,
                        mirrors: self.export_mirrors(d),
                    }
                })
                .collect(),
            sessions: self.sessions.iter().flatten().cloned().collect(),
            notifiers: self.notifiers.iter().flatten().cloned().collect(),
        }
    }
}
