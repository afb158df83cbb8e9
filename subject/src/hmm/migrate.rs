//! Seed 004 ("setup device page migration in HMM pagewalk"):
//! `migrate_vma_setup()` builds an `hmm_range` over its pages (no notifier,
//! `hmm_pfns = migrate->src`, `dev_private_owner = pgmap_owner`,
//! `default_flags = REQ_FAULT` with `MIGRATE_VMA_FAULT`) and the HMM walk
//! selects the pages and installs the migration entries
//! (`hmm_vma_handle_migrate_prepare`), instead of a page-table walk of its
//! own.
//!
//! The rules are exactly the classic collect's (oracle
//! `migrate_device/collect.rs`: `migrate_vma_collect`,
//! `migrate_vma_collect_hole`, `migrate_vma_collect_huge_pmd`,
//! `migrate_vma_collect_pmd`); only where they run changed. Two passes of
//! the one walker (oracle `migrate_setup_op`): with `MIGRATE_VMA_FAULT`,
//! first a fault pass faults exactly the not-valid pages (oracle
//! `migrate_fault_in`: a failed fault leaves nothing collected, no
//! invalidation issued), then the collect pass walks the range once under
//! one `MMU_NOTIFY_MIGRATE` invalidation. The collect pass never faults,
//! never sleeps and never restarts.

use mmdiff_core::op::HmmReq;
use mmdiff_core::outcome::{HmmPfn, MigrateSrc};
use mmdiff_core::state::{Entry, VmaKind, VmaState};

use crate::device::Inval;
use crate::migrate_device::{hole, selected, Migration, VmaCtx};

use super::*;

/// Page-table levels above the PTE as page counts (PGD, PUD, PMD on x86-64
/// with 4-level paging): `walk_page_range` reports a hole at the highest
/// level whose entry is empty.
const HOLE_LEVELS: [u64; 3] = [1 << 27, 1 << 18, NR];

/// What collect makes of one PMD leaf.
enum HugePmd {
    /// The whole chunk has its entries.
    Done,
    /// Continue at PTE level (the leaf was split).
    Ptes,
}

impl World {
    /// The collect of `migrate_vma_setup()` for `m` (whose VMA context was
    /// validated): `src[]` zeroed, the `MIGRATE_VMA_FAULT` pass if asked
    /// for, the invalidation, then the collect pass writing `m.src` and
    /// `m.cpages`. Returns `hmm_range_fault()`'s error (only the fault pass
    /// fails: `EFAULT`, `blocked`, or stuck on the setup's own fault page).
    pub(crate) fn hmm_migrate_collect(&mut self, m: &mut Migration) -> Result<(), HmmError> {
        let v = m.vma.expect("collect needs a VMA");
        let n = (v.end - v.start) as usize;
        m.src = vec![MigrateSrc::default(); n];
        m.dst = vec![None; n];
        m.cpages = 0;
        let range = HmmRange {
            p: v.p,
            start: v.start,
            end: v.end,
            default: if v.select.fault {
                HmmReq::Fault
            } else {
                HmmReq::None
            },
            page_req: None,
            owner: v.owner,
            seq: None,
        };
        if v.select.fault {
            let mut scratch = vec![HmmPfn::default(); n];
            let mode = Mode::MigrateFault {
                fault_folio: m.fault_folio(),
            };
            self.hmm_walk_loop(&range, mode, Pfns::Words(&mut scratch))?;
        }
        // migrate_vma_collect(): one MMU_NOTIFY_MIGRATE invalidation with
        // the owner over the range (seed 004: started by the first VMA the
        // walk meets, the range's only one).
        self.invalidate(v.p, v.start, v.end, Inval::Migrate(v.owner));
        self.hmm_walk_loop(&range, Mode::MigrateCollect, Pfns::Migrate(m))?;
        Ok(())
    }

    /// `walk_page_range()`'s `pte_hole` ranges: when the page-table entry
    /// covering `addr` is empty at some level (no entries anywhere below
    /// it: page tables are freed when empty), the hole runs to the end of
    /// that entry (or `end`). The highest empty level wins.
    pub(super) fn walk_hole_end(&self, p: usize, addr: u64, end: u64) -> Option<u64> {
        let pt = &self.mm(p).pt;
        HOLE_LEVELS.iter().find_map(|&size| {
            let s = addr - addr % size;
            pt.range_empty(s, s + size).then(|| (s + size).min(end))
        })
    }

