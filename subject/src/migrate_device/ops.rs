//! The phased ops: `migrate-setup`, `migrate-alloc`, `migrate-pages`, `migrate-finalize`.

use super::*;

impl World {
    /// The `migrate-setup` op; `fault_page` is an absolute page of `p`,
    /// which must be mapped by a device-private entry (`EINVAL`
    /// otherwise). With `select.fault` (seed 004, `MIGRATE_VMA_FAULT`),
    /// not-valid entries are first faulted in for read as `hmm_range_fault`
    /// would (`EFAULT` on a failed fault or an unreadable VMA; `blocked` on
    /// a migration entry or a locked folio; `stuck` when the fault would
    /// wait for the setup's own fault page).
    #[allow(clippy::too_many_arguments)]
    pub fn migrate_setup_op(
        &mut self,
        s: SessionId,
        p: usize,
        start: u64,
        end: u64,
        select: MigrateSelect,
        owner: Option<DevId>,
        fault_page: Option<u64>,
    ) -> Outcome {
        let vma = match self.migrate_vma_validate(p, start, end) {
            Ok(v) => v,
            Err(e) => return Outcome::Err(e),
        };
        let fault = match fault_page {
            None => None,
            Some(at) => match self.entry(p, at) {
                Some(Entry::DevicePrivate {
                    target: Target::Folio { folio, page },
                    ..
                }) => Some((at, folio, page)),
                _ => return Outcome::Err(Errno::EINVAL),
            },
        };
        if select.fault && !vma.prot.readable() {
            return Outcome::Err(Errno::EFAULT);
        }
        if let Some((at, folio, _)) = fault {
            if self.folio(folio).locked {
                return Outcome::Blocked {
                    page: self.cfg.window_of(at).1,
                };
            }
            self.folio_get(folio, 1);
            self.folio_mut(folio).locked = true;
        }
        let ctx = VmaCtx {
            p,
            start,
            end,
            select,
            owner,
        };
        let mut m = Migration::new(
            ctx,
            fault.map(|(at, folio, page)| (at, PageRef::Folio { folio, page })),
        );
        if let Err(e) = self.migrate_vma_collect_and_unmap(&mut m) {
            // Only the MIGRATE_VMA_FAULT pass fails, before anything was
            // collected.
            self.release_fault_page(m.fault_page);
            return self.hmm_error_outcome(e);
        }
        let out = Outcome::Ok(Payload::Migrate {
            cpages: m.cpages,
            src: m.src.clone(),
        });
        self.sessions[s.index()] = Some(SessionState {
            id: s,
            proc: ProcId(p as u8),
            start,
            end,
            select,
            owner,
            fault_page: m.fault_page,
            phase: MigratePhase::Setup,
            cpages: m.cpages,
            src: m.src,
            dst: m.dst,
        });
        out
    }

