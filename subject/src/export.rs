//! The subject's state as the shared crate's raw [`State`]: one entry run
//! per hardware entry (a PMD leaf is one run of 512 pages).

use mmdiff_core::digest::Digest;
use mmdiff_core::op::{DevId, ProcId};
use mmdiff_core::state::{DeviceState, EntryRun, MirrorEntry, ProcState, State};

use crate::world::World;

impl World {
    /// The digest of the canonical state (`mmdiff_core::digest`). Entries
    /// and folios, the bulk of the state, come from the digests the page
    /// tables and the folio arena keep up to date as they change; the rest
    /// (VMAs, objects, handles, devices, ...) is small and hashed here.
    pub fn digest(&self) -> Digest {
        let mut d = self.folios.digest();
        for (i, mm) in self.procs.iter().enumerate() {
            let Some(mm) = mm else { continue };
            let id = ProcId(i as u8);
            d.merge(mm.pt.digest());
            d.proc(id, mm.has_pinned);
            mm.vmas.values().for_each(|v| d.vma(id, v));
        }
        self.objects.values().for_each(|o| d.object(o));
        self.swap.values().for_each(|s| d.swap(s));
        d.zones(self.zone_free);
        self.handles
            .iter()
            .flatten()
            .for_each(|h| d.add(h.digest_item()));
        self.locks.iter().flatten().for_each(|l| d.lock(l));
        self.iommu
            .iter()
            .flatten()
            .for_each(|p| d.add(p.digest_item()));
        for dev_id in DevId::all() {
            d.device(&self.device_state(dev_id, Vec::new()));
            for (&p, m) in &self.device(dev_id).mirrors {
                for (page, target, tag) in m.iter() {
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
                        .pt
                        .entries()
                        .into_iter()
                        .map(|run| EntryRun {
                            start: run.page,
                            len: run.len as u32,
                            entry: run.entry,
                        })
                        .collect(),
                })
            })
            .collect();
        State {
            window_pages: self.cfg.window_pages,
            procs,
            objects: self.objects.values().cloned().collect(),
            folios: self.folios.values().map(|f| (f.id, f.to_state())).collect(),
            swap: self.swap.clone(),
            zone_free: self.zone_free,
            zone_total: self.cfg.zone_pages,
            kernel: self.cfg.kernel,
            handles: self
                .handles
                .iter()
                .flatten()
                .map(|h| h.to_state())
                .collect(),
            locks: self.locks.iter().flatten().cloned().collect(),
            iommu: self.iommu.iter().flatten().map(|p| p.to_state()).collect(),
            devices: DevId::all()
                .map(|d| self.device_state(d, self.export_mirrors(d)))
                .collect(),
            sessions: self.sessions.iter().flatten().cloned().collect(),
            notifiers: self.notifiers.iter().flatten().cloned().collect(),
        }
    }
}
