//! `walk_page_range()` with the HMM callbacks: VMAs and the gaps between
//! them, `hmm_vma_walk_test()`, holes, and the PMD-chunk dispatch. Shared
//! by every [`Mode`]; the per-entry rules live in `snapshot.rs` (6.19
//! `hmm_vma_handle_*`) and `migrate.rs` (seed 004 collect).

use mmdiff_core::outcome::HmmPfn;
use mmdiff_core::state::{VmaKind, VmaState};

use super::*;

impl World {
    /// `walk_page_range()` from `from` to the end of the range: gaps
    /// without a VMA go to `hmm_vma_walk_hole()` with no VMA, each VMA is
    /// tested (`hmm_vma_walk_test()`) and walked chunk by chunk.
    pub(super) fn hmm_walk_page_range(&mut self, w: &mut HmmVmaWalk, from: u64) -> Step {
        let r = w.r;
        let mut addr = from;
        while addr < r.end {
            let Some(vma) = self.vma_at(r.p, addr) else {
                let next = self.next_vma_start(r.p, addr).min(r.end);
                World::hmm_walk_no_vma(w, addr, next)?;
                addr = next;
                continue;
            };
            let next = vma.end.min(r.end);
            if World::hmm_vma_walk_test(w, &vma, addr, next)? {
                let mut a = addr;
                while a < next {
                    a = self.hmm_vma_walk_chunk(w, &vma, a, next)?;
                }
            }
            addr = next;
        }
        Ok(())
    }

    /// First page of the first VMA starting after `page` (or the end of the
    /// address space).
    fn next_vma_start(&self, p: usize, page: u64) -> u64 {
        self.mm(p)
            .vmas
            .range(page..)
            .next()
            .map_or(u64::MAX, |(&s, _)| s)
    }

    /// `hmm_vma_walk_hole()` with `walk->vma == NULL`: a fault required
    /// there is `EFAULT`, otherwise the words are `ERROR`. (The collect
    /// pass never gets here: `migrate_vma_setup()` checked that one VMA
    /// covers the range.)
    fn hmm_walk_no_vma(w: &mut HmmVmaWalk, s: u64, e: u64) -> Step {
        if w.mode == Mode::MigrateCollect {
            debug_assert!(false, "migrate_vma_setup's range has a VMA");
            return Ok(());
        }
        if range_need_fault(w.r, s, e, NOT_VALID).any() {
            return Err(Stop::Errno(Errno::EFAULT));
        }
        w.fill(s, e, ERROR_WORD);
        Ok(())
    }

    /// `hmm_vma_walk_test()`: a VMA without `VM_IO|VM_PFNMAP` and with
    /// `VM_READ` is walked (`Ok(true)`); any other VMA is `EFAULT` if a fault
    /// is required in its part of the range, else `ERROR` and skipped. The
    /// collect pass walks whatever VMA `migrate_vma_setup()` accepted (the
    /// oracle's `migrate_vma_collect` has no such test; unreadable VMAs
    /// are collected too).
    fn hmm_vma_walk_test(w: &mut HmmVmaWalk, vma: &VmaState, s: u64, e: u64) -> Result<bool, Stop> {
        if w.mode == Mode::MigrateCollect {
            return Ok(true);
        }
        if vma.kind != VmaKind::Special && vma.prot.readable() {
            return Ok(true);
        }
        if range_need_fault(w.r, s, e, NOT_VALID).any() {
            return Err(Stop::Errno(Errno::EFAULT));
        }
        w.fill(s, e, ERROR_WORD);
        Ok(false)
    }

    /// One step of the walk inside a VMA at `a` (before `next`): a hole
    /// (`pte_hole`), or the PMD chunk of `a` (`hmm_vma_walk_pmd()`).
    /// Returns where the walk goes on.
    fn hmm_vma_walk_chunk(
        &mut self,
        w: &mut HmmVmaWalk,
        vma: &VmaState,
        a: u64,
        next: u64,
    ) -> Result<u64, Stop> {
        let chunk_end = (World::pmd_start(a) + NR).min(next);
        let hole_end = match w.mode {
            // migrate_vma_collect's hole: the highest empty level.
            Mode::MigrateCollect => self.walk_hole_end(w.r.p, a, next),
            // pmd_none(): one PMD chunk.
            _ => self.mm(w.r.p).pt.block_empty(a).then_some(chunk_end),
        };
        if let Some(h) = hole_end {
            self.hmm_vma_walk_hole(w, vma, a, h)?;
            return Ok(h);
        }
        self.hmm_vma_walk_pmd(w, vma, a, chunk_end)?;
        Ok(chunk_end)
    }

    /// `hmm_vma_walk_hole()` inside a VMA: the words are 0, or, if any page
    /// of the hole needs a fault, the whole hole is faulted. The collect
    /// pass selects holes instead (`migrate_vma_collect_hole`).
    fn hmm_vma_walk_hole(&mut self, w: &mut HmmVmaWalk, vma: &VmaState, s: u64, e: u64) -> Step {
        if w.mode == Mode::MigrateCollect {
            self.hmm_migrate_hole(w, vma, s, e);
            return Ok(());
        }
        let need = range_need_fault(w.r, s, e, NOT_VALID);
        if need.any() {
            return self.hmm_vma_fault(w, vma, s, e, need);
        }
        w.fill(s, e, HmmPfn::default());
        Ok(())
    }

    /// `hmm_vma_walk_pmd()` for the chunk `[s, e)` of one non-empty PMD
    /// block inside one VMA. Fast path: the PMD slot is read once
    /// (`pt.leaf`) and a leaf is handled as one entry for the whole chunk,
    /// where the oracle reads `entry()` page by page.
    fn hmm_vma_walk_pmd(&mut self, w: &mut HmmVmaWalk, vma: &VmaState, s: u64, e: u64) -> Step {
        let leaf = self.mm(w.r.p).pt.leaf(s);
        match (w.mode, leaf) {
            (Mode::MigrateCollect, _) => {
                self.hmm_migrate_pmd(w, vma, s, e, leaf);
                Ok(())
            }
            (_, Some(first)) => self.hmm_vma_handle_leaf(w, vma, s, e, first),
            (_, None) => self.hmm_vma_walk_ptes(w, vma, s, e),
        }
    }
}
