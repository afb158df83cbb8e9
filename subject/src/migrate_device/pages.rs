//! `migrate_vma_pages` (`__migrate_device_pages`): moving metadata and inserting pages into holes.

use super::*;

impl World {
    /// `__migrate_device_pages()`: per entry, decline without a `dst`,
    /// populate holes (`migrate_vma_insert_page`), split a compound source
    /// for base-page destinations, and move the folio's metadata
    /// (`folio_migrate_mapping` + `folio_migrate_flags`); any failure
    /// clears `MIGRATE`.
    pub fn migrate_device_pages(&mut self, m: &mut Migration) {
        let n = m.src.len();
        let mut notified = false;
        let mut i = 0;
        while i < n {
            let mut nr = 1;
            let Some(newpage) = m.dst[i] else {
                m.src[i].migrate = false;
                i += 1;
                continue;
            };
            let Some((newfolio, _)) = folio_of(&newpage) else {
                m.src[i].migrate = false;
                i += 1;
                continue;
            };
            let dst_compound = self.folio(newfolio).is_large();
            let Some(page) = m.src[i].page else {
                if !m.src[i].migrate {
                    i += 1;
                    continue;
                }
                // Only migrate_vma can populate holes.
                let Some(v) = m.vma else {
                    i += 1;
                    continue;
                };
                if !notified {
                    notified = true;
                    self.invalidate(v.p, v.start + i as u64, v.end, Inval::Migrate(v.owner));
                }
                if m.src[i].compound && !dst_compound {
                    nr = PMD_PAGES as usize;
                    m.src[i].compound = false;
                }
                for j in 0..nr.min(n - i) {
                    m.src[i + j].migrate = true;
                    self.migrate_vma_insert_page(m, i + j);
                }
                i += nr;
                continue;
            };
            let (folio, _) = folio_of(&page).expect("src pages are folio pages");
            if m.src[i].migrate && m.src[i].compound && !dst_compound {
                if m.vma.is_none() {
                    m.src[i].migrate = false;
                    m.src[i].compound = false;
                    i += 1;
                    continue;
                }
                nr = self.folio(folio).nr_pages() as usize;
                if !self.migrate_vma_split_unmapped_folio(m, i) {
                    m.src[i].migrate = false;
                    m.src[i].compound = false;
                    i += nr;
                    continue;
                }
            } else if m.src[i].migrate && dst_compound && !m.src[i].compound {
                m.src[i].migrate = false;
            }
            let f = self.folio(folio);
            if is_zone_device(self.folio(newfolio))
                && (f.mapping.is_some() || f.swapcache.is_some())
            {
                // Only anonymous memory goes to device memory; try to get
                // rid of the swap cache.
                let anon = f.anon && f.mapping.is_none();
                if anon {
                    self.try_folio_free_swap(folio);
                }
                if !anon || self.folio(folio).swapcache.is_some() {
                    m.src[i].migrate = false;
                    i += nr;
                    continue;
                }
            }
            // The fault page's extra reference, decided once for the
            // entry (after a split it applies to every piece).
            let extra = i64::from(m.fault_page == Some(page));
            for j in i..(i + nr).min(n) {
                if !m.src[j].migrate {
                    continue;
                }
                let (Some(sp), Some(dp)) = (m.src[j].page, m.dst[j]) else {
                    m.src[j].migrate = false;
                    continue;
                };
                let (Some((sf, _)), Some((df, _))) = (folio_of(&sp), folio_of(&dp)) else {
                    m.src[j].migrate = false;
                    continue;
                };
                if self.folio_migrate_mapping(sf, df, extra) {
                    self.folio_migrate_flags(sf, df);
                } else {
                    m.src[j].migrate = false;
                }
            }
            i += nr;
        }
    }

