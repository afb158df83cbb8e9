//! Device-exclusive access before the 6.15 rework: mm/rmap.c
//! `make_device_exclusive_range` / `folio_make_device_exclusive` /
//! `page_make_device_exclusive_one`, and lib/test_hmm.c
//! `dmirror_exclusive` of those kernels.
//!
//! GUP takes the whole range first; then each page's folio is made
//! exclusive by an rmap walk that converts every present mapping of the
//! folio and removes its rmap. A page succeeds only when its own PTE was
//! writable and the folio ends up with no mapping at all, so tail pages
//! of a large folio and folios locked by others fail.

use mmdiff_core::outcome::Errno;
use mmdiff_core::state::{Entry, FolioId, MirrorTag, PageRef};

use crate::device::Inval;
use crate::world::World;

/// Pages per `make_device_exclusive_range()` call of test_hmm
/// (`struct page *pages[64]` in `dmirror_exclusive`).
const EXCLUSIVE_CHUNK: u64 = 64;

/// Why a pre-6.15 `HMM_DMIRROR_EXCLUSIVE` stopped.
pub enum RangeError {
    /// A chunk did not map every page: `EBUSY`.
    Busy,
    /// GUP would sleep on a folio lock held by someone else at this page.
    Blocked(u64),
}

impl World {
    /// The make-exclusive part of `dmirror_exclusive()` before 6.15: chunk
    /// by chunk, `make_device_exclusive_range()`, then, when GUP took every
    /// page of the chunk, `dmirror_atomic_map()` of the pages made
    /// exclusive, and `unlock_page` + `put_page` of those. A chunk with a
    /// page not mapped ends the ioctl with `EBUSY` (earlier chunks stay
    /// exclusive and mapped; a failed GUP is `EBUSY` too).
    pub fn dmirror_exclusive_range(
        &mut self,
        d: mmdiff_core::op::DevId,
        p: usize,
        start: u64,
        end: u64,
    ) -> Result<(), RangeError> {
        let mut addr = start;
        while addr < end {
            let next = end.min(addr + EXCLUSIVE_CHUNK);
            let pages = match self.make_device_exclusive_range(p, addr, next) {
                Ok(pages) => pages,
                Err(None) => return Err(RangeError::Blocked(addr)),
                Err(Some(_)) => Vec::new(),
            };
            let mut mapped = 0;
            if pages.len() as u64 == next - addr {
                for (i, page) in pages.iter().enumerate() {
                    if let Some((folio, sub)) = *page {
                        let target = PageRef::Folio { folio, page: sub };
                        self.mirror_mut(d, p)
                            .insert(addr + i as u64, (target, MirrorTag::Atomic));
                        mapped += 1;
                    }
                }
            }
            for (folio, _) in pages.into_iter().flatten() {
                self.folio_mut(folio).locked = false;
                self.folio_put(folio, 1);
            }
            if mapped < next - addr {
                return Err(RangeError::Busy);
            }
            addr = next;
        }
        Ok(())
    }

    /// `make_device_exclusive_range()`: `get_user_pages_remote()` with
    /// `FOLL_GET|FOLL_WRITE|FOLL_SPLIT_PMD` over `[start, end)` (the pages
    /// up to the first failure; the error if none), then per page: a tail
    /// page or a folio someone holds locked (`folio_trylock`) is put back
    /// as `None`, and so is a folio `folio_make_device_exclusive()` fails
    /// on. The pages left are locked and hold the GUP reference.
    /// `Err(None)` means GUP would sleep.
    fn make_device_exclusive_range(
        &mut self,
        p: usize,
        start: u64,
        end: u64,
    ) -> Result<Vec<Option<(FolioId, u32)>>, Option<Errno>> {
        let mut pages = Vec::new();
        for page in start..end {
            match self.exclusive_fault_in(p, page) {
                Ok((folio, sub)) => {
                    self.folio_get(folio, 1);
                    pages.push(Some((folio, sub)));
                }
                Err(e) if pages.is_empty() => return Err(e),
                Err(_) => break,
            }
        }
        for (i, slot) in pages.iter_mut().enumerate() {
            let Some((folio, sub)) = *slot else { continue };
            if sub != 0 || self.folio(folio).locked {
                self.folio_put(folio, 1);
                *slot = None;
                continue;
            }
            self.folio_mut(folio).locked = true;
            if !self.folio_make_device_exclusive(folio, p, start + i as u64) {
                self.folio_mut(folio).locked = false;
                self.folio_put(folio, 1);
                *slot = None;
            }
        }
        Ok(pages)
    }

    /// `folio_make_device_exclusive()`: anon folios only; the rmap walk
    /// (`page_make_device_exclusive_one` per VMA) converts every present
    /// PTE of the folio, in every process, and stops at a mapping that is
    /// not present. True when process `p`'s PTE at `page` was among them
    /// and writable, and the folio is left with no mapping.
    fn folio_make_device_exclusive(&mut self, folio: FolioId, p: usize, page: u64) -> bool {
        if !self.folio(folio).anon {
            return false;
        }
        let mut valid = false;
        let mut invalidated: Option<(usize, u64)> = None;
        for (q, at, entry) in self.folio_ptes(folio) {
            let Entry::Present { bits, .. } = entry else {
                break;
            };
            let Some(vma) = self.vma_at(q, at) else {
                continue;
            };
            // One invalidation per VMA the walk visits, over the folio's
            // span in it; test_hmm passes no owner, so every mirror
            // drops the range.
            if invalidated != Some((q, vma.start)) {
                invalidated = Some((q, vma.start));
                let nr = self.folio(folio).nr_pages();
                let head = at - entry.folio_page().map_or(0, |(_, sub)| sub as u64);
                let from = head.max(vma.start);
                self.invalidate(q, from, vma.end.min(head + nr), Inval::Exclusive(None));
            }
            if q == p && at == page && bits.write {
                valid = true;
            }
            self.convert_to_exclusive(q, at);
        }
        valid && self.folio(folio).mapcount == 0
    }

    /// The PTE-level entries of every process that map a page of `folio`
    /// or are device-exclusive entries of it, in rmap-walk order (process,
    /// then address), from the page tables' reverse maps. A PMD mapping of
    /// the folio ends the list: the walk expects none after
    /// `FOLL_SPLIT_PMD` (it is a `VM_BUG_ON`).
    fn folio_ptes(&self, folio: FolioId) -> Vec<(usize, u64, Entry)> {
        let mut out = Vec::new();
        for (q, mm) in self.procs.iter().enumerate() {
            let Some(mm) = mm else { continue };
            for at in mm.pt.entries_of(folio) {
                let Some(e) = mm.pt.get(at) else { continue };
                match e {
                    Entry::Present { .. } if crate::pt::is_leaf(&e) => return out,
                    Entry::Present { .. } | Entry::DeviceExclusive { .. } => out.push((q, at, e)),
                    _ => {}
                }
            }
        }
        out
    }
}
