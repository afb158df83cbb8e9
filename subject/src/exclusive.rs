//! Device-exclusive entries (mm/rmap.c `make_device_exclusive`, mm/memory.c
//! `remove_device_exclusive_entry` / `restore_exclusive_pte`, 6.15+): the
//! page stays mapped (mapcount and the mapping's reference are kept) but
//! the CPU must fault to use it, which gives the page back to the CPU.
//! Kernels before 6.15 make whole ranges exclusive and take the rmap away
//! (`exclusive_range`); restoring is shared, with the older rules where
//! they differ.

use mmdiff_core::op::DevId;
use mmdiff_core::outcome::Errno;
use mmdiff_core::state::{Entry, FolioId, PteBits, Target};

use crate::device::Inval;
use crate::fault::{FaultError, FaultKind, FaultResult, MAX_FAULTS};
use crate::pte::pte;
use crate::world::World;

impl World {
    /// `make_device_exclusive()` for one page of process `p`: write-fault
    /// the page in (breaking COW, splitting a PMD mapping:
    /// `FOLL_GET|FOLL_WRITE|FOLL_SPLIT_PMD`), lock it, invalidate with
    /// `MMU_NOTIFY_EXCLUSIVE`, and replace the PTE by a device-exclusive
    /// entry. Returns the folio page, locked and with the GUP reference;
    /// the caller unlocks and puts it. `Err(None)` means it would sleep.
    pub fn make_device_exclusive(
        &mut self,
        p: usize,
        page: u64,
        owner: DevId,
    ) -> Result<(FolioId, u32), Option<Errno>> {
        let (folio, sub) = self.exclusive_fault_in(p, page)?;
        if !self.folio(folio).anon {
            return Err(Some(Errno::EOPNOTSUPP));
        }
        // folio_lock_killable(): someone else's lock makes it sleep.
        if self.folio(folio).locked {
            return Err(None);
        }
        self.folio_get(folio, 1);
        self.folio_mut(folio).locked = true;
        self.invalidate(p, page, page + 1, Inval::Exclusive(Some(owner)));
        self.convert_to_exclusive(p, page);
        Ok((folio, sub))
    }

    /// The GUP part of making a page exclusive (`FOLL_WRITE|FOLL_SPLIT_PMD`
    /// without taking the reference): fault the page in writable, as a
    /// PTE. `Err(None)` means it would sleep.
    pub fn exclusive_fault_in(
        &mut self,
        p: usize,
        page: u64,
    ) -> Result<(FolioId, u32), Option<Errno>> {
        let vma = self.vma_at(p, page).ok_or(Some(Errno::EFAULT))?;
        if !vma.prot.writable() {
            return Err(Some(Errno::EFAULT));
        }
        if self.pmd_leaf_at(p, page).is_some() {
            self.split_pmd(p, page);
        }
        for _ in 0..MAX_FAULTS {
            if let Some(Entry::Present { bits, .. }) = self.entry(p, page) {
                if bits.write && self.pmd_leaf_at(p, page).is_none() {
                    break;
                }
            }
            match self.handle_fault(p, page, FaultKind::WRITE) {
                Ok(()) => {}
                Err(FaultError::Blocked) => return Err(None),
                Err(_) => return Err(Some(Errno::EFAULT)),
            }
            if self.pmd_leaf_at(p, page).is_some() {
                self.split_pmd(p, page);
            }
        }
        match self.entry(p, page) {
            Some(Entry::Present {
                target: Target::Folio { folio, page: sub },
                bits,
                ..
            }) if bits.write => Ok((folio, sub)),
            _ => Err(Some(Errno::EFAULT)),
        }
    }

    /// Replace the present PTE at `page` by a device-exclusive entry
    /// (writable variant for a writable PTE before 6.15), moving its dirty
    /// bit to the folio. Before 6.15 the rmap goes too
    /// (`folio_remove_rmap_pte`); the entry keeps the reference.
    pub fn convert_to_exclusive(&mut self, p: usize, page: u64) {
        let Some(Entry::Present {
            target: target @ Target::Folio { folio, .. },
            bits,
            ..
        }) = self.entry(p, page)
        else {
            return;
        };
        if bits.dirty {
            self.folio_mut(folio).dirty = true;
        }
        let keeps_mapcount = self.cfg.kernel.device_exclusive_keeps_mapcount();
        self.rewrite_entry(p, page, |e| {
            *e = Entry::DeviceExclusive {
                target,
                write: bits.write && !keeps_mapcount,
                soft_dirty: bits.soft_dirty,
                uffd_wp: bits.uffd_wp,
            }
        });
        if !keeps_mapcount {
            self.folio_mut(folio).mapcount -= 1;
        }
    }

    /// `remove_device_exclusive_entry()` on a CPU (or GUP, HMM) fault: take
    /// the folio lock (sleeping if someone else holds it), invalidate, and
    /// restore a present PTE (`restore_exclusive_pte`).
    pub fn restore_device_exclusive(&mut self, p: usize, page: u64) -> FaultResult {
        let Some(Entry::DeviceExclusive { target, .. }) = self.entry(p, page) else {
            return Ok(());
        };
        let Target::Folio { folio, .. } = target else {
            return Ok(());
        };
        if self.folio(folio).locked {
            return Err(FaultError::Blocked);
        }
        self.invalidate(p, page, page + 1, Inval::Clear);
        self.restore_exclusive_pte(p, page);
        Ok(())
    }

    /// `restore_exclusive_pte()`: a present PTE from `vm_page_prot`, old,
    /// keeping soft-dirty and uffd-wp; writable (and dirty if the folio is)
    /// when the VMA is writable and `can_change_pte_writable` allows it.
    /// Mapcount and reference stay: the entry kept them. Before 6.15 the
    /// rmap comes back (`folio_add_anon_rmap_pte`), and the writable variant
    /// without uffd-wp maps `maybe_mkwrite(pte_mkdirty())`: dirty, and
    /// writable wherever the VMA is.
    pub fn restore_exclusive_pte(&mut self, p: usize, page: u64) {
        let Some(Entry::DeviceExclusive {
            target,
            write,
            soft_dirty,
            uffd_wp,
        }) = self.entry(p, page)
        else {
            return;
        };
        let vma = self.vma_at(p, page).expect("entry inside a VMA");
        let mut restored = pte(
            target,
            PteBits {
                soft_dirty,
                uffd_wp,
                ..PteBits::default()
            },
        );
        let keeps_mapcount = self.cfg.kernel.device_exclusive_keeps_mapcount();
        let (writable, dirty) = if keeps_mapcount {
            let dirty = match target {
                Target::Folio { folio, .. } => self.folio(folio).dirty,
                _ => false,
            };
            (
                vma.prot.writable() && self.can_change_writable(&vma, &restored),
                dirty,
            )
        } else {
            let mkwrite = write && !uffd_wp;
            (mkwrite && vma.prot.writable(), mkwrite)
        };
        if let Entry::Present { bits, .. } = &mut restored {
            if writable || !keeps_mapcount {
                bits.write = writable;
                if dirty {
                    // pte_mkdirty() sets soft-dirty too on x86.
                    crate::fault::mkdirty(bits);
                }
            }
        }
        self.rewrite_entry(p, page, |e| *e = restored);
        if let (false, Target::Folio { folio, .. }) = (keeps_mapcount, target) {
            self.folio_mut(folio).mapcount += 1;
        }
    }
}
