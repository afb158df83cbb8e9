//! Collect (`migrate_vma_collect` and its PMD/PTE helpers): selecting pages and installing migration entries.

use super::*;

impl World {
    /// `migrate_vma_collect()`: one `MMU_NOTIFY_MIGRATE` invalidation with
    /// the owner over the range, then the page walk, one entry per page.
    pub fn migrate_vma_collect(&mut self, m: &mut Migration) {
        let v = m.vma.expect("collect needs a VMA");
        self.invalidate(v.p, v.start, v.end, Inval::Migrate(v.owner));
        let mut addr = v.start;
        while addr < v.end {
            if let Some(hole_end) = self.walk_hole_end(v.p, addr, v.end) {
                self.migrate_vma_collect_hole(m, addr, hole_end);
                addr = hole_end;
                continue;
            }
            let chunk_end = (World::pmd_start(addr) + NR).min(v.end);
            self.migrate_vma_collect_pmd(m, addr, chunk_end);
            addr = chunk_end;
        }
        debug_assert_eq!(m.src.len() as u64, v.end - v.start);
    }

    /// `walk_page_range()`'s `pte_hole` ranges: when the page-table entry
    /// covering `addr` is empty at some level (no entries anywhere below
    /// it: page tables are freed when empty), the hole runs to the end of
    /// that entry (or `end`). The highest empty level wins.
    pub(crate) fn walk_hole_end(&self, p: usize, addr: u64, end: u64) -> Option<u64> {
        let mm = self.mm(p);
        HOLE_LEVELS.iter().find_map(|&size| {
            let s = addr - addr % size;
            mm.ptes
                .range(s..s + size)
                .next()
                .is_none()
                .then(|| (s + size).min(end))
        })
    }

    /// `migrate_vma_collect_hole()` over `[s, e)`: nothing in a VMA that is
    /// not private anonymous; one compound entry for a PMD-aligned hole
    /// with `SELECT_COMPOUND` (the rest of the hole is skipped, whatever its
    /// length); otherwise every page is selected without a page.
    pub(crate) fn migrate_vma_collect_hole(&mut self, m: &mut Migration, s: u64, e: u64) {
        let v = m.vma.expect("collect needs a VMA");
        let anon = self
            .vma_at(v.p, s)
            .is_some_and(|x| x.kind == VmaKind::AnonPrivate);
        if !anon {
            m.skip(e - s);
            return;
        }
        if v.select.compound && s.is_multiple_of(NR) && e.is_multiple_of(NR) {
            m.push(MigrateSrc {
                compound: true,
                ..hole()
            });
            m.cpages += 1;
            m.skip(e - s - 1);
            return;
        }
        for _ in s..e {
            m.push(hole());
            m.cpages += 1;
        }
    }

    /// `migrate_vma_collect_pmd()` for the part `[addr, end)` of one PMD.
    pub(crate) fn migrate_vma_collect_pmd(&mut self, m: &mut Migration, addr: u64, end: u64) {
        let v = m.vma.expect("collect needs a VMA");
        if self.pmd_leaf_at(v.p, addr).is_some() {
            if let HugePmd::Done = self.migrate_vma_collect_huge_pmd(m, addr, end) {
                return;
            }
        }
        self.migrate_vma_collect_ptes(m, addr, end);
    }

