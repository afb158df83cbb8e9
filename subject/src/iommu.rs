//! powerpc IOMMU preregistration (seed 000): `mm_iommu_new()`,
//! `mm_iommu_ua_to_hpa()` and `mm_iommu_put()` of
//! arch/powerpc/mm/book3s64/iommu_api.c.
//!
//! Not modelled: `account_locked_vm()` (RLIMIT_MEMLOCK), the `used` and
//! `mapped` counters (one preregistration per slot, never mapped by an
//! IOMMU table, so `mm_iommu_put` always releases), device memory
//! (`mm_iommu_newdev`).

use std::cell::OnceCell;

use mmdiff_core::digest::Digest;
use mmdiff_core::op::{IommuId, ProcId};
use mmdiff_core::outcome::{Errno, Outcome, Payload};
use mmdiff_core::state::{PageRef, PreregState};

use crate::gup::{Foll, GupStop};
use crate::runs::PageRuns;
use crate::world::World;

/// A preregistration (`mm_iommu_table_group_mem_t`): the shared crate's
/// `PreregState` with the pinned pages as runs of one folio each (the
/// kernel's `hpages[]` holds a pointer per page; this is the model's
/// record of them, read page by page as that array).
#[derive(Clone, Debug)]
pub struct Prereg {
    pub id: IommuId,
    pub proc: ProcId,
    /// Absolute page number of the first entry.
    pub start: u64,
    pub pages: PageRuns,
    pub pageshift: u8,
    /// This preregistration's item of the state digest, computed when
    /// first asked for: it never changes once made.
    digest_item: OnceCell<u64>,
}

impl Prereg {
    /// The shared crate's form, one page reference per entry.
    pub fn to_state(&self) -> PreregState {
        PreregState {
            id: self.id,
            proc: self.proc,
            start: self.start,
            pages: self.pages.to_vec(),
            pageshift: self.pageshift,
        }
    }

    /// `Digest::prereg` of [`Prereg::to_state`].
    pub fn digest_item(&self) -> u64 {
        *self.digest_item.get_or_init(|| {
            let mut d = Digest::default();
            d.prereg(&self.to_state());
            d.0
        })
    }
}

/// `PAGE_SHIFT`: 4 KiB pages.
const PAGE_SHIFT: u32 = 12;

impl World {
    /// `mm_iommu_do_alloc()` for `[start, end)` of process `p`: pin the range
    /// with `pin_user_pages(FOLL_WRITE | FOLL_LONGTERM)` in chunks of
    /// `cfg.iommu_chunk` pages, stopping at the first chunk that comes back
    /// short. Unless every entry was pinned, everything pinned so far is
    /// unpinned and the chunk's result is returned: its errno, or — a kernel
    /// quirk (`if (!ret) ret = -EFAULT` only catches 0) — the positive
    /// short count itself, which reaches userspace as the ioctl's return
    /// value. Then a preregistration of the same mm overlapping the range
    /// fails the call with `EINVAL` (after the pins, which are undone; an
    /// identical range overlaps too). Finally the page shift is computed.
    ///
    /// A chunk that would sleep with nothing pinned yet (a folio lock held
    /// elsewhere): `blocked` at that page, with everything unpinned.
    pub fn iommu_prereg(&mut self, i: IommuId, p: usize, start: u64, end: u64) -> Outcome {
        let entries = end - start;
        let chunk = self.cfg.iommu_chunk as u64;
        let mut pinned = PageRuns::new();
        let mut short: Option<Result<u64, GupStop>> = None;
        let mut entry = 0;
        while entry < entries {
            let n = chunk.min(entries - entry);
            let s = start + entry;
            match self.gup_longterm_locked(p, s, s + n, Foll::PIN_LONGTERM_WRITE) {
                Ok(pages) => {
                    let got = pages.len();
                    // Seed 000: the short chunk's pages are not counted.
                    #[cfg(feature = "planted")]
                    let pages = if got != n && planted!(Seed000PreregLeaksOnShortPin) {
                        PageRuns::new()
                    } else {
                        pages
                    };
                    pinned.append(pages);
                    if got != n {
                        short = Some(Ok(got));
                        break;
                    }
                }
                Err(stop) => {
                    short = Some(Err(stop));
                    break;
                }
            }
            entry += chunk;
        }
        if pinned.len() != entries {
            // free_exit: unpin_user_pages(mem->hpages, pinned)
            self.unpin_user_pages(&pinned);
            return match short {
                Some(Ok(ret)) => Outcome::count(ret),
                Some(Err(GupStop::Err(e))) => Outcome::Err(e),
                Some(Err(GupStop::Blocked(page))) => Outcome::Blocked {
                    page: self.cfg.window_of(page).1,
                },
                None => Outcome::Err(Errno::EFAULT),
            };
        }
        let overlaps = self
            .iommu
            .iter()
            .flatten()
            .any(|m| m.proc.index() == p && m.start < end && start < m.start + m.pages.len());
        if overlaps {
            self.unpin_user_pages(&pinned);
            return Outcome::Err(Errno::EINVAL);
        }
        let pageshift = self.iommu_pageshift(start, &pinned);
        self.iommu[i.index()] = Some(Prereg {
            id: i,
            proc: ProcId(p as u8),
            start,
            pages: pinned,
            pageshift,
            digest_item: OnceCell::new(),
        });
        Outcome::OK
    }

