//! Known differences between what the running kernel shows and what the
//! models do, that are not model bugs: each one is named, has a reason
//! (docs/semantics.md, "The kernel engine"), and is taken out of the
//! comparison by rewriting one of the two views the way the kernel would
//! show the oracle's state. Every page observation that a rewrite changed
//! is counted in [`crate::Report::explained`], so nothing is left out
//! silently.

use std::collections::BTreeMap;

use mmdiff_core::op::{ProcId, PMD_PAGES};

use crate::view::{Backing, Frame, PageState, View, VmaView};

/// One known difference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Explained {
    /// pagemap's "exclusively mapped" bit of every page of a PMD mapping
    /// is the first page's (Linux 6.15+, `pagemap_pmd_range` passes the
    /// first page to `__folio_page_mapped_exclusively` for all of them).
    PmdExclusiveFirstPage,
    /// A read fault on a file or shmem mapping also mapped neighbouring
    /// page-cache pages (`do_fault_around` → `filemap_map_pages`); the
    /// models map the faulting page only.
    FaultAround,
    /// khugepaged collapsed a `MADV_HUGEPAGE` block between two ops
    /// (`khugepaged_scan_mm_slot`): a kernel actor the op language does
    /// not have. The oracle collapses the same block (`MADV_COLLAPSE`)
    /// and the comparison goes on.
    Khugepaged,
    /// The kernel keeps two adjacent anonymous VMAs apart that the models
    /// merge: the kernel merges anonymous VMAs only when their page
    /// offsets are contiguous (a VMA moved by mremap keeps its old offset)
    /// and their anon_vmas are compatible, neither of which the models
    /// track (`is_mergeable_anon_vma`, `can_vma_merge_after`).
    AnonVmaMerge,
    /// An op emptied a PMD block and the kernel kept the block's empty PTE
    /// table (see [`empty_table_kept`]): the models free it, and a later
    /// fault there may map a PMD in the models and PTEs in the kernel.
    EmptyPageTable,
    /// A page-cache folio larger than a page: ext4 has large folios since
    /// Linux 6.16, and readahead makes them (PMD-sized under
    /// `MADV_HUGEPAGE`, `page_cache_ra_order`), which the kernel may map by
    /// a PMD (`filemap_map_pmd`); the models' page cache is order 0.
    LargePageCache,
    /// An observation caught a kernel thread in the middle of changing a
    /// page (a mapped page with no mapcount, while khugepaged collapses
    /// it); the kernel was observed again.
    Unsettled,
}

impl Explained {
    pub const ALL: [Explained; 7] = [
        Explained::PmdExclusiveFirstPage,
        Explained::FaultAround,
        Explained::Khugepaged,
        Explained::AnonVmaMerge,
        Explained::EmptyPageTable,
        Explained::LargePageCache,
        Explained::Unsettled,
    ];

    /// Whether the comparison of a sequence ends where this difference
    /// appears: it changes what later ops do in a way the views cannot
    /// follow (a VMA boundary or an empty page table only one side has).
    pub fn ends_comparison(self) -> bool {
        matches!(self, Explained::AnonVmaMerge | Explained::EmptyPageTable)
    }

