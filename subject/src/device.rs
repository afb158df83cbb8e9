//! ZONE_DEVICE memory and the `lib/test_hmm.c` devices: memory pools,
//! `dev_pagemap` references, device folios, device page tables ("mirrors")
//! and mmu interval notifiers.
//!
//! Device memory is a per-device pool of pages. A device page's contents
//! live in its folio (test_hmm keeps them in a backing system page; the
//! model does not allocate that page, so device memory costs no zone pages).

use std::collections::{BTreeMap, BTreeSet};

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
    /// Device page tables by process.
    pub mirrors: BTreeMap<usize, MirrorTable>,
}

/// One run of a device page table: `len` addresses from the run's first
/// address, address `k` of the run mapping `target` advanced by `k`
/// ([`PageRef::advanced`]), all with `tag`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MirrorRun {
    pub len: u64,
    pub target: PageRef,
    pub tag: MirrorTag,
}

impl MirrorRun {
    fn at(&self, k: u64) -> (PageRef, MirrorTag) {
        (self.target.advanced(k), self.tag)
    }
}

/// One device page table: address -> (page, tag), kept as runs of
/// addresses that map consecutive pages of one folio with one tag (a
/// device THP mapped by `dmirror_migrate_finalize_and_map` is one run, not
/// 512 entries), with a reverse index from folio to its runs so that
/// "forget this folio" (after it migrated away or was split) does not scan
/// the table.
///
/// What it must preserve (oracle `Device::mirrors`, a map address ->
/// (page, tag)): reads address by address exactly as the oracle's table
/// (`get`, `iter`), and every change has the effect of the oracle's
/// per-address inserts and removals. test_hmm's own table (an xarray of entries) is per page;
/// the runs are this model's compression, cut and merged as entries change.
#[derive(Clone, Debug, Default)]
pub struct MirrorTable {
    /// Runs by first address; never overlapping, none empty. Adjacent
    /// runs that continue each other are merged.
    runs: BTreeMap<u64, MirrorRun>,
    /// `(folio, first address)` of every run naming a folio page.
    by_folio: BTreeSet<(FolioId, u64)>,
}

fn page_folio(r: &PageRef) -> Option<FolioId> {
    match r {
        PageRef::Folio { folio, .. } => Some(*folio),
        _ => None,
    }
}

impl MirrorTable {
    /// The entry of address `addr`.
    pub fn get(&self, addr: u64) -> Option<(PageRef, MirrorTag)> {
        let (&s, r) = self.runs.range(..=addr).next_back()?;
        (addr < s + r.len).then(|| r.at(addr - s))
    }

