//! Random abstract states and their raw re-expressions (other ids, other
//! run cuts), for the independence and idempotence tests.

use std::collections::{BTreeMap, BTreeSet};

use crate::op::{
    DevId, FileId, FsKind, GupFlags, HandleId, IommuId, LockId, MigrateSelect, NotifierId, ProcId,
    Prot, SessionId, Zone,
};
use crate::state::*;

use super::fixtures::*;

/// Every entry of a state, one per page (raw ids advanced per page).
pub(crate) fn per_page(runs: &[EntryRun]) -> BTreeMap<u64, Entry> {
    let mut m = BTreeMap::new();
    for r in runs {
        for i in 0..r.len {
            m.insert(r.start + i as u64, r.entry.advanced(i));
        }
    }
    m
}

/// A splitmix64 generator: tests draw whole structures from one seed.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    pub(crate) fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            v.swap(i, j);
        }
    }
    /// `n` distinct ids, in random order and with random gaps.
    pub(crate) fn distinct(&mut self, n: usize, wide: bool) -> Vec<u64> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        while out.len() < n {
            let v = if wide {
                self.next() >> 8
            } else {
                self.below(4 * n as u64 + 8)
            };
            if seen.insert(v) {
                out.push(v);
            }
        }
        out
    }
}

/// Swap ids in abstract states are `block * BLOCK + index`, so that a
/// realization can move whole blocks (a large folio's swap-cache slots must
/// stay consecutive).
pub(crate) const BLOCK: u64 = 1024;

/// Re-express `st` with other raw ids and other run cuts: folio and
/// shm/io ids through random bijections, swap blocks moved to random bases,
/// runs cut at random points and listed in random order.
pub(crate) fn realize(st: &State, rng: &mut Rng) -> State {
    let folio_ids: BTreeSet<u64> = collect_folio_ids(st);
    let raw_f: BTreeMap<u64, u64> = folio_ids
        .iter()
        .copied()
        .zip(rng.distinct(folio_ids.len(), rng.0.is_multiple_of(2)))
        .collect();
    let blocks: BTreeSet<u64> = collect_swap_ids(st).iter().map(|s| s / BLOCK).collect();
    let mut order: Vec<u64> = blocks.iter().copied().collect();
    rng.shuffle(&mut order);
    let mut base = BTreeMap::new();
    let mut next = rng.below(1000);
    for b in order {
        base.insert(b, next);
        next += BLOCK + rng.below(3) * 7;
    }
    let objs: BTreeSet<u64> = collect_obj_ids(st);
    let raw_o: BTreeMap<u64, u64> = objs
        .iter()
        .copied()
        .zip(rng.distinct(objs.len(), true))
        .collect();
    let f = |id: FolioId| FolioId(raw_f[&id.0]);
    let s = |id: SwapId| SwapId(base[&(id.0 / BLOCK)] + id.0 % BLOCK);
    let o = |id: ObjId| match id {
        ObjId::File(x) => ObjId::File(x),
        ObjId::Shm(x) => ObjId::Shm(raw_o[&x]),
        ObjId::Io(x) => ObjId::Io(raw_o[&(x + 1_000_000)]),
    };
    let pr = |p: &PageRef| match *p {
        PageRef::Folio { folio, page } => PageRef::Folio {
            folio: f(folio),
            page,
        },
        other => other,
    };
    let mut out = st.clone();
    for p in &mut out.procs {
        for v in &mut p.vmas {
            v.backing = v.backing.map(|(ob, i)| (o(ob), i));
        }
        let pages: Vec<(u64, Entry)> = per_page(&p.entries)
            .into_iter()
            .map(|(a, e)| {
                let e = match e {
                    Entry::Present { target, .. }
                    | Entry::Migration { target, .. }
                    | Entry::DevicePrivate { target, .. }
                    | Entry::DeviceExclusive { target, .. } => {
                        let t = match target {
                            Target::Folio { folio, page } => Target::Folio {
                                folio: f(folio),
                                page,
                            },
                            Target::Io { obj, page } => Target::Io { obj: o(obj), page },
                            other => other,
                        };
                        e.with_target(t)
                    }
                    Entry::Swap {
                        slot,
                        exclusive,
                        soft_dirty,
                        uffd_wp,
                    } => Entry::Swap {
                        slot: s(slot),
                        exclusive,
                        soft_dirty,
                        uffd_wp,
                    },
                };
                (a, e)
            })
            .collect();
        // Greedy runs over raw ids (never across windows: they may not),
        // then random cuts, then random order.
        let mut runs: Vec<EntryRun> = Vec::new();
        for (a, e) in pages {
            if let Some(l) = runs.last_mut() {
                if l.start + l.len as u64 == a
                    && l.entry.advanced(l.len) == e
                    && l.start / W as u64 == a / W as u64
                    && !rng.chance(10)
                {
                    l.len += 1;
                    continue;
                }
            }
            runs.push(run(a, 1, e));
        }
        rng.shuffle(&mut runs);
        p.entries = runs;
    }
    rng.shuffle(&mut out.procs);
    for ob in &mut out.objects {
        ob.id = o(ob.id);
        for v in ob.cache.values_mut() {
            v.0 = f(v.0);
        }
    }
    rng.shuffle(&mut out.objects);
    out.folios = st
        .folios
        .values()
        .map(|x| {
            let mut x = x.clone();
            x.id = f(x.id);
            x.swapcache = x.swapcache.map(s);
            x.mapping = x.mapping.map(|(ob, i)| (o(ob), i));
            (x.id, x)
        })
        .collect();
    out.swap = st
        .swap
        .values()
        .map(|x| {
            let mut x = x.clone();
            x.id = s(x.id);
            x.cached = x.cached.map(f);
            (x.id, x)
        })
        .collect();
    for h in &mut out.handles {
        h.pages = h.pages.iter().map(pr).collect();
    }
    rng.shuffle(&mut out.handles);
    for l in &mut out.locks {
        l.folio = f(l.folio);
    }
    rng.shuffle(&mut out.locks);
    for i in &mut out.iommu {
        i.pages = i.pages.iter().map(pr).collect();
    }
    rng.shuffle(&mut out.iommu);
    // Device tables in any order: devices, mirrors and their entries.
    for d in &mut out.devices {
        for m in &mut d.mirrors {
            for e in &mut m.entries {
                e.target = pr(&e.target);
            }
            rng.shuffle(&mut m.entries);
        }
        rng.shuffle(&mut d.mirrors);
    }
    rng.shuffle(&mut out.devices);
    for x in &mut out.sessions {
        x.fault_page = x.fault_page.as_ref().map(pr);
        for e in &mut x.src {
            e.page = e.page.as_ref().map(pr);
        }
        for d in &mut x.dst {
            *d = d.as_ref().map(pr);
        }
    }
    rng.shuffle(&mut out.sessions);
    rng.shuffle(&mut out.notifiers);
    out
}

