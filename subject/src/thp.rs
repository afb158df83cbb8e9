//! Transparent huge pages: the PMD fault paths, PMD splitting, folio
//! splitting and `MADV_COLLAPSE`.
//!
//! THP policy is "madvise" (SPEC §1): an anonymous fault maps an order-9
//! folio iff the VMA has `MADV_HUGEPAGE`, the whole PMD block lies inside
//! the VMA, the block has no entries and the zone has room; a read fault
//! there maps the huge zero page.

use mmdiff_core::op::PMD_PAGES;
use mmdiff_core::outcome::Errno;
use mmdiff_core::state::{
    Entry, FolioId, HugeHint, Level, Memory, PageRef, PteBits, Target, VmaKind, VmaState,
};

use crate::fault::{fresh_bits, mkdirty, FaultError, FaultKind, FaultResult};
use crate::pte::{at_pte_level, entry_folio, is_pmd_leaf, pte};
use crate::runs::Contents;
use crate::world::World;

const NR: u64 = PMD_PAGES as u64;

impl World {
    /// `thp_vma_allowable_order()` + `thp_vma_suitable_order()` under the
    /// madvise policy, plus `pmd_none()`.
    pub fn thp_fault_eligible(&self, p: usize, page: u64, vma: &VmaState) -> bool {
        let s = World::pmd_start(page);
        vma.kind == VmaKind::AnonPrivate
            && vma.hint == HugeHint::Huge
            && vma.start <= s
            && s + NR <= vma.end
            && self.pmd_block_empty(p, page)
    }

    /// `do_huge_pmd_anonymous_page()`. `None` means "fall back to a PTE
    /// fault" (no order-9 folio available).
    pub fn do_huge_pmd_anonymous_page(
        &mut self,
        p: usize,
        page: u64,
        vma: &VmaState,
        kind: FaultKind,
    ) -> Option<FaultResult> {
        let start = World::pmd_start(page);
        // anon_vma_prepare() runs before the huge zero page decision.
        self.set_anon_vma(p, page);
        if !kind.write {
            let bits = fresh_bits();
            self.set_pmd(p, start, Target::HugeZero { page: 0 }, bits);
            return Some(Ok(()));
        }
        let folio = self.alloc_folio(World::fault_zone(vma, kind), 9)?;
        self.map_new_thp(p, start, vma, folio);
        Some(Ok(()))
    }

    /// `map_anon_folio_pmd()`: a fresh exclusive THP, dirty, writable if
    /// the VMA is. Consumes the caller's allocation reference.
    fn map_new_thp(&mut self, p: usize, start: u64, vma: &VmaState, folio: FolioId) {
        self.make_new_anon(folio);
        self.folio_mut(folio).anon_exclusive.set(0, true);
        let mut bits = fresh_bits();
        mkdirty(&mut bits);
        bits.write = vma.prot.writable();
        self.set_pmd(p, start, Target::Folio { folio, page: 0 }, bits);
        self.folio_put(folio, 1);
    }

    /// A fault on a page mapped by a PMD leaf (`wp_huge_pmd`).
    pub fn fault_huge_pmd(
        &mut self,
        p: usize,
        page: u64,
        vma: &VmaState,
        kind: FaultKind,
    ) -> FaultResult {
        let start = World::pmd_start(page);
        let Some(Entry::Present { target, bits, .. }) = self.entry(p, start) else {
            return Ok(());
        };
        if (!kind.write && !kind.unshare) || (kind.write && bits.write) {
            return Ok(());
        }
        if kind.write && !kind.unshare && bits.uffd_wp {
            return Err(FaultError::Userfault);
        }
        match target {
            Target::HugeZero { .. } => self.do_huge_zero_wp_pmd(p, page, vma, kind),
            Target::Folio { folio, .. } => self.do_huge_pmd_wp_page(p, page, vma, folio, kind),
            _ => Ok(()),
        }
    }

