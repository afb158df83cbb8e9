//! ZONE_DEVICE memory and the `lib/test_hmm.c` devices: memory pools,
//! `dev_pagemap` references, device folios, device page tables ("mirrors")
//! and mmu interval notifiers.
//!
//! Device memory is a per-device pool of pages. A device page's contents
//! live in its folio (test_hmm keeps them in a backing system page; the
//! model does not allocate that page, so device memory costs no zone pages).

use std::collections::BTreeMap;

use mmdiff_core::op::{DevId, NotifierId, ProcId};
use mmdiff_core::state::{
    FolioId, Memory, MirrorEntry, MirrorState, MirrorTag, NotifierState, PageRef,
};

use crate::world::World;

/// One device's state.
#[derive(Clone, Debug, Default)]
pub struct Device {
    pub pool_free: u64,
    /// `dev_pagemap` live references: one per allocated device page.
    pub pgmap_refs: i64,
    /// `HMM_DMIRROR_RELEASE` removed the chunks: no more allocations.
    pub released: bool,
    /// `HMM_DMIRROR_FLAG_FAIL_ALLOC`: the next allocation fails once.
    pub fail_alloc: bool,
    /// Device page tables by process: address -> (page, tag).
    pub mirrors: BTreeMap<usize, BTreeMap<u64, (PageRef, MirrorTag)>>,
}

/// Why page-table entries change (`enum mmu_notifier_event`), with the
/// owner cookie of the events that carry one (`range->owner`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inval {
    /// Unmap, protection change, COW, swap-out, THP split or collapse...
    Clear,
    /// `MMU_NOTIFY_MIGRATE` from `migrate_vma_*`, owner = `pgmap_owner`.
    Migrate(Option<DevId>),
    /// `MMU_NOTIFY_EXCLUSIVE` from `make_device_exclusive`.
    Exclusive(Option<DevId>),
}

impl World {
    pub fn device(&self, d: DevId) -> &Device {
        &self.devices[d.index()]
    }

    pub fn device_mut(&mut self, d: DevId) -> &mut Device {
        &mut self.devices[d.index()]
    }

    /// `zone_device_folio_init()` on a page (or order-9 folio) taken from
    /// the device's free list: refcount 1, locked, one pgmap reference per
    /// page. `None` when the pool is exhausted, the chunks were released,
    /// or a one-shot failure was set.
    pub fn alloc_device_folio(&mut self, d: DevId, order: u8) -> Option<FolioId> {
        let nr = 1u64 << order;
        let dev = self.device_mut(d);
        if dev.released || dev.pool_free < nr {
            return None;
        }
        if dev.fail_alloc {
            dev.fail_alloc = false;
            return None;
        }
        dev.pool_free -= nr;
        dev.pgmap_refs += nr as i64;
        let id = self.new_folio(order, Memory::Device(d));
        self.folio_mut(id).locked = true;
        Some(id)
    }

    /// `free_zone_device_folio()`: the pages go back to the device's free
    /// list (`folio_free`) and drop their pgmap references.
    pub fn free_device_folio(&mut self, d: DevId, nr: u64) {
        let dev = self.device_mut(d);
        dev.pool_free += nr;
        dev.pgmap_refs -= nr as i64;
    }

    /// The mirror (device page table) of process `p` on device `d`,
    /// created by the first use (opening the device file).
    pub fn mirror_mut(&mut self, d: DevId, p: usize) -> &mut BTreeMap<u64, (PageRef, MirrorTag)> {
        self.device_mut(d).mirrors.entry(p).or_default()
    }

    /// An invalidation of `[start, end)` in process `p`
    /// (`mmu_notifier_invalidate_range_start`): every interval notifier of
    /// `p` overlapping the range sees it (`mmu_interval_set_seq`), and every
    /// mirror of `p` drops its entries there (`dmirror_interval_invalidate`)
    /// unless it is the device's own migration.
    pub fn invalidate(&mut self, p: usize, start: u64, end: u64, ev: Inval) {
        for n in self.notifiers.iter_mut().flatten() {
            if n.proc.index() == p && n.start < end && start < n.end {
                n.stale = true;
            }
        }
        for (i, dev) in self.devices.iter_mut().enumerate() {
            if ev == Inval::Migrate(Some(DevId(i as u8))) {
                continue;
            }
            if let Some(m) = dev.mirrors.get_mut(&p) {
                // dmirror_do_update() erases through `end >> PAGE_SHIFT`
                // (xa_for_each_range's last index is inclusive): the page
                // just past the range goes too.
                let doomed: Vec<u64> = m.range(start..=end).map(|(&k, _)| k).collect();
                for k in doomed {
                    m.remove(&k);
                }
            }
        }
    }

    /// A process went away: its mirrors and notifiers go with its mm.
    pub fn forget_process(&mut self, p: usize) {
        for dev in &mut self.devices {
            dev.mirrors.remove(&p);
        }
        for n in &mut self.notifiers {
            if n.as_ref().is_some_and(|x| x.proc.index() == p) {
                *n = None;
            }
        }
    }

    /// The `notifier` op: `mmu_interval_notifier_insert()` + `read_begin`.
    pub fn notifier_insert(&mut self, n: NotifierId, p: usize, start: u64, end: u64) {
        self.notifiers[n.index()] = Some(NotifierState {
            id: n,
            proc: ProcId(p as u8),
            start,
            end,
            stale: false,
        });
    }

    /// Mirrors as the shared state type.
    pub fn export_mirrors(&self, d: DevId) -> Vec<MirrorState> {
        self.device(d)
            .mirrors
            .iter()
            .map(|(&p, m)| MirrorState {
                proc: ProcId(p as u8),
                entries: m
                    .iter()
                    .map(|(&page, &(target, tag))| MirrorEntry { page, target, tag })
                    .collect(),
            })
            .collect()
    }
}
