#! title: the migration entry installed by migrate_vma_setup's collect keeps the dirty and young bits of the PTE it replaces
#! planted: seed004-migration-entry-drops-dirty
#! signature: migrate-setup/state:entry.young
#! known-minimum: 3
#! kernel: mm/migrate_device.c migrate_vma_collect_pmd (make_migration_entry_young/_dirty, folio_mark_dirty); seed 004 hmm_vma_handle_migrate_prepare (MIGRATE_VMA_FAULT)
mmap p0 m0 anon rw pages=1
write p0 m0[0] = 1                                  => ok ; entry p0 m0[0] page write dirty young
# Migrate on fault (seed 004): nothing to fault in here; the dirty, young
# PTE is replaced by a migration entry that is dirty and young too (the
# restored or migrated page must come back dirty).
migrate-setup s0 p0 m0[0] select=system,fault       => ok cpages=1 src=[mw:F0[0]] ; entry p0 m0[0] migration write dirty young
