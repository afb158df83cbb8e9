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
        self.folio_mut(folio).anon_exclusive[0] = true;
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
    /// zeroed THP (`vma_alloc_anon_folio_pmd`, whatever the VMA's hint is
    /// now); without one, or before Linux 6.13 (`do_huge_pmd_wp_page`
    /// falls back for the huge zero page), the PMD is split into
    /// zero-page PTEs and the PTE fault proceeds.
    fn do_huge_zero_wp_pmd(
        &mut self,
        p: usize,
        page: u64,
        vma: &VmaState,
        kind: FaultKind,
    ) -> FaultResult {
        let start = World::pmd_start(page);
        // No THP policy check here: the huge zero page was mapped under
        // the policy, and MADV_NOHUGEPAGE since then does not matter.
        let suitable = vma.start <= start && start + NR <= vma.end;
        let thp = self.cfg.kernel.thp_on_huge_zero_write();
        if kind.write && !kind.unshare && suitable && thp {
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
        let mut reuse = self.folio(folio).anon_exclusive[0];
        if !reuse {
            // folio_lock() sleeps when someone else holds the lock.
            if self.folio(folio).locked {
                return Err(FaultError::Blocked);
            }
            self.try_folio_free_swap(folio);
            if self.folio(folio).refcount == 1 {
                self.folio_mut(folio).anon_exclusive[0] = true;
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
        let mm = self.mm_mut(p);
        for i in 0..NR {
            mm.ptes.remove(&(start + i));
        }
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
                let exclusive = f.anon_exclusive[0];
                if exclusive {
                    f.anon_exclusive.iter_mut().for_each(|x| *x = true);
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
        let mm = self.mm_mut(p);
        for i in 0..NR {
            mm.ptes.remove(&(start + i));
        }
        if let Entry::DevicePrivate {
            target: Target::Folio { folio, .. },
            ..
        } = first
        {
            let f = self.folio_mut(folio);
            if f.anon_exclusive[0] {
                f.anon_exclusive.iter_mut().for_each(|x| *x = true);
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
        if f.locked || f.swapcache.is_some() || f.mapping.is_some() || f.refcount != f.mapcount {
            return None;
        }
        self.invalidate_folio_mappings(folio);
        for (q, page) in self.mappers(folio) {
            if page % NR == 0 && self.pmd_leaf_at(q, page).is_some() {
                self.split_pmd(q, page);
            }
        }
        let old = self.folios.remove(&folio).expect("live folio");
        let mut pieces = Vec::new();
        let mut ids = Vec::with_capacity(old.contents.len());
        for i in 0..old.contents.len() {
            // The head keeps its id; tails get fresh ones.
            let id = if i == 0 { folio } else { self.fresh_folio_id() };
            ids.push(id);
            let mut piece = old.clone();
            piece.id = id;
            piece.order = 0;
            piece.refcount = 0;
            piece.mapcount = 0;
            piece.entire_mapcount = 0;
            piece.pincount = 0;
            piece.anon_exclusive = vec![old.anon_exclusive[i]];
            piece.contents = vec![old.contents[i]];
            self.folios.insert(id, piece);
        }
        // Re-point every PTE-level mapping (present, device-private,
        // device-exclusive) at its piece and count the mappings anew.
        for mm in self.procs.iter_mut().flatten() {
            for e in mm.ptes.values_mut() {
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
                    _ => continue,
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
            }
        }
        // Device page tables point at pages, not folios: each entry follows
        // its page into the piece.
        for dev in &mut self.devices {
            for m in dev.mirrors.values_mut() {
                for (target, _) in m.values_mut() {
                    if let PageRef::Folio {
                        folio: f,
                        page: sub,
                    } = target
                    {
                        if *f == folio {
                            *f = ids[*sub as usize];
                            *sub = 0;
                        }
                    }
                }
            }
        }
        for &id in &ids {
            let maps = self.mappers(id).len() as i64;
            let piece = self.folio_mut(id);
            piece.mapcount = maps;
            piece.refcount = maps;
            if maps == 0 {
                self.free_folio(id);
            } else if !self.map_unused_to_zeropage(id) {
                pieces.push(id);
            }
        }
        Some(pieces)
    }

    /// Whether something besides page tables holds `folio`: a GUP handle,
    /// an IOMMU preregistration, a lock holder. (A device page table holds
    /// no reference: test_hmm relies on invalidations, and the split's own
    /// unmap has dropped its entries.)
    fn held_elsewhere(&self, folio: FolioId) -> bool {
        let names = |r: &PageRef| matches!(r, PageRef::Folio { folio: f, .. } if *f == folio);
        self.handles
            .iter()
            .flatten()
            .any(|h| h.pages.iter().any(names))
            || self
                .iommu
                .iter()
                .flatten()
                .any(|i| i.pages.iter().any(names))
            || self.locks.iter().flatten().any(|l| l.folio == folio)
    }

    /// `unmap_folio()` before a split: `try_to_migrate` visits every VMA
    /// that maps the folio and brackets it with an `MMU_NOTIFY_CLEAR` over
    /// the folio's extent there (`vma_address` .. `vma_address_end`, within
    /// the VMA), so device mirrors drop their entries for it.
    fn invalidate_folio_mappings(&mut self, folio: FolioId) {
        let nr = self.folio(folio).nr_pages();
        let mut ranges = std::collections::BTreeSet::new();
        for (q, page) in self.mappers(folio) {
            let Some((_, sub)) = self.entry(q, page).and_then(|e| e.folio_page()) else {
                continue;
            };
            let Some(v) = self.vma_at(q, page) else {
                continue;
            };
            let first = page.saturating_sub(u64::from(sub));
            ranges.insert((q, first.max(v.start), (first + nr).min(v.end)));
        }
        for (q, start, end) in ranges {
            self.invalidate(q, start, end, crate::device::Inval::Clear);
        }
    }

    /// `remap_page(RMP_USE_SHARED_ZEROPAGE)` after an anonymous folio was
    /// split (Linux 6.12+): a piece that holds only zeros is mapped to the
    /// shared zero page in every PTE that mapped it, keeping the PTE's
    /// soft-dirty and uffd-wp bits (`try_to_map_unused_to_zeropage`), and
    /// is freed. Returns whether it was. Device folios keep their pages
    /// (`folio_is_device_private`), and so, in the models, do pieces
    /// mapped by other than present PTEs or held by anything else.
    fn map_unused_to_zeropage(&mut self, piece: FolioId) -> bool {
        let f = self.folio(piece);
        if !f.anon || matches!(f.memory, Memory::Device(_)) || f.contents[0] != 0 {
            return false;
        }
        // Split needs no references beyond the mappings, so nothing else
        // holds a piece; a piece something does hold keeps its page.
        if self.held_elsewhere(piece) {
            return false;
        }
        let mut ptes = Vec::new();
        for (p, page) in self.mappers(piece) {
            match self.entry(p, page) {
                Some(Entry::Present {
                    level: Level::Pte,
                    bits,
                    ..
                }) => ptes.push((p, page, bits)),
                _ => return false,
            }
        }
        for (p, page, bits) in ptes {
            self.clear_pte(p, page);
            let zero = PteBits {
                young: true,
                soft_dirty: bits.soft_dirty,
                uffd_wp: bits.uffd_wp,
                ..PteBits::default()
            };
            self.set_pte(p, page, pte(Target::Zero, zero));
        }
        true
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

    /// `MADV_COLLAPSE` over `[start, end)` of process `p`, VMA by VMA
    /// (`madvise_walk_vmas`), stopping at the first VMA that fails.
    pub fn madvise_collapse(&mut self, p: usize, start: u64, end: u64) -> Result<(), Errno> {
        for vma in self.vmas_in(p, start, end) {
            self.madvise_collapse_vma(&vma, p, vma.start.max(start), vma.end.min(end))?;
        }
        Ok(())
    }

    /// `madvise_collapse()` on the part `[s, e)` of one VMA: `EINVAL` up
    /// front unless the VMA may hold a PMD-order THP at all
    /// (`thp_vma_allowable_order`, `TVA_FORCED_COLLAPSE`), then every PMD
    /// block fully inside the part is collapsed into a fresh THP; the error
    /// of the last block that failed (`madvise_collapse_errno`) unless all
    /// `(hend - hstart) >> HPAGE_PMD_SHIFT` blocks succeeded.
    fn madvise_collapse_vma(
        &mut self,
        vma: &VmaState,
        p: usize,
        s: u64,
        e: u64,
    ) -> Result<(), Errno> {
        if !collapse_allowed(vma) {
            return Err(Errno::EINVAL);
        }
        let (hstart, hend) = (s.div_ceil(NR) * NR, e / NR * NR);
        // A part inside one block that reaches no block boundary: the
        // block count `(hend - hstart) >> HPAGE_PMD_SHIFT` wraps and is
        // never met, so the call fails with its initial SCAN_FAIL.
        if hstart > hend {
            return Err(Errno::EINVAL);
        }
        let mut last_fail = None;
        let mut block = hstart;
        while block < hend {
            match self.collapse_block(p, block) {
                Ok(()) => {}
                Err(Refused::Next(err)) => last_fail = Some(err),
                Err(Refused::Stop(err)) => return Err(err),
            }
            block += NR;
        }
        last_fail.map_or(Ok(()), Err)
    }

    /// `collapse_huge_page()` for the block at `s`.
    fn collapse_block(&mut self, p: usize, s: u64) -> Result<(), Refused> {
        use Refused::{Next, Stop};
        let Some(vma) = self.vma_at(p, s) else {
            return Err(Stop(Errno::EINVAL));
        };
        if vma.kind != VmaKind::AnonPrivate || vma.hint == HugeHint::NoHuge || s + NR > vma.end {
            return Err(Stop(Errno::EINVAL));
        }
        if self.pmd_leaf_at(p, s).is_some() {
            return Ok(()); // SCAN_PMD_MAPPED
        }
        // No PTE table under a PMD table (a VMA with an anon_vma had a
        // fault, so the PMD table is there): SCAN_PMD_NONE.
        if self.pmd_block_empty(p, s) {
            return Err(Stop(Errno::EINVAL));
        }
        // __collapse_huge_page_swapin: swap entries are read in first.
        for page in s..s + NR {
            if matches!(self.entry(p, page), Some(Entry::Swap { .. })) {
                self.do_swap_page(p, page, &vma, FaultKind::READ)
                    .map_err(swapin_failed)?;
            }
        }
        // Before 6.19 device-private and device-exclusive entries pass
        // `is_swap_pte` too: the scan counts them, and only a block that
        // passes it has them faulted back (`do_swap_page`) and is checked
        // again (`__collapse_huge_page_isolate`).
        let swaps_in_device_entries = !self.cfg.kernel.collapse_refuses_non_swap_entries();
        let mut device_entries = Vec::new();
        // hpage_collapse_scan_pmd / __collapse_huge_page_isolate.
        let mut values = vec![0u64; PMD_PAGES as usize];
        let mut writable = false;
        for (i, page) in (s..s + NR).enumerate() {
            match self.entry(p, page) {
                None
                | Some(Entry::Present {
                    target: Target::Zero,
                    ..
                }) => {}
                Some(e @ Entry::Present { bits, .. }) => {
                    if bits.uffd_wp {
                        return Err(Next(Errno::EINVAL)); // SCAN_PTE_UFFD_WP
                    }
                    writable |= bits.write;
                    let Some((folio, sub)) = entry_folio(&e) else {
                        return Err(Next(Errno::EINVAL)); // SCAN_PAGE_NULL
                    };
                    let f = self.folio(folio);
                    if matches!(f.memory, Memory::Device(_)) {
                        return Err(Next(Errno::EINVAL)); // SCAN_PAGE_NULL (zone device)
                    }
                    if f.locked {
                        return Err(Next(Errno::EAGAIN)); // SCAN_PAGE_LOCK
                    }
                    let swapcache = if f.swapcache.is_some() {
                        f.nr_pages() as i64
                    } else {
                        0
                    };
                    if f.refcount != f.mapcount + swapcache {
                        return Err(Next(Errno::EAGAIN)); // SCAN_PAGE_COUNT
                    }
                    values[i] = f.contents[sub as usize];
                }
                Some(Entry::DevicePrivate { .. } | Entry::DeviceExclusive { .. })
                    if swaps_in_device_entries =>
                {
                    device_entries.push(page);
                }
                Some(Entry::Swap { .. }) => return Err(Next(Errno::EAGAIN)),
                // SCAN_PTE_NON_PRESENT (default errno).
                Some(_) => return Err(Next(Errno::EINVAL)),
            }
        }
        // SCAN_PAGE_RO before the check went (no PTE of the block
        // writable, as after fork).
        if !writable && !self.cfg.kernel.collapses_read_only_ptes() {
            return Err(Next(Errno::EINVAL));
        }
        if !device_entries.is_empty() {
            for page in device_entries {
                self.handle_fault(p, page, FaultKind::READ)
                    .map_err(swapin_failed)?;
            }
            let back = (s..s + NR).all(|page| {
                !matches!(
                    self.entry(p, page),
                    Some(Entry::DevicePrivate { .. } | Entry::DeviceExclusive { .. })
                )
            });
            if !back {
                return Err(Stop(Errno::EAGAIN));
            }
            return self.collapse_block(p, s);
        }
        // SCAN_ALLOC_HUGE_PAGE_FAIL ends the walk.
        let folio = self.alloc_folio(vma.zone, 9).ok_or(Stop(Errno::ENOMEM))?;
        self.zap_range(p, s, s + NR);
        self.folio_mut(folio).contents = values;
        self.map_new_thp(p, s, &vma, folio);
        Ok(())
    }
}

/// A fault of `__collapse_huge_page_swapin` failed: `SCAN_FAIL` ends the
/// call (`ENOMEM` when out of memory).
fn swapin_failed(e: FaultError) -> Refused {
    match e {
        FaultError::Oom => Refused::Stop(Errno::ENOMEM),
        _ => Refused::Stop(Errno::EAGAIN),
    }
}

/// Why `madvise_collapse()` did not collapse a block, and whether it goes
/// on with the next one: the scan results it whitelists (locked or
/// referenced pages, uffd-wp and non-present entries) go on, the others
/// (no PTE table, no huge page) end the call.
enum Refused {
    Next(Errno),
    Stop(Errno),
}

/// `__thp_vma_allowable_orders()` for a forced collapse of PMD order: an
/// anonymous private VMA (file and shmem collapse are not modelled) without
/// `VM_NOHUGEPAGE` (`vma_thp_disabled`) that can hold an aligned PMD block
/// (`thp_vma_suitable_order` at the VMA's end) and has an anon_vma (only
/// page faults may go on without one).
fn collapse_allowed(vma: &VmaState) -> bool {
    vma.kind == VmaKind::AnonPrivate
        && vma.hint != HugeHint::NoHuge
        && vma.start.div_ceil(NR) * NR + NR <= vma.end
        && vma.anon_vma
}