    /// The migration context of a collect walk.
    fn hmm_migrate_ctx(w: &mut HmmVmaWalk) -> VmaCtx {
        w.mig().vma.expect("collect needs a VMA")
    }

    /// `migrate_vma_collect_hole()` over `[s, e)`: nothing in a VMA that is
    /// not private anonymous; one compound entry for a PMD-aligned hole
    /// with `SELECT_COMPOUND` (the rest of the hole is skipped, whatever its
    /// length); otherwise every page is selected without a page.
    pub(super) fn hmm_migrate_hole(&mut self, w: &mut HmmVmaWalk, vma: &VmaState, s: u64, e: u64) {
        let v = World::hmm_migrate_ctx(w);
        if vma.kind != VmaKind::AnonPrivate {
            return;
        }
        if v.select.compound && s.is_multiple_of(NR) && e.is_multiple_of(NR) {
            w.set_src(
                s,
                MigrateSrc {
                    compound: true,
                    ..hole()
                },
            );
            w.mig().cpages += 1;
            return;
        }
        for page in s..e {
            w.set_src(page, hole());
        }
        w.mig().cpages += e - s;
    }

    /// `migrate_vma_collect_pmd()` for the part `[addr, end)` of one
    /// non-empty PMD whose slot read `leaf`.
    pub(super) fn hmm_migrate_pmd(
        &mut self,
        w: &mut HmmVmaWalk,
        vma: &VmaState,
        addr: u64,
        end: u64,
        leaf: Option<Entry>,
    ) {
        if let Some(first) = leaf {
            if let HugePmd::Done = self.hmm_migrate_huge_pmd(w, vma, addr, end, first) {
                return;
            }
        }
        self.hmm_migrate_ptes(w, vma, addr, end);
    }

    /// `migrate_vma_collect_huge_pmd()`: a PMD leaf (`first` is its first
    /// page's entry). A THP (with `SELECT_SYSTEM`) or a selected
    /// device-private PMD becomes one PMD migration entry and one compound
    /// entry when `SELECT_COMPOUND` is set and the range covers the whole
    /// PMD; otherwise the folio is split and the PTEs are collected. The
    /// huge zero page counts as a hole.
    fn hmm_migrate_huge_pmd(
        &mut self,
        w: &mut HmmVmaWalk,
        vma: &VmaState,
        addr: u64,
        end: u64,
        first: Entry,
    ) -> HugePmd {
        let v = World::hmm_migrate_ctx(w);
        let s = World::pmd_start(addr);
        if !self.cfg.kernel.migrates_device_thps() {
            return self.hmm_split_pmd_leaf_first(w, vma, addr, end, first);
        }
        let (folio, write) = match first {
            Entry::Present { target, bits, .. } => {
                if !v.select.system {
                    return HugePmd::Done;
                }
                match target {
                    Target::HugeZero { .. } => {
                        self.hmm_migrate_hole(w, vma, addr, end);
                        return HugePmd::Done;
                    }
                    Target::Folio { folio, .. } => (folio, bits.write),
                    _ => return HugePmd::Done,
                }
            }
            Entry::DevicePrivate {
                target: Target::Folio { folio, .. },
                write,
                ..
            } => {
                if !self.hmm_device_selected(w, v, folio) {
                    return HugePmd::Done;
                }
                (folio, write)
            }
            // PMD migration entries.
            _ => return HugePmd::Done,
        };
        // folio_get() + folio_trylock() unless it is the fault folio.
        let is_fault = w.mig().fault_folio() == Some(folio);
        if !is_fault && self.folio(folio).locked {
            return HugePmd::Done;
        }
        self.folio_get(folio, 1);
        if !is_fault {
            self.folio_mut(folio).locked = true;
        }
        if v.select.compound
            && addr.is_multiple_of(NR)
            && end.is_multiple_of(NR)
            && self.set_pmd_migration_entry(v.p, s)
        {
            w.set_src(
                addr,
                MigrateSrc {
                    page: Some(PageRef::Folio { folio, page: 0 }),
                    migrate: true,
                    write,
                    compound: true,
                },
            );
            w.mig().cpages += 1;
            return HugePmd::Done;
        }
        // fallback: split_folio() with the lock and the collect reference
        // held, then unlock (unless the fault folio) and put. The fault
        // folio also carries its caller's reference, so can_split_folio()
        // refuses it.
        if !is_fault {
            self.folio_mut(folio).locked = false;
        }
        // Seed 004 v1: an unconditional folio_unlock().
        #[cfg(feature = "planted")]
        if is_fault && planted!(Seed004UnlocksFaultFolio) {
            self.folio_mut(folio).locked = false;
        }
        self.folio_put(folio, 1);
        if is_fault || self.split_folio(folio).is_none() {
            return HugePmd::Done;
        }
        if self.pmd_block_empty(v.p, addr) {
            self.hmm_migrate_hole(w, vma, addr, end);
            return HugePmd::Done;
        }
        HugePmd::Ptes
    }

