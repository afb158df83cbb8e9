//! A digest of the canonical state that a model can keep up to date as it
//! goes, so that lockstep comparison after every op is cheap.
//!
//! Every item of the state (one hardware page-table entry, one folio, one
//! VMA, one handle, ...) is hashed with its model-internal ids left out
//! (folio, swap slot and shm/io object numbers), and the digest is the
//! wrapping sum of the item hashes. So:
//! - the digest does not depend on how a model numbers folios, where it
//!   cuts entry runs, or in which order it visits items: two states with
//!   equal canonical forms have equal digests;
//! - a model can maintain it incrementally: subtract an item's hash when the
//!   item goes, add the new hash when it comes back changed.
//!
//! It is a filter, not a proof: unequal digests mean unequal canonical
//! states, but a difference only in *which* folio an entry maps (sharing)
//! with every counter equal is invisible here. The lockstep runner
//! compares full canonical states at the end of every run for that reason.
//!
//! Page-table entries are hashed per hardware entry: a PTE at its page, a
//! PMD leaf once, at its first (PMD-aligned) page, with the entry of that
//! page. [`of_state`] computes the digest of an exported state; it is the
//! definition every incremental implementation must agree with.

use std::hash::{Hash, Hasher};

use crate::op::{DevId, ProcId, PMD_PAGES};
use crate::outcome::{MigrateSrc, Outcome, Payload};
use crate::state::*;

/// A deterministic 64-bit hasher: one rotate-xor-multiply per word (as
/// FxHash) and a splitmix64 finalizer, so each item costs a few
/// nanoseconds; no random state, so digests are stable across runs and
/// processes.
#[derive(Clone, Copy, Debug)]
pub struct Mix(u64);

impl Default for Mix {
    fn default() -> Self {
        Mix(0x243F_6A88_85A3_08D3)
    }
}

fn splitmix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Hasher for Mix {
    fn finish(&self) -> u64 {
        splitmix(self.0)
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word) ^ ((chunk.len() as u64) << 59));
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x517C_C1B7_2722_0A95);
    }
    fn write_u8(&mut self, v: u8) {
        self.write_u64(v as u64)
    }
    fn write_u32(&mut self, v: u32) {
        self.write_u64(v as u64)
    }
    fn write_i64(&mut self, v: i64) {
        self.write_u64(v as u64)
    }
    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64)
    }
}

/// The [`Mix`] hash of a value.
pub fn hash_of<T: Hash + ?Sized>(value: &T) -> u64 {
    let mut h = Mix::default();
    value.hash(&mut h);
    h.finish()
}

/// Items of different kinds are tagged so that equal fields in different
/// roles hash apart.
#[derive(Hash)]
enum Tag {
    Entry,
    Folio,
    Proc,
    Vma,
    Object,
    Swap,
    Zones,
    Handle,
    Lock,
    Prereg,
    Device,
    Mirror,
    Session,
    Notifier,
}

const ANON_FOLIO: FolioId = FolioId(0);
const ANON_SWAP: SwapId = SwapId(0);

fn anon_obj(o: ObjId) -> ObjId {
    match o {
        ObjId::File(f) => ObjId::File(f),
        ObjId::Shm(_) => ObjId::Shm(0),
        ObjId::Io(_) => ObjId::Io(0),
    }
}

fn anon_page(p: PageRef) -> PageRef {
    match p {
        PageRef::Folio { page, .. } => PageRef::Folio {
            folio: ANON_FOLIO,
            page,
        },
        other => other,
    }
}

fn anon_target(t: Target) -> Target {
    match t {
        Target::Folio { page, .. } => Target::Folio {
            folio: ANON_FOLIO,
            page,
        },
        Target::Io { obj, page } => Target::Io {
            obj: anon_obj(obj),
            page,
        },
        other => other,
    }
}

fn anon_entry(e: &Entry) -> Entry {
    match *e {
        Entry::Swap {
            exclusive,
            soft_dirty,
            uffd_wp,
            ..
        } => Entry::Swap {
            slot: ANON_SWAP,
            exclusive,
            soft_dirty,
            uffd_wp,
        },
        Entry::Present { target, .. }
        | Entry::Migration { target, .. }
        | Entry::DevicePrivate { target, .. }
        | Entry::DeviceExclusive { target, .. } => e.with_target(anon_target(target)),
    }
}

