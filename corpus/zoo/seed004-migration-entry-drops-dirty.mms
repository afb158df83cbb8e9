#! title: the migration entry installed by migrate_vma_setup's collect keeps the dirty and young bits of the PTE it replaces
#! planted: seed004-migration-entry-drops-dirty
#! signature: migrate-setup/state:entry.young
#! known-minimum: 2
#! kernel: mm/migrate_device.c migrate_vma_collect_pmd (make_migration_entry_young/_dirty, folio_mark_dirty); seed 004 hmm_vma_handle_migrate_prepare (MIGRATE_VMA_FAULT)
mmap p0 m0 anon-shared r pages=1
# Migrate on fault (seed 004): the read fault maps the shmem page with a
# young PTE, which collect replaces by a migration entry that must be
# young too (the restored or migrated page keeps its accessed state).
migrate-setup s0 p0 m0[0] select=system,fault       => ok cpages=1 src=[m:F0[0]] ; entry p0 m0[0] migration young !dirty !write
