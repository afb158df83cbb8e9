//! The whole modelled machine: processes, folios, zones, swap, objects and
//! the handles outside the page tables.
//!
//! The oracle stores its state in the shared crate's state types, so
//! exposing it is a plain copy and nothing is derived or cached: every
//! counter below is updated by the rule that changes it in the kernel.

use std::collections::BTreeMap;

use mmdiff_core::op::{FileId, Zone, PMD_PAGES};
use mmdiff_core::state::{
    Entry, FolioId, FolioState, HandleState, LockState, Memory, NotifierState, ObjId, ObjectState,
    PreregState, SessionState, SwapId, SwapState, VmaState,
};

use crate::device::Device;
use mmdiff_core::Config;

/// One process's address space (`struct mm_struct`).
#[derive(Clone, Debug, Default)]
pub struct Mm {
    /// VMAs keyed by their first page.
    pub vmas: BTreeMap<u64, VmaState>,
    /// Page-table entries keyed by absolute page number. A PMD leaf is
    /// stored as its 512 pages, each with `Level::Pmd`: one record per page
    /// keeps every rule page-granular.
    pub ptes: BTreeMap<u64, Entry>,
    /// `MMF_HAS_PINNED`: set by any FOLL_PIN call, never cleared.
    pub has_pinned: bool,
}

/// The oracle's complete state.
#[derive(Clone, Debug)]
pub struct World {
    pub cfg: Config,
    pub procs: [Option<Mm>; 4],
    pub folios: BTreeMap<FolioId, FolioState>,
    next_folio: u64,
    pub zone_free: [u64; 3],
    /// `fail-alloc`: the next allocation from the zone fails.
    pub fail_alloc: [bool; 3],
    pub swap: BTreeMap<SwapId, SwapState>,
    next_swap: u64,
    pub objects: BTreeMap<ObjId, ObjectState>,
    next_object: u64,
    pub handles: [Option<HandleState>; 16],
    pub locks: [Option<LockState>; 4],
    pub iommu: [Option<PreregState>; 4],
    pub devices: [Device; 4],
    /// Migration sessions (`struct migrate_vma` between setup and finalize).
    pub sessions: [Option<SessionState>; 4],
    pub notifiers: [Option<NotifierState>; 4],
}

impl World {
    pub fn new(cfg: &Config) -> World {
        World {
            cfg: cfg.clone(),
            procs: [Some(Mm::default()), None, None, None],
            folios: BTreeMap::new(),
            next_folio: 0,
            zone_free: cfg.zone_pages,
            fail_alloc: [false; 3],
            swap: BTreeMap::new(),
            next_swap: 0,
            objects: BTreeMap::new(),
            next_object: 0,
            handles: Default::default(),
            locks: Default::default(),
            iommu: Default::default(),
            devices: std::array::from_fn(|_| Device {
                pool_free: cfg.device_pages,
                ..Device::default()
            }),
            sessions: Default::default(),
            notifiers: Default::default(),
        }
    }

    pub fn folio(&self, id: FolioId) -> &FolioState {
        &self.folios[&id]
    }

    pub fn folio_mut(&mut self, id: FolioId) -> &mut FolioState {
        self.folios.get_mut(&id).expect("live folio")
    }

    /// The buddy allocator: an order-`order` folio from `zone`, or `None`
    /// when the zone has fewer free pages (no fragmentation is modelled) or
    /// a one-shot failure was injected. The new folio holds one reference
    /// (the caller's) and nothing else.
    pub fn alloc_folio(&mut self, zone: Zone, order: u8) -> Option<FolioId> {
        let z = zone.index();
        if self.fail_alloc[z] {
            self.fail_alloc[z] = false;
            return None;
        }
        let nr = 1u64 << order;
        if self.zone_free[z] < nr {
            return None;
        }
        self.zone_free[z] -= nr;
        let id = self.new_folio(order, Memory::Zone(zone));
        Some(id)
    }