    /// The page shift of a preregistration, as `mm_iommu_do_alloc` computes
    /// it: start from the natural alignment of the user address and size
    /// (`__ffs(ua | entries << PAGE_SHIFT)`), then for each entry in order,
    /// while that is still above `PAGE_SHIFT` and the entry's page is huge,
    /// the running `pageshift` becomes the page's `page_shift(compound_head)`;
    /// the result is the minimum of the running value over all entries.
    /// Note the running value is not reset per entry: small pages after a
    /// huge one do not lower the result (kernel behaviour).
    ///
    /// The kernel tests `PageHuge()` (hugetlb only). This model has no
    /// hugetlb; its large folios (order-9 THPs) stand in for huge pages.
    ///
    /// A run's pages are pages of one folio, which repeat the same step:
    /// once the first page of a run has been seen, the others change
    /// nothing, so the loop looks at each run's first page (oracle
    /// `iommu_pageshift`, entry by entry: the same result).
    fn iommu_pageshift(&self, start: u64, pages: &PageRuns) -> u8 {
        let entries = pages.len();
        let mut mem_shift = PAGE_SHIFT + (start | entries).trailing_zeros();
        let mut pageshift = PAGE_SHIFT;
        for r in pages.runs().iter().map(|r| r.first) {
            if mem_shift > PAGE_SHIFT {
                if let PageRef::Folio { folio, .. } = r {
                    let f = self.folio(folio);
                    if f.is_large() {
                        pageshift = PAGE_SHIFT + f.order as u32;
                    }
                }
            }
            mem_shift = mem_shift.min(pageshift);
        }
        mem_shift as u8
    }

    /// The `iommu-translate` op: `mm_iommu_ua_to_hpa()` for entry `index`:
    /// beyond the preregistration `EFAULT`; otherwise the page and the
    /// preregistration's page shift.
    pub fn iommu_translate(&self, i: IommuId, index: u32) -> Outcome {
        let Some(mem) = self.iommu[i.index()].as_ref() else {
            return Outcome::Err(Errno::ENOENT);
        };
        match mem.pages.get(index as u64) {
            Some(page) => Outcome::Ok(Payload::Translate {
                page,
                shift: mem.pageshift,
            }),
            None => Outcome::Err(Errno::EFAULT),
        }
    }

    /// The `iommu-unreg` op: `mm_iommu_put()` → `mm_iommu_unpin()`: each
    /// entry is unpinned with `unpin_user_page()`. The page is marked dirty
    /// only if its `MM_IOMMU_TABLE_GROUP_PAGE_DIRTY` bit was set by a
    /// real-mode TCE update (`mm_iommu_ua_mark_dirty_rm`), which this model
    /// has no operation for: nothing is dirtied.
    pub fn iommu_unreg(&mut self, i: IommuId) -> Outcome {
        let Some(mem) = self.iommu[i.index()].take() else {
            return Outcome::Err(Errno::ENOENT);
        };
        self.unpin_user_pages(&mem.pages);
        Outcome::OK
    }
}
