//! VMAs: lookup, split, merge, and the protection each VMA gives new PTEs.

use mmdiff_core::op::{FsKind, PMD_PAGES};
use mmdiff_core::state::{ObjId, VmaKind, VmaState};

use crate::world::World;

/// `is_cow_mapping()`: private and may be written (every private mapping
/// here has `VM_MAYWRITE`).
pub fn is_cow(vma: &VmaState) -> bool {
    matches!(vma.kind, VmaKind::AnonPrivate | VmaKind::FilePrivate)
}

/// `VM_SHARED`.
pub fn is_shared(vma: &VmaState) -> bool {
    matches!(
        vma.kind,
        VmaKind::AnonShared | VmaKind::FileShared | VmaKind::Special
    )
}

/// `vma_soft_dirty_enabled()`: soft-dirty tracking is on once clear_refs
/// cleared `VM_SOFTDIRTY`.
pub fn soft_dirty_tracking(vma: &VmaState) -> bool {
    !vma.soft_dirty
}

impl World {
    /// `vma_wants_writenotify()`: a shared writable mapping whose PTEs must
    /// start read-only so that the first write faults: filesystems with
    /// writeback (`page_mkwrite`), soft-dirty tracking, uffd-wp.
    /// `VM_PFNMAP` mappings never want it.
    pub fn wants_writenotify(&self, vma: &VmaState) -> bool {
        if !matches!(vma.kind, VmaKind::AnonShared | VmaKind::FileShared) || !vma.prot.writable() {
            return false;
        }
        let writeback = match vma.backing {
            Some((ObjId::File(f), _)) => self.file(f).and_then(|o| o.fs) == Some(FsKind::Ext4),
            _ => false,
        };
        writeback || soft_dirty_tracking(vma) || vma.uffd_wp
    }

    /// Whether `vma->vm_page_prot` grants write: PTEs built from it (read
    /// faults of shared mappings, `pte_modify` in mprotect) are writable.
    /// Private mappings never (`PAGE_COPY`); write access comes from faults.
    pub fn page_prot_writable(&self, vma: &VmaState) -> bool {
        vma.prot.writable() && is_shared(vma) && !self.wants_writenotify(vma)
    }

    /// VMAs of process `p` overlapping `[start, end)`, by address.
    pub fn vmas_in(&self, p: usize, start: u64, end: u64) -> Vec<VmaState> {
        let mm = self.mm(p);
        let first = mm
            .vmas
            .range(..=start)
            .next_back()
            .map(|(&s, _)| s)
            .unwrap_or(start);
        mm.vmas
            .range(first..end)
            .map(|(_, v)| *v)
            .filter(|v| v.end > start && v.start < end)
            .collect()
    }

    /// True when every page of `[start, end)` is covered by some VMA.
    pub fn fully_mapped(&self, p: usize, start: u64, end: u64) -> bool {
        let mut at = start;
        for v in self.vmas_in(p, start, end) {
            if v.start > at {
                return false;
            }
            at = v.end;
        }
        at >= end
    }

    /// `__split_vma()` at page `at` if a VMA straddles it. A PMD leaf that
    /// straddles the new boundary is split first (`vma_adjust_trans_huge`).
    /// When the VMA covers the whole PMD block around an unaligned `at`,
    /// `split_huge_pmd_address` runs whether or not a PMD leaf is there,
    /// and `__split_huge_pmd` invalidates the whole block first
    /// (`MMU_NOTIFY_CLEAR`): device mirrors lose their entries there.
    pub fn split_vma_at(&mut self, p: usize, at: u64) {
        let Some(v) = self.vma_at(p, at) else { return };
        if v.start == at {
            return;
        }
        let nr = PMD_PAGES as u64;
        let block = at - at % nr;
        if !at.is_multiple_of(nr) && v.start <= block && block + nr <= v.end {
            self.invalidate(p, block, block + nr, crate::device::Inval::Clear);
        }
        if !at.is_multiple_of(nr) && self.pmd_leaf_at(p, at).is_some() {
            self.split_pmd(p, at);
        }
        let mut left = v;
        let mut right = v;
        left.end = at;
        right.start = at;
        if let Some((obj, off)) = v.backing {
            right.backing = Some((obj, off + (at - v.start)));
        }
        let mm = self.mm_mut(p);
        mm.vmas.insert(left.start, left);
        mm.vmas.insert(right.start, right);
    }

    /// Split VMAs so that `[start, end)` is covered by whole VMAs.
    pub fn split_vmas_for(&mut self, p: usize, start: u64, end: u64) {
        self.split_vma_at(p, start);
        self.split_vma_at(p, end);
    }

    /// `vma_merge()`: adjacent VMAs with identical attributes and
    /// contiguous backing become one. `VM_SOFTDIRTY` does not prevent
    /// merging (`VM_IGNORE_MERGE`); special mappings never merge.
    pub fn merge_vmas(&mut self, p: usize) {
        let vmas: Vec<VmaState> = self.mm(p).vmas.values().copied().collect();
        let mut merged: Vec<VmaState> = Vec::with_capacity(vmas.len());
        for v in vmas {
            if let Some(prev) = merged.last_mut() {
                if mergeable(prev, &v, self.cfg.window_pages as u64) {
                    prev.end = v.end;
                    prev.soft_dirty |= v.soft_dirty;
                    prev.anon_vma |= v.anon_vma;
                    continue;
                }
            }
            merged.push(v);
        }
        self.mm_mut(p).vmas = merged.into_iter().map(|v| (v.start, v)).collect();
    }
}

fn mergeable(a: &VmaState, b: &VmaState, window: u64) -> bool {
    let contiguous_backing = match (a.backing, b.backing) {
        (None, None) => true,
        (Some((oa, offa)), Some((ob, offb))) => oa == ob && offa + (a.end - a.start) == offb,
        _ => false,
    };
    a.end == b.start
        && a.start / window == b.start / window
        && a.kind == b.kind
        && a.kind != VmaKind::Special
        && contiguous_backing
        && a.prot == b.prot
        && a.hint == b.hint
        && a.dontfork == b.dontfork
        && a.zone == b.zone
        && a.uffd_wp == b.uffd_wp
}