/// The hash of one hardware entry: the PTE at `page`, or the PMD leaf whose
/// first page is `page` (then `entry` is that page's entry).
pub fn entry_hash(proc: ProcId, page: u64, entry: &Entry) -> u64 {
    hash_of(&(Tag::Entry, proc, page, anon_entry(entry)))
}

/// The hash of one folio.
pub fn folio_hash(f: &FolioState) -> u64 {
    let mut h = Mix::default();
    Tag::Folio.hash(&mut h);
    (f.order, f.memory, f.refcount, f.mapcount, f.entire_mapcount).hash(&mut h);
    (f.pincount, f.locked, f.lru, f.anon, f.swapbacked, f.dirty).hash(&mut h);
    f.swapcache.is_some().hash(&mut h);
    f.mapping.map(|(o, i)| (anon_obj(o), i)).hash(&mut h);
    f.anon_exclusive.hash(&mut h);
    f.contents.hash(&mut h);
    h.finish()
}

fn pages_hash<H: Hasher>(pages: &[PageRef], h: &mut H) {
    pages.len().hash(h);
    for p in pages {
        anon_page(*p).hash(h);
    }
}

/// A running digest: the wrapping sum of item hashes. `add` and `remove`
/// are inverse, so an incremental model can keep one in place.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Digest(pub u64);

impl Digest {
    pub fn add(&mut self, item: u64) {
        self.0 = self.0.wrapping_add(item);
    }
    pub fn remove(&mut self, item: u64) {
        self.0 = self.0.wrapping_sub(item);
    }
    pub fn merge(&mut self, other: Digest) {
        self.add(other.0);
    }

    pub fn entry(&mut self, proc: ProcId, page: u64, entry: &Entry) {
        self.add(entry_hash(proc, page, entry));
    }
    pub fn folio(&mut self, f: &FolioState) {
        self.add(folio_hash(f));
    }
    pub fn proc(&mut self, proc: ProcId, has_pinned: bool) {
        self.add(hash_of(&(Tag::Proc, proc, has_pinned)));
    }
    pub fn vma(&mut self, proc: ProcId, v: &VmaState) {
        let v = VmaState {
            backing: v.backing.map(|(o, off)| (anon_obj(o), off)),
            ..*v
        };
        self.add(hash_of(&(Tag::Vma, proc, v)));
    }
    pub fn object(&mut self, o: &ObjectState) {
        let mut h = Mix::default();
        (Tag::Object, anon_obj(o.id), o.fs, o.pages).hash(&mut h);
        o.cache.len().hash(&mut h);
        for (&index, &(_, page)) in &o.cache {
            (index, page).hash(&mut h);
        }
        o.backing.hash(&mut h);
        self.add(h.finish());
    }
    pub fn swap(&mut self, s: &SwapState) {
        self.add(hash_of(&(
            Tag::Swap,
            s.count,
            s.cached.is_some(),
            s.contents,
        )));
    }
    pub fn zones(&mut self, zone_free: [u64; 3]) {
        self.add(hash_of(&(Tag::Zones, zone_free)));
    }
    pub fn handle(&mut self, hs: &HandleState) {
        let mut h = Mix::default();
        (Tag::Handle, hs.id, hs.flags, hs.base).hash(&mut h);
        pages_hash(&hs.pages, &mut h);
        self.add(h.finish());
    }
    pub fn lock(&mut self, l: &LockState) {
        self.add(hash_of(&(Tag::Lock, l.id)));
    }
    pub fn prereg(&mut self, p: &PreregState) {
        let mut h = Mix::default();
        (Tag::Prereg, p.id, p.proc, p.start, p.pageshift).hash(&mut h);
        pages_hash(&p.pages, &mut h);
        self.add(h.finish());
    }
    /// A device without its mirrors (see [`Digest::mirror_entry`]).
    pub fn device(&mut self, d: &DeviceState) {
        let fields = (
            d.pool_total,
            d.pool_free,
            d.pgmap_refs,
            d.released,
            d.fail_alloc,
        );
        self.add(hash_of(&(Tag::Device, d.id, fields)));
    }
    pub fn mirror_entry(&mut self, dev: DevId, proc: ProcId, e: &MirrorEntry) {
        let e = (e.page, anon_page(e.target), e.tag);
        self.add(hash_of(&(Tag::Mirror, dev, proc, e)));
    }
    pub fn session(&mut self, s: &SessionState) {
        let mut h = Mix::default();
        (
            Tag::Session,
            s.id,
            s.proc,
            s.start,
            s.end,
            s.select,
            s.owner,
        )
            .hash(&mut h);
        (s.fault_page.map(anon_page), s.phase, s.cpages).hash(&mut h);
        s.src.len().hash(&mut h);
        for src in &s.src {
            anon_src(src).hash(&mut h);
        }
        s.dst.len().hash(&mut h);
        for d in &s.dst {
            d.map(anon_page).hash(&mut h);
        }
        self.add(h.finish());
    }
    pub fn notifier(&mut self, n: &NotifierState) {
        self.add(hash_of(&(Tag::Notifier, n)));
    }
}

