//! The migration side of the `lib/test_hmm.c` driver ("dmirror"):
//! `HMM_DMIRROR_MIGRATE_TO_DEV`, `HMM_DMIRROR_MIGRATE_TO_SYS`,
//! `HMM_DMIRROR_RELEASE`, the release of the device file, and the driver
//! callbacks `migrate_to_ram` uses (the fault itself is
//! [`World::device_private_fault`]).
//!
//! The driver works in chunks of at most 512 pages (`PTRS_PER_PTE`), one
//! `migrate_vma_setup` / allocate-and-copy / `migrate_vma_pages` /
//! `migrate_vma_finalize` round per chunk, through the same
//! [`Migration`] steps as the phased ops. A device page's contents live in
//! its folio (test_hmm keeps them in a backing system page), and the
//! device page table of (device, process) maps addresses to those pages.

use mmdiff_core::op::{DevId, MigrateSelect, Zone, PMD_PAGES};
use mmdiff_core::outcome::{Errno, MigrateSrc, Outcome, Payload};
use mmdiff_core::state::{FolioId, Memory, MirrorTag, PageRef, VmaState};

use crate::migrate_device::{folio_of, Migration, VmaCtx};
use crate::world::World;

const NR: u64 = PMD_PAGES as u64;

impl World {
    /// The end of the next migration chunk of the dmirror ioctls at `addr`:
    /// at most `NR` pages, inside one VMA. A missing VMA or one without read
    /// permission is `-EINVAL` (`dmirror_migrate_to_device` /
    /// `_to_system` check each VMA as they reach it).
    fn dmirror_chunk_end(&self, p: usize, addr: u64, end: u64) -> Result<(u64, VmaState), Errno> {
        let vma = self
            .vma_at(p, addr)
            .filter(|v| v.prot.readable())
            .ok_or(Errno::EINVAL)?;
        Ok(((addr + NR).min(end).min(vma.end), vma))
    }

    /// `HMM_DMIRROR_MIGRATE_TO_DEV` (`dmirror_migrate_to_device`) over
    /// absolute pages `[start, end)` of `p`; `base` is the window-relative
    /// page of `start`. Per chunk inside one readable VMA (`EINVAL`
    /// otherwise, earlier chunks stay migrated): select system memory and
    /// PMD-sized compounds, allocate and copy, `migrate_vma_pages`, map the
    /// migrated pages in the device page table, finalize. Then the whole
    /// range is read back through the device page table: a page that is
    /// not there (not migrated, e.g. shared anonymous memory) is `ENOENT`.
    pub fn migrate_to_dev(
        &mut self,
        d: DevId,
        p: usize,
        start: u64,
        end: u64,
        base: u64,
    ) -> Outcome {
        self.mirror_mut(d, p);
        let mut addr = start;
        while addr < end {
            let (next, vma) = match self.dmirror_chunk_end(p, addr, end) {
                Ok(n) => n,
                Err(e) => return Outcome::Err(e),
            };
            let ctx = VmaCtx {
                p,
                start: addr,
                end: next,
                select: MigrateSelect {
                    system: true,
                    compound: self.cfg.kernel.migrates_device_thps(),
                    ..MigrateSelect::default()
                },
                owner: Some(d),
            };
            let mut m = Migration::new(ctx, None);
            if let Err(e) = self.migrate_vma_setup(&mut m) {
                return Outcome::Err(e);
            }
            let holes_writable =
                vma.prot.writable() && self.cfg.kernel.dmirror_maps_holes_writable();
            let write = self.dmirror_migrate_alloc_and_copy(&mut m, d, holes_writable);
            self.migrate_device_pages(&mut m);
            self.dmirror_migrate_finalize_and_map(&m, d, &write);
            self.migrate_device_finalize(&mut m);
            addr = next;
        }
        // dmirror_do_read() of the whole range.
        let mut values = Vec::with_capacity((end - start) as usize);
        for page in start..end {
            let Some(&(target, _)) = self.device(d).mirrors.get(&p).and_then(|m| m.get(&page))
            else {
                return Outcome::Err(Errno::ENOENT);
            };
            values.push(self.mirror_page_value(&target));
        }
        Outcome::Ok(Payload::Dev {
            cpages: end - start,
            faults: 0,
            data: Some((base, values)),
        })
    }

