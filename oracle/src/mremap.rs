//! `mremap(MREMAP_MAYMOVE|MREMAP_FIXED)` with an unchanged size, the one
//! form of mremap the op language has (mm/mremap.c).
//!
//! Since Linux 6.17 (d23cb648e365, "mm/mremap: permit mremap() move of
//! multiple VMAs") such a move-only request (`vrm_move_only`) goes through
//! `remap_move`: every VMA in the source range moves, split where the range
//! cuts it, to the same offset from the destination, so the gaps between
//! source VMAs are kept, and only the destinations of the VMAs are
//! unmapped first (what lies under a gap stays). A VMA that may not be
//! moved with others (`vma_multi_allowed`) keeps the old rule: it must be
//! the only thing in the range. Before 6.17 the range must lie in one
//! VMA ([`World::mremap_one_vma`]).

use mmdiff_core::outcome::{Errno, Outcome};
use mmdiff_core::state::{Entry, VmaState};

use crate::world::{Mm, World};

/// `vma_multi_allowed()`: a userfaultfd-armed VMA cannot move with others
/// (its notification drops the mmap lock mid-move). Every other VMA the
/// models have can: anonymous memory, shmem (anonymous shared mappings
/// and tmpfs files), ext4 files (`thp_get_unmapped_area` obeys
/// `MAP_FIXED`), and special mappings, whose driver is taken to have no
/// `get_unmapped_area` of its own.
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
        // check_mremap_params() → vrm_overlaps(): source and destination
        // overlap.
        if dst < end && start < dst + len {
            return Outcome::Err(Errno::EINVAL);
        }
        self.remap_move(p, start, end, dst)
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

    /// `remap_move()`: the VMAs in `[start, end)`, first to last, each
    /// moved on its own (`mremap_to`). Offsets from `start` are kept, so
    /// the piece of a VMA at `start + k` lands at `dst + k`.
    fn remap_move(&mut self, p: usize, start: u64, end: u64, dst: u64) -> Outcome {
        let mut at = start;
        let mut seen_vma = false;
        // The VMA iterator walks the source range; moves only change the
        // source at and before `at`.
        while let Some(vma) = self.vmas_in(p, at, end).first().copied() {
            // No gap permitted at the start of the range.
            if !seen_vma && vma.start > start {
                return Outcome::Err(Errno::EFAULT);
            }
            if !multi_vma_allowed(&vma) {
                // Not the first VMA: the earlier ones stay moved.
                if seen_vma {
                    return Outcome::Err(Errno::EFAULT);
                }
                // The first, but the range goes on past it.
                if vma.end < end {
                    return Outcome::Err(Errno::EFAULT);
                }
            }
            let (s, e) = (vma.start.max(start), vma.end.min(end));
            self.move_vma(p, s, e, dst + (s - start));
            seen_vma = true;
            at = e;
        }
        // Nothing mapped in the range at all.
        if !seen_vma {
            return Outcome::Err(Errno::EFAULT);
        }
        Outcome::OK
    }

    /// `mremap_to()` and `move_vma()` of `[start, end)`, which lies in one
    /// VMA, to `dst`: the destination is unmapped first; entries move with
    /// all their bits (`move_page_tables`), PMD leaves move whole when
    /// source and destination are PMD-aligned and are split otherwise.
    fn move_vma(&mut self, p: usize, start: u64, end: u64, dst: u64) {
        let len = end - start;
        self.munmap(p, dst, dst + len);
        self.split_vmas_for(p, start, end);
        self.invalidate(p, start, end, crate::device::Inval::Clear);
        // Leaves that cannot move as a whole are split first.
        let aligned = (dst as i64 - start as i64).rem_euclid(World::pmd_pages() as i64) == 0;
        let pages: Vec<u64> = self.mm(p).ptes.range(start..end).map(|(&k, _)| k).collect();
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
        let moved: Vec<(u64, Entry)> = mm.ptes.range(start..end).map(|(&k, e)| (k, *e)).collect();
        for (k, _) in &moved {
            mm.ptes.remove(k);
        }
        for (k, mut e) in moved {
            mark_soft_dirty(&mut e);
            mm.ptes.insert(k - start + dst, e);
        }
        let mut vma = mm.vmas.remove(&start).expect("split source VMA");
        vma.start = dst;
        vma.end = dst + len;
        mm.vmas.insert(dst, vma);
        self.merge_vmas(p);
    }
}

/// `move_soft_dirty_pte()`: moved entries become soft-dirty so the tracker
/// notices the move.
fn mark_soft_dirty(e: &mut Entry) {
    match e {
        Entry::Present { bits, .. } => bits.soft_dirty = true,
        Entry::Swap { soft_dirty, .. }
        | Entry::Migration { soft_dirty, .. }
        | Entry::DevicePrivate { soft_dirty, .. }
        | Entry::DeviceExclusive { soft_dirty, .. } => *soft_dirty = true,
    }
}
