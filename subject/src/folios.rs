//! The folio arena: folios live in a vector of slots reused through a free
//! list (like `struct page` in the memmap), not in a map keyed by id.
//!
//! A `FolioId` is the slot index in its low 32 bits and the slot's
//! generation in its high bits, so an id of a freed folio never names the
//! folio that reuses the slot: the oracle never reuses ids, and rules that
//! ask "is this folio still alive?" (`contains_key`) must keep the
//! oracle's answer.
//!
//! Walks over all memory (reclaim's LRU, CMA and device-chunk evacuation)
//! visit folios in allocation order (docs/semantics.md), which slot order
//! is not once slots are reused: each slot records its allocation
//! sequence number, and [`Folios::in_alloc_order`] sorts by it.
//!
//! A folio record ([`Folio`]) is the shared crate's `FolioState` with the
//! per-page vectors replaced by run-length stores (`crate::runs`): a THP's
//! contents and `PageAnonExclusive` flags cost what their runs cost, not
//! 512 words (`Folio::to_state` builds the per-page vectors on demand).
//!
//! The arena also keeps the digest of the live folios. Writers go through
//! `get_mut`, which marks the slot dirty; `digest` rehashes only dirty
//! slots, so the cost of lockstep comparison follows what an op changed,
//! not how much memory exists.

use std::cell::RefCell;
use std::ops::Index;

use mmdiff_core::digest::{folio_hash, Digest};
use mmdiff_core::state::{FolioId, FolioState, Memory, ObjId, PageRef, SwapId};

use crate::runs::{Contents, PageBits};

/// One live folio: the fields of `FolioState` (see there), with contents
/// and `PageAnonExclusive` kept as runs.
#[derive(Clone, Debug)]
pub struct Folio {
    pub id: FolioId,
    /// 0 or 9.
    pub order: u8,
    pub memory: Memory,
    pub refcount: i64,
    pub mapcount: i64,
    pub entire_mapcount: i64,
    pub pincount: i64,
    pub locked: bool,
    pub lru: bool,
    pub anon: bool,
    pub swapbacked: bool,
    pub dirty: bool,
    pub swapcache: Option<SwapId>,
    pub mapping: Option<(ObjId, u64)>,
    /// `PageAnonExclusive` per page.
    pub anon_exclusive: PageBits,
    /// Contents per page.
    pub contents: Contents,
}

impl Folio {
    /// A folio record of `1 << order` pages: no reference, no mapping, no
    /// flag, zeroed contents.
    pub fn new(id: FolioId, order: u8, memory: Memory) -> Folio {
        let nr = 1u32 << order;
        Folio {
            id,
            order,
            memory,
            refcount: 0,
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
            anon_exclusive: PageBits::new(nr, false),
            contents: Contents::zeroed(nr),
        }
    }

    pub fn nr_pages(&self) -> u64 {
        1u64 << self.order
    }

    pub fn is_large(&self) -> bool {
        self.order > 0
    }

    /// `folio_maybe_dma_pinned()` (`FolioState::maybe_dma_pinned`).
    pub fn maybe_dma_pinned(&self) -> bool {
        if self.is_large() {
            self.pincount > 0
        } else {
            self.refcount >= mmdiff_core::GUP_PIN_COUNTING_BIAS
        }
    }

    /// Page `i` as an order-0 folio of its own (a piece of a split): the
    /// flags and mapping of this folio, page `i`'s contents and
    /// `PageAnonExclusive`, and no counts (the caller sets them).
    pub fn piece(&self, id: FolioId, i: usize) -> Folio {
        Folio {
            id,
            order: 0,
            refcount: 0,
            mapcount: 0,
            entire_mapcount: 0,
            pincount: 0,
            anon_exclusive: self.anon_exclusive.piece(i),
            contents: self.contents.piece(i),
            ..*self
        }
    }

    /// The shared crate's form, per-page vectors included.
    pub fn to_state(&self) -> FolioState {
        FolioState {
            id: self.id,
            order: self.order,
            memory: self.memory,
            refcount: self.refcount,
            mapcount: self.mapcount,
            entire_mapcount: self.entire_mapcount,
            pincount: self.pincount,
            locked: self.locked,
            lru: self.lru,
            anon: self.anon,
            swapbacked: self.swapbacked,
            dirty: self.dirty,
            swapcache: self.swapcache,
            mapping: self.mapping,
            anon_exclusive: self.anon_exclusive.to_vec(),
            contents: self.contents.to_vec(),
        }
    }
}