    /// A short name for reports and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Explained::PmdExclusiveFirstPage => "pmd-exclusive",
            Explained::FaultAround => "fault-around",
            Explained::Khugepaged => "khugepaged",
            Explained::AnonVmaMerge => "anon-vma-merge",
            Explained::EmptyPageTable => "empty-page-table",
            Explained::LargePageCache => "large-page-cache",
            Explained::Unsettled => "unsettled",
        }
    }

    /// Why the difference is not a model bug.
    pub fn reason(self) -> &'static str {
        match self {
            Explained::PmdExclusiveFirstPage => {
                "pagemap bit 56 of a PMD-mapped page is the first page's (Linux 6.15+ pagemap_pmd_range); the oracle's bit is rewritten the same way"
            }
            Explained::FaultAround => {
                "fault-around mapped cached file pages next to a faulting one (do_fault_around, fault_around_bytes); those kernel-only mappings are not compared, nor their bytes in a device snapshot"
            }
            Explained::Khugepaged => {
                "khugepaged collapsed a MADV_HUGEPAGE block between ops; the oracle collapsed the same block (MADV_COLLAPSE) before the views were compared"
            }
            Explained::AnonVmaMerge => {
                "the kernel kept adjacent anonymous VMAs with equal attributes apart (page offsets not contiguous after mremap, or different anon_vmas) where the models merge them; the comparison of the sequence ended there (fork, THP faults and mremap depend on VMA boundaries)"
            }
            Explained::EmptyPageTable => {
                "an op emptied a PMD block and the kernel kept its empty PTE table (tables are freed only with no VMA left in the block, or by MADV_DONTNEED of the whole block under CONFIG_PT_RECLAIM), the models free it; the comparison of the sequence ended there (a later fault may map a PMD only in the models)"
            }
            Explained::LargePageCache => {
                "a page-cache folio larger than a page (ext4 large folios, readahead); its pages are compared as the models' order-0 page-cache folios mapped by PTEs"
            }
            Explained::Unsettled => {
                "the kernel was observed while a kernel thread changed a page (a mapped page with mapcount 0); it was observed again"
            }
        }
    }
}

/// Counts of page observations each known difference changed.
pub type Counts = BTreeMap<Explained, u64>;

/// Whether the kernel `release` (`6.18.44-...`) reports pagemap's
/// exclusive bit of a PMD mapping from its first page: since 6.15.
pub fn pmd_exclusive_from_first_page(release: &str) -> bool {
    let mut numbers = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|n| n.parse::<u32>().ok());
    match (numbers.next().flatten(), numbers.next().flatten()) {
        (Some(major), Some(minor)) => (major, minor) >= (6, 15),
        _ => false,
    }
}

/// Rewrites the exclusive bit of every PMD-mapped folio page of `view`
/// (a projection of the oracle, with per-page bits) to the bit of the
/// page at the start of its PMD, as pagemap reports it; returns how many
/// bits changed.
pub fn pmd_exclusive_as_pagemap(view: &mut View) -> u64 {
    let mut changed = 0;
    for p in &mut view.procs {
        // The bit of the page at each PMD's start, by the PMD's first page.
        let firsts: BTreeMap<u64, bool> = p
            .pages
            .iter()
            .filter(|pg| pg.page.is_multiple_of(PMD_PAGES as u64))
            .filter_map(|pg| match pg.state {
                PageState::Present {
                    pmd: true,
                    frame: Frame::Folio { exclusive, .. },
                } => Some((pg.page, exclusive)),
                _ => None,
            })
            .collect();
        for pg in &mut p.pages {
            let pmd_start = pg.page - pg.page % PMD_PAGES as u64;
            if let PageState::Present {
                pmd: true,
                frame: Frame::Folio { exclusive, .. },
            } = &mut pg.state
            {
                if let Some(&first) = firsts.get(&pmd_start) {
                    if *exclusive != first {
                        *exclusive = first;
                        changed += 1;
                    }
                }
            }
        }
    }
    changed
}

/// The PMD blocks (process, first absolute page) that khugepaged
/// collapsed: the kernel maps a whole anonymous order-9 folio there with
/// a PMD and nowhere else, in a `MADV_HUGEPAGE` VMA (khugepaged's
/// condition under the `madvise` policy), and the oracle maps no PMD
/// there.
pub fn khugepaged_collapses(oracle: &View, kernel: &View) -> Vec<(ProcId, u64)> {
    let mut out = Vec::new();
    for k in &kernel.procs {
        let o = oracle.procs.iter().find(|o| o.id == k.id);
        for pg in &k.pages {
            // A collapse makes a fresh folio: mapped once, by this PMD.
            let fresh_thp = matches!(
                pg.state,
                PageState::Present {
                    pmd: true,
                    frame: Frame::Folio {
                        order: 9,
                        page: 0,
                        anon: true,
                        mapcount: 1,
                        ..
                    },
                }
            );
            if !fresh_thp || !pg.page.is_multiple_of(PMD_PAGES as u64) {
                continue;
            }
            let advised = k.vmas.iter().any(|v| {
                v.start <= pg.page
                    && pg.page < v.end
                    && v.hint == mmdiff_core::state::HugeHint::Huge
            });
            let oracle_pmd = o.is_some_and(|o| {
                o.pages.iter().any(|x| {
                    x.page == pg.page && matches!(x.state, PageState::Present { pmd: true, .. })
                })
            });
            if advised && !oracle_pmd {
                out.push((k.id, pg.page));
            }
        }
    }
    out
}