    /// `migrate_vma_collect_huge_pmd()`: a PMD leaf. A THP (with
    /// `SELECT_SYSTEM`) or a selected device-private PMD becomes one PMD
    /// migration entry and one compound entry when `SELECT_COMPOUND` is
    /// set and the range covers the whole PMD; otherwise the folio is split
    /// and the PTEs are collected. The huge zero page counts as a hole.
    pub(crate) fn migrate_vma_collect_huge_pmd(
        &mut self,
        m: &mut Migration,
        addr: u64,
        end: u64,
    ) -> HugePmd {
        let v = m.vma.expect("collect needs a VMA");
        let s = World::pmd_start(addr);
        let first = self.entry(v.p, s).expect("PMD leaf");
        if !self.cfg.kernel.migrates_device_thps() {
            return self.split_pmd_leaf_first(m, addr, end, first);
        }
        let (folio, write) = match first {
            Entry::Present { target, bits, .. } => {
                if !v.select.system {
                    m.skip(end - addr);
                    return HugePmd::Done;
                }
                match target {
                    Target::HugeZero { .. } => {
                        self.migrate_vma_collect_hole(m, addr, end);
                        return HugePmd::Done;
                    }
                    Target::Folio { folio, .. } => (folio, bits.write),
                    _ => {
                        m.skip(end - addr);
                        return HugePmd::Done;
                    }
                }
            }
            Entry::DevicePrivate {
                target: Target::Folio { folio, .. },
                write,
                ..
            } if self.device_selected(v, folio) => (folio, write),
            // Foreign device-private PMDs and PMD migration entries.
            _ => {
                m.skip(end - addr);
                return HugePmd::Done;
            }
        };
        // folio_get() + folio_trylock() unless it is the fault folio.
        let is_fault = m.fault_folio() == Some(folio);
        if !is_fault && self.folio(folio).locked {
            m.skip(end - addr);
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
            m.push(MigrateSrc {
                page: Some(PageRef::Folio { folio, page: 0 }),
                migrate: true,
                write,
                compound: true,
            });
            m.cpages += 1;
            m.skip(end - addr - 1);
            return HugePmd::Done;
        }
        // fallback: split_folio() with the lock and the collect reference
        // held, then unlock (unless the fault folio) and put. The fault
        // folio also carries its caller's reference, so can_split_folio()
        // refuses it.
        if !is_fault {
            self.folio_mut(folio).locked = false;
        }
        self.folio_put(folio, 1);
        if is_fault || self.split_folio(folio).is_none() {
            m.skip(end - addr);
            return HugePmd::Done;
        }
        if self.pmd_block_empty(v.p, addr) {
            self.migrate_vma_collect_hole(m, addr, end);
            return HugePmd::Done;
        }
        HugePmd::Ptes
    }

    /// `migrate_vma_collect_pmd()` before 6.19: every PMD leaf is split
    /// before the selection is looked at, the huge zero page into zero-page
    /// PTEs (`split_huge_pmd`), a THP by `split_folio()` under its lock (a
    /// folio locked elsewhere, the fault folio included, or a failed split
    /// skips the range); then the PTEs are collected.
    fn split_pmd_leaf_first(
        &mut self,
        m: &mut Migration,
        addr: u64,
        end: u64,
        first: Entry,
    ) -> HugePmd {
        let v = m.vma.expect("collect needs a VMA");
        match first {
            Entry::Present {
                target: Target::HugeZero { .. },
                ..
            } => {
                self.split_pmd(v.p, addr);
                HugePmd::Ptes
            }
            Entry::Present {
                target: Target::Folio { folio, .. },
                ..
            } if !self.folio(folio).locked && self.split_folio(folio).is_some() => {
                if self.pmd_block_empty(v.p, addr) {
                    self.migrate_vma_collect_hole(m, addr, end);
                    return HugePmd::Done;
                }
                HugePmd::Ptes
            }
            _ => {
                m.skip(end - addr);
                HugePmd::Done
            }
        }
    }

    /// `SELECT_DEVICE_PRIVATE` and the page's pgmap owner is the migration's.
    pub(crate) fn device_selected(&self, v: VmaCtx, folio: FolioId) -> bool {
        match self.folio(folio).memory {
            Memory::Device(d) => v.select.private && !d.coherent() && v.owner == Some(d),
            Memory::Zone(_) => false,
        }
    }

