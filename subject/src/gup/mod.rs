//! GUP: `get_user_pages*` / `pin_user_pages*` (mm/gup.c), the release of
//! what they returned, and DMA through the returned pages.
//!
//! Every address is followed (`follow_page_mask`), faulted in when needed
//! (`faultin_page`) and grabbed (`try_grab_folio`). Fast path: when the
//! followed page is part of a present PMD leaf, the rest of the leaf inside
//! the range and the VMA is grabbed in the same step with one
//! `try_grab_folio(folio, refs)`, as `follow_huge_pmd` does with its
//! `page_mask`. The oracle rule it preserves (oracle `get_user_pages`, one
//! page at a time): every page of the leaf passes the same checks (same
//! VMA, same leaf bits, the head's `PageAnonExclusive`), so each would be
//! grabbed the same way, and FOLL_TOUCH sets the same leaf bits again.
//!
//! Zero pages: the shared zero page and the huge zero folio are not folios
//! of this model, so GUP records them as [`PageRef::Zero`] /
//! [`PageRef::HugeZero`] without any accounting. For FOLL_PIN this is the
//! kernel's rule (`try_grab_folio` never pins the zero page); for FOLL_GET
//! the kernel does take a reference on the zero page, which the model does
//! not count.
//!
//! A GUP that would sleep (a fault on a folio locked by someone else, a
//! userfaultfd write-protect fault) stops there: it returns the pages it got
//! so far, or `blocked` at that page when it got none.

use mmdiff_core::op::{Fill, GupFlags, HandleId, Zone};
use mmdiff_core::outcome::{Errno, Outcome, Payload};
use mmdiff_core::state::{
    Entry, FolioId, Level, Memory, ObjId, PageRef, PteBits, Target, VmaKind, VmaState,
};
use mmdiff_core::GUP_PIN_COUNTING_BIAS;

use crate::fault::{mkdirty, FaultError, FaultKind, MAX_FAULTS};
use crate::runs::PageRuns;
use crate::vma::{is_cow, is_shared};
use crate::world::World;

/// Rounds of pin / migrate / re-pin in `__gup_longterm_locked`. The kernel
/// loops while migration succeeds; after one successful migration every
/// folio of the range is pinnable, so this bound is never reached by a
/// well-formed model.
const MAX_LONGTERM_ROUNDS: usize = 8;

/// The effective `FOLL_*` flags of one GUP call (after the entry point
/// added its own).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Foll {
    /// `FOLL_PIN`; otherwise `FOLL_GET`.
    pub pin: bool,
    pub write: bool,
    pub longterm: bool,
    pub force: bool,
    pub nofault: bool,
    /// `FOLL_TOUCH`: set by `get_user_pages` and the slow path of the
    /// `*_fast` variants, not by `pin_user_pages`.
    pub touch: bool,
    /// `FOLL_UNLOCKABLE`: the slow path of the `*_fast` variants may drop
    /// the mmap lock, so its faults may retry (`FAULT_FLAG_ALLOW_RETRY`).
    pub unlockable: bool,
}

impl Foll {
    /// `pin_user_pages(FOLL_WRITE | FOLL_LONGTERM)`, as `mm_iommu_do_alloc` calls it.
    pub const PIN_LONGTERM_WRITE: Foll = Foll {
        pin: true,
        write: true,
        longterm: true,
        force: false,
        nofault: false,
        touch: false,
        unlockable: false,
    };
}

/// Why GUP stopped before the end of its range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GupStop {
    /// A negative errno.
    Err(Errno),
    /// The kernel would sleep at this absolute page.
    Blocked(u64),
}

/// Pages grabbed (at least one), or why none were. The pages come as runs
/// of consecutive pages of one folio (`crate::runs::PageRuns`): the
/// kernel's `pages[]` array, read page by page, but a PMD-mapped THP is
/// one entry instead of 512.
pub type GupResult = Result<PageRuns, GupStop>;

