//! Migration entries back to mappings (`remove_migration_ptes`, `remove_migration_pte`/`_pmd`).

use super::*;

impl World {
    /// `remove_migration_ptes(src, dst)`: every migration entry of `src`
    /// in every process becomes a mapping of the same page of `dst`.
    pub fn remove_migration_ptes(&mut self, src: FolioId, dst: FolioId) {
        let mut found = Vec::new();
        for (q, mm) in self.procs.iter().enumerate() {
            let Some(mm) = mm else { continue };
            // The reverse map gives each hardware entry of `src` once: a
            // PMD migration entry at its first page (the oracle scans every
            // page and skips the leaf's other 511).
            for run in mm.pt.runs_of(src) {
                if let Entry::Migration {
                    target: Target::Folio { folio, .. },
                    ..
                } = run.entry
                {
                    if folio == src {
                        found.push((q, run.page, run.entry));
                    }
                }
            }
        }
        for (q, page, e) in found {
            self.remove_migration_pte(q, page, e, dst);
        }
    }

    /// `remove_migration_pte()` / `remove_migration_pmd()`: a mapping of
    /// `dst` built from `vm_page_prot`: old unless the entry was young,
    /// dirty if `dst` is dirty and the entry was, soft-dirty copied,
    /// writable if the entry was; uffd-wp copied when not writable (PTE)
    /// or always (PMD, write-protected then). A device-private `dst` gets a
    /// device-private entry (writable iff the entry was, soft-dirty and
    /// uffd-wp copied). An anon `dst` page becomes exclusive unless the
    /// entry was plain readable (`RMAP_EXCLUSIVE`).
    pub(crate) fn remove_migration_pte(&mut self, q: usize, page: u64, e: Entry, dst: FolioId) {
        let Entry::Migration {
            level,
            target: Target::Folio { page: sub, .. },
            kind,
            young,
            dirty,
            soft_dirty,
            uffd_wp,
        } = e
        else {
            return;
        };
        let d = self.folio(dst);
        let target = Target::Folio {
            folio: dst,
            page: sub,
        };
        let write = kind == MigKind::Write;
        let new = if is_device_private(d) {
            Entry::DevicePrivate {
                level,
                target,
                write,
                soft_dirty,
                uffd_wp,
            }
        } else {
            let uffd = match level {
                Level::Pte => !write && uffd_wp,
                Level::Pmd => uffd_wp,
            };
            let mut bits = PteBits {
                write: write && !uffd,
                young,
                soft_dirty,
                uffd_wp: uffd,
                dirty: false,
            };
            if d.dirty && dirty {
                mkdirty(&mut bits);
            }
            Entry::Present {
                level,
                target,
                bits,
            }
        };
        if d.anon && kind != MigKind::Read {
            let idx = if level == Level::Pmd { 0 } else { sub as usize };
            self.folio_mut(dst).anon_exclusive.set(idx, true);
        }
        match level {
            Level::Pte => {
                self.clear_pte(q, page);
                self.set_pte(q, page, new);
            }
            Level::Pmd => {
                self.clear_pmd(q, page);
                self.set_pmd_entry(q, page, new);
            }
        }
    }
}
