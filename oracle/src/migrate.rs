//! Migration of folios between zones: `migrate_pages()` (mm/migrate.c) for
//! one folio at a time, as FOLL_LONGTERM (`MR_LONGTERM_PIN`) and
//! `alloc_contig_range()` over CMA (`MR_CONTIG_RANGE`) use it.
//!
//! One migration is atomic here: `try_to_migrate()` replacing every mapping
//! by a migration entry, `folio_migrate_mapping()` moving the page-cache or
//! swap-cache slot, the copy, and `remove_migration_ptes()` mapping the new
//! folio all happen in one step, so migration entries never stay behind.

use mmdiff_core::op::Zone;
use mmdiff_core::outcome::{Errno, Outcome};
use mmdiff_core::state::{Entry, FolioId, Level, Memory, PteBits, Target};

use crate::pte::bits_of;
use crate::world::World;

impl World {
    /// `folio_expected_ref_count()` (include/linux/mm.h): the references a
    /// folio holds without anyone else using it: one per mapping (PTE or
    /// PMD), plus the swap cache's or the page cache's (one per page).
    pub fn folio_expected_ref_count(&self, folio: FolioId) -> i64 {
        let f = self.folio(folio);
        let nr = f.nr_pages() as i64;
        let swapcache = if f.swapcache.is_some() { nr } else { 0 };
        let pagecache = if f.mapping.is_some() { nr } else { 0 };
        f.mapcount + swapcache + pagecache
    }

    /// `migrate_pages(MIGRATE_SYNC)` of one folio to `zone`. Returns whether
    /// the folio now lives in `zone` (a folio that no longer exists counts
    /// as migrated: `migrate_folio_unmap` finds it freed).
    ///
    /// Refused when the folio is locked by someone else (`folio_lock` would
    /// sleep; treated as a failure) or holds references beyond its mappings
    /// and its page/swap cache (`folio_migrate_mapping`'s refcount freeze;
    /// pins, GUP references and lock holders make it fail; this also covers
    /// `try_to_migrate_one` refusing pinned exclusive anon pages). A large
    /// folio that cannot get an order-9 allocation is split and its pieces
    /// are migrated one by one (`try_split_folio` on `-ENOMEM`); the
    /// migration succeeds only if every piece moves.
    pub fn migrate_folio_to(&mut self, folio: FolioId, zone: Zone) -> bool {
        let Some(f) = self.folios.get(&folio) else {
            return true;
        };
        if f.locked || f.refcount != self.folio_expected_ref_count(folio) {
            return false;
        }
        let (order, large) = (f.order, f.is_large());
        match self.alloc_folio(zone, order) {
            Some(new) => {
                self.move_folio(folio, new);
                true
            }
            None if large => self.migrate_split_folio(folio, zone),
            None => false,
        }
    }

    /// `try_split_folio()` after a failed large allocation, then each piece
    /// through [`World::migrate_folio_to`] (every piece is tried).
    fn migrate_split_folio(&mut self, folio: FolioId, zone: Zone) -> bool {
        let Some(pieces) = self.split_folio(folio) else {
            return false;
        };
        let mut all = true;
        for piece in pieces {
            all &= self.migrate_folio_to(piece, zone);
        }
        all
    }

