#! title: the migration entry of migrate_vma_setup's collect keeps the dirty bit of the PTE it replaces
#! planted: seed004-migration-entry-drops-dirty
#! signature: migrate-setup/state:entry.dirty
#! known-minimum: 3
#! kernel: mm/migrate_device.c migrate_vma_collect_pmd (make_migration_entry_young/_dirty, folio_mark_dirty); seed 004 hmm_vma_handle_migrate_prepare (MIGRATE_VMA_FAULT)
# The write fault of the GUP leaves the PTE dirty; the migration entry must be too.
mmap p0 m0 anon rw pages=1
gup p0 m0[0] get write -> h0
migrate-setup s0 p0 m0[0] select=system,fault
