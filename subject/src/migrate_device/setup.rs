//! `migrate_vma_setup`: validation, then collect and unmap.

use super::*;

use crate::hmm::HmmError;

impl World {
    /// `migrate_vma_setup()` argument checks: a VMA covering `start` whose
    /// end is not before `end`, not `VM_SPECIAL`.
    pub fn migrate_vma_validate(&self, p: usize, start: u64, end: u64) -> Result<VmaState, Errno> {
        let vma = self.vma_at(p, start).ok_or(Errno::EINVAL)?;
        if end <= start || end > vma.end || vma.kind == VmaKind::Special {
            return Err(Errno::EINVAL);
        }
        Ok(vma)
    }

    /// `migrate_vma_setup()` after its checks: collect (seed 004: through
    /// `hmm_range_fault()`, whose error it returns; with
    /// `MIGRATE_VMA_FAULT` the not-valid pages are faulted in first), then
    /// unmap when anything was selected.
    pub fn migrate_vma_collect_and_unmap(&mut self, m: &mut Migration) -> Result<(), HmmError> {
        self.hmm_migrate_collect(m)?;
        if m.cpages > 0 {
            m.cpages = self.migrate_device_unmap(m);
        }
        Ok(())
    }

    /// `migrate_vma_setup()` for in-kernel callers (the dmirror driver,
    /// `migrate_to_ram`), whose fault page (if any) is already locked.
    /// They never ask for `MIGRATE_VMA_FAULT`, so the walk cannot fail.
    pub fn migrate_vma_setup(&mut self, m: &mut Migration) -> Result<(), Errno> {
        let v = m.vma.expect("migrate_vma_setup needs a VMA");
        self.migrate_vma_validate(v.p, v.start, v.end)?;
        match self.migrate_vma_collect_and_unmap(m) {
            Ok(()) => Ok(()),
            Err(HmmError::Errno(e)) => Err(e),
            Err(e) => {
                debug_assert!(false, "collect without MIGRATE_VMA_FAULT stopped: {e:?}");
                Err(Errno::EBUSY)
            }
        }
    }
}