    /// The body of one successful migration from `old` to the freshly
    /// allocated `new`:
    /// - `try_to_migrate_one`: a dirty PTE/PMD marks the folio dirty; each
    ///   page's `PageAnonExclusive` travels in its migration entry, so a
    ///   page of the new folio is exclusive iff it was mapped exclusively;
    /// - `folio_migrate_mapping` / `folio_migrate_flags`: the page-cache or
    ///   swap-cache slot now holds the new folio, and the flags (dirty, anon,
    ///   swap-backed, LRU, swap cache, mapping) and contents move over;
    /// - `remove_migration_pte(s)` / `remove_migration_pmd`: every mapping
    ///   in every process maps the new folio at the same level with the same
    ///   bits (young, dirty, soft-dirty, write and uffd-wp are all carried by
    ///   the migration entry);
    /// - the old folio is freed; the new one holds exactly the old one's
    ///   references (the allocation's reference is dropped by putback).
    fn move_folio(&mut self, old_id: FolioId, new_id: FolioId) {
        let old = self.folio(old_id).clone();
        let mappers = self.mappers(old_id);
        let mut dirty = old.dirty;
        let mut exclusive = vec![false; old.anon_exclusive.len()];
        for &(q, page) in &mappers {
            // try_to_migrate_one(): MMU_NOTIFY_CLEAR per mapping.
            self.invalidate(q, page, page + 1, crate::device::Inval::Clear);
            let Some(e) = self.entry(q, page) else {
                continue;
            };
            if bits_of(&e).is_some_and(|b| b.dirty) {
                dirty = true;
            }
            // A PMD migration entry carries the head page's flag; a
            // device-exclusive entry of an exclusive page becomes a
            // read-exclusive migration entry.
            let mapped = match e {
                Entry::Present {
                    level,
                    target: Target::Folio { page: sub, .. },
                    ..
                } => Some(if level == Level::Pmd { 0 } else { sub as usize }),
                Entry::DeviceExclusive {
                    target: Target::Folio { page: sub, .. },
                    ..
                } => Some(sub as usize),
                _ => None,
            };
            if let Some(idx) = mapped {
                exclusive[idx] |= old.anon_exclusive[idx];
            }
        }
        {
            let new = self.folio_mut(new_id);
            new.refcount = old.refcount;
            new.mapcount = old.mapcount;
            new.entire_mapcount = old.entire_mapcount;
            new.pincount = old.pincount;
            new.lru = old.lru;
            new.anon = old.anon;
            new.swapbacked = old.swapbacked;
            new.dirty = dirty;
            new.swapcache = old.swapcache;
            new.mapping = old.mapping;
            new.anon_exclusive = exclusive;
            new.contents = old.contents.clone();
        }
        for &(q, page) in &mappers {
            match self.mm_mut(q).ptes.get_mut(&page) {
                Some(Entry::Present {
                    target: Target::Folio { folio, .. },
                    ..
                }) => *folio = new_id,
                // try_to_migrate_one() turns a device-exclusive entry into a
                // non-writable migration entry, and remove_migration_pte()
                // maps the new folio with an old, read-only PTE: the device
                // loses its exclusive access.
                Some(e @ Entry::DeviceExclusive { .. }) => {
                    let Entry::DeviceExclusive {
                        target: Target::Folio { page: sub, .. },
                        soft_dirty,
                        uffd_wp,
                        ..
                    } = *e
                    else {
                        continue;
                    };
                    *e = Entry::Present {
                        level: Level::Pte,
                        target: Target::Folio {
                            folio: new_id,
                            page: sub,
                        },
                        bits: PteBits {
                            soft_dirty,
                            uffd_wp,
                            ..PteBits::default()
                        },
                    };
                }
                _ => {}
            }
        }
        if let Some((obj, index)) = old.mapping {
            if let Some(o) = self.objects.get_mut(&obj) {
                for i in 0..old.nr_pages() {
                    if let Some(slot) = o.cache.get_mut(&(index + i)) {
                        if slot.0 == old_id {
                            slot.0 = new_id;
                        }
                    }
                }
            }
        }
        if let Some(slot) = old.swapcache {
            if let Some(s) = self.swap.get_mut(&slot) {
                s.cached = Some(new_id);
            }
        }
        self.free_folio(old_id);
    }

    /// The `cma-evacuate` op: `alloc_contig_range()` over the CMA area
    /// (`__alloc_contig_migrate_range`). Every live CMA folio, in folio-id
    /// order, is isolated and migrated to `ZONE_NORMAL`; folios that are not
    /// on the LRU cannot be isolated. Returns how many folios moved (a split
    /// THP counts once), or `EBUSY` if any stayed; migrations that succeeded
    /// stay done. (The kernel stops after the first failing batch; the model
    /// tries every folio.)
    pub fn cma_evacuate(&mut self) -> Outcome {
        let cma: Vec<FolioId> = self
            .folios
            .values()
            .filter(|f| matches!(f.memory, Memory::Zone(Zone::Cma)))
            .map(|f| f.id)
            .collect();
        let mut migrated = 0;
        let mut busy = false;
        for folio in cma {
            let Some(f) = self.folios.get(&folio) else {
                continue;
            };
            if !f.lru {
                busy = true;
                continue;
            }
            if self.migrate_folio_to(folio, Zone::Normal) {
                migrated += 1;
            } else {
                busy = true;
            }
        }
        if busy {
            Outcome::Err(Errno::EBUSY)
        } else {
            Outcome::count(migrated)
        }
    }
}