    /// Every entry, address by address, in address order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, PageRef, MirrorTag)> + '_ {
        self.runs.iter().flat_map(|(&s, r)| {
            (0..r.len).map(move |k| {
                let (t, tag) = r.at(k);
                (s + k, t, tag)
            })
        })
    }

    /// The runs overlapping `[start, end)`, clipped to it: `(first
    /// address, run)`.
    pub fn runs_in(&self, start: u64, end: u64) -> impl Iterator<Item = (u64, MirrorRun)> + '_ {
        // An empty range meets nothing, not even a run around it.
        let end = end.max(start);
        let before = self
            .runs
            .range(..start)
            .next_back()
            .filter(|(&s, r)| s + r.len > start && start < end);
        before
            .into_iter()
            .chain(self.runs.range(start..end))
            .map(move |(&s, r)| {
                let a = s.max(start);
                let b = (s + r.len).min(end);
                let run = MirrorRun {
                    len: b - a,
                    target: r.target.advanced(a - s),
                    tag: r.tag,
                };
                (a, run)
            })
    }

    /// Store one run (its addresses hold nothing).
    fn put(&mut self, s: u64, r: MirrorRun) {
        if let Some(f) = page_folio(&r.target) {
            self.by_folio.insert((f, s));
        }
        self.runs.insert(s, r);
    }

    /// Take one run out.
    fn take(&mut self, s: u64) -> Option<MirrorRun> {
        let r = self.runs.remove(&s)?;
        if let Some(f) = page_folio(&r.target) {
            self.by_folio.remove(&(f, s));
        }
        Some(r)
    }

    /// Make `addr` the first address of a run, if a run covers it.
    fn split_at(&mut self, addr: u64) {
        let Some((&s, &r)) = self.runs.range(..addr).next_back() else {
            return;
        };
        if addr >= s + r.len {
            return;
        }
        self.runs.get_mut(&s).expect("the run").len = addr - s;
        let rest = MirrorRun {
            len: s + r.len - addr,
            target: r.target.advanced(addr - s),
            tag: r.tag,
        };
        self.put(addr, rest);
    }

    /// Merge the run starting at `b` into the one ending there when it
    /// continues it (same tag, next page of the same folio).
    fn merge_at(&mut self, b: u64) {
        let Some(&next) = self.runs.get(&b) else {
            return;
        };
        let Some((&s, &prev)) = self.runs.range(..b).next_back() else {
            return;
        };
        if s + prev.len != b
            || prev.tag != next.tag
            || prev.target.advanced(prev.len) != next.target
        {
            return;
        }
        self.take(b);
        self.runs.get_mut(&s).expect("the run").len += next.len;
    }

    /// Address `addr` maps `entry` (whatever it mapped before goes).
    pub fn insert(&mut self, addr: u64, entry: (PageRef, MirrorTag)) {
        self.insert_run(addr, 1, entry.0, entry.1);
    }

    /// Addresses `[addr, addr + n)` map `target` advanced by their offset,
    /// with `tag`: the oracle's `n` inserts in a row.
    pub fn insert_run(&mut self, addr: u64, n: u64, target: PageRef, tag: MirrorTag) {
        if n == 0 {
            return;
        }
        self.remove_range(addr, addr + n);
        self.put(
            addr,
            MirrorRun {
                len: n,
                target,
                tag,
            },
        );
        self.merge_at(addr + n);
        self.merge_at(addr);
    }

    pub fn remove(&mut self, addr: u64) -> Option<(PageRef, MirrorTag)> {
        let old = self.get(addr)?;
        self.remove_range(addr, addr + 1);
        Some(old)
    }

    /// Drop every entry in `[start, end)`.
    pub fn remove_range(&mut self, start: u64, end: u64) {
        if start >= end {
            return;
        }
        self.split_at(start);
        self.split_at(end);
        let doomed: Vec<u64> = self.runs.range(start..end).map(|(&a, _)| a).collect();
        for a in doomed {
            self.take(a);
        }
    }

    /// Drop every entry naming a page of `folio` (the oracle removes them
    /// address by address; a run names one folio, so whole runs go).
    pub fn remove_folio(&mut self, folio: FolioId) {
        let starts: Vec<u64> = self
            .by_folio
            .range((folio, 0)..=(folio, u64::MAX))
            .map(|&(_, a)| a)
            .collect();
        for s in starts {
            self.take(s);
        }
    }

    /// Replace the page of every entry naming `folio` by `new(page)`,
    /// address by address.
    pub fn repoint(&mut self, folio: FolioId, new: impl Fn(PageRef) -> PageRef) {
        let starts: Vec<u64> = self
            .by_folio
            .range((folio, 0)..=(folio, u64::MAX))
            .map(|&(_, a)| a)
            .collect();
        // All of the folio's runs go first, so that a new page merging
        // with a neighbour never hides a run still to be re-pointed.
        let old: Vec<(u64, MirrorRun)> = starts
            .into_iter()
            .filter_map(|s| Some((s, self.take(s)?)))
            .collect();
        for (s, r) in old {
            for k in 0..r.len {
                let (t, tag) = r.at(k);
                self.insert(s + k, (new(t), tag));
            }
        }
    }

    /// Runs stored (a measure of the representation, for tests).
    pub fn run_count(&self) -> usize {
        self.runs.len()
    }
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
    pub fn mirror_mut(&mut self, d: DevId, p: usize) -> &mut MirrorTable {
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
                // Through the page just past the range, as the oracle's
                // `invalidate` (dmirror_do_update's inclusive last index).
                m.remove_range(start, end + 1);
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
                    .map(|(page, target, tag)| MirrorEntry { page, target, tag })
                    .collect(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