    /// What a device reads through a device-PT entry.
    fn mirror_page_value(&self, r: &PageRef) -> u64 {
        match *r {
            PageRef::Folio { folio, page } => self
                .folios
                .get(&folio)
                .and_then(|f| f.contents.get(page as usize).copied())
                .unwrap_or(0),
            PageRef::Zero | PageRef::HugeZero { .. } => 0,
        }
    }

    /// `HMM_DMIRROR_FLAG_FAIL_ALLOC`: consumed by the next allocation.
    fn take_fail_alloc(&mut self, d: DevId) -> bool {
        std::mem::take(&mut self.device_mut(d).fail_alloc)
    }

    /// `dmirror_migrate_alloc_and_copy()`: for each `MIGRATE` entry that
    /// is not already device memory, a device page (a device THP for a
    /// compound entry) holding a copy of the source (zeros for holes and
    /// the zero page). A failed compound allocation (`FAIL_ALLOC`, or no
    /// order-9 room in the pool) falls back to 512 base pages (a base page
    /// that cannot be had either stays without destination: the kernel
    /// would dereference NULL there); a failed base allocation declines
    /// the entry. Returns, per entry, whether the destination is
    /// `MIGRATE_PFN_WRITE`: the source was, or (`holes_writable`, before
    /// 6.19 in a `VM_WRITE` VMA) there was no source page.
    fn dmirror_migrate_alloc_and_copy(
        &mut self,
        m: &mut Migration,
        d: DevId,
        holes_writable: bool,
    ) -> Vec<bool> {
        let n = m.src.len();
        let mut write = vec![false; n];
        let mut i = 0;
        while i < n {
            let e = m.src[i];
            if !e.migrate {
                i += 1;
                continue;
            }
            let src = e.page.as_ref().and_then(folio_of);
            if src.is_some_and(|(f, _)| matches!(self.folio(f).memory, Memory::Device(_))) {
                i += 1; // WARN: page already in device
                continue;
            }
            let large = e.compound;
            let dpage = if self.take_fail_alloc(d) {
                None
            } else {
                self.alloc_device_folio(d, if large { 9 } else { 0 })
            };
            let Some(dp) = dpage else {
                if !large {
                    i += 1;
                    continue;
                }
                let nr = src.map_or(NR as usize, |(f, _)| self.folio(f).nr_pages() as usize);
                for k in 0..nr.min(n - i) {
                    if let Some(x) = self.alloc_device_folio(d, 0) {
                        let v = src.map_or(0, |(f, _)| self.folio(f).contents[k]);
                        self.folio_mut(x).contents[0] = v;
                        m.dst[i + k] = Some(PageRef::Folio { folio: x, page: 0 });
                        write[i + k] = e.write || (holes_writable && src.is_none());
                    }
                }
                i += nr;
                continue;
            };
            m.dst[i] = Some(PageRef::Folio { folio: dp, page: 0 });
            write[i] = e.write || (holes_writable && src.is_none());
            if large {
                for k in 0..NR as usize {
                    let v = src.map_or(0, |(f, _)| self.folio(f).contents[k]);
                    self.folio_mut(dp).contents[k] = v;
                }
                i += NR as usize;
                continue;
            }
            let v = src.map_or(0, |(f, sub)| self.folio(f).contents[sub as usize]);
            self.folio_mut(dp).contents[0] = v;
            i += 1;
        }
        write
    }