pub(crate) fn collect_folio_ids(st: &State) -> BTreeSet<u64> {
    let mut ids: BTreeSet<u64> = st.folios.keys().map(|f| f.0).collect();
    for p in &st.procs {
        for r in &p.entries {
            if let Some((folio, _)) = r.entry.folio_page() {
                ids.insert(folio.0);
            }
        }
    }
    let mut refs: Vec<PageRef> = Vec::new();
    for d in &st.devices {
        for m in &d.mirrors {
            refs.extend(m.entries.iter().map(|e| e.target));
        }
    }
    for x in &st.sessions {
        refs.extend(x.fault_page);
        refs.extend(x.src.iter().filter_map(|e| e.page));
        refs.extend(x.dst.iter().flatten());
    }
    for p in refs {
        if let PageRef::Folio { folio, .. } = p {
            ids.insert(folio.0);
        }
    }
    for o in &st.objects {
        ids.extend(o.cache.values().map(|(f, _)| f.0));
    }
    for s in st.swap.values() {
        ids.extend(s.cached.map(|f| f.0));
    }
    let refs = st.handles.iter().flat_map(|h| &h.pages);
    for p in refs.chain(st.iommu.iter().flat_map(|i| &i.pages)) {
        if let PageRef::Folio { folio, .. } = p {
            ids.insert(folio.0);
        }
    }
    ids.extend(st.locks.iter().map(|l| l.folio.0));
    ids
}