    /// Before 6.19 every PMD leaf is split before the selection is looked
    /// at (oracle: `split_pmd_leaf_first`): the huge zero page into
    /// zero-page PTEs, a THP by `split_folio()` unless it is locked (the
    /// fault folio included) or the split fails, which skips the range.
    fn hmm_split_pmd_leaf_first(
        &mut self,
        w: &mut HmmVmaWalk,
        vma: &VmaState,
        addr: u64,
        end: u64,
        first: Entry,
    ) -> HugePmd {
        let p = World::hmm_migrate_ctx(w).p;
        match first {
            Entry::Present {
                target: Target::HugeZero { .. },
                ..
            } => {
                self.split_pmd(p, addr);
                HugePmd::Ptes
            }
            Entry::Present {
                target: Target::Folio { folio, .. },
                ..
            } if !self.folio(folio).locked && self.split_folio(folio).is_some() => {
                if self.pmd_block_empty(p, addr) {
                    self.hmm_migrate_hole(w, vma, addr, end);
                    return HugePmd::Done;
                }
                HugePmd::Ptes
            }
            _ => HugePmd::Done,
        }
    }

    /// `SELECT_DEVICE_PRIVATE` and the page's pgmap owner (looked up
    /// through the walk's cached pgmap) is the migration's.
    fn hmm_device_selected(&mut self, w: &mut HmmVmaWalk, v: VmaCtx, folio: FolioId) -> bool {
        match self.hmm_walk_pgmap(w, folio) {
            Some(d) => v.select.private && !d.coherent() && v.owner == Some(d),
            None => false,
        }
    }

    /// A present folio page `SELECT_*` asks for: system memory with
    /// `SELECT_SYSTEM`, the owner's device-coherent memory with
    /// `SELECT_DEVICE_COHERENT` (the pgmap through the walk's cache).
    fn hmm_present_selected(&mut self, w: &mut HmmVmaWalk, v: VmaCtx, folio: FolioId) -> bool {
        match self.hmm_walk_pgmap(w, folio) {
            None => v.select.system,
            Some(d) => d.coherent() && v.select.coherent && v.owner == Some(d),
        }
    }