/// Merges adjacent private anonymous VMAs of one window whose attributes
/// are equal (the models' merge rule for them, `VM_SOFTDIRTY` OR-ed);
/// returns how many boundaries went away.
pub fn coalesce_anon_vmas(view: &mut View, window_pages: u32) -> u64 {
    let w = window_pages.max(1) as u64;
    let mut removed = 0;
    for p in &mut view.procs {
        let mut out: Vec<VmaView> = Vec::with_capacity(p.vmas.len());
        for v in p.vmas.drain(..) {
            if let Some(prev) = out.last_mut() {
                let same = prev.end == v.start
                    && prev.start / w == v.start / w
                    && prev.backing == Backing::AnonPrivate
                    && v.backing == Backing::AnonPrivate
                    && (prev.prot, prev.hint, prev.dontfork) == (v.prot, v.hint, v.dontfork);
                if same {
                    prev.end = v.end;
                    prev.soft_dirty = prev.soft_dirty.zip(v.soft_dirty).map(|(a, b)| a || b);
                    removed += 1;
                    continue;
                }
            }
            out.push(v);
        }
        p.vmas = out;
    }
    removed
}

/// Rewrites every page of a page-cache folio larger than a page as its
/// own order-0 folio mapped by a PTE, with the exclusive bit of its own
/// mapcount (what the models' order-0 page cache shows); returns how many
/// pages were rewritten.
pub fn split_page_cache_folios(view: &mut View) -> u64 {
    let mut changed = 0;
    for p in &mut view.procs {
        for pg in &mut p.pages {
            if let PageState::Present {
                pmd,
                frame:
                    Frame::Folio {
                        folio,
                        page,
                        order,
                        anon: false,
                        mapcount,
                        exclusive,
                    },
            } = &mut pg.state
            {
                if *order > 0 {
                    // A name no other folio has; `canonical` renames it.
                    *folio = (1 << 40) + (*folio << 10) + u64::from(*page);
                    *page = 0;
                    *order = 0;
                    *pmd = false;
                    *exclusive = *mapcount == 1;
                    changed += 1;
                }
            }
        }
    }
    if changed > 0 {
        *view = view.canonical();
    }
    changed
}

/// Whether `view` shows a page in the middle of a change: a present folio
/// page that no page table maps (mapcount 0).
pub fn unsettled(view: &View) -> bool {
    view.procs.iter().flat_map(|p| &p.pages).any(|pg| {
        matches!(
            pg.state,
            PageState::Present {
                frame: Frame::Folio { mapcount: 0, .. },
                ..
            }
        )
    })
}