    /// `do_huge_zero_wp_pmd()`: a write to the huge zero page maps a new
    /// zeroed THP; without one, the PMD is split into zero-page PTEs and
    /// the PTE fault proceeds.
    fn do_huge_zero_wp_pmd(
        &mut self,
        p: usize,
        page: u64,
        vma: &VmaState,
        kind: FaultKind,
    ) -> FaultResult {
        let start = World::pmd_start(page);
        let suitable = vma.hint == HugeHint::Huge && vma.start <= start && start + NR <= vma.end;
        if kind.write && !kind.unshare && suitable {
            if let Some(folio) = self.alloc_folio(World::fault_zone(vma, kind), 9) {
                self.invalidate(p, start, start + NR, crate::device::Inval::Clear);
                self.clear_pmd(p, start);
                self.map_new_thp(p, start, vma, folio);
                return Ok(());
            }
        }
        self.split_pmd(p, page);
        self.handle_fault(p, page, kind)
    }

    /// `do_huge_pmd_wp_page()`: reuse the THP when it is exclusive or ours
    /// alone; otherwise split the PMD and let the PTE fault copy one page.
    fn do_huge_pmd_wp_page(
        &mut self,
        p: usize,
        page: u64,
        vma: &VmaState,
        folio: FolioId,
        kind: FaultKind,
    ) -> FaultResult {
        let start = World::pmd_start(page);
        let mut reuse = self.folio(folio).anon_exclusive.get(0);
        if !reuse {
            // folio_lock() sleeps when someone else holds the lock.
            if self.folio(folio).locked {
                return Err(FaultError::Blocked);
            }
            self.try_folio_free_swap(folio);
            if self.folio(folio).refcount == 1 {
                self.folio_mut(folio).anon_exclusive.set(0, true);
                reuse = true;
            }
        }
        if reuse {
            if !kind.unshare {
                self.wp_page_reuse(p, start, vma);
            }
            return Ok(());
        }
        self.split_pmd(p, page);
        self.handle_fault(p, page, kind)
    }

    /// `__split_huge_pmd_locked()` without freezing: the PMD leaf covering
    /// `page` becomes 512 PTEs carrying its bits (the huge zero page
    /// becomes 512 zero-page PTEs that keep only uffd-wp). The folio stays
    /// large; each PTE takes a reference and a mapcount, and an exclusive
    /// PMD mapping makes every page `PageAnonExclusive`.
    pub fn split_pmd(&mut self, p: usize, page: u64) {
        let start = World::pmd_start(page);
        let Some(first) = self.entry(p, start) else {
            return;
        };
        if !is_pmd_leaf(&first) {
            return;
        }
        let Entry::Present { target, bits, .. } = first else {
            self.split_non_present_pmd(p, start, first);
            return;
        };
        self.invalidate(p, start, start + NR, crate::device::Inval::Clear);
        self.mm_mut(p).pt.clear_leaf(start);
        match target {
            Target::HugeZero { .. } => {
                let zb = PteBits {
                    young: true,
                    uffd_wp: bits.uffd_wp,
                    ..PteBits::default()
                };
                for i in 0..NR {
                    self.set_pte(p, start + i, pte(Target::Zero, zb));
                }
            }
            Target::Folio { folio, .. } => {
                let mut pb = bits;
                if bits.dirty {
                    mkdirty(&mut pb);
                }
                let f = self.folio_mut(folio);
                f.dirty |= bits.dirty;
                let exclusive = f.anon_exclusive.get(0);
                if exclusive {
                    f.anon_exclusive.set_all(true);
                }
                // Remove the PMD rmap; the 512 PTE rmaps come from set_pte,
                // whose references replace the PMD's one.
                f.mapcount -= 1;
                f.entire_mapcount -= 1;
                f.refcount -= 1;
                for i in 0..PMD_PAGES {
                    self.set_pte(
                        p,
                        start + i as u64,
                        pte(Target::Folio { folio, page: i }, pb),
                    );
                }
            }
            _ => {}
        }
    }

