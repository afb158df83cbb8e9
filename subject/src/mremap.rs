//! `mremap(MREMAP_MAYMOVE|MREMAP_FIXED)` with an unchanged size
//! (mm/mremap.c): since Linux 6.17 a move-only request (`vrm_move_only`)
//! moves every VMA of the source range (`remap_move`), each on its own,
//! keeping the gaps between them; only the VMAs' destinations are
//! unmapped first. A userfaultfd-armed VMA must be alone in the range
//! (`vma_multi_allowed`).

use mmdiff_core::outcome::{Errno, Outcome};
use mmdiff_core::state::{Entry, VmaState};

use crate::world::{Mm, World};

/// `vma_multi_allowed()`: every VMA kind of the models may move with
/// others unless it is armed for userfaultfd.
fn multi_vma_allowed(vma: &VmaState) -> bool {
    !vma.uffd_wp
}

impl World {
    /// `do_mremap()` of a same-size fixed move from `[start, end)` to
    /// `dst`.
    pub fn mremap(&mut self, p: usize, start: u64, end: u64, dst: u64) -> Outcome {
        if !self.cfg.kernel.mremap_moves_vmas() {
            return self.mremap_one_vma(p, start, end, dst);
        }
        let len = end - start;
        // check_mremap_params(): overlapping source and destination.
        if dst < end && start < dst + len {
            return Outcome::Err(Errno::EINVAL);
        }
        // remap_move(): VMA by VMA through the source range.
        let mut at = start;
        let mut seen_vma = false;
        while let Some(vma) = self.vmas_in(p, at, end).first().copied() {
            // No gap at the start; a VMA that cannot move with others must
            // be the first and the last.
            let alone = multi_vma_allowed(&vma) || (!seen_vma && vma.end >= end);
            if (!seen_vma && vma.start > start) || !alone {
                return Outcome::Err(Errno::EFAULT);
            }
            let (s, e) = (vma.start.max(start), vma.end.min(end));
            self.move_vma(p, s, e, dst + (s - start));
            seen_vma = true;
            at = e;
        }
        if seen_vma {
            Outcome::OK
        } else {
            Outcome::Err(Errno::EFAULT)
        }
    }

    /// Before Linux 6.17 (`do_mremap`, `mremap_to`): the source start
    /// must be mapped (`vma_lookup`, checked first), then the ranges must
    /// not overlap; the destination is unmapped, and only then must the
    /// range lie in that one VMA (`vma_to_resize`), so an `EFAULT` there
    /// leaves the destination unmapped.
    fn mremap_one_vma(&mut self, p: usize, start: u64, end: u64, dst: u64) -> Outcome {
        let len = end - start;
        let Some(vma) = self.vma_at(p, start) else {
            return Outcome::Err(Errno::EFAULT);
        };
        if dst < end && start < dst + len {
            return Outcome::Err(Errno::EINVAL);
        }
        self.munmap(p, dst, dst + len);
        if vma.end < end {
            return Outcome::Err(Errno::EFAULT);
        }
        self.move_vma(p, start, end, dst);
        Outcome::OK
    }

    /// `mremap_to()` + `move_vma()` of `[start, end)` (inside one VMA) to
    /// `dst`: the destination is unmapped first; entries move with all
    /// their bits, PMD leaves whole when the move keeps PMD alignment and
    /// split otherwise.
    fn move_vma(&mut self, p: usize, start: u64, end: u64, dst: u64) {
        let len = end - start;
        self.munmap(p, dst, dst + len);
        self.split_vmas_for(p, start, end);
        self.invalidate(p, start, end, crate::device::Inval::Clear);
        // Leaves that cannot move as a whole are split first.
        let aligned = (dst as i64 - start as i64).rem_euclid(World::pmd_pages() as i64) == 0;
        let pages: Vec<u64> = self.mm(p).pt.pages_leaf_once(start, end);
        for &page in &pages {
            if let Some(e) = self.entry(p, page) {
                if crate::pte::is_pmd_leaf(&e) {
                    let s = World::pmd_start(page);
                    if !aligned || s < start || s + World::pmd_pages() > end {
                        self.split_pmd(p, page);
                    }
                }
            }
        }
        let mm: &mut Mm = self.mm_mut(p);
        // move_page_tables(): whole leaves move as one entry (move_huge_pmd),
        // PTEs one by one.
        let moved = mm.pt.runs(start, end);
        for run in &moved {
            if run.leaf {
                mm.pt.clear_leaf(run.page);
            } else {
                mm.pt.clear_pte(run.page);
            }
        }
        for run in moved {
            let (k, mut e) = (run.page, run.entry);
            // move_soft_dirty_pte(): moved entries become soft-dirty.
            match &mut e {
                Entry::Present { bits, .. } => bits.soft_dirty = true,
                Entry::Swap { soft_dirty, .. }
                | Entry::Migration { soft_dirty, .. }
                | Entry::DevicePrivate { soft_dirty, .. }
                | Entry::DeviceExclusive { soft_dirty, .. } => *soft_dirty = true,
            }
            if run.leaf {
                mm.pt.set_leaf(k - start + dst, e);
            } else {
                mm.pt.set_pte(k - start + dst, e);
            }
        }
        let mut vma = mm.vmas.remove(&start).expect("split source VMA");
        vma.start = dst;
        vma.end = dst + len;
        mm.vmas.insert(dst, vma);
        self.merge_vmas(p);
    }
}