pub(crate) fn collect_swap_ids(st: &State) -> BTreeSet<u64> {
    let mut ids: BTreeSet<u64> = st.swap.keys().map(|s| s.0).collect();
    for p in &st.procs {
        for (_, e) in per_page(&p.entries) {
            if let Entry::Swap { slot, .. } = e {
                ids.insert(slot.0);
            }
        }
    }
    for f in st.folios.values() {
        if let Some(s) = f.swapcache {
            ids.extend((0..f.nr_pages()).map(|i| s.0 + i));
        }
    }
    ids
}

/// Shm ids as themselves, io ids shifted by 1e6 (one key space).
pub(crate) fn collect_obj_ids(st: &State) -> BTreeSet<u64> {
    let mut ids = BTreeSet::new();
    let mut add = |o: ObjId| match o {
        ObjId::Shm(x) => {
            ids.insert(x);
        }
        ObjId::Io(x) => {
            ids.insert(x + 1_000_000);
        }
        ObjId::File(_) => {}
    };
    for o in &st.objects {
        add(o.id);
    }
    for p in &st.procs {
        for v in &p.vmas {
            if let Some((o, _)) = v.backing {
                add(o);
            }
        }
        for r in &p.entries {
            if let Entry::Present {
                target: Target::Io { obj, .. },
                ..
            } = r.entry
            {
                add(obj);
            }
        }
    }
    for f in st.folios.values() {
        if let Some((o, _)) = f.mapping {
            add(o);
        }
    }
    ids
}

// ------------------------------------------------ random abstract states

