//! The 6.19 per-entry rules of `hmm_range_fault()` (`hmm_vma_handle_pmd`,
//! `hmm_vma_handle_absent_pmd`, `hmm_vma_handle_pte`) and `hmm_vma_fault()`:
//! the snapshot mode and seed 004's fault pass.

use mmdiff_core::outcome::HmmPfn;
use mmdiff_core::state::{Entry, VmaState};

use crate::fault::{FaultError, FaultKind};

use super::*;

impl World {
    /// A PMD leaf whose first page's entry is `first`, for the chunk
    /// `[s, e)` of its block.
    pub(super) fn hmm_vma_handle_leaf(
        &mut self,
        w: &mut HmmVmaWalk,
        vma: &VmaState,
        s: u64,
        e: u64,
        first: Entry,
    ) -> Step {
        match first {
            Entry::Migration { .. } => World::hmm_pmd_migration(w, s, e),
            Entry::DevicePrivate {
                target: Target::Folio { folio, .. },
                write,
                ..
            } => {
                if self.hmm_owned(w, folio) {
                    let cpu = CpuFlags { valid: true, write };
                    World::hmm_pmd_fill(w, s, e, first, cpu);
                    return Ok(());
                }
                self.hmm_vma_handle_absent_pmd(w, vma, s, e)
            }
            Entry::Present { bits, .. } => {
                let cpu = CpuFlags {
                    valid: true,
                    write: bits.write,
                };
                self.hmm_vma_handle_pmd(w, vma, s, e, first, cpu)
            }
            _ => unreachable!("PMD leaves are present, migration or device-private"),
        }
    }

    /// A PMD migration entry (`pmd_is_migration_entry` in
    /// `hmm_vma_walk_pmd`): 0 for every page, or, when a fault is required,
    /// `pmd_migration_entry_wait()`: the walk sleeps until the migration
    /// ends (the op is blocked at the chunk's first page).
    fn hmm_pmd_migration(w: &mut HmmVmaWalk, s: u64, e: u64) -> Step {
        if range_need_fault(w.r, s, e, NOT_VALID).any() {
            return Err(Stop::Blocked(s));
        }
        w.fill(s, e, HmmPfn::default());
        Ok(())
    }

    /// The words of a PMD leaf over `[s, e)`: `pfn + i | cpu flags | order
    /// 9`. Fast path: the leaf was read once; page `i` of the block names
    /// `first`'s target advanced by `i` (oracle: `entry()` per page), so
    /// the chunk is one run from the word of page `s`.
    fn hmm_pmd_fill(w: &mut HmmVmaWalk, s: u64, e: u64, first: Entry, cpu: CpuFlags) {
        let target = match first {
            Entry::Present { target, .. } | Entry::DevicePrivate { target, .. } => target,
            _ => unreachable!("only present and device-private leaves carry pages"),
        };
        let block = World::pmd_start(s);
        let t = target.advanced((s - block) as u32);
        let pr = target_page(t).expect("PMD leaves map folios or the huge zero page");
        w.fill_run(s, e, valid_word(pr, cpu, PMD_ORDER));
    }

    /// `hmm_vma_handle_absent_pmd()` for another owner's PMD device-private
    /// entry (the caller's own is reported by `hmm_vma_handle_leaf`, never
    /// faulted): `ERROR` (not 0, unlike the PTE case) unless a fault is
    /// required, which faults the chunk (`do_huge_pmd_device_private` →
    /// `migrate_to_ram`).
    fn hmm_vma_handle_absent_pmd(
        &mut self,
        w: &mut HmmVmaWalk,
        vma: &VmaState,
        s: u64,
        e: u64,
    ) -> Step {
        let need = range_need_fault(w.r, s, e, NOT_VALID);
        if need.any() {
            // Seed 002: off to the fault without putting the pgmap.
            #[cfg(feature = "planted")]
            if planted!(Seed002PgmapRefLeakOnRetry) {
                w.pgmap = None;
            }
            return self.hmm_vma_fault(w, vma, s, e, need);
        }
        w.fill(s, e, ERROR_WORD);
        Ok(())
    }