    /// `dmirror_migrate_finalize_and_map()`: every migrated page goes into
    /// the device page table of (`d`, process), tagged WRITE iff its
    /// destination was `MIGRATE_PFN_WRITE`; a compound destination maps all
    /// of its pages.
    fn dmirror_migrate_finalize_and_map(&mut self, m: &Migration, d: DevId, write: &[bool]) {
        let v = m.vma.expect("migrate_vma has a VMA");
        for (i, (e, w)) in m.src.iter().zip(write).enumerate() {
            if !e.migrate {
                continue;
            }
            let Some((dst, _)) = m.dst[i].as_ref().and_then(folio_of) else {
                continue;
            };
            let nr = self.folio(dst).nr_pages();
            let tag = if *w {
                MirrorTag::Write
            } else {
                MirrorTag::Read
            };
            let mirror = self.mirror_mut(d, v.p);
            for k in 0..nr {
                mirror.insert(
                    v.start + i as u64 + k,
                    (
                        PageRef::Folio {
                            folio: dst,
                            page: k as u32,
                        },
                        tag,
                    ),
                );
            }
        }
    }

    /// `dmirror_devmem_fault_alloc_and_copy()` (`migrate_to_ram` and
    /// MIGRATE_TO_SYS): for each migrating device page, a locked system
    /// folio from `zone` (order 9 for a large device folio, falling back to
    /// base pages), the copy, and the device-PT entries of (`d`, process)
    /// erased at those addresses. `FAIL_ALLOC` fails the next allocation:
    /// for a base page that is `VM_FAULT_OOM`; a large one falls back. A
    /// failed base-page allocation unwinds the entry and is `ENOMEM`
    /// (`VM_FAULT_OOM`); destinations of earlier entries stay for finalize.
    pub fn dmirror_devmem_fault_alloc_and_copy(
        &mut self,
        m: &mut Migration,
        d: DevId,
        zone: Zone,
    ) -> Result<(), Errno> {
        let v = m.vma.expect("migrate_vma has a VMA");
        let n = m.src.len();
        let mut i = 0;
        while i < n {
            let e = m.src[i];
            let Some((sf, _)) = e.page.as_ref().and_then(folio_of).filter(|_| e.migrate) else {
                i += 1;
                continue;
            };
            if !matches!(self.folio(sf).memory, Memory::Device(_)) {
                i += 1; // WARN: not a device page
                continue;
            }
            let order = self.folio(sf).order;
            let nr = 1usize << order;
            let big = if self.take_fail_alloc(d) {
                None
            } else {
                self.alloc_folio(zone, order)
            };
            if big.is_none() && order == 0 {
                return Err(Errno::ENOMEM);
            }
            if let Some(b) = big {
                self.folio_mut(b).locked = true;
                m.dst[i] = Some(PageRef::Folio { folio: b, page: 0 });
            }
            for k in 0..nr.min(n - i) {
                let value = self.folio(sf).contents[k];
                match big {
                    Some(b) => self.folio_mut(b).contents[k] = value,
                    None => {
                        let Some(x) = self.alloc_folio(zone, 0) else {
                            // Unlock and free the pages already allocated
                            // for this entry, clear the rest.
                            for j in 0..nr.min(n - i) {
                                if let Some((f, _)) =
                                    m.dst[i + j].take().as_ref().and_then(folio_of)
                                {
                                    self.folio_mut(f).locked = false;
                                    self.folio_put(f, 1);
                                }
                            }
                            return Err(Errno::ENOMEM);
                        };
                        self.folio_mut(x).locked = true;
                        self.folio_mut(x).contents[0] = value;
                        m.dst[i + k] = Some(PageRef::Folio { folio: x, page: 0 });
                    }
                }
                let addr = v.start + (i + k) as u64;
                if let Some(mirror) = self.device_mut(d).mirrors.get_mut(&v.p) {
                    mirror.remove(&addr);
                }
            }
            i += nr;
        }
        Ok(())
    }