    /// `__split_huge_pmd_locked()` of a PMD migration entry or a PMD
    /// device-private entry: 512 PTE entries of the same kind and bits. A
    /// migration entry holds no mapping; a device-private PMD's mapping
    /// becomes 512 PTE mappings (a reference and a mapcount each), and an
    /// exclusive PMD makes every page exclusive.
    fn split_non_present_pmd(&mut self, p: usize, start: u64, first: Entry) {
        self.invalidate(p, start, start + NR, crate::device::Inval::Clear);
        self.mm_mut(p).pt.clear_leaf(start);
        if let Entry::DevicePrivate {
            target: Target::Folio { folio, .. },
            ..
        } = first
        {
            let f = self.folio_mut(folio);
            if f.anon_exclusive.get(0) {
                f.anon_exclusive.set_all(true);
            }
            // The PMD's mapping and reference are replaced by set_pte's.
            f.mapcount -= 1;
            f.entire_mapcount -= 1;
            f.refcount -= 1;
        }
        for i in 0..PMD_PAGES {
            self.set_pte(p, start + i as u64, at_pte_level(first.advanced(i)));
        }
    }

    /// `split_folio()` of a large anon folio into order-0 folios
    /// (`split_huge_page_to_list_to_order`). Refused (`None`) when the folio
    /// is locked by someone else or holds references beyond its mappings
    /// and swap cache (`can_split_folio`). PMD mappings are split first.
    /// Pages that end up unmapped are freed. Returns the surviving pieces.
    pub fn split_folio(&mut self, folio: FolioId) -> Option<Vec<FolioId>> {
        let f = self.folio(folio);
        if !f.is_large() {
            return Some(vec![folio]);
        }
        // Large folios never enter the swap or page cache in this model
        // (reclaim splits first; page-cache folios are small), so the
        // only references a splittable folio may hold are its mappings.
        let extra_refs = f.refcount != f.mapcount;
        #[cfg(feature = "planted")]
        let extra_refs = extra_refs
            && !(planted!(ThpSplitDropsPincount) && f.refcount - f.pincount == f.mapcount);
        if f.locked || f.swapcache.is_some() || f.mapping.is_some() || extra_refs {
            return None;
        }
        for (q, page) in self.mappers(folio) {
            if page % NR == 0 && self.pmd_leaf_at(q, page).is_some() {
                self.split_pmd(q, page);
            }
        }
        // The head keeps its id: its slot is overwritten below.
        let old = self.folios[&folio].clone();
        let mut pieces = Vec::new();
        let nr = old.nr_pages() as usize;
        let mut ids = Vec::with_capacity(nr);
        for i in 0..nr {
            // The head keeps its id; tails get fresh ones.
            let id = if i == 0 { folio } else { self.fresh_folio_id() };
            ids.push(id);
            self.folios.insert(id, old.piece(id, i));
        }
        // Re-point every PTE-level mapping (present, device-private,
        // device-exclusive) at its piece and count the mappings anew.
        for mm in self.procs.iter_mut().flatten() {
            for run in mm.pt.runs_of(folio) {
                mm.pt.modify(run.page, |e| {
                    let target = match e {
                        Entry::Present {
                            level: Level::Pte,
                            target,
                            ..
                        }
                        | Entry::DevicePrivate {
                            level: Level::Pte,
                            target,
                            ..
                        }
                        | Entry::DeviceExclusive { target, .. } => target,
                        _ => return,
                    };
                    if let Target::Folio {
                        folio: f,
                        page: sub,
                    } = target
                    {
                        if *f == folio {
                            *f = ids[*sub as usize];
                            *sub = 0;
                        }
                    }
                });
            }
        }
        // Device page tables point at pages, not folios: each entry follows
        // its page into the piece.
        for dev in &mut self.devices {
            for m in dev.mirrors.values_mut() {
                m.repoint(folio, |r| match r {
                    PageRef::Folio { page: sub, .. } => PageRef::Folio {
                        folio: ids[sub as usize],
                        page: 0,
                    },
                    other => other,
                });
            }
        }
        for &id in &ids {
            let maps = self.mappers(id).len() as i64;
            let piece = self.folio_mut(id);
            piece.mapcount = maps;
            piece.refcount = maps;
            if maps == 0 {
                self.free_folio(id);
            } else {
                pieces.push(id);
            }
        }
        Some(pieces)
    }

