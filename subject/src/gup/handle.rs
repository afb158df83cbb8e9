//! What the device does with a handle: DMA through it, and releasing it.

use super::*;

impl World {
    /// The `release` op. Pins: `unpin_user_pages_dirty_lock(pages, n,
    /// dirty)`, which locks each folio that is not yet dirty to mark it
    /// dirty. Gets: `set_page_dirty_lock()` (always locks) if `dirty`, then
    /// `put_page()`. If a folio that would be locked is held locked by
    /// someone else, the kernel would sleep: `blocked` at the handle's first
    /// page, and nothing changes. Zero pages need nothing.
    pub fn release_handle(&mut self, h: HandleId, dirty: bool) -> Outcome {
        let Some(handle) = self.handles[h.index()].clone() else {
            return Outcome::Err(Errno::ENOENT);
        };
        let pin = handle.flags.pin;
        if dirty && self.release_would_sleep(&handle.pages, pin) {
            return Outcome::Blocked {
                page: handle.base as u32,
            };
        }
        // gup_folio_next(): consecutive pages of one folio are released
        // together. Oracle rule preserved (`release_handle`, page by page):
        // the folio ends dirty and with the same counts; puts past the last
        // reference change nothing there either, as the folio is gone.
        for (r, n) in folio_runs(&handle.pages) {
            if dirty {
                if let PageRef::Folio { folio, .. } = r {
                    if let Some(f) = self.folios.get_mut(&folio) {
                        f.dirty = true; // folio_mark_dirty
                    }
                }
            }
            self.gup_put_folio_refs(r, pin, n);
        }
        self.handles[h.index()] = None;
        Outcome::OK
    }

    /// Whether dirtying the handle's pages would wait for a folio lock held
    /// by someone else: `unpin_user_pages_dirty_lock` locks only clean
    /// folios, `set_page_dirty_lock` locks every one.
    pub(crate) fn release_would_sleep(&self, pages: &[PageRef], pin: bool) -> bool {
        pages.iter().any(|r| match *r {
            PageRef::Folio { folio, .. } => self
                .folios
                .get(&folio)
                .is_some_and(|f| f.locked && (!pin || !f.dirty)),
            _ => false,
        })
    }

    /// The value a device reads through a page (zero pages read 0).
    pub(crate) fn dma_value(&self, r: PageRef) -> u64 {
        match r {
            PageRef::Folio { folio, page } => self
                .folios
                .get(&folio)
                .map_or(0, |f| f.contents[page as usize]),
            PageRef::Zero | PageRef::HugeZero { .. } => 0,
        }
    }

    /// The `dma-read` op: what the device sees through handle pages
    /// `[start, end)`. Indices beyond the handle: `EINVAL`.
    pub fn dma_read(&self, h: HandleId, start: u32, end: u32) -> Outcome {
        let Some(handle) = self.handles[h.index()].as_ref() else {
            return Outcome::Err(Errno::ENOENT);
        };
        if start >= end || end as usize > handle.pages.len() {
            return Outcome::Err(Errno::EINVAL);
        }
        let values = handle.pages[start as usize..end as usize]
            .iter()
            .map(|&r| self.dma_value(r))
            .collect();
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
        let Some(handle) = self.handles[h.index()].clone() else {
            return Outcome::Err(Errno::ENOENT);
        };
        if start >= end || end as usize > handle.pages.len() {
            return Outcome::Err(Errno::EINVAL);
        }
        if !handle.flags.write {
            return Outcome::Err(Errno::EPERM);
        }
        for i in start..end {
            // A write GUP never returns a zero page.
            if let PageRef::Folio { folio, page } = handle.pages[i as usize] {
                if let Some(f) = self.folios.get_mut(&folio) {
                    f.contents[page as usize] = fill.value_at(handle.base + i as u64);
                }
            }
        }
        Outcome::OK
    }
}

/// The handle's pages as runs of one folio: `(first page, count)`.
/// Zero pages come one by one (nothing to release).
pub(crate) fn folio_runs(pages: &[PageRef]) -> Vec<(PageRef, i64)> {
    let mut runs: Vec<(PageRef, i64)> = Vec::new();
    for &r in pages {
        if let (Some((PageRef::Folio { folio: last, .. }, n)), PageRef::Folio { folio, .. }) =
            (runs.last_mut(), r)
        {
            if *last == folio {
                *n += 1;
                continue;
            }
        }
        runs.push((r, 1));
    }
    runs
}
