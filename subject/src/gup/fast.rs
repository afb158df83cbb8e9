//! The lockless walk of the `*_fast` entry points (`gup_fast`).

use super::*;

impl World {
    /// `gup_fast()`: the lockless walk grabs a prefix of the range and stops
    /// at the first page it cannot take. No faults, no FOLL_TOUCH.
    pub(crate) fn gup_fast(&mut self, p: usize, start: u64, end: u64, f: Foll) -> PageRuns {
        let mut pages = PageRuns::new();
        for page in start..end {
            match self.gup_fast_page(p, page, f) {
                Some(r) => pages.push(r),
                None => break,
            }
        }
        pages
    }

    /// One page of `gup_fast_pte_range()` / `gup_fast_pmd_leaf()`.
    pub(crate) fn gup_fast_page(&mut self, p: usize, page: u64, f: Foll) -> Option<PageRef> {
        let Some(Entry::Present {
            level,
            target,
            bits,
        }) = self.entry(p, page)
        else {
            return None; // !pte_present
        };
        // pte_protnone(): every PTE of a PROT_NONE VMA is PAGE_NONE.
        let vma = self.vma_at(p, page)?;
        if !vma.prot.readable() {
            return None;
        }
        // pte_access_permitted(pte, write)
        if f.write && !bits.write {
            return None;
        }
        // pte_special() / pmd_special(): the zero pages and raw pfns.
        let Target::Folio { folio, page: sub } = target else {
            return None;
        };
        let r = PageRef::Folio { folio, page: sub };
        // try_grab_folio_fast(): FOLL_LONGTERM refuses unpinnable folios.
        if f.longterm && !self.folio_is_longterm_pinnable(folio) {
            return None;
        }
        if !self.gup_fast_folio_allowed(folio, f) {
            return None;
        }
        if !bits.write && self.gup_must_unshare(None, f, r, level) {
            return None;
        }
        self.try_grab_folio(r, f.pin);
        Some(r)
    }

    /// `gup_fast_folio_allowed()`: writable long-term pins only of anon and
    /// shmem folios; small folios without a mapping (possible secretmem or
    /// truncated) fall back to the slow path.
    pub(crate) fn gup_fast_folio_allowed(&self, folio: FolioId, f: Foll) -> bool {
        let reject_file_backed = f.pin && f.longterm && f.write;
        let fo = self.folio(folio);
        let check_secretmem = !fo.is_large();
        if !reject_file_backed && !check_secretmem {
            return true;
        }
        if fo.anon {
            return true;
        }
        match fo.mapping {
            None => false,
            Some((obj, _)) => !reject_file_backed || self.is_shmem_object(obj),
        }
    }

    /// `shmem_mapping()`: anonymous shared memory and tmpfs files.
    pub(crate) fn is_shmem_object(&self, obj: ObjId) -> bool {
        match obj {
            ObjId::Shm(_) => true,
            ObjId::File(f) => {
                self.file(f).and_then(|o| o.fs) == Some(mmdiff_core::op::FsKind::Tmpfs)
            }
            ObjId::Io(_) => false,
        }
    }

    // ----------------------------------------------------------------
    // FOLL_LONGTERM
    // ----------------------------------------------------------------
}