    /// The PTE loop of `migrate_vma_collect_pmd()` over `[addr, end)`.
    pub(crate) fn migrate_vma_collect_ptes(&mut self, m: &mut Migration, mut addr: u64, end: u64) {
        let v = m.vma.expect("collect needs a VMA");
        let anon_vma = self
            .vma_at(v.p, addr)
            .is_some_and(|x| x.kind == VmaKind::AnonPrivate);
        while addr < end {
            let cand = match self.entry(v.p, addr) {
                None => {
                    if anon_vma {
                        m.cpages += 1;
                        m.push(hole());
                    } else {
                        m.skip(1);
                    }
                    addr += 1;
                    continue;
                }
                Some(Entry::DevicePrivate {
                    target: Target::Folio { folio, page },
                    write,
                    ..
                }) if self.device_selected(v, folio) => (folio, page, write),
                Some(Entry::Present {
                    target: Target::Zero,
                    ..
                }) if v.select.system => {
                    // The PTE stays; the driver may populate the address.
                    m.cpages += 1;
                    m.push(hole());
                    addr += 1;
                    continue;
                }
                Some(Entry::Present {
                    target: Target::Folio { folio, page },
                    bits,
                    ..
                }) if self.present_selected(v, folio) => (folio, page, bits.write),
                // Swap, migration, device-exclusive, foreign device pages,
                // unselected system pages, special pfns.
                Some(_) => {
                    m.skip(1);
                    addr += 1;
                    continue;
                }
            };
            let (folio, page, write) = cand;
            if self.folio(folio).is_large() && !self.cfg.kernel.collect_splits_large_folios() {
                // Before 6.15 a page of a PTE-mapped large folio is not
                // collected (`PageTransCompound`: "FIXME support THP").
                m.skip(1);
                addr += 1;
                continue;
            }
            if self.folio(folio).is_large() {
                if !self.migrate_vma_split_folio(m, folio) {
                    m.skip(end - addr);
                    return;
                }
                continue; // again, at the same address
            }
            let e = self.migrate_vma_collect_page(m, addr, folio, page, write);
            m.push(e);
            addr += 1;
        }
    }

    /// A present folio page `SELECT_*` asks for: system memory with
    /// `SELECT_SYSTEM`, the owner's device-coherent memory with
    /// `SELECT_DEVICE_COHERENT`.
    pub(crate) fn present_selected(&self, v: VmaCtx, folio: FolioId) -> bool {
        match self.folio(folio).memory {
            Memory::Zone(_) => v.select.system,
            Memory::Device(d) => d.coherent() && v.select.coherent && v.owner == Some(d),
        }
    }

    /// The "install" step of `migrate_vma_collect_pmd()` for a candidate
    /// page mapped at `addr`: reference, trylock (the fault folio is
    /// already locked), share an anon-exclusive page (refused when the
    /// folio may be pinned: the PTE stays), then a migration entry replaces
    /// the mapping.
    pub(crate) fn migrate_vma_collect_page(
        &mut self,
        m: &mut Migration,
        addr: u64,
        folio: FolioId,
        page: u32,
        write: bool,
    ) -> MigrateSrc {
        let v = m.vma.expect("collect needs a VMA");
        let f = self.folio(folio);
        // `!page->mapping`: neither anon nor in a page cache.
        if !f.anon && f.mapping.is_none() {
            return MigrateSrc::default();
        }
        let is_fault = m.fault_folio() == Some(folio);
        if !is_fault && f.locked {
            return MigrateSrc::default(); // folio_trylock() failed
        }
        self.folio_get(folio, 1);
        if !is_fault {
            self.folio_mut(folio).locked = true;
        }
        let Some(anon_exclusive) = self.try_share_anon(folio, page as usize) else {
            if !is_fault {
                self.folio_mut(folio).locked = false;
            }
            self.folio_put(folio, 1);
            return MigrateSrc::default();
        };
        m.cpages += 1;
        self.install_migration_pte(v.p, addr, write, anon_exclusive);
        selected(folio, page, write)
    }

    /// `folio_try_share_anon_rmap_pte/pmd()` for page `idx`: `None` when
    /// the page is anon-exclusive and the folio may be DMA-pinned (device
    /// private folios never are); otherwise whether the page was
    /// exclusive (it no longer is: the migration entry carries it).
    pub(crate) fn try_share_anon(&mut self, folio: FolioId, idx: usize) -> Option<bool> {
        let f = self.folio(folio);
        let exclusive = f.anon && f.anon_exclusive[idx];
        if exclusive {
            if f.maybe_dma_pinned() {
                return None;
            }
            self.folio_mut(folio).anon_exclusive[idx] = false;
        }
        Some(exclusive)
    }