    /// `HMM_DMIRROR_MIGRATE_TO_SYS` (`dmirror_migrate_to_system`): per
    /// chunk inside one readable VMA (`EINVAL` otherwise), select this
    /// device's pages (private or coherent) and compounds, allocate system
    /// pages from the VMA's zone and copy (`ENOMEM` after finalize when that
    /// fails), `migrate_vma_pages`, count the entries that migrated with a
    /// page, finalize.
    pub fn migrate_to_sys(&mut self, d: DevId, p: usize, start: u64, end: u64) -> Outcome {
        self.mirror_mut(d, p);
        let mut cpages = 0;
        let mut addr = start;
        while addr < end {
            let (next, vma) = match self.dmirror_chunk_end(p, addr, end) {
                Ok(n) => n,
                Err(e) => return Outcome::Err(e),
            };
            let ctx = VmaCtx {
                p,
                start: addr,
                end: next,
                select: MigrateSelect {
                    private: !d.coherent(),
                    coherent: d.coherent(),
                    compound: self.cfg.kernel.migrates_device_thps(),
                    ..MigrateSelect::default()
                },
                owner: Some(d),
            };
            let mut m = Migration::new(ctx, None);
            if let Err(e) = self.migrate_vma_setup(&mut m) {
                return Outcome::Err(e);
            }
            if self
                .dmirror_devmem_fault_alloc_and_copy(&mut m, d, vma.zone)
                .is_err()
            {
                self.migrate_device_finalize(&mut m);
                return Outcome::Err(Errno::ENOMEM);
            }
            self.migrate_device_pages(&mut m);
            cpages += m
                .src
                .iter()
                .filter(|e| e.page.is_some() && e.migrate)
                .count() as u64;
            self.migrate_device_finalize(&mut m);
            addr = next;
        }
        Outcome::Ok(Payload::Dev {
            cpages,
            faults: 0,
            data: None,
        })
    }

    /// `dmirror_device_evict_chunk()` over all of the device's memory:
    /// `migrate_device_range` (every allocated device folio not locked by
    /// someone else is referenced, locked and unmapped everywhere), a
    /// locked `ZONE_NORMAL` copy for each (order 9 for a compound one; when
    /// the zone has no room the page stays on the device: the kernel's
    /// `__GFP_NOFAIL` / NULL folio cannot be modelled), then
    /// `migrate_device_pages` and `migrate_device_finalize`. Returns true
    /// when the device has no page in use any more.
    fn dmirror_device_evict(&mut self, d: DevId) -> bool {
        let owned: Vec<FolioId> = self
            .folios
            .values()
            .filter(|f| f.memory == Memory::Device(d))
            .map(|f| f.id)
            .collect();
        let mut m = Migration {
            vma: None,
            fault_page: None,
            fault_at: None,
            src: Vec::new(),
            dst: Vec::new(),
            cpages: 0,
        };
        for f in owned {
            let nr = self.folio(f).nr_pages() as usize;
            // migrate_device_pfn_lock(): folio_get_nontail_page + trylock.
            let e = if self.folio(f).locked {
                MigrateSrc::default()
            } else {
                self.folio_get(f, 1);
                self.folio_mut(f).locked = true;
                MigrateSrc {
                    page: Some(PageRef::Folio { folio: f, page: 0 }),
                    migrate: true,
                    write: false,
                    compound: nr > 1,
                }
            };
            m.src.push(e);
            m.dst.push(None);
            for _ in 1..nr {
                m.src.push(MigrateSrc::default());
                m.dst.push(None);
            }
        }
        self.migrate_device_unmap(&mut m);
        self.alloc_normal_copies(&mut m);
        self.migrate_device_pages(&mut m);
        self.migrate_device_finalize(&mut m);
        !self.folios.values().any(|f| f.memory == Memory::Device(d))
    }