/// What `follow_page_mask` found at one address.
pub(crate) enum Follow {
    /// The page, grabbed.
    Page(PageRef),
    /// `NULL`: a fault is needed.
    Fault,
    /// `-EMLINK`: an unshare fault is needed.
    Unshare,
    /// Another error pointer.
    Err(Errno),
}

mod fast;
mod follow;
mod handle;
mod longterm;

pub use handle::Handle;

impl World {
    // ----------------------------------------------------------------
    // Entry points
    // ----------------------------------------------------------------

    /// The `gup` op over absolute pages `[start, end)` of process `p`;
    /// `base` is the window-relative page of `start` (kept in the handle).
    /// `flags.pin` selects `pin_user_pages[_fast]`, otherwise
    /// `get_user_pages[_fast]`. The handle holds exactly the returned pages.
    pub fn gup_op(
        &mut self,
        p: usize,
        start: u64,
        end: u64,
        base: u64,
        h: HandleId,
        flags: GupFlags,
    ) -> Outcome {
        // is_valid_gup_args(): LONGTERM only with PIN. Only get_user_pages*
        // can reach this, and they return -EINVAL.
        if flags.longterm && !flags.pin {
            return Outcome::Err(Errno::EINVAL);
        }
        let f = Foll {
            pin: flags.pin,
            write: flags.write,
            longterm: flags.longterm,
            force: flags.force,
            nofault: flags.nofault,
            touch: !flags.pin && !flags.fast,
            unlockable: false,
        };
        let result = if flags.fast {
            self.gup_fast_fallback(p, start, end, f)
        } else {
            self.gup_longterm_locked(p, start, end, f)
        };
        match result {
            Ok(pages) => {
                let n = pages.len();
                self.handles[h.index()] = Some(Handle::new(h, flags, base, pages));
                Outcome::count(n)
            }
            Err(GupStop::Err(e)) => Outcome::Err(e),
            Err(GupStop::Blocked(page)) => Outcome::Blocked {
                page: (base + (page - start)) as u32,
            },
        }
    }

    /// `gup_fast_fallback()` (`get_user_pages_fast`, `pin_user_pages_fast`):
    /// the lockless walk pins a prefix of the range; the rest goes through
    /// the slow path with `FOLL_TOUCH`. If the slow path fails after some
    /// fast pins, the fast count is returned.
    pub fn gup_fast_fallback(&mut self, p: usize, start: u64, end: u64, f: Foll) -> GupResult {
        if f.pin {
            self.mm_mut(p).has_pinned = true;
        }
        let mut pages = self.gup_fast(p, start, end, f);
        let resume = start + pages.len();
        if resume == end {
            return Ok(pages);
        }
        let slow = Foll {
            touch: true,
            unlockable: true,
            ..f
        };
        match self.gup_longterm_locked(p, resume, end, slow) {
            Ok(more) => {
                pages.append(more);
                Ok(pages)
            }
            Err(stop) if pages.is_empty() => Err(stop),
            Err(_) => Ok(pages),
        }
    }

    /// `__gup_longterm_locked()`: without FOLL_LONGTERM just
    /// `__get_user_pages_locked`. With it (allocations avoid movable and CMA
    /// memory, `memalloc_pin_save`): pin, and if any returned folio is not
    /// long-term pinnable, unpin everything, migrate those folios to
    /// `ZONE_NORMAL` and pin the whole range again.
    pub fn gup_longterm_locked(&mut self, p: usize, start: u64, end: u64, f: Foll) -> GupResult {
        if !f.longterm {
            return self.get_user_pages_locked(p, start, end, f);
        }
        // Seed 000: no check_and_migrate_movable_pages().
        #[cfg(feature = "planted")]
        if planted!(Seed000LongtermKeepsCma) {
            return self.get_user_pages_locked(p, start, end, f);
        }
        for _ in 0..MAX_LONGTERM_ROUNDS {
            let pages = self.get_user_pages_locked(p, start, end, f)?;
            let movable = self.collect_longterm_unpinnable_folios(&pages);
            if movable.is_empty() {
                return Ok(pages);
            }
            self.migrate_longterm_unpinnable_folios(&pages, &movable)?;
        }
        Err(GupStop::Err(Errno::ENOMEM))
    }