/// Whether an op left the kernel with an empty PTE table that the models
/// do not have: some process had an entry in a PMD block before the op
/// and has none after it, and the kernel kept the block's page table. The
/// kernel frees an emptied PTE table only in two cases: no VMA overlaps
/// the block any more (`unmap_region` → `free_pgtables`, also for the old
/// range of an mremap move), or `MADV_DONTNEED` zapped the whole block
/// inside one VMA (`CONFIG_PT_RECLAIM`: `zap_pte_range` reclaims the table
/// when `reclaim_pt_is_enabled`, a zap range of at least `PMD_SIZE`).
/// `dontneed` is the op's `MADV_DONTNEED` range, if it is one: process and
/// absolute `[start, end)`.
pub fn empty_table_kept(
    before: &mmdiff_core::State,
    after: &mmdiff_core::State,
    dontneed: Option<(ProcId, u64, u64)>,
) -> bool {
    let n = PMD_PAGES as u64;
    let blocks = |p: &mmdiff_core::state::ProcState| -> std::collections::BTreeSet<u64> {
        p.entries
            .iter()
            .flat_map(|r| r.start..r.start + u64::from(r.len))
            .map(|page| page / n)
            .collect()
    };
    let overlaps = |vmas: &[mmdiff_core::state::VmaState], block: u64| {
        vmas.iter()
            .any(|v| v.start < (block + 1) * n && block * n < v.end)
    };
    before.procs.iter().any(|old| {
        let Some(new) = after.procs.iter().find(|x| x.id == old.id) else {
            return false;
        };
        let left = blocks(new);
        blocks(old)
            .into_iter()
            .filter(|b| !left.contains(b))
            .any(|b| {
                let (first, past) = (b * n, (b + 1) * n);
                let reclaimed = dontneed.is_some_and(|(p, start, end)| {
                    p == old.id
                        && start <= first
                        && past <= end
                        && old.vmas.iter().any(|v| v.start <= first && past <= v.end)
                });
                overlaps(&new.vmas, b) && !reclaimed
            })
    })
}

/// The pages of `before` that are not in `after`, per process: what a
/// rewrite of a view took out.
pub fn removed_pages(before: &View, after: &View) -> std::collections::BTreeSet<(ProcId, u64)> {
    let mut out = std::collections::BTreeSet::new();
    for p in &before.procs {
        let kept: std::collections::BTreeSet<u64> = after
            .procs
            .iter()
            .filter(|a| a.id == p.id)
            .flat_map(|a| a.pages.iter().map(|pg| pg.page))
            .collect();
        out.extend(
            p.pages
                .iter()
                .filter(|pg| !kept.contains(&pg.page))
                .map(|pg| (p.id, pg.page)),
        );
    }
    out
}

/// A `dev-snapshot` (`HMM_DMIRROR_SNAPSHOT`, a walk without faults) also
/// reports the pages fault-around mapped, which the models never map:
/// the kernel's bytes of those pages (`kernel_only`, the pages the
/// fault-around rewrite took out of the kernel's view) are replaced by
/// the oracle's. Returns the outcome to compare and how many bytes
/// changed; any other op's outcome is returned as it is.
pub fn snapshot_without_fault_around(
    op: &mmdiff_core::Op,
    oracle: &mmdiff_core::outcome::Outcome,
    kernel: &crate::exec::KernelOutcome,
    kernel_only: &std::collections::BTreeSet<(ProcId, u64)>,
    config: &mmdiff_core::Config,
) -> (crate::exec::KernelOutcome, u64) {
    use crate::exec::KernelOutcome;
    use mmdiff_core::outcome::{Outcome, Payload};
    let unchanged = (kernel.clone(), 0);
    let mmdiff_core::Op::DevSnapshot { p, range, .. } = op else {
        return unchanged;
    };
    let Some((start, _)) = config.abs_range(range) else {
        return unchanged;
    };
    let (
        Outcome::Ok(Payload::Snapshot(theirs)),
        KernelOutcome::Done(Outcome::Ok(Payload::Snapshot(ours))),
    ) = (oracle, kernel)
    else {
        return unchanged;
    };
    let mut bytes = ours.clone();
    let mut changed = 0;
    for (i, (b, o)) in bytes.iter_mut().zip(theirs).enumerate() {
        if b != o && kernel_only.contains(&(*p, start + i as u64)) {
            *b = *o;
            changed += 1;
        }
    }
    (
        KernelOutcome::Done(Outcome::Ok(Payload::Snapshot(bytes))),
        changed,
    )
}

/// Pages an op faulted in directly, per process: `[start, end)` absolute.
pub type Accessed = Vec<(ProcId, u64, u64)>;