    /// `folio_migrate_mapping()`: succeeds iff the source holds exactly
    /// its expected references plus `extra` plus the migration's own; the
    /// page-cache or swap-cache slot (and its references) move to `dst`.
    pub(crate) fn folio_migrate_mapping(&mut self, src: FolioId, dst: FolioId, extra: i64) -> bool {
        let expected = self.folio_expected_ref_count(src) + extra + 1;
        let f = self.folio(src).clone();
        let frozen = f.refcount == expected;
        #[cfg(feature = "planted")]
        let frozen = frozen || planted!(MigrateIgnoresExtraRefs);
        if !frozen {
            return false;
        }
        let nr = f.nr_pages() as i64;
        if let Some(slot) = f.swapcache {
            if let Some(s) = self.swap.get_mut(&slot) {
                s.cached = Some(dst);
            }
            self.folio_mut(dst).swapcache = Some(slot);
            self.folio_mut(dst).refcount += nr;
            let sf = self.folio_mut(src);
            sf.swapcache = None;
            sf.refcount -= nr;
        }
        if let Some((obj, index)) = f.mapping {
            if let Some(o) = self.objects.get_mut(&obj) {
                for k in 0..f.nr_pages() {
                    if let Some(slot) = o.cache.get_mut(&(index + k)) {
                        if slot.0 == src {
                            slot.0 = dst;
                        }
                    }
                }
            }
            let d = self.folio_mut(dst);
            d.mapping = Some((obj, index));
            d.refcount += nr;
            let sf = self.folio_mut(src);
            sf.mapping = None;
            sf.refcount -= nr;
        }
        let d = self.folio_mut(dst);
        d.anon = f.anon;
        d.swapbacked = f.swapbacked;
        true
    }

    /// `folio_migrate_flags()`: dirty, and `PG_mappedtodisk` (the first
    /// page's `PageAnonExclusive` for anon folios).
    pub(crate) fn folio_migrate_flags(&mut self, src: FolioId, dst: FolioId) {
        let (dirty, excl) = {
            let f = self.folio(src);
            (f.dirty, f.anon_exclusive.get(0))
        };
        let d = self.folio_mut(dst);
        d.dirty |= dirty;
        if excl {
            d.anon_exclusive.set(0, true);
        }
    }

    /// `migrate_vma_split_unmapped_folio()`: the compound source at entry
    /// `i`, fully unmapped (only migration entries refer to it), is split
    /// into base pages, each locked and holding the migration's reference
    /// (the fault page's piece also the caller's). Its PMD migration
    /// entries, in every process, become PTE migration entries of the
    /// pieces; entries `i..i+512` name the pieces with the head's flags.
    pub(crate) fn migrate_vma_split_unmapped_folio(&mut self, m: &mut Migration, i: usize) -> bool {
        let Some((folio, _)) = m.src[i].page.as_ref().and_then(folio_of) else {
            return false;
        };
        let fault_idx = match m.fault_page.as_ref().and_then(folio_of) {
            Some((f, k)) if f == folio => Some(k as usize),
            _ => None,
        };
        let f = self.folio(folio);
        let expected = 1 + i64::from(fault_idx.is_some());
        if f.refcount != expected
            || f.mapcount != 0
            || f.swapcache.is_some()
            || f.mapping.is_some()
            || !f.is_large()
        {
            return false;
        }
        if let Some(v) = m.vma {
            let a = v.start + i as u64;
            if matches!(
                self.entry(v.p, a),
                Some(Entry::Migration {
                    level: Level::Pmd,
                    ..
                })
            ) {
                self.invalidate(v.p, a, a + NR, Inval::Clear);
            }
        }
        // The head keeps its id: its slot is overwritten below.
        let old = self.folios[&folio].clone();
        let nr = old.nr_pages() as usize;
        let ids: Vec<FolioId> = (0..nr)
            .map(|k| if k == 0 { folio } else { self.fresh_folio_id() })
            .collect();
        for (k, &id) in ids.iter().enumerate() {
            let mut piece = old.piece(id, k);
            piece.refcount = 1 + i64::from(fault_idx == Some(k));
            piece.locked = true;
            piece.lru = false;
            self.folios.insert(id, piece);
        }
        // Every migration entry of the folio now names its piece at PTE
        // level: a PMD migration entry becomes a table of 512.
        let piece_entry = |e: Entry| match e {
            Entry::Migration {
                target:
                    Target::Folio {
                        folio: f,
                        page: sub,
                    },
                ..
            } if f == folio => crate::pte::at_pte_level(e.with_target(Target::Folio {
                folio: ids[sub as usize],
                page: 0,
            })),
            other => other,
        };
        for mm in self.procs.iter_mut().flatten() {
            for run in mm.pt.runs_of(folio) {
                if piece_entry(run.entry) == run.entry {
                    continue;
                }
                if run.leaf {
                    mm.pt.split_leaf(run.page, piece_entry);
                } else {
                    mm.pt.modify(run.page, |e| *e = piece_entry(*e));
                }
            }
        }
        let head = m.src[i];
        for (k, &id) in ids.iter().enumerate() {
            if i + k < m.src.len() {
                m.src[i + k] = MigrateSrc {
                    page: Some(PageRef::Folio { folio: id, page: 0 }),
                    migrate: head.migrate,
                    write: head.write,
                    compound: false,
                };
            }
        }
        if let Some(k) = fault_idx {
            m.fault_page = Some(PageRef::Folio {
                folio: ids[k],
                page: 0,
            });
        }
        true
    }