    /// `__get_user_pages_locked()`: sets `MMF_HAS_PINNED` for FOLL_PIN, runs
    /// the page loop, and turns "nothing pinned" into `-EFAULT`.
    pub fn get_user_pages_locked(&mut self, p: usize, start: u64, end: u64, f: Foll) -> GupResult {
        if f.pin {
            self.mm_mut(p).has_pinned = true;
        }
        let (pages, stop) = self.get_user_pages(p, start, end, f);
        if !pages.is_empty() {
            return Ok(pages);
        }
        Err(stop.unwrap_or(GupStop::Err(Errno::EFAULT)))
    }

    /// `__get_user_pages()`: every address in order; the first one that
    /// cannot be grabbed stops the loop. Returns the pages grabbed and why
    /// the loop stopped early, if it did.
    pub(crate) fn get_user_pages(
        &mut self,
        p: usize,
        start: u64,
        end: u64,
        f: Foll,
    ) -> (PageRuns, Option<GupStop>) {
        let mut pages = PageRuns::new();
        let mut page = start;
        while page < end {
            match self.get_user_page(p, page, f) {
                Ok(r) => {
                    pages.push(r);
                    page += 1 + self.grab_rest_of_leaf(p, page, end, r, f, &mut pages);
                }
                Err(stop) => return (pages, Some(stop)),
            }
        }
        (pages, None)
    }

    /// After `page` (part of a present PMD leaf) was grabbed as `r`: grab
    /// the leaf's following pages up to `end` and the end of the VMA with
    /// one `try_grab_folio(folio, refs)`. Returns how many were added.
    fn grab_rest_of_leaf(
        &mut self,
        p: usize,
        page: u64,
        end: u64,
        r: PageRef,
        f: Foll,
        pages: &mut PageRuns,
    ) -> u64 {
        if self.mm(p).pt.leaf(page).is_none() {
            return 0;
        }
        let Some(vma) = self.vma_at(p, page) else {
            return 0;
        };
        let stop = end
            .min(vma.end)
            .min(World::pmd_start(page) + World::pmd_pages());
        let more = stop - page - 1;
        match r {
            PageRef::Folio { folio, page: sub } => {
                pages.push_run(
                    PageRef::Folio {
                        folio,
                        page: sub + 1,
                    },
                    more,
                );
                self.try_grab_folio_refs(folio, f.pin, more as i64);
            }
            PageRef::HugeZero { page: sub } => {
                pages.push_run(PageRef::HugeZero { page: sub + 1 }, more);
            }
            PageRef::Zero => return 0,
        }
        more
    }

    /// One address of `__get_user_pages()`: the VMA checks, then follow and
    /// fault until the page can be grabbed.
    pub(crate) fn get_user_page(
        &mut self,
        p: usize,
        page: u64,
        f: Foll,
    ) -> Result<PageRef, GupStop> {
        // gup_vma_lookup(): no VMA (no stack expansion any more): -EFAULT.
        let vma = self.vma_at(p, page).ok_or(GupStop::Err(Errno::EFAULT))?;
        self.check_vma_flags(&vma, f).map_err(GupStop::Err)?;
        for _ in 0..=MAX_FAULTS {
            let vma = self.vma_at(p, page).expect("faults keep the VMA");
            match self.follow_page_mask(p, page, &vma, f) {
                Follow::Page(r) => return Ok(r),
                Follow::Err(e) => return Err(GupStop::Err(e)),
                Follow::Fault => self.faultin_page(p, page, f, false)?,
                Follow::Unshare => self.faultin_page(p, page, f, true)?,
            }
        }
        Err(GupStop::Blocked(page))
    }

    // ----------------------------------------------------------------
    // Rules of the slow path
    // ----------------------------------------------------------------
}
