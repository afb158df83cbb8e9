//! The oracle's state as the shared crate's raw [`State`]: a copy, one
//! entry run per page.

use mmdiff_core::digest::Digest;
use mmdiff_core::op::{DevId, ProcId, PMD_PAGES};
use mmdiff_core::state::{DeviceState, EntryRun, MirrorEntry, ProcState, State};

use crate::world::World;

impl World {
    /// `mmdiff_core::digest::of_state(&self.export())`, computed from the
    /// world directly so that lockstep comparison does not copy the state
    /// after every op. A PMD leaf is hashed once, at its first page.
    pub fn digest(&self) -> Digest {
        let mut d = Digest::default();
        for (i, mm) in self.procs.iter().enumerate() {
            let Some(mm) = mm else { continue };
            let id = ProcId(i as u8);
            d.proc(id, mm.has_pinned);
            mm.vmas.values().for_each(|v| d.vma(id, v));
            for (&page, e) in &mm.ptes {
                if !crate::pte::is_pmd_leaf(e) || page.is_multiple_of(PMD_PAGES as u64) {
                    d.entry(id, page, e);
                }
            }
        }
        self.folios.values().for_each(|f| d.folio(f));
        self.objects.values().for_each(|o| d.object(o));
        self.swap.values().for_each(|s| d.swap(s));
        d.zones(self.zone_free);
        self.handles.iter().flatten().for_each(|h| d.handle(h));
        self.locks.iter().flatten().for_each(|l| d.lock(l));
        self.iommu.iter().flatten().for_each(|p| d.prereg(p));
        for dev_id in DevId::all() {
            d.device(&self.device_state(dev_id, Vec::new()));
            for (&p, m) in &self.device(dev_id).mirrors {
                for (&page, &(target, tag)) in m {
                    let e = MirrorEntry { page, target, tag };
                    d.mirror_entry(dev_id, ProcId(p as u8), &e);
                }
            }
        }
        self.sessions.iter().flatten().for_each(|s| d.session(s));
        self.notifiers.iter().flatten().for_each(|n| d.notifier(n));
        d
    }

    fn device_state(&self, d: DevId, mirrors: Vec<mmdiff_core::state::MirrorState>) -> DeviceState {
        let dev = self.device(d);
        DeviceState {
            id: d,
            pool_total: self.cfg.device_pages,
            pool_free: dev.pool_free,
            pgmap_refs: dev.pgmap_refs,
            released: dev.released,
            fail_alloc: dev.fail_alloc,
            mirrors,
        }
    }

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
            kernel: self.cfg.kernel,
            handles: self.handles.iter().flatten().cloned().collect(),
            locks: self.locks.iter().flatten().cloned().collect(),
            iommu: self.iommu.iter().flatten().cloned().collect(),
            devices: DevId::all()
                .map(|d| self.device_state(d, self.export_mirrors(d)))
                .collect(),
            sessions: self.sessions.iter().flatten().cloned().collect(),
            notifiers: self.notifiers.iter().flatten().cloned().collect(),
        }
    }
}