    /// `hmm_vma_handle_pmd()` for a present PMD leaf (a THP or the huge
    /// zero page): every page gets `pfn | cpu flags | order 9`, unless a
    /// page of the chunk needs a fault, which faults the whole chunk.
    fn hmm_vma_handle_pmd(
        &mut self,
        w: &mut HmmVmaWalk,
        vma: &VmaState,
        s: u64,
        e: u64,
        first: Entry,
        cpu: CpuFlags,
    ) -> Step {
        let need = range_need_fault(w.r, s, e, cpu);
        if need.any() {
            return self.hmm_vma_fault(w, vma, s, e, need);
        }
        World::hmm_pmd_fill(w, s, e, first, cpu);
        Ok(())
    }

    /// The PTE table of a chunk `[s, e)`. Fast path: the table's entries
    /// are read once as runs (`pt.runs`) and the pages between them are
    /// `pte_none()` ranges handled at once; the oracle calls
    /// `hmm_vma_handle_pte()` with `entry()` for every page. Nothing below
    /// changes the table before the walk stops (a fault always ends this
    /// walk), so the runs stay exact.
    pub(super) fn hmm_vma_walk_ptes(
        &mut self,
        w: &mut HmmVmaWalk,
        vma: &VmaState,
        s: u64,
        e: u64,
    ) -> Step {
        let runs = self.mm(w.r.p).pt.runs(s, e);
        let mut page = s;
        for run in runs {
            debug_assert!(!run.leaf && run.len == 1, "a PTE table holds PTEs");
            self.hmm_vma_handle_none(w, vma, page, run.page, e)?;
            self.hmm_vma_handle_pte(w, vma, run.page, e, run.entry)?;
            page = run.page + 1;
        }
        self.hmm_vma_handle_none(w, vma, page, e, e)
    }

    /// `hmm_vma_handle_pte()` for the `pte_none()` pages `[a, b)` of the
    /// chunk ending at `e`: 0, or, at the first page that needs a fault,
    /// a fault from there to the end of the chunk.
    fn hmm_vma_handle_none(
        &mut self,
        w: &mut HmmVmaWalk,
        vma: &VmaState,
        a: u64,
        b: u64,
        e: u64,
    ) -> Step {
        if let Some((page, need)) = first_need_fault(w.r, a, b, NOT_VALID) {
            w.fill(a, page, HmmPfn::default());
            return self.hmm_vma_fault(w, vma, page, e, need);
        }
        w.fill(a, b, HmmPfn::default());
        Ok(())
    }