#[derive(Clone, Debug, Default)]
struct Slot {
    generation: u32,
    /// When the current id was handed out (`reserve`).
    seq: u64,
    folio: Option<Folio>,
}

/// The digest bookkeeping: the sum of `hashes[i]` over slots, each hash as
/// of the last `digest` call, and the slots changed since.
#[derive(Clone, Debug, Default)]
struct DigestCache {
    sum: Digest,
    hashes: Vec<u64>,
    dirty: Vec<u32>,
    is_dirty: Vec<bool>,
}

#[derive(Clone, Debug, Default)]
pub struct Folios {
    slots: Vec<Slot>,
    free: Vec<u32>,
    live: usize,
    next_seq: u64,
    cache: RefCell<DigestCache>,
}

fn id_of(index: u32, generation: u32) -> FolioId {
    FolioId(((generation as u64) << 32) | index as u64)
}

fn split(id: FolioId) -> (usize, u32) {
    ((id.0 & 0xFFFF_FFFF) as usize, (id.0 >> 32) as u32)
}

impl Folios {
    /// Appends what a device reads through `n` pages from `first` (one run
    /// of a GUP handle or of a device page table: a run never leaves its
    /// folio). Zero pages, and a folio that is gone, read 0.
    pub fn extend_run_values(&self, values: &mut Vec<u64>, first: PageRef, n: u64) {
        match first {
            PageRef::Folio { folio, page } => match self.get(&folio) {
                Some(f) => f.contents.extend_values(values, page, n as u32),
                None => values.extend(std::iter::repeat_n(0, n as usize)),
            },
            PageRef::Zero | PageRef::HugeZero { .. } => {
                values.extend(std::iter::repeat_n(0, n as usize))
            }
        }
    }

    /// A fresh id in a free slot; the folio is stored later by `insert`.
    pub fn reserve(&mut self) -> FolioId {
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(Slot::default());
                (self.slots.len() - 1) as u32
            }
        };
        let slot = &mut self.slots[index as usize];
        slot.seq = self.next_seq;
        self.next_seq += 1;
        id_of(index, slot.generation)
    }

    /// The live folios that pass `keep`, oldest allocation first.
    pub fn in_alloc_order(&self, keep: impl Fn(&Folio) -> bool) -> Vec<FolioId> {
        let mut found: Vec<(u64, FolioId)> = self
            .slots
            .iter()
            .filter_map(|s| s.folio.as_ref().filter(|f| keep(f)).map(|f| (s.seq, f.id)))
            .collect();
        found.sort_unstable();
        found.into_iter().map(|(_, id)| id).collect()
    }

    fn slot(&self, id: &FolioId) -> Option<&Slot> {
        let (i, generation) = split(*id);
        self.slots.get(i).filter(|s| s.generation == generation)
    }

    pub fn get(&self, id: &FolioId) -> Option<&Folio> {
        self.slot(id)?.folio.as_ref()
    }

    pub fn contains_key(&self, id: &FolioId) -> bool {
        self.get(id).is_some()
    }

    fn mark_dirty(&mut self, i: usize) {
        let c = self.cache.get_mut();
        if c.is_dirty.len() <= i {
            c.is_dirty.resize(i + 1, false);
        }
        if !c.is_dirty[i] {
            c.is_dirty[i] = true;
            c.dirty.push(i as u32);
        }
    }

    pub fn get_mut(&mut self, id: &FolioId) -> Option<&mut Folio> {
        let (i, generation) = split(*id);
        let live = self
            .slots
            .get(i)
            .is_some_and(|s| s.generation == generation && s.folio.is_some());
        if !live {
            return None;
        }
        self.mark_dirty(i);
        self.slots[i].folio.as_mut()
    }

    /// Store a folio under an id from `reserve`. The folio's own `id`
    /// field is set to it.
    pub fn insert(&mut self, id: FolioId, mut folio: Folio) {
        let (i, generation) = split(id);
        assert_eq!(self.slots[i].generation, generation, "stale folio id");
        folio.id = id;
        if self.slots[i].folio.replace(folio).is_none() {
            self.live += 1;
        }
        self.mark_dirty(i);
    }

    /// Free a folio: its slot goes back on the free list with a new
    /// generation.
    pub fn remove(&mut self, id: &FolioId) -> Option<Folio> {
        let (i, generation) = split(*id);
        let slot = self.slots.get_mut(i)?;
        if slot.generation != generation {
            return None;
        }
        let f = slot.folio.take()?;
        slot.generation = slot.generation.wrapping_add(1);
        self.live -= 1;
        self.free.push(i as u32);
        self.mark_dirty(i);
        Some(f)
    }

    /// Live folios in slot order.
    pub fn values(&self) -> impl Iterator<Item = &Folio> {
        self.slots.iter().filter_map(|s| s.folio.as_ref())
    }

    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// The digest of every live folio (`digest::folio_hash` summed),
    /// rehashing the slots changed since the last call.
    pub fn digest(&self) -> Digest {
        let mut c = self.cache.borrow_mut();
        let c = &mut *c;
        if c.hashes.len() < self.slots.len() {
            c.hashes.resize(self.slots.len(), 0);
        }
        for i in std::mem::take(&mut c.dirty) {
            let i = i as usize;
            c.is_dirty[i] = false;
            c.sum.remove(c.hashes[i]);
            c.hashes[i] = match &self.slots[i].folio {
                // The per-page vectors exist only while hashing (lockstep
                // runs; a plain run never asks for the digest).
                Some(f) => folio_hash(&f.to_state()),
                None => 0,
            };
            c.sum.add(c.hashes[i]);
        }
        c.sum
    }
}