/// Removes from `kernel` the page-cache pages that fault-around mapped:
/// present pages of file or shmem VMAs, holding a page-cache (not
/// anonymous) folio, that the oracle's `oracle` view does not map and
/// that the last op did not access itself (`accessed`: those must agree
/// page for page). The frames' mapcounts elsewhere drop by the removed
/// mappings and their exclusive bits follow. Returns the view and the
/// number of pages removed.
pub fn strip_fault_around(kernel: &View, oracle: &View, accessed: &Accessed) -> (View, u64) {
    let mut removed: BTreeMap<(u64, u32), u64> = BTreeMap::new();
    let mut out = kernel.clone();
    for p in &mut out.procs {
        let mapped_by_oracle: Vec<u64> = oracle
            .procs
            .iter()
            .find(|o| o.id == p.id)
            .map(|o| o.pages.iter().map(|pg| pg.page).collect())
            .unwrap_or_default();
        let vmas = p.vmas.clone();
        p.pages.retain(|pg| {
            let file_vma = vmas.iter().any(|v| {
                v.start <= pg.page
                    && pg.page < v.end
                    && !matches!(v.backing, Backing::AnonPrivate | Backing::Other(_))
            });
            let cache_page = match pg.state {
                PageState::Present {
                    pmd: false,
                    frame:
                        Frame::Folio {
                            folio,
                            page,
                            anon: false,
                            ..
                        },
                } => Some((folio, page)),
                _ => None,
            };
            let was_accessed = accessed
                .iter()
                .any(|&(who, s, e)| who == p.id && s <= pg.page && pg.page < e);
            match cache_page {
                Some(frame)
                    if file_vma
                        && !was_accessed
                        && mapped_by_oracle.binary_search(&pg.page).is_err() =>
                {
                    *removed.entry(frame).or_insert(0) += 1;
                    false
                }
                _ => true,
            }
        });
    }
    let count = removed.values().sum();
    if count == 0 {
        return (out, 0);
    }
    for p in &mut out.procs {
        for pg in &mut p.pages {
            if let PageState::Present {
                pmd,
                frame:
                    Frame::Folio {
                        folio,
                        page,
                        mapcount,
                        exclusive,
                        ..
                    },
            } = &mut pg.state
            {
                if let Some(n) = removed.get(&(*folio, *page)) {
                    *mapcount = mapcount.saturating_sub(*n);
                    if !*pmd {
                        *exclusive = *mapcount == 1;
                    }
                }
            }
        }
    }
    (out.canonical(), count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_takes_the_oracle_bytes_of_fault_around_pages_only() {
        use crate::exec::KernelOutcome;
        use mmdiff_core::op::{DevId, PageRange, SlotId};
        use mmdiff_core::outcome::{Outcome, Payload};
        let config = mmdiff_core::Config::default();
        let range = PageRange::new(SlotId(0), 4, 7);
        let op = mmdiff_core::Op::DevSnapshot {
            d: DevId(0),
            p: ProcId(0),
            range,
        };
        let start = config.abs_range(&range).expect("in the window").0;
        let snapshot = |b: Vec<u8>| Outcome::Ok(Payload::Snapshot(b));
        let oracle = snapshot(vec![2, 0, 0]);
        let kernel = KernelOutcome::Done(snapshot(vec![2, 2, 2]));
        // Page start+1 was mapped by fault-around only; start+2 was not
        // taken out of the view, so its byte still differs.
        let only: std::collections::BTreeSet<(ProcId, u64)> =
            [(ProcId(0), start + 1), (ProcId(1), start + 2)].into();
        let (k, n) = snapshot_without_fault_around(&op, &oracle, &kernel, &only, &config);
        assert_eq!((k, n), (KernelOutcome::Done(snapshot(vec![2, 0, 2])), 1));
        // Other ops are left alone.
        let read = mmdiff_core::Op::Read {
            p: ProcId(0),
            range,
        };
        assert_eq!(
            snapshot_without_fault_around(&read, &oracle, &kernel, &only, &config),
            (kernel.clone(), 0)
        );
    }
    use crate::view::{PageView, ProcView, VmaView};
    use mmdiff_core::op::{FileId, Prot};
    use mmdiff_core::state::HugeHint;

    fn folio_page(page: u64, folio: u64, sub: u32, pmd: bool, anon: bool, map: u64) -> PageView {
        PageView {
            page,
            state: PageState::Present {
                pmd,
                frame: Frame::Folio {
                    folio,
                    page: sub,
                    order: if pmd { 9 } else { 0 },
                    anon,
                    mapcount: map,
                    exclusive: map == 1,
                },
            },
            soft_dirty: None,
            uffd_wp: false,
            value: Some(0),
        }
    }

    fn vma(start: u64, end: u64, backing: Backing) -> VmaView {
        VmaView {
            start,
            end,
            prot: Prot::RW,
            backing,
            hint: HugeHint::None,
            dontfork: false,
            soft_dirty: None,
        }
    }

    #[test]
    fn releases_from_6_15_report_the_first_pages_bit() {
        assert!(pmd_exclusive_from_first_page("6.18.44-fc-v669"));
        assert!(pmd_exclusive_from_first_page("6.15.0"));
        assert!(pmd_exclusive_from_first_page("7.0.0-rc1"));
        assert!(!pmd_exclusive_from_first_page("6.14.11"));
        assert!(!pmd_exclusive_from_first_page("5.19.0"));
        assert!(!pmd_exclusive_from_first_page(""));
    }

    #[test]
    fn pmd_pages_take_the_bit_of_the_pmds_first_page() {
        // Page 0 of the THP is mapped twice (shared), page 3 once.
        let mut pages: Vec<PageView> = (0..512)
            .map(|i| folio_page(2048 + i, 0, i as u32, true, true, 2))
            .collect();
        pages[3] = folio_page(2051, 0, 3, true, true, 1);
        let mut v = View {
            procs: vec![ProcView {
                id: ProcId(0),
                vmas: vec![],
                pages,
            }],
        };
        assert_eq!(pmd_exclusive_as_pagemap(&mut v), 1);
        assert!(v.procs[0].pages.iter().all(|pg| matches!(
            pg.state,
            PageState::Present {
                frame: Frame::Folio {
                    exclusive: false,
                    ..
                },
                ..
            }
        )));
        assert_eq!(pmd_exclusive_as_pagemap(&mut v), 0, "idempotent");
    }

    #[test]
    fn a_kernel_only_thp_in_an_advised_vma_is_a_khugepaged_collapse() {
        let mut hinted = vma(2048, 2560, Backing::AnonPrivate);
        hinted.hint = HugeHint::Huge;
        let thp: Vec<PageView> = (0..512)
            .map(|i| folio_page(2048 + i, 0, i as u32, true, true, 1))
            .collect();
        let kernel = View {
            procs: vec![ProcView {
                id: ProcId(2),
                vmas: vec![hinted.clone()],
                pages: thp.clone(),
            }],
        };
        let ptes = View {
            procs: vec![ProcView {
                id: ProcId(2),
                vmas: vec![hinted.clone()],
                pages: vec![folio_page(2049, 0, 0, false, true, 1)],
            }],
        };
        assert_eq!(
            khugepaged_collapses(&ptes, &kernel),
            vec![(ProcId(2), 2048)]
        );
        assert_eq!(
            khugepaged_collapses(&kernel, &kernel),
            vec![],
            "the oracle has it"
        );
        let mut plain = kernel.clone();
        plain.procs[0].vmas[0].hint = HugeHint::None;
        assert_eq!(khugepaged_collapses(&ptes, &plain), vec![], "not advised");
    }

    #[test]
    fn adjacent_equal_anonymous_vmas_of_one_window_coalesce() {
        let anon = |s, e| vma(s, e, Backing::AnonPrivate);
        let mut readonly = anon(2052, 2056);
        readonly.prot = Prot::R;
        let mut v = View {
            procs: vec![ProcView {
                id: ProcId(0),
                vmas: vec![
                    anon(2048, 2050),
                    anon(2050, 2052),
                    readonly,
                    anon(4090, 4096),
                    anon(4096, 4100),
                ],
                pages: vec![],
            }],
        };
        assert_eq!(coalesce_anon_vmas(&mut v, 2048), 1);
        let ranges: Vec<(u64, u64)> = v.procs[0].vmas.iter().map(|x| (x.start, x.end)).collect();
        // Different protections stay apart, and so do windows m0 and m1.
        assert_eq!(
            ranges,
            [(2048, 2052), (2052, 2056), (4090, 4096), (4096, 4100)]
        );
    }

    #[test]
    fn large_page_cache_folios_compare_page_by_page() {
        let file = Backing::FileShared {
            file: FileId(0),
            page: 0,
        };
        let mut pages: Vec<PageView> = (0..3)
            .map(|i| folio_page(2048 + i, 0, i as u32, false, false, 1))
            .collect();
        for pg in &mut pages {
            if let PageState::Present {
                frame: Frame::Folio { order, .. },
                ..
            } = &mut pg.state
            {
                *order = 2;
            }
        }
        let mut kernel = View {
            procs: vec![ProcView {
                id: ProcId(0),
                vmas: vec![vma(2048, 2051, file)],
                pages,
            }],
        };
        let expected = View {
            procs: vec![ProcView {
                id: ProcId(0),
                vmas: kernel.procs[0].vmas.clone(),
                pages: (0..3)
                    .map(|i| folio_page(2048 + i, i, 0, false, false, 1))
                    .collect(),
            }],
        };
        assert!(!unsettled(&kernel));
        assert_eq!(split_page_cache_folios(&mut kernel), 3);
        assert_eq!(kernel, expected);
        assert_eq!(split_page_cache_folios(&mut kernel), 0);
        if let PageState::Present {
            frame: Frame::Folio { mapcount, .. },
            ..
        } = &mut kernel.procs[0].pages[1].state
        {
            *mapcount = 0;
        }
        assert!(unsettled(&kernel));
    }

    #[test]
    fn fault_around_pages_are_removed_unless_accessed_and_counts_follow() {
        let file = Backing::FilePrivate {
            file: FileId(0),
            page: 0,
        };
        let shared = Backing::FileShared {
            file: FileId(0),
            page: 0,
        };
        // m0[0..2) shared maps F0, F1; m1[0..2) private maps F0 (faulted)
        // and F1 (fault-around).
        let kernel = View {
            procs: vec![ProcView {
                id: ProcId(0),
                vmas: vec![vma(2048, 2050, shared), vma(4096, 4098, file)],
                pages: vec![
                    folio_page(2048, 0, 0, false, false, 2),
                    folio_page(2049, 1, 0, false, false, 2),
                    folio_page(4096, 0, 0, false, false, 2),
                    folio_page(4097, 1, 0, false, false, 2),
                ],
            }],
        };
        let mut oracle = kernel.clone();
        oracle.procs[0].pages.remove(3);
        oracle.procs[0].pages[1] = folio_page(2049, 1, 0, false, false, 1);
        let accessed = vec![(ProcId(0), 4096, 4097)];
        let (stripped, n) = strip_fault_around(&kernel, &oracle, &accessed);
        assert_eq!(n, 1);
        assert_eq!(stripped, oracle);
        // A page the op itself accessed is never explained away.
        let (kept, n) = strip_fault_around(&kernel, &oracle, &vec![(ProcId(0), 4096, 4098)]);
        assert_eq!((kept, n), (kernel.clone(), 0));
        // Neither is an anonymous page.
        let mut anon = kernel.clone();
        anon.procs[0].pages[3] = folio_page(4097, 2, 0, false, true, 1);
        assert_eq!(strip_fault_around(&anon, &oracle, &accessed).1, 0);
    }
}