    /// The PTE loop of `migrate_vma_collect_pmd()` over `[addr, end)`.
    /// Fast path: the table is read once as runs (`pt.runs`), and the
    /// `pte_none()` pages between entries are handled as one range (oracle:
    /// `entry()` per page). Collecting a page rewrites only that page's
    /// entry, so the runs stay exact; a folio split rewrites others, so the
    /// table is read again after one.
    fn hmm_migrate_ptes(&mut self, w: &mut HmmVmaWalk, vma: &VmaState, mut addr: u64, end: u64) {
        let v = World::hmm_migrate_ctx(w);
        let anon_vma = vma.kind == VmaKind::AnonPrivate;
        let mut runs = self.mm(v.p).pt.runs(addr, end).into_iter().peekable();
        while addr < end {
            let next_entry = runs.peek().map_or(end, |r| r.page);
            if next_entry > addr {
                // pte_none(): anon VMAs select the page as a hole.
                if anon_vma {
                    for page in addr..next_entry {
                        w.set_src(page, hole());
                    }
                    w.mig().cpages += next_entry - addr;
                }
                addr = next_entry;
                continue;
            }
            let run = runs.next().expect("peeked");
            debug_assert!(!run.leaf && run.len == 1, "a PTE table holds PTEs");
            let cand = match run.entry {
                Entry::DevicePrivate {
                    target: Target::Folio { folio, page },
                    write,
                    ..
                } => {
                    if !self.hmm_device_selected(w, v, folio) {
                        addr += 1;
                        continue;
                    }
                    (folio, page, write)
                }
                Entry::Present {
                    target: Target::Zero,
                    ..
                } if v.select.system => {
                    // The PTE stays; the driver may populate the address.
                    w.set_src(addr, hole());
                    w.mig().cpages += 1;
                    addr += 1;
                    continue;
                }
                Entry::Present {
                    target: Target::Folio { folio, page },
                    bits,
                    ..
                } => {
                    if !self.hmm_present_selected(w, v, folio) {
                        addr += 1;
                        continue;
                    }
                    (folio, page, bits.write)
                }
                // Swap, migration, device-exclusive, foreign device pages,
                // unselected system pages, special pfns.
                _ => {
                    addr += 1;
                    continue;
                }
            };
            let (folio, page, write) = cand;
            if self.folio(folio).is_large() && !self.cfg.kernel.collect_splits_large_folios() {
                // Before 6.15 a page of a PTE-mapped large folio is not
                // collected (oracle: `migrate_vma_collect_ptes`).
                addr += 1;
                continue;
            }
            if self.folio(folio).is_large() {
                if !self.migrate_vma_split_folio(w.mig(), folio) {
                    return; // the rest of the chunk is skipped
                }
                // Again at the same address, in the table as it is now.
                runs = self.mm(v.p).pt.runs(addr, end).into_iter().peekable();
                continue;
            }
            let e = self.hmm_migrate_page(w, addr, folio, page, write);
            w.set_src(addr, e);
            addr += 1;
        }
    }

    /// The "install" step of `migrate_vma_collect_pmd()` for a candidate
    /// page mapped at `addr`: reference, trylock (the fault folio is
    /// already locked), share an anon-exclusive page (refused when the
    /// folio may be pinned: the PTE stays), then a migration entry replaces
    /// the mapping.
    fn hmm_migrate_page(
        &mut self,
        w: &mut HmmVmaWalk,
        addr: u64,
        folio: FolioId,
        page: u32,
        write: bool,
    ) -> MigrateSrc {
        let v = World::hmm_migrate_ctx(w);
        let f = self.folio(folio);
        // `!page->mapping`: neither anon nor in a page cache.
        if !f.anon && f.mapping.is_none() {
            return MigrateSrc::default();
        }
        let is_fault = w.mig().fault_folio() == Some(folio);
        if !is_fault && f.locked {
            return MigrateSrc::default(); // folio_trylock() failed
        }
        self.folio_get(folio, 1);
        if !is_fault {
            self.folio_mut(folio).locked = true;
        }
        let Some(anon_exclusive) = self.try_share_anon(folio, page as usize) else {
            // Seed 004 v1: an unconditional folio_unlock().
            #[cfg(feature = "planted")]
            let is_fault = is_fault && !planted!(Seed004UnlocksFaultFolio);
            if !is_fault {
                self.folio_mut(folio).locked = false;
            }
            self.folio_put(folio, 1);
            return MigrateSrc::default();
        };
        w.mig().cpages += 1;
        // Seed 004 v1, on the MIGRATE_VMA_FAULT path: the entry is made
        // from the pfn and the write bit only, as if the PTE were old and
        // clean (no young/dirty in the entry, no folio_mark_dirty()).
        #[cfg(feature = "planted")]
        if v.select.fault && planted!(Seed004MigrationEntryDropsDirty) {
            self.update_bits(v.p, addr, |b| {
                b.young = false;
                b.dirty = false;
            });
        }
        self.install_migration_pte(v.p, addr, write, anon_exclusive);
        selected(folio, page, write)
    }
}