    /// `migrate_vma_insert_page()` (and `migrate_vma_insert_huge_pmd_page`
    /// for a large `dst`): map the driver's page at a hole or zero page of
    /// a private anonymous VMA: a device-private entry, or a present PTE
    /// (dirty and writable with `VM_WRITE`), new exclusive anon rmap. Any
    /// obstacle clears `MIGRATE`.
    pub(crate) fn migrate_vma_insert_page(&mut self, m: &mut Migration, i: usize) {
        let v = m.vma.expect("inserting needs a VMA");
        let addr = v.start + i as u64;
        let Some((dfolio, _)) = m.dst[i].as_ref().and_then(folio_of) else {
            m.src[i].migrate = false;
            return;
        };
        let Some(vma) = self.vma_at(v.p, addr) else {
            m.src[i].migrate = false;
            return;
        };
        if vma.kind != VmaKind::AnonPrivate {
            m.src[i].migrate = false;
            return;
        }
        let vm_write = vma.prot.writable();
        let d = self.folio(dfolio);
        let private = is_device_private(d);
        if d.is_large() {
            let s = World::pmd_start(addr);
            if !(vma.start <= s && s + NR <= vma.end) {
                m.src[i].migrate = false; // thp_vma_suitable_order: -EINVAL
                return;
            }
            let huge_zero = matches!(
                self.pmd_leaf_at(v.p, s),
                Some(Entry::Present {
                    target: Target::HugeZero { .. },
                    ..
                })
            );
            if !huge_zero && !self.pmd_block_empty(v.p, s) {
                for k in i..(i + PMD_PAGES as usize).min(m.src.len()) {
                    m.src[k].migrate = false;
                }
                return;
            }
            self.set_anon_vma(v.p, addr);
            self.new_anon_rmap_exclusive(dfolio);
            if huge_zero {
                self.clear_pmd(v.p, s);
                self.forget_addresses_in_mirrors(v.p, s, s + PMD_PAGES as u64);
            }
            let target = Target::Folio {
                folio: dfolio,
                page: 0,
            };
            self.set_pmd_entry(
                v.p,
                s,
                inserted_entry(Level::Pmd, target, private, vm_write),
            );
            return;
        }
        if let Some(leaf) = self.pmd_leaf_at(v.p, addr) {
            if matches!(
                leaf,
                Entry::Present {
                    target: Target::HugeZero { .. },
                    ..
                }
            ) {
                self.split_pmd(v.p, addr);
            } else {
                m.src[i].migrate = false;
                return;
            }
        }
        let zero = match self.entry(v.p, addr) {
            None => false,
            Some(Entry::Present {
                target: Target::Zero,
                ..
            }) => true,
            Some(_) => {
                m.src[i].migrate = false;
                return;
            }
        };
        self.set_anon_vma(v.p, addr);
        self.new_anon_rmap_exclusive(dfolio);
        if zero {
            self.clear_pte(v.p, addr);
            self.forget_addresses_in_mirrors(v.p, addr, addr + 1);
        }
        let target = Target::Folio {
            folio: dfolio,
            page: 0,
        };
        self.set_pte(
            v.p,
            addr,
            inserted_entry(Level::Pte, target, private, vm_write),
        );
        m.src[i] = hole();
    }

    /// `folio_add_new_anon_rmap(..., RMAP_EXCLUSIVE)`, and
    /// `folio_add_lru_vma()` for system memory.
    pub(crate) fn new_anon_rmap_exclusive(&mut self, folio: FolioId) {
        let device = is_zone_device(self.folio(folio));
        let f = self.folio_mut(folio);
        f.anon = true;
        f.swapbacked = true;
        f.anon_exclusive.set(0, true);
        if !device {
            f.lru = true;
        }
    }
}