    /// A new folio record: one reference (the allocator's caller's), no
    /// mappings, zeroed contents. The caller has taken the memory.
    pub fn new_folio(&mut self, order: u8, memory: Memory) -> FolioId {
        let nr = 1usize << order;
        let id = self.fresh_folio_id();
        self.folios.insert(
            id,
            FolioState {
                id,
                order,
                memory,
                refcount: 1,
                mapcount: 0,
                entire_mapcount: 0,
                pincount: 0,
                locked: false,
                lru: false,
                anon: false,
                swapbacked: false,
                dirty: false,
                swapcache: None,
                mapping: None,
                anon_exclusive: vec![false; nr],
                contents: vec![0; nr],
            },
        );
        id
    }

    /// A folio id never used before (for the pieces of a split).
    pub fn fresh_folio_id(&mut self) -> FolioId {
        let id = FolioId(self.next_folio);
        self.next_folio += 1;
        id
    }

    /// `folio_get()`.
    pub fn folio_get(&mut self, id: FolioId, refs: i64) {
        self.folio_mut(id).refcount += refs;
    }

    /// `folio_put_refs()`: dropping the last reference frees the folio.
    pub fn folio_put(&mut self, id: FolioId, refs: i64) {
        let f = self.folio_mut(id);
        f.refcount -= refs;
        if f.refcount <= 0 {
            self.free_folio(id);
        }
    }

    /// `free_unref_folios()`: the pages go back to their zone.
    pub fn free_folio(&mut self, id: FolioId) {
        if let Some(f) = self.folios.remove(&id) {
            match f.memory {
                Memory::Zone(zone) => self.zone_free[zone.index()] += f.nr_pages(),
                Memory::Device(d) => self.free_device_folio(d, f.nr_pages()),
            }
        }
    }

    /// `folio_add_new_anon_rmap()` + `folio_add_lru_vma()` for a folio just
    /// allocated by a fault: anon, swap-backed, on the LRU; exclusive pages
    /// as given.
    pub fn make_new_anon(&mut self, id: FolioId) {
        let f = self.folio_mut(id);
        f.anon = true;
        f.swapbacked = true;
        f.lru = true;
    }

    /// A new swap slot holding `contents`, or `None` when swap is full.
    pub fn alloc_swap(&mut self, contents: u64) -> Option<SwapId> {
        if self.swap.len() as u64 >= self.cfg.swap_slots {
            return None;
        }
        let id = SwapId(self.next_swap);
        self.next_swap += 1;
        self.swap.insert(
            id,
            SwapState {
                id,
                count: 0,
                cached: None,
                contents,
            },
        );
        Some(id)
    }

    /// A new shm or io object id.
    pub fn new_object_id(&mut self, shm: bool) -> ObjId {
        let n = self.next_object;
        self.next_object += 1;
        if shm {
            ObjId::Shm(n)
        } else {
            ObjId::Io(n)
        }
    }

    pub fn file(&self, f: FileId) -> Option<&ObjectState> {
        self.objects.get(&ObjId::File(f))
    }

    pub fn mm(&self, p: usize) -> &Mm {
        self.procs[p].as_ref().expect("process exists")
    }

    pub fn mm_mut(&mut self, p: usize) -> &mut Mm {
        self.procs[p].as_mut().expect("process exists")
    }

    /// The VMA covering absolute page `page` in process `p`.
    pub fn vma_at(&self, p: usize, page: u64) -> Option<VmaState> {
        let mm = self.procs[p].as_ref()?;
        let (_, v) = mm.vmas.range(..=page).next_back()?;
        (page < v.end).then_some(*v)
    }

    /// First page of the PMD block containing `page`.
    pub fn pmd_start(page: u64) -> u64 {
        page - page % PMD_PAGES as u64
    }

    /// Every `(process, page)` whose entry maps folio `id` (any level).
    pub fn mappers(&self, id: FolioId) -> Vec<(usize, u64)> {
        let mut out = Vec::new();
        for (p, mm) in self.procs.iter().enumerate() {
            let Some(mm) = mm else { continue };
            for (&page, e) in &mm.ptes {
                if self.mapping_of(e).map(|(f, _)| f) == Some(id) {
                    out.push((p, page));
                }
            }
        }
        out
    }
}