    /// `migrate_device_coherent_folio()` (mm/migrate_device.c), for
    /// FOLL_LONGTERM, whose caller has turned its pin into the reference
    /// this takes: lock the folio, unmap it everywhere
    /// (`migrate_device_unmap`, which refuses extra references), an
    /// order-0 `ZONE_NORMAL` copy, pages, finalize. False (`-EBUSY`) when
    /// the folio stays; a folio locked elsewhere counts as staying (the
    /// kernel's `folio_lock` would wait).
    pub(crate) fn migrate_device_coherent_folio(&mut self, folio: FolioId) -> bool {
        if self.folio(folio).locked {
            return false;
        }
        self.folio_get(folio, 1);
        self.folio_mut(folio).locked = true;
        let mut m = Migration {
            vma: None,
            fault_page: None,
            fault_at: None,
            src: vec![MigrateSrc {
                page: Some(PageRef::Folio { folio, page: 0 }),
                migrate: true,
                write: false,
                compound: false,
            }],
            dst: vec![None],
            cpages: 0,
        };
        self.migrate_device_unmap(&mut m);
        self.alloc_normal_copies(&mut m);
        self.migrate_device_pages(&mut m);
        self.migrate_device_finalize(&mut m);
        !self.folios.contains_key(&folio)
    }

    /// A locked `ZONE_NORMAL` copy for each entry of `m` still migrating
    /// (order 9 for a compound one): the destinations of an eviction
    /// (`dmirror_device_evict_chunk`) or of `migrate_device_coherent_folio`.
    /// When the zone has no room the entry keeps no destination and the
    /// page stays on the device (the kernel's `__GFP_NOFAIL` or NULL folio
    /// cannot be modelled).
    pub(crate) fn alloc_normal_copies(&mut self, m: &mut Migration) {
        for i in 0..m.src.len() {
            let e = m.src[i];
            let Some((sf, _)) = e.page.as_ref().and_then(folio_of).filter(|_| e.migrate) else {
                continue;
            };
            let order = if e.compound { self.folio(sf).order } else { 0 };
            let Some(x) = self.alloc_folio(Zone::Normal, order) else {
                continue;
            };
            self.folio_mut(x).locked = true;
            let contents = self.folio(sf).contents.clone();
            let dst = self.folio_mut(x);
            for (k, c) in dst.contents.iter_mut().enumerate() {
                *c = contents.get(k).copied().unwrap_or(0);
            }
            m.dst[i] = Some(PageRef::Folio { folio: x, page: 0 });
        }
    }

    /// `HMM_DMIRROR_RELEASE` (`dmirror_device_remove_chunks`): evict every
    /// device page to system memory, then `memunmap_pages`, which waits
    /// until every page of the device is free. A page that could not be
    /// evicted (locked by someone else, extra references, no system
    /// memory) makes that wait endless: `stuck`. Either way the device is
    /// released afterwards (the model allocates nothing from it any more;
    /// test_hmm would create a new chunk on the next allocation).
    pub fn dev_release(&mut self, d: DevId) -> Outcome {
        let all_gone = self.device(d).released || self.dmirror_device_evict(d);
        self.device_mut(d).released = true;
        if all_gone {
            Outcome::OK
        } else {
            Outcome::Stuck
        }
    }

    /// Closing the mirror of `p` on `d` (`dmirror_fops_release`): the
    /// interval notifier and the device page table go, then every page of
    /// the device's chunks is evicted to system memory (pages that cannot
    /// be evicted stay; nothing waits). A device whose chunks were released
    /// has nothing to evict. `ENOENT` when `p` never opened the device.
    pub fn dev_close(&mut self, d: DevId, p: usize) -> Outcome {
        if self.device_mut(d).mirrors.remove(&p).is_none() {
            return Outcome::Err(Errno::ENOENT);
        }
        if !self.device(d).released {
            self.dmirror_device_evict(d);
        }
        Outcome::OK
    }
}
