//! The renaming traversal of [`super::canonicalize`].

use crate::state::{
    Entry, EntryRun, FolioId, FolioState, ObjId, ObjectState, PageRef, Renames, State, SwapId,
    SwapState, Target,
};

/// The rename maps under construction, in traversal order.
pub(super) struct Namer<'a> {
    raw: &'a State,
    pub(super) renames: Renames,
    next_shm: u64,
    next_io: u64,
}

impl<'a> Namer<'a> {
    pub(super) fn new(raw: &'a State) -> Self {
        Namer {
            raw,
            renames: Renames::default(),
            next_shm: 0,
            next_io: 0,
        }
    }

    /// Name a folio (if new) and then its swap-cache block; return its name.
    pub(super) fn folio(&mut self, f: FolioId) -> FolioId {
        if let Some(&n) = self.renames.folios.get(&f) {
            return n;
        }
        let n = FolioId(self.renames.folios.len() as u64);
        self.renames.folios.insert(f, n);
        if let Some(fs) = self.raw.folios.get(&f) {
            if let Some(s0) = fs.swapcache {
                self.swap_block(s0, fs.nr_pages());
            }
        }
        n
    }

    /// Name a swap slot (if new) alone; return its name.
    pub(super) fn swap(&mut self, s: SwapId) -> SwapId {
        if let Some(&n) = self.renames.swap.get(&s) {
            return n;
        }
        let n = SwapId(self.renames.swap.len() as u64);
        self.renames.swap.insert(s, n);
        n
    }

    pub(super) fn swap_block(&mut self, s0: SwapId, nr: u64) {
        for i in 0..nr {
            self.swap(SwapId(s0.0.wrapping_add(i)));
        }
    }

    /// A swap entry's slot: its whole swap-cache block if a folio caches it,
    /// then that folio.
    pub(super) fn swap_entry(&mut self, s: SwapId) {
        if self.renames.swap.contains_key(&s) {
            return;
        }
        let cached = self.raw.swap.get(&s).and_then(|slot| slot.cached);
        let block = cached
            .and_then(|f| self.raw.folios.get(&f))
            .and_then(|fs| Some((fs.swapcache?, fs.nr_pages())))
            .filter(|(s0, nr)| s.0.wrapping_sub(s0.0) < *nr);
        match block {
            Some((s0, nr)) => self.swap_block(s0, nr),
            None => {
                self.swap(s);
            }
        }
        if let Some(f) = cached {
            self.folio(f);
        }
    }

    pub(super) fn object(&mut self, o: ObjId) -> ObjId {
        if let Some(&n) = self.renames.objects.get(&o) {
            return n;
        }
        let n = match o {
            ObjId::File(f) => ObjId::File(f),
            ObjId::Shm(_) => {
                self.next_shm += 1;
                ObjId::Shm(self.next_shm - 1)
            }
            ObjId::Io(_) => {
                self.next_io += 1;
                ObjId::Io(self.next_io - 1)
            }
        };
        self.renames.objects.insert(o, n);
        n
    }

    pub(super) fn page_ref(&mut self, p: &PageRef) {
        if let PageRef::Folio { folio, .. } = p {
            self.folio(*folio);
        }
    }

    pub(super) fn rename_ref(&mut self, p: &PageRef) -> PageRef {
        match *p {
            PageRef::Folio { folio, page } => PageRef::Folio {
                folio: self.folio(folio),
                page,
            },
            other => other,
        }
    }

    fn rename_target(&mut self, target: Target) -> Target {
        match target {
            Target::Folio { folio, page } => Target::Folio {
                folio: self.folio(folio),
                page,
            },
            Target::Io { obj, page } => Target::Io {
                obj: self.object(obj),
                page,
            },
            other => other,
        }
    }

    /// Name what one (raw) entry run refers to, page by page in address order.
    pub(super) fn run(&mut self, r: &EntryRun) {
        match r.entry {
            Entry::Present { target, .. }
            | Entry::Migration { target, .. }
            | Entry::DevicePrivate { target, .. }
            | Entry::DeviceExclusive { target, .. } => match target {
                Target::Folio { folio, .. } => {
                    self.folio(folio);
                }
                Target::Io { obj, .. } => {
                    self.object(obj);
                }
                Target::Zero | Target::HugeZero { .. } => {}
            },
            Entry::Swap { slot, .. } => {
                for i in 0..r.len {
                    self.swap_entry(SwapId(slot.0.wrapping_add(i as u64)));
                }
            }
        }
    }