    /// The `migrate-alloc` op (the driver between setup and pages): a
    /// locked destination with the data copied for every `MIGRATE` entry,
    /// except the entries of `fail` (session-relative) and failed
    /// allocations. Compound entries get an order-9 destination, or 512
    /// base pages with `split`. Only once, right after setup (`EINVAL`
    /// otherwise). Returns how many entries got a destination.
    pub fn migrate_alloc_op(
        &mut self,
        s: SessionId,
        dest: MigrateDest,
        fail: Option<(u32, u32)>,
        split: bool,
    ) -> Outcome {
        let Some(mut sess) = self.sessions[s.index()].take() else {
            return Outcome::Err(Errno::ENOENT);
        };
        if sess.phase != MigratePhase::Setup {
            self.sessions[s.index()] = Some(sess);
            return Outcome::Err(Errno::EINVAL);
        }
        let declined = |i: usize| fail.is_some_and(|(a, b)| (a as usize) <= i && i < b as usize);
        let n = sess.src.len();
        let mut i = 0;
        while i < n {
            let e = sess.src[i];
            if !e.migrate {
                i += 1;
                continue;
            }
            let src = e.page.as_ref().and_then(folio_of);
            if e.compound && !split {
                if !declined(i) {
                    if let Some(d) = self.alloc_dest(dest, 9) {
                        // Page k of the source into page k of the copy, as
                        // one copy of its contents runs. Oracle rule
                        // preserved (`migrate_alloc_op`, page by page): the
                        // copy reads as the source; a hole stays zeroed.
                        if let Some((f, _)) = src {
                            let c = self.folio(f).contents.clone();
                            self.folio_mut(d).contents.copy_from(0, &c, 0, NR as u32);
                        }
                        sess.dst[i] = Some(PageRef::Folio { folio: d, page: 0 });
                    }
                }
                i += NR as usize;
                continue;
            }
            let nr = if e.compound { NR as usize } else { 1 };
            for k in 0..nr.min(n - i) {
                if declined(i + k) {
                    continue;
                }
                let Some(d) = self.alloc_dest(dest, 0) else {
                    continue;
                };
                let v = match src {
                    Some((f, _)) if e.compound => self.folio(f).contents.get(k),
                    Some((f, sub)) => self.folio(f).contents.get(sub as usize),
                    None => 0,
                };
                self.folio_mut(d).contents.set(0, v);
                sess.dst[i + k] = Some(PageRef::Folio { folio: d, page: 0 });
            }
            i += nr;
        }
        sess.phase = MigratePhase::Allocated;
        let allocated = sess.dst.iter().filter(|d| d.is_some()).count() as u64;
        self.sessions[s.index()] = Some(sess);
        Outcome::count(allocated)
    }

    /// A locked destination folio: `zone_device_folio_init` on the device,
    /// or a locked system folio from `ZONE_NORMAL`.
    pub(crate) fn alloc_dest(&mut self, dest: MigrateDest, order: u8) -> Option<FolioId> {
        match dest {
            MigrateDest::Device(d) => self.alloc_device_folio(d, order),
            MigrateDest::System => {
                let f = self.alloc_folio(Zone::Normal, order)?;
                self.folio_mut(f).locked = true;
                Some(f)
            }
        }
    }

    /// The `migrate-pages` op: `migrate_vma_pages()`, once, before
    /// finalize (`EINVAL` after it already ran). Returns `cpages` and the
    /// `src[]` array as the driver sees it afterwards.
    pub fn migrate_pages_op(&mut self, s: SessionId) -> Outcome {
        let Some(mut sess) = self.sessions[s.index()].take() else {
            return Outcome::Err(Errno::ENOENT);
        };
        if sess.phase == MigratePhase::Migrated {
            self.sessions[s.index()] = Some(sess);
            return Outcome::Err(Errno::EINVAL);
        }
        let mut m = Migration::from_session(&sess);
        self.migrate_device_pages(&mut m);
        sess.src = m.src;
        sess.dst = m.dst;
        sess.fault_page = m.fault_page;
        sess.phase = MigratePhase::Migrated;
        let out = Outcome::Ok(Payload::Migrate {
            cpages: sess.cpages,
            src: sess.src.clone(),
        });
        self.sessions[s.index()] = Some(sess);
        out
    }

    /// The `migrate-finalize` op: `migrate_vma_finalize()`, then the
    /// session gives back the fault folio's lock and reference; the slot
    /// is free again.
    pub fn migrate_finalize_op(&mut self, s: SessionId) -> Outcome {
        let Some(sess) = self.sessions[s.index()].take() else {
            return Outcome::Err(Errno::ENOENT);
        };
        let mut m = Migration::from_session(&sess);
        if sess.phase != MigratePhase::Migrated {
            // Finalize without migrate_vma_pages (a driver bug: the
            // destinations' metadata was never migrated): nothing counts
            // as migrated, every source is restored.
            for e in &mut m.src {
                e.migrate = false;
            }
        }
        self.migrate_device_finalize(&mut m);
        self.release_fault_page(m.fault_page);
        Outcome::OK
    }
}
