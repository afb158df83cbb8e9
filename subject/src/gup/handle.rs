//! What the device does with a handle: DMA through it, and releasing it.

use std::cell::OnceCell;

use mmdiff_core::digest::Digest;
use mmdiff_core::state::HandleState;

use super::*;

/// A GUP handle: the record of what one `gup` op grabbed (the shared
/// crate's `HandleState`, with its pages as runs). The kernel's
/// `pin_user_pages()` fills a `pages[]` array with one pointer per page;
/// the handle is this model's record of the pin, not that array, so it
/// keeps `(first page, count)` runs of consecutive pages of one folio (a
/// PMD-mapped THP is one run, not 512 entries), which read page by page
/// exactly as the array (`PageRuns::iter`, `to_state`).
#[derive(Clone, Debug)]
pub struct Handle {
    pub id: HandleId,
    pub flags: GupFlags,
    /// Window-relative page number of the first page.
    pub base: u64,
    pub pages: PageRuns,
    /// This handle's item of the state digest (`Digest::handle`), computed
    /// when first asked for: a handle never changes once made.
    digest_item: OnceCell<u64>,
}

impl Handle {
    pub fn new(id: HandleId, flags: GupFlags, base: u64, pages: PageRuns) -> Handle {
        Handle {
            id,
            flags,
            base,
            pages,
            digest_item: OnceCell::new(),
        }
    }

    /// The shared crate's form, one page reference per page.
    pub fn to_state(&self) -> HandleState {
        HandleState {
            id: self.id,
            flags: self.flags,
            base: self.base,
            pages: self.pages.to_vec(),
        }
    }

    /// `Digest::handle` of [`Handle::to_state`] (the per-page form exists
    /// only while it is hashed, once per handle).
    pub fn digest_item(&self) -> u64 {
        *self.digest_item.get_or_init(|| {
            let mut d = Digest::default();
            d.handle(&self.to_state());
            d.0
        })
    }
}

impl World {
    /// The `release` op. Pins: `unpin_user_pages_dirty_lock(pages, n,
    /// dirty)`, which locks each folio that is not yet dirty to mark it
    /// dirty. Gets: `set_page_dirty_lock()` (always locks) if `dirty`, then
    /// `put_page()`. If a folio that would be locked is held locked by
    /// someone else, the kernel would sleep: `blocked` at the handle's first
    /// page, and nothing changes. Zero pages need nothing.
    pub fn release_handle(&mut self, h: HandleId, dirty: bool) -> Outcome {
        let Some(handle) = self.handles[h.index()].as_ref() else {
            return Outcome::Err(Errno::ENOENT);
        };
        let pin = handle.flags.pin;
        if dirty && self.release_would_sleep(&handle.pages, pin) {
            return Outcome::Blocked {
                page: handle.base as u32,
            };
        }
        let handle = self.handles[h.index()].take().expect("checked above");
        // gup_folio_next(): consecutive pages of one folio are released
        // together, one run of the handle at a time. Oracle rule preserved
        // (`release_handle`, page by page): the folio ends dirty and with
        // the same counts; puts past the last reference change nothing
        // there either, as the folio is gone.
        for r in handle.pages.runs() {
            if dirty {
                if let PageRef::Folio { folio, .. } = r.first {
                    if let Some(f) = self.folios.get_mut(&folio) {
                        f.dirty = true; // folio_mark_dirty
                    }
                }
            }
            self.gup_put_folio_refs(r.first, pin, r.len as i64);
        }
        Outcome::OK
    }

    /// Whether dirtying the handle's pages would wait for a folio lock held
    /// by someone else: `unpin_user_pages_dirty_lock` locks only clean
    /// folios, `set_page_dirty_lock` locks every one. A run names one
    /// folio, so its first page stands for all of them (oracle
    /// `release_would_sleep` asks page by page: the same folios).
    pub(crate) fn release_would_sleep(&self, pages: &PageRuns, pin: bool) -> bool {
        pages.runs().iter().any(|r| match r.first {
            PageRef::Folio { folio, .. } => self
                .folios
                .get(&folio)
                .is_some_and(|f| f.locked && (!pin || !f.dirty)),
            _ => false,
        })
    }

    /// The `dma-read` op: what the device sees through handle pages
    /// `[start, end)`. Indices beyond the handle: `EINVAL`.
    pub fn dma_read(&self, h: HandleId, start: u32, end: u32) -> Outcome {
        let Some(handle) = self.handles[h.index()].as_ref() else {
            return Outcome::Err(Errno::ENOENT);
        };
        if start >= end || end as u64 > handle.pages.len() {
            return Outcome::Err(Errno::EINVAL);
        }
        // A run at a time. Oracle rule preserved (`dma_read`, page by
        // page): the same values in the same order.
        let mut values = Vec::with_capacity((end - start) as usize);
        for r in handle.pages.runs_in(start as u64, end as u64) {
            self.folios.extend_run_values(&mut values, r.first, r.len);
        }
        Outcome::Ok(Payload::Data {
            base: handle.base + start as u64,
            values,
        })
    }

    /// The `dma-write` op: the device writes `fill.value_at(base + i)` into
    /// handle page `i` for `i` in `[start, end)`. Indices beyond the handle:
    /// `EINVAL`; a handle taken without FOLL_WRITE: `EPERM` (a device may
    /// only write through a writable pin). Neither PTE nor folio becomes
    /// dirty: that is what `release dirty` is for.
    pub fn dma_write(&mut self, h: HandleId, start: u32, end: u32, fill: Fill) -> Outcome {
        let Some(handle) = self.handles[h.index()].as_ref() else {
            return Outcome::Err(Errno::ENOENT);
        };
        if start >= end || end as u64 > handle.pages.len() {
            return Outcome::Err(Errno::EINVAL);
        }
        if !handle.flags.write {
            return Outcome::Err(Errno::EPERM);
        }
        let base = handle.base;
        let runs: Vec<_> = handle.pages.runs_in(start as u64, end as u64).collect();
        // A run at a time, in handle order. Oracle rule preserved
        // (`dma_write`, page by page): each page gets the value of its
        // handle index, and a page that appears twice ends with the later
        // one either way.
        for r in runs {
            // A write GUP never returns a zero page.
            if let PageRef::Folio { folio, page } = r.first {
                if let Some(f) = self.folios.get_mut(&folio) {
                    f.contents
                        .fill_pattern(page, r.len as u32, fill, base + r.at);
                }
            }
        }
        Outcome::OK
    }
}