    /// Objects: unnamed ones (mapped by no VMA) get names after the mapped
    /// ones, ordered by content, not by raw id; then every object's page
    /// cache, in new-name order.
    pub(super) fn objects_pass(&mut self) {
        let mut unnamed: Vec<&ObjectState> = self
            .raw
            .objects
            .iter()
            .filter(|o| !self.renames.objects.contains_key(&o.id))
            .collect();
        // Sort by raw id first so that content ties resolve the same way
        // every time (and the idempotence of canonicalize holds).
        unnamed.sort_by_key(|o| o.id);
        unnamed.sort_by_cached_key(|o| {
            let kind = match o.id {
                ObjId::File(f) => (0, f.0),
                ObjId::Shm(_) => (1, 0),
                ObjId::Io(_) => (2, 0),
            };
            let cache: Vec<(u64, u32)> = o.cache.iter().map(|(&i, &(_, k))| (i, k)).collect();
            (kind, o.fs, o.pages, o.backing.clone(), cache)
        });
        for o in unnamed {
            self.object(o.id);
        }
        let mut order: Vec<(ObjId, &ObjectState)> = self
            .raw
            .objects
            .iter()
            .map(|o| (self.renames.objects.get(&o.id).copied().unwrap_or(o.id), o))
            .collect();
        order.sort_by_key(|(n, _)| *n);
        for (_, o) in order {
            for &(f, _) in o.cache.values() {
                self.folio(f);
            }
        }
    }

    /// Folios the traversal never reached, ordered by their (renamed) content.
    pub(super) fn leaked_folios(&mut self) {
        let raw = self.raw;
        let mut leaked: Vec<&FolioState> = raw
            .folios
            .values()
            .filter(|f| !self.renames.folios.contains_key(&f.id))
            .collect();
        leaked.sort_by_cached_key(|f| {
            let swapcache = f.swapcache.map(|s| {
                let slot = raw.swap.get(&s).map(|x| (x.count, x.contents));
                (self.renames.swap.get(&s).copied(), slot)
            });
            let mapping = f
                .mapping
                .map(|(o, i)| (self.renames.objects.get(&o).copied(), i));
            (
                (f.order, f.memory, f.refcount, f.mapcount),
                (f.entire_mapcount, f.pincount),
                (f.locked, f.lru, f.anon, f.swapbacked, f.dirty),
                mapping,
                swapcache,
                f.anon_exclusive.clone(),
                f.contents.clone(),
            )
        });
        for f in leaked {
            self.folio(f.id);
        }
    }

    /// Swap slots nothing reached, ordered by content.
    pub(super) fn leaked_swap(&mut self) {
        let mut leaked: Vec<&SwapState> = self
            .raw
            .swap
            .values()
            .filter(|s| !self.renames.swap.contains_key(&s.id))
            .collect();
        leaked.sort_by_cached_key(|s| {
            let cached = s.cached.map(|f| self.renames.folios.get(&f).copied());
            (s.count, s.contents, cached)
        });
        for s in leaked {
            self.swap(s.id);
        }
    }

    /// Rename one window-split raw run; swap runs are re-cut where the new
    /// slot names stop being consecutive.
    pub(super) fn rename_run(&mut self, r: &EntryRun, out: &mut Vec<EntryRun>) {
        match r.entry {
            Entry::Present { target, .. }
            | Entry::Migration { target, .. }
            | Entry::DevicePrivate { target, .. }
            | Entry::DeviceExclusive { target, .. } => {
                let target = self.rename_target(target);
                out.push(EntryRun {
                    start: r.start,
                    len: r.len,
                    entry: r.entry.with_target(target),
                });
            }
            Entry::Swap {
                slot,
                exclusive,
                soft_dirty,
                uffd_wp,
            } => {
                let mut cur: Option<EntryRun> = None;
                for i in 0..r.len {
                    let new = self.swap(SwapId(slot.0.wrapping_add(i as u64)));
                    let page = r.start.saturating_add(i as u64);
                    if let Some(c) = cur.as_mut() {
                        if let Entry::Swap { slot: s, .. } = c.entry {
                            if s.0.checked_add(c.len as u64) == Some(new.0) {
                                c.len += 1;
                                continue;
                            }
                        }
                        out.push(*c);
                    }
                    cur = Some(EntryRun {
                        start: page,
                        len: 1,
                        entry: Entry::Swap {
                            slot: new,
                            exclusive,
                            soft_dirty,
                            uffd_wp,
                        },
                    });
                }
                out.extend(cur);
            }
        }
    }
}
