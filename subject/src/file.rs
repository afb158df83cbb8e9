//! The page cache and faults on file and shmem mappings (`do_read_fault`,
//! `do_cow_fault`, `do_shared_fault`, `filemap_fault`, `shmem_fault`).

use mmdiff_core::op::{FileId, FsKind, Zone};
use mmdiff_core::state::{FolioId, ObjId, ObjectState, Target, VmaState};

use crate::fault::{fresh_bits, mkdirty, FaultError, FaultKind, FaultResult};
use crate::pte::pte;
use crate::world::World;

impl World {
    /// `file` op: create a sparse file of `pages` pages.
    pub fn create_file(&mut self, f: FileId, fs: FsKind, pages: u32) {
        self.objects.insert(
            ObjId::File(f),
            ObjectState {
                id: ObjId::File(f),
                fs: Some(fs),
                pages: pages as u64,
                cache: Default::default(),
                backing: Default::default(),
            },
        );
    }

    /// Filesystems whose shared writable mappings go through
    /// `->page_mkwrite` (which locks the folio): writeback filesystems.
    pub fn needs_page_mkwrite(&self, vma: &VmaState) -> bool {
        match vma.backing {
            Some((ObjId::File(f), _)) => self.file(f).and_then(|o| o.fs) == Some(FsKind::Ext4),
            _ => false,
        }
    }

    /// The object page a VMA maps at `page`.
    pub fn object_page(vma: &VmaState, page: u64) -> Option<(ObjId, u64)> {
        vma.backing
            .map(|(obj, off)| (obj, off + (page - vma.start)))
    }

    /// `filemap_get_folio()` or read the page in: the page-cache folio of
    /// object page `index`, allocating it (contents from the backing store)
    /// when absent. Beyond the end of the object: SIGBUS. A folio locked by
    /// someone else makes `filemap_fault` sleep in `folio_lock`.
    pub fn page_cache_folio(
        &mut self,
        obj: ObjId,
        index: u64,
        zone: Zone,
    ) -> Result<FolioId, FaultError> {
        let o = self.objects.get(&obj).ok_or(FaultError::Bus)?;
        if index >= o.pages {
            return Err(FaultError::Bus);
        }
        if let Some(&(folio, _)) = o.cache.get(&index) {
            if self.folio(folio).locked {
                return Err(FaultError::Blocked);
            }
            return Ok(folio);
        }
        let value = o.backing.get(&index).copied().unwrap_or(0);
        let shmem = o.fs == Some(FsKind::Tmpfs);
        // The allocation's reference becomes the page cache's reference.
        let folio = self.alloc_folio(zone, 0).ok_or(FaultError::Oom)?;
        {
            let f = self.folio_mut(folio);
            f.contents.set(0, value);
            f.mapping = Some((obj, index));
            f.lru = true;
            f.swapbacked = shmem;
        }
        if let Some(o) = self.objects.get_mut(&obj) {
            o.cache.insert(index, (folio, 0));
            o.backing.remove(&index);
        }
        Ok(folio)
    }

    /// `do_fault()` for file-backed and shmem VMAs.
    pub fn do_file_fault(
        &mut self,
        p: usize,
        page: u64,
        vma: &VmaState,
        kind: FaultKind,
    ) -> FaultResult {
        let (obj, index) = World::object_page(vma, page).ok_or(FaultError::Bus)?;
        let folio = self.page_cache_folio(obj, index, World::fault_zone(vma, kind))?;
        let private = crate::vma::is_cow(vma);
        if private && (kind.write || kind.unshare) {
            // do_cow_fault: copy the page-cache page into a new anon folio.
            let bits = fresh_bits();
            self.set_pte(p, page, pte(Target::Folio { folio, page: 0 }, bits));
            return self.handle_fault(p, page, kind);
        }
        let mut bits = fresh_bits();
        if kind.write {
            // do_shared_fault: page_mkwrite, then a writable dirty PTE.
            if self.needs_page_mkwrite(vma) && self.folio(folio).locked {
                return Err(FaultError::Blocked);
            }
            bits.write = vma.prot.writable();
            mkdirty(&mut bits);
            self.folio_mut(folio).dirty = true;
        } else {
            // do_read_fault: the PTE is built from vm_page_prot, which is
            // writable for shared mappings without write-notify.
            bits.write = self.page_prot_writable(vma);
        }
        self.set_pte(p, page, pte(Target::Folio { folio, page: 0 }, bits));
        Ok(())
    }
}
