//! The parts of collect (`migrate_vma_collect_pmd`,
//! `migrate_vma_collect_huge_pmd`) that install migration entries, shared
//! with unmap (`try_to_migrate`): anon-exclusive sharing, PTE and PMD
//! migration entries, and `migrate_vma_split_folio`. The collect walk
//! itself (selection, holes, locks, `src[]`) is done by the HMM walk (seed
//! 004): `crate::hmm`'s `migrate.rs`.

use super::*;

impl World {
    /// `folio_try_share_anon_rmap_pte/pmd()` for page `idx`: `None` when
    /// the page is anon-exclusive and the folio may be DMA-pinned (device
    /// private folios never are); otherwise whether the page was
    /// exclusive (it no longer is: the migration entry carries it).
    pub(crate) fn try_share_anon(&mut self, folio: FolioId, idx: usize) -> Option<bool> {
        let f = self.folio(folio);
        let exclusive = f.anon && f.anon_exclusive.get(idx);
        if exclusive {
            if f.maybe_dma_pinned() {
                return None;
            }
            self.folio_mut(folio).anon_exclusive.set(idx, false);
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