    /// Replace the present, device-private or device-exclusive PTE at
    /// `page` by a migration entry (collect and `try_to_migrate_one`): a
    /// dirty present PTE dirties the folio (present PTEs only); the entry
    /// is writable, readable-exclusive or readable; young/dirty come from a
    /// present PTE, soft-dirty and uffd-wp from any. The mapping's
    /// mapcount and reference go (the caller holds its own reference).
    pub(crate) fn install_migration_pte(
        &mut self,
        q: usize,
        page: u64,
        write: bool,
        anon_exclusive: bool,
    ) {
        let e = self.entry(q, page).expect("mapped page");
        let (target, present, young, dirty, soft_dirty, uffd_wp) = match e {
            Entry::Present { target, bits, .. } => (
                target,
                true,
                bits.young,
                bits.dirty,
                bits.soft_dirty,
                bits.uffd_wp,
            ),
            Entry::DevicePrivate {
                target,
                soft_dirty,
                uffd_wp,
                ..
            }
            | Entry::DeviceExclusive {
                target,
                soft_dirty,
                uffd_wp,
                ..
            } => (target, false, false, false, soft_dirty, uffd_wp),
            _ => unreachable!("install_migration_pte on {e:?}"),
        };
        if present && dirty {
            if let Target::Folio { folio, .. } = target {
                self.folio_mut(folio).dirty = true;
            }
        }
        self.clear_pte(q, page);
        self.set_pte(
            q,
            page,
            Entry::Migration {
                level: Level::Pte,
                target,
                kind: mig_kind(write, anon_exclusive),
                young: present && young,
                dirty: present && dirty,
                soft_dirty,
                uffd_wp,
            },
        );
    }

    /// `set_pmd_migration_entry()` on the PMD leaf at `s` (a THP or a
    /// device-private PMD): false (nothing changed) when an anon-exclusive
    /// THP may be pinned.
    pub(crate) fn set_pmd_migration_entry(&mut self, q: usize, s: u64) -> bool {
        let e = self.entry(q, s).expect("PMD leaf");
        let (folio, present, write, young, dirty, soft_dirty, uffd_wp) = match e {
            Entry::Present {
                target: Target::Folio { folio, .. },
                bits,
                ..
            } => (
                folio,
                true,
                bits.write,
                bits.young,
                bits.dirty,
                bits.soft_dirty,
                bits.uffd_wp,
            ),
            Entry::DevicePrivate {
                target: Target::Folio { folio, .. },
                write,
                soft_dirty,
                uffd_wp,
                ..
            } => (folio, false, write, false, false, soft_dirty, uffd_wp),
            _ => return false,
        };
        let Some(anon_exclusive) = self.try_share_anon(folio, 0) else {
            return false;
        };
        if present && dirty {
            self.folio_mut(folio).dirty = true;
        }
        self.clear_pmd(q, s);
        self.set_pmd_entry(
            q,
            s,
            Entry::Migration {
                level: Level::Pmd,
                target: Target::Folio { folio, page: 0 },
                kind: mig_kind(write, anon_exclusive),
                young: present && young,
                dirty: present && dirty,
                soft_dirty,
                uffd_wp,
            },
        );
        true
    }

    /// `migrate_vma_split_folio()`: split a PTE-mapped large folio met by
    /// collect. A folio locked by someone else counts as a failed split
    /// (the kernel's `folio_lock` would sleep; ops are atomic here). When
    /// the folio is the fault folio, the caller's lock and reference move
    /// to the piece that now holds the fault page.
    pub(crate) fn migrate_vma_split_folio(&mut self, m: &mut Migration, folio: FolioId) -> bool {
        let is_fault = m.fault_folio() == Some(folio);
        if !is_fault && self.folio(folio).locked {
            return false;
        }
        if is_fault {
            // split_folio() counts the caller's reference as its own.
            let f = self.folio_mut(folio);
            f.locked = false;
            f.refcount -= 1;
        }
        if self.split_folio(folio).is_none() {
            if is_fault {
                let f = self.folio_mut(folio);
                f.locked = true;
                f.refcount += 1;
            }
            return false;
        }
        if is_fault {
            let (p, at) = (m.vma.map(|v| v.p), m.fault_at);
            let new = match (p, at) {
                (Some(p), Some(at)) => self.entry(p, at).and_then(|e| e.folio_page()),
                _ => None,
            };
            let (nf, np) = new.unwrap_or((folio, 0));
            let f = self.folio_mut(nf);
            f.locked = true;
            f.refcount += 1;
            m.fault_page = Some(PageRef::Folio {
                folio: nf,
                page: np,
            });
        }
        true
    }
}