impl Index<&FolioId> for Folios {
    type Output = Folio;
    fn index(&self, id: &FolioId) -> &Folio {
        self.get(id).expect("live folio")
    }
}

#[cfg(test)]
mod tests {
    use mmdiff_core::op::Zone;

    use super::*;

    fn folio(contents: u64) -> Folio {
        let mut f = Folio::new(FolioId(0), 0, Memory::Zone(Zone::Normal));
        f.refcount = 1;
        f.contents.set(0, contents);
        f
    }

    fn full_digest(a: &Folios) -> Digest {
        let mut d = Digest::default();
        a.values().for_each(|f| d.folio(&f.to_state()));
        d
    }

    #[test]
    fn ids_of_freed_folios_stay_dead_when_the_slot_is_reused() {
        let mut a = Folios::default();
        let x = a.reserve();
        a.insert(x, folio(1));
        assert!(a.remove(&x).is_some());
        let y = a.reserve();
        a.insert(y, folio(2));
        assert_ne!(x, y);
        assert!(!a.contains_key(&x));
        assert!(a.get_mut(&x).is_none());
        assert!(a.remove(&x).is_none());
        assert_eq!(a[&y].contents.to_vec(), vec![2]);
        assert_eq!(a[&y].id, y);
        assert_eq!(a.len(), 1);
    }

    #[test]
    fn the_digest_follows_every_change() {
        let mut a = Folios::default();
        let mut ids = Vec::new();
        for n in 0..20u64 {
            let id = a.reserve();
            a.insert(id, folio(n));
            ids.push(id);
            assert_eq!(a.digest(), full_digest(&a));
        }
        for (n, id) in ids.iter().enumerate() {
            if n % 3 == 0 {
                a.remove(id);
            } else if let Some(f) = a.get_mut(id) {
                f.refcount += n as i64;
            }
            if n % 2 == 0 {
                assert_eq!(a.digest(), full_digest(&a));
            }
        }
        let id = a.reserve();
        a.insert(id, folio(99));
        assert_eq!(a.digest(), full_digest(&a));
    }

    #[test]
    fn a_thp_reads_page_by_page_and_its_digest_follows_its_runs() {
        let mut a = Folios::default();
        let id = a.reserve();
        a.insert(id, Folio::new(id, 9, Memory::Zone(Zone::Normal)));
        let f = a.get_mut(&id).unwrap();
        f.contents
            .fill_pattern(0, 512, mmdiff_core::op::Fill::Index(1), 0);
        f.anon_exclusive.set_all(true);
        assert_eq!(a.digest(), full_digest(&a));
        let s = a[&id].to_state();
        assert_eq!(s.contents, (1..=512).collect::<Vec<u64>>());
        assert_eq!(s.anon_exclusive, vec![true; 512]);
        // One page changed: the digest moves, and still agrees.
        let before = a.digest();
        let f = a.get_mut(&id).unwrap();
        f.contents.set(300, 0);
        f.anon_exclusive.set(511, false);
        assert_ne!(a.digest(), before);
        assert_eq!(a.digest(), full_digest(&a));
        let s = a[&id].to_state();
        assert_eq!(
            (s.contents[299], s.contents[300], s.contents[301]),
            (300, 0, 302)
        );
        assert!(s.anon_exclusive[510] && !s.anon_exclusive[511]);
        // A piece of a split carries its page.
        let p = a[&id].piece(FolioId(7), 301);
        assert_eq!(
            (p.order, p.contents.to_vec(), p.anon_exclusive.to_vec()),
            (0, vec![302], vec![true])
        );
    }
}
