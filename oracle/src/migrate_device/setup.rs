//! `migrate_vma_setup`: validation, then collect and unmap.

use super::*;

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

    /// `migrate_vma_setup()` after its checks: collect, then unmap when
    /// anything was selected.
    pub fn migrate_vma_collect_and_unmap(&mut self, m: &mut Migration) {
        self.migrate_vma_collect(m);
        if m.cpages > 0 {
            m.cpages = self.migrate_device_unmap(m);
        }
    }

    /// `migrate_vma_setup()` for in-kernel callers (the dmirror driver,
    /// `migrate_to_ram`), whose fault page (if any) is already locked.
    pub fn migrate_vma_setup(&mut self, m: &mut Migration) -> Result<(), Errno> {
        let v = m.vma.expect("migrate_vma_setup needs a VMA");
        self.migrate_vma_validate(v.p, v.start, v.end)?;
        self.migrate_vma_collect_and_unmap(m);
        Ok(())
    }
}