/// A random state in abstract ids (folios `0..n`, swap `block*BLOCK+i`,
/// shm/io small numbers), entries one page per run. It need not satisfy
/// the invariants: canonicalization must not care.
pub(crate) fn arb_abstract(seed: u64) -> State {
    let mut rng = Rng(seed);
    let w = W as u64;
    let nf = rng.below(10) as usize;
    let mut folios: BTreeMap<FolioId, FolioState> = BTreeMap::new();
    for i in 0..nf {
        let order = if rng.chance(25) { 9 } else { 0 };
        let mut f = folio(i as u64, order);
        f.memory = Memory::Zone(Zone::ALL[rng.below(3) as usize]);
        f.refcount = rng.below(4) as i64;
        f.mapcount = rng.below(3) as i64;
        f.locked = rng.chance(20);
        f.anon = rng.chance(70);
        f.dirty = rng.chance(50);
        let nr = f.nr_pages() as usize;
        let all = rng.chance(50);
        f.anon_exclusive = (0..nr).map(|_| all || rng.chance(10)).collect();
        // Contents mostly from a small set so that leaked folios tie often.
        let k = rng.below(3);
        f.contents = (0..nr as u64).map(|p| if k == 2 { p } else { k }).collect();
        folios.insert(f.id, f);
    }
    // Swap: blocks 0.. for swap-cached folios, then free-standing slots.
    let mut swap = BTreeMap::new();
    let mut nb = 0;
    for f in folios.values_mut() {
        if rng.chance(30) {
            f.swapcache = Some(SwapId(nb * BLOCK));
            for i in 0..f.nr_pages() {
                let id = SwapId(nb * BLOCK + i);
                swap.insert(
                    id,
                    SwapState {
                        id,
                        count: rng.below(3) as u32,
                        cached: Some(f.id),
                        contents: rng.below(3),
                    },
                );
            }
            nb += 1;
        }
    }
    for _ in 0..rng.below(6) {
        let id = SwapId(nb * BLOCK);
        swap.insert(
            id,
            SwapState {
                id,
                count: rng.below(3) as u32,
                cached: None,
                contents: rng.below(3),
            },
        );
        nb += 1;
    }
    let slots: Vec<SwapId> = swap.keys().copied().collect();
    let n_shm = rng.below(3);
    let n_io = rng.below(2);
    let mut objects = Vec::new();
    for f in 0..rng.below(3) {
        objects.push(ObjectState {
            id: ObjId::File(FileId(f as u8)),
            fs: Some(FsKind::Ext4),
            pages: 8,
            cache: BTreeMap::new(),
            backing: BTreeMap::new(),
        });
    }
    for i in 0..n_shm {
        objects.push(ObjectState {
            id: ObjId::Shm(i),
            fs: Some(FsKind::Tmpfs),
            // Distinct sizes: unmapped objects are ordered by content.
            pages: 8 + i,
            cache: BTreeMap::new(),
            backing: BTreeMap::new(),
        });
    }
    for i in 0..n_io {
        objects.push(ObjectState {
            id: ObjId::Io(i),
            fs: None,
            pages: 4 + i,
            cache: BTreeMap::new(),
            backing: [(0, 5)].into_iter().collect(),
        });
    }
    // Page caches: some folios go into some object.
    let nobj = objects.len() as u64;
    for f in folios.values_mut() {
        if nobj > 0 && f.order == 0 && rng.chance(30) {
            let o = &mut objects[rng.below(nobj) as usize];
            let idx = rng.below(8);
            if let std::collections::btree_map::Entry::Vacant(e) = o.cache.entry(idx) {
                e.insert((f.id, 0));
                f.mapping = Some((o.id, idx));
            }
        }
    }
    let random_obj = |rng: &mut Rng| -> Option<ObjId> {
        match rng.below(4) {
            0 if n_shm > 0 => Some(ObjId::Shm(rng.below(n_shm))),
            1 if n_io > 0 => Some(ObjId::Io(rng.below(n_io))),
            2 => Some(ObjId::File(FileId(rng.below(2) as u8))),
            _ => None,
        }
    };
    let mut procs = Vec::new();
    for pid in 0..4u8 {
        if pid > 0 && rng.chance(50) {
            continue;
        }
        let mut p = ProcState {
            id: ProcId(pid),
            has_pinned: rng.chance(30),
            vmas: vec![],
            entries: vec![],
        };
        for _ in 0..rng.below(4) {
            let k = rng.below(3);
            let s = rng.below(w / 2);
            let mut v = vma(
                abs(k, s),
                abs(k, s + 1 + rng.below(w / 2)),
                VmaKind::AnonPrivate,
                Prot::RW,
            );
            v.backing = random_obj(&mut rng).map(|o| (o, rng.below(4)));
            p.vmas.push(v);
        }
        let mut pages: BTreeMap<u64, Entry> = BTreeMap::new();
        for _ in 0..rng.below(8) {
            let k = rng.below(3);
            let b = rng.below(w / 512) * 512;
            match rng.below(6) {
                // A PMD leaf of a large folio (or of the huge zero page).
                0 => {
                    let large: Vec<u64> = (0..nf as u64)
                        .filter(|i| folios[&FolioId(*i)].order == 9)
                        .collect();
                    let pick =
                        (!large.is_empty()).then(|| large[rng.below(large.len() as u64) as usize]);
                    for i in 0..512u32 {
                        let target = match pick {
                            Some(f) => Target::Folio {
                                folio: FolioId(f),
                                page: i,
                            },
                            None => Target::HugeZero { page: i },
                        };
                        pages.insert(
                            abs(k, b) + i as u64,
                            Entry::Present {
                                level: Level::Pmd,
                                target,
                                bits: bits(false),
                            },
                        );
                    }
                }
                // PTEs of folio pages, possibly of a folio that does not exist.
                1 | 2 if nf > 0 => {
                    let fid = rng.below(nf as u64 + 1);
                    let nr = folios.get(&FolioId(fid)).map_or(1, |f| f.nr_pages());
                    let first = rng.below(nr);
                    let len = 1 + rng.below((nr - first).min(40));
                    let at = abs(k, rng.below(w - 40));
                    let write = rng.chance(50);
                    for i in 0..len {
                        pages.insert(at + i, present(Level::Pte, fid, (first + i) as u32, write));
                    }
                }
                3 => {
                    let at = abs(k, rng.below(w - 40));
                    for i in 0..rng.below(40) {
                        pages.insert(
                            at + i,
                            Entry::Present {
                                level: Level::Pte,
                                target: Target::Zero,
                                bits: bits(false),
                            },
                        );
                    }
                }
                4 if !slots.is_empty() => {
                    let at = abs(k, rng.below(w - 600));
                    let mut slot = slots[rng.below(slots.len() as u64) as usize].0;
                    // Sometimes start inside a large block, so the block is
                    // first reached through a middle slot.
                    if let Some(f) = swap.get(&SwapId(slot)).and_then(|x| x.cached) {
                        if folios[&f].order == 9 {
                            slot += rng.below(512);
                        }
                    }
                    let excl = rng.chance(50);
                    for i in 0..1 + rng.below(3) {
                        if swap.contains_key(&SwapId(slot + i)) || rng.chance(10) {
                            pages.insert(
                                at + i,
                                Entry::Swap {
                                    slot: SwapId(slot + i),
                                    exclusive: excl,
                                    soft_dirty: false,
                                    uffd_wp: false,
                                },
                            );
                        }
                    }
                }
                _ if n_io > 0 => {
                    let at = abs(k, rng.below(w - 8));
                    let obj = ObjId::Io(rng.below(n_io));
                    for i in 0..4u32 {
                        pages.insert(
                            at + i as u64,
                            Entry::Present {
                                level: Level::Pte,
                                target: Target::Io { obj, page: i },
                                bits: bits(true),
                            },
                        );
                    }
                }
                _ => {}
            }
        }
        // Migration, device-private and device-exclusive entries of folio
        // pages (possibly of a folio that does not exist), some PMD-level.
        for _ in 0..rng.below(3) {
            if nf == 0 {
                break;
            }
            let fid = rng.below(nf as u64 + 1);
            let nr = folios.get(&FolioId(fid)).map_or(1, |f| f.nr_pages());
            let pmd = nr == 512 && rng.chance(50);
            let (first, len) = if pmd {
                (0, 512)
            } else {
                let first = rng.below(nr);
                (first, 1 + rng.below((nr - first).min(20)))
            };
            let level = if pmd { Level::Pmd } else { Level::Pte };
            let at = if pmd {
                abs(rng.below(3), rng.below(w / 512) * 512)
            } else {
                abs(rng.below(3), rng.below(w - 40))
            };
            let (b1, b2, b3) = (rng.chance(50), rng.chance(30), rng.chance(20));
            let kind = rng.below(3);
            for i in 0..len {
                let target = Target::Folio {
                    folio: FolioId(fid),
                    page: (first + i) as u32,
                };
                let e = match kind {
                    0 => Entry::Migration {
                        level,
                        target,
                        kind: [MigKind::Read, MigKind::ReadExclusive, MigKind::Write]
                            [(fid % 3) as usize],
                        young: b1,
                        dirty: b2,
                        soft_dirty: b3,
                        uffd_wp: false,
                    },
                    1 => Entry::DevicePrivate {
                        level,
                        target,
                        write: b1,
                        soft_dirty: b2,
                        uffd_wp: b3,
                    },
                    _ => Entry::DeviceExclusive {
                        target,
                        write: b3,
                        soft_dirty: b1,
                        uffd_wp: b2,
                    },
                };
                pages.insert(at + i, e);
            }
        }
        p.entries = pages.into_iter().map(|(a, e)| run(a, 1, e)).collect();
        procs.push(p);
    }
    let folio_ref = |rng: &mut Rng| -> PageRef {
        match rng.below(5) {
            0 => PageRef::Zero,
            1 => PageRef::HugeZero {
                page: rng.below(512) as u32,
            },
            _ => PageRef::Folio {
                folio: FolioId(rng.below(nf as u64 + 1)),
                page: 0,
            },
        }
    };
    let mut handles = Vec::new();
    for h in 0..rng.below(4) {
        handles.push(HandleState {
            id: HandleId(h as u8),
            flags: GupFlags {
                pin: rng.chance(50),
                ..GupFlags::default()
            },
            base: rng.below(100),
            pages: (0..rng.below(4)).map(|_| folio_ref(&mut rng)).collect(),
        });
    }
    let locks = (0..rng.below(3))
        .map(|x| LockState {
            id: LockId(x as u8),
            folio: FolioId(rng.below(nf as u64 + 1)),
        })
        .collect();
    let iommu = (0..rng.below(2))
        .map(|i| PreregState {
            id: IommuId(i as u8),
            proc: ProcId(0),
            start: abs(0, 0),
            pages: (0..rng.below(3)).map(|_| folio_ref(&mut rng)).collect(),
            pageshift: 12,
        })
        .collect();
    // Device memory: some folios move to a device.
    for f in folios.values_mut() {
        if rng.chance(20) {
            f.memory = Memory::Device(DevId(rng.below(4) as u8));
        }
    }
    let proc_ids: Vec<ProcId> = procs.iter().map(|p| p.id).collect();
    let mut devices = Vec::new();
    for d in 0..4u8 {
        if rng.chance(40) {
            continue;
        }
        let mut mirrors = Vec::new();
        for &p in &proc_ids {
            if rng.chance(50) {
                continue;
            }
            // Entries by address (one per page), some runs of one folio.
            let mut entries: BTreeMap<u64, MirrorEntry> = BTreeMap::new();
            for _ in 0..rng.below(4) {
                let at = abs(rng.below(3), rng.below(w - 8));
                let first = folio_ref(&mut rng);
                let tag =
                    [MirrorTag::Read, MirrorTag::Write, MirrorTag::Atomic][rng.below(3) as usize];
                for i in 0..1 + rng.below(4) as u32 {
                    let target = match first {
                        PageRef::Folio { folio, page } => PageRef::Folio {
                            folio,
                            page: page + i,
                        },
                        other => other,
                    };
                    let page = at + i as u64;
                    entries.insert(page, MirrorEntry { page, target, tag });
                }
            }
            mirrors.push(MirrorState {
                proc: p,
                entries: entries.into_values().collect(),
            });
        }
        devices.push(DeviceState {
            id: DevId(d),
            pool_total: 2048,
            pool_free: rng.below(2048),
            pgmap_refs: rng.below(10) as i64,
            released: rng.chance(20),
            fail_alloc: rng.chance(20),
            mirrors,
        });
    }
    let mut sessions = Vec::new();
    for s in 0..rng.below(3) {
        let n = 1 + rng.below(6) as usize;
        let start = abs(0, rng.below(64));
        let opt_ref = |rng: &mut Rng| rng.chance(60).then(|| folio_ref(rng));
        sessions.push(SessionState {
            id: SessionId(s as u8),
            proc: ProcId(0),
            start,
            end: start + n as u64,
            select: MigrateSelect {
                system: rng.chance(50),
                compound: rng.chance(50),
                ..MigrateSelect::default()
            },
            owner: rng.chance(50).then_some(DevId(0)),
            fault_page: opt_ref(&mut rng),
            phase: [
                MigratePhase::Setup,
                MigratePhase::Allocated,
                MigratePhase::Migrated,
            ][rng.below(3) as usize],
            cpages: rng.below(4),
            src: (0..n)
                .map(|_| crate::outcome::MigrateSrc {
                    page: opt_ref(&mut rng),
                    migrate: rng.chance(50),
                    write: rng.chance(50),
                    compound: false,
                })
                .collect(),
            dst: (0..n).map(|_| opt_ref(&mut rng)).collect(),
        });
    }
    let notifiers = (0..rng.below(3))
        .map(|n| NotifierState {
            id: NotifierId(n as u8),
            proc: ProcId(0),
            start: abs(0, 0),
            end: abs(0, 1 + rng.below(8)),
            stale: rng.chance(50),
        })
        .collect();
    State {
        window_pages: W,
        procs,
        objects,
        folios,
        swap,
        zone_free: [1, 2, 3],
        zone_total: [4, 5, 6],
        kernel: crate::config::KernelVersion::BASELINE,
        handles,
        locks,
        iommu,
        devices,
        sessions,
        notifiers,
    }
}

/// Structural promises of a canonical state.
pub(crate) fn assert_canonical_shape(c: &State) {
    let w = c.window_pages as u64;
    for p in &c.procs {
        for pair in p.entries.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            assert!(a.start < b.start, "runs sorted: {a:?} {b:?}");
            let mergeable = a.start + a.len as u64 == b.start
                && a.start / w == b.start / w
                && a.entry.advanced(a.len) == b.entry;
            assert!(!mergeable, "runs not maximal: {a:?} {b:?}");
        }
        for r in &p.entries {
            assert!(r.len >= 1);
            assert_eq!(
                r.start / w,
                (r.start + r.len as u64 - 1) / w,
                "run crosses a window: {r:?}"
            );
        }
    }
    // Dense names.
    let fs: Vec<u64> = c.folios.keys().map(|f| f.0).collect();
    assert!(fs.iter().enumerate().all(|(i, f)| *f >= i as u64));
}