    /// The `split-thp` op on the folio mapped at `page`.
    pub fn split_thp_at(&mut self, p: usize, page: u64) -> Result<(), Errno> {
        let (folio, _) = self.folio_at(p, page).ok_or(Errno::EINVAL)?;
        // Device folios split only through migration (folio_split callback).
        if !self.folio(folio).is_large() || matches!(self.folio(folio).memory, Memory::Device(_)) {
            return Err(Errno::EINVAL);
        }
        if self.folio(folio).locked {
            return Err(Errno::EBUSY);
        }
        self.split_folio(folio).map(|_| ()).ok_or(Errno::EAGAIN)
    }

    /// `MADV_COLLAPSE` over `[start, end)` of process `p`: every PMD block
    /// fully inside the range is collapsed into a fresh THP. Returns the
    /// error of the last block that failed (`madvise_collapse_errno`).
    pub fn madvise_collapse(&mut self, p: usize, start: u64, end: u64) -> Result<(), Errno> {
        let first = start.div_ceil(NR) * NR;
        let mut last_fail = None;
        let mut s = first;
        while s + NR <= end {
            if let Err(e) = self.collapse_block(p, s) {
                last_fail = Some(e);
            }
            s += NR;
        }
        last_fail.map_or(Ok(()), Err)
    }

    /// `collapse_huge_page()` for the block at `s`.
    fn collapse_block(&mut self, p: usize, s: u64) -> Result<(), Errno> {
        let Some(vma) = self.vma_at(p, s) else {
            return Err(Errno::EINVAL);
        };
        if vma.kind != VmaKind::AnonPrivate || vma.hint == HugeHint::NoHuge || s + NR > vma.end {
            return Err(Errno::EINVAL);
        }
        if self.pmd_leaf_at(p, s).is_some() {
            return Ok(()); // SCAN_PMD_MAPPED
        }
        if self.pmd_block_empty(p, s) {
            return Err(Errno::EINVAL); // SCAN_PMD_NULL
        }
        // __collapse_huge_page_swapin: swap entries are read in first.
        for page in s..s + NR {
            if matches!(self.entry(p, page), Some(Entry::Swap { .. })) {
                self.do_swap_page(p, page, &vma, FaultKind::READ)
                    .map_err(|e| match e {
                        FaultError::Oom => Errno::ENOMEM,
                        _ => Errno::EAGAIN,
                    })?;
            }
        }
        // hpage_collapse_scan_pmd / __collapse_huge_page_isolate.
        let mut values = Contents::zeroed(PMD_PAGES);
        for (i, page) in (s..s + NR).enumerate() {
            match self.entry(p, page) {
                None
                | Some(Entry::Present {
                    target: Target::Zero,
                    ..
                }) => {}
                Some(e @ Entry::Present { bits, .. }) => {
                    if bits.uffd_wp {
                        return Err(Errno::EINVAL); // SCAN_PTE_UFFD_WP
                    }
                    let Some((folio, sub)) = entry_folio(&e) else {
                        return Err(Errno::EINVAL);
                    };
                    let f = self.folio(folio);
                    if f.locked {
                        return Err(Errno::EAGAIN); // SCAN_PAGE_LOCK
                    }
                    let swapcache = if f.swapcache.is_some() {
                        f.nr_pages() as i64
                    } else {
                        0
                    };
                    if f.refcount != f.mapcount + swapcache {
                        return Err(Errno::EAGAIN); // SCAN_PAGE_COUNT
                    }
                    values.set(i, f.contents.get(sub as usize));
                }
                Some(Entry::Swap { .. }) => return Err(Errno::EAGAIN),
                // SCAN_PTE_NON_PRESENT (default errno).
                Some(_) => return Err(Errno::EINVAL),
            }
        }
        let folio = self.alloc_folio(vma.zone, 9).ok_or(Errno::ENOMEM)?;
        self.zap_range(p, s, s + NR);
        self.folio_mut(folio).contents = values;
        self.map_new_thp(p, s, &vma, folio);
        Ok(())
    }
}