    /// `hmm_vma_handle_pte()` for the entry `entry` at page `page` of the
    /// chunk ending at `e`.
    fn hmm_vma_handle_pte(
        &mut self,
        w: &mut HmmVmaWalk,
        vma: &VmaState,
        page: u64,
        e: u64,
        entry: Entry,
    ) -> Step {
        let req = req_at(w.r, page);
        let (target, bits) = match entry {
            Entry::Present { target, bits, .. } => (target, bits),
            other => {
                // Device-private pages of the caller are reported, never
                // faulted, even when REQ_WRITE asks for a read-only one.
                if let Entry::DevicePrivate {
                    target: Target::Folio { folio, page: sub },
                    write,
                    ..
                } = other
                {
                    if self.hmm_owned(w, folio) {
                        let cpu = CpuFlags { valid: true, write };
                        let pr = PageRef::Folio { folio, page: sub };
                        w.set(page, valid_word(pr, cpu, 0));
                        return Ok(());
                    }
                }
                // Other non-present entries: 0 unless a fault is required.
                let need = pte_need_fault(req, NOT_VALID);
                if !need.any() {
                    w.set(page, HmmPfn::default());
                    return Ok(());
                }
                // Seed 002: another device's page goes to the fault (and
                // the -EBUSY restart) without putting the pgmap its owner
                // was looked up in.
                #[cfg(feature = "planted")]
                if matches!(other, Entry::DevicePrivate { .. })
                    && planted!(Seed002PgmapRefLeakOnRetry)
                {
                    w.pgmap = None;
                }
                return match other {
                    // Swap-in, another device's migrate_to_ram, or giving
                    // a device-exclusive page back to the CPU.
                    Entry::Swap { .. }
                    | Entry::DevicePrivate { .. }
                    | Entry::DeviceExclusive { .. } => self.hmm_vma_fault(w, vma, page, e, need),
                    // migration_entry_wait(): sleeps until the folio is
                    // unlocked.
                    Entry::Migration { .. } => Err(Stop::Blocked(page)),
                    Entry::Present { .. } => unreachable!("handled above"),
                };
            }
        };
        let cpu = CpuFlags {
            valid: true,
            write: bits.write,
        };
        let need = pte_need_fault(req, cpu);
        if need.any() {
            return self.hmm_vma_fault(w, vma, page, e, need);
        }
        match target_page(target) {
            Some(pr) => w.set(page, valid_word(pr, cpu, 0)),
            // No struct page and not the zero page (vm_normal_page() is
            // NULL): EFAULT if the page was asked for, else ERROR.
            None => {
                if pte_need_fault(req, NOT_VALID).any() {
                    return Err(Stop::Errno(Errno::EFAULT));
                }
                w.set(page, ERROR_WORD);
            }
        }
        Ok(())
    }

    /// `hmm_vma_fault()`: a write fault needs `VM_WRITE` (`EPERM`); then
    /// `handle_mm_fault(FAULT_FLAG_REMOTE [| FAULT_FLAG_WRITE])` for every
    /// page of `[s, e)`; any fault error is `EFAULT` (a uffd-wp write fault
    /// included: no `FAULT_FLAG_ALLOW_RETRY`); a fault that sleeps blocks
    /// the op there; then the walk restarts at `s`.
    ///
    /// Seed 004's `MIGRATE_VMA_FAULT` pass faults only `s` (the first page
    /// that needed it) and resumes after it, as the oracle's
    /// `migrate_fault_in` does: exactly the not-valid pages are faulted, once
    /// each, in address order.
    pub(super) fn hmm_vma_fault(
        &mut self,
        w: &mut HmmVmaWalk,
        vma: &VmaState,
        s: u64,
        e: u64,
        need: Need,
    ) -> Step {
        let kind = if need.write {
            if !vma.prot.writable() {
                return Err(Stop::Errno(Errno::EPERM));
            }
            FaultKind::WRITE
        } else {
            FaultKind::READ
        };
        let p = w.r.p;
        match w.mode {
            Mode::Snapshot => {}
            Mode::MigrateFault { fault_folio } => {
                debug_assert!(!need.write, "MIGRATE_VMA_FAULT asks for read faults");
                return match self.handle_fault(p, s, kind) {
                    Ok(()) => Err(Stop::Restart(s + 1)),
                    // Waiting for the setup's own fault page never ends.
                    Err(FaultError::Blocked) => {
                        let own = matches!(
                            self.entry(p, s).and_then(|e| e.folio_page()),
                            Some((f, _)) if Some(f) == fault_folio
                        );
                        Err(if own { Stop::Stuck } else { Stop::Blocked(s) })
                    }
                    Err(_) => Err(Stop::Errno(Errno::EFAULT)),
                };
            }
            Mode::MigrateCollect => unreachable!("the collect pass never faults"),
        }
        for page in s..e {
            match self.handle_fault(p, page, kind) {
                Ok(()) => {}
                Err(FaultError::Blocked) => return Err(Stop::Blocked(page)),
                // HMM faults never set FAULT_FLAG_ALLOW_RETRY: a uffd-wp
                // fault is VM_FAULT_SIGBUS.
                Err(FaultError::Bus | FaultError::Oom | FaultError::Userfault) => {
                    return Err(Stop::Errno(Errno::EFAULT))
                }
            }
        }
        Err(Stop::Restart(s))
    }
}