fn anon_src(s: &MigrateSrc) -> MigrateSrc {
    MigrateSrc {
        page: s.page.map(anon_page),
        ..*s
    }
}

/// The digest of everything in `state` except page-table entries and
/// folios, which incremental models keep themselves.
pub fn of_rest(state: &State) -> Digest {
    let mut d = Digest::default();
    for p in &state.procs {
        d.proc(p.id, p.has_pinned);
        for v in &p.vmas {
            d.vma(p.id, v);
        }
    }
    state.objects.iter().for_each(|o| d.object(o));
    state.swap.values().for_each(|s| d.swap(s));
    d.zones(state.zone_free);
    state.handles.iter().for_each(|h| d.handle(h));
    state.locks.iter().for_each(|l| d.lock(l));
    state.iommu.iter().for_each(|p| d.prereg(p));
    for dev in &state.devices {
        d.device(dev);
        for m in &dev.mirrors {
            m.entries
                .iter()
                .for_each(|e| d.mirror_entry(dev.id, m.proc, e));
        }
    }
    state.sessions.iter().for_each(|s| d.session(s));
    state.notifiers.iter().for_each(|n| d.notifier(n));
    d
}

/// The digest of an exported (raw or canonical) state: the definition.
pub fn of_state(state: &State) -> Digest {
    let mut d = of_rest(state);
    for p in &state.procs {
        for run in &p.entries {
            for i in 0..run.len {
                let page = run.start + i as u64;
                let e = run.entry.advanced(i);
                if e.is_pmd_leaf() && !page.is_multiple_of(PMD_PAGES as u64) {
                    continue;
                }
                d.entry(p.id, page, &e);
            }
        }
    }
    state.folios.values().for_each(|f| d.folio(f));
    d
}

/// The hash of an outcome with folio ids left out: equal canonical
/// outcomes hash equal.
pub fn outcome_hash(o: &Outcome) -> u64 {
    match o {
        Outcome::Ok(Payload::Translate { page, shift }) => {
            hash_of(&(1u8, anon_page(*page), *shift))
        }
        // The maximal runs of the words with folio ids left out: a
        // function of that word sequence alone (maximal runs are unique;
        // map_pages merges runs of different folios that continue each
        // other once the ids are gone), at a cost per run, not per page.
        Outcome::Ok(Payload::Pfns(words)) => {
            let anon = words.map_pages(anon_page);
            let mut h = Mix::default();
            (2u8, anon.len()).hash(&mut h);
            for r in anon.runs() {
                (r.first, r.count).hash(&mut h);
            }
            h.finish()
        }
        Outcome::Ok(Payload::Migrate { cpages, src }) => {
            let mut h = Mix::default();
            (3u8, *cpages, src.len()).hash(&mut h);
            src.iter().for_each(|s| anon_src(s).hash(&mut h));
            h.finish()
        }
        other => hash_of(&(0u8, other)),
    }
}

#[cfg(test)]
mod tests;
