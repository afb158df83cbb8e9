#! title: munmap between setup and finalize zaps the migration entries; finalize then has nothing to remap and every page is freed
#! kernel: mm/memory.c zap_nonpresent_ptes (migration entries hold no reference); mm/migrate_device.c migrate_vma_finalize, remove_migration_ptes
mmap p0 m0 anon rw pages=4
write p0 m0[0..4] = index
migrate-setup s0 p0 m0[0..4] select=system owner=dev0 => session s0 setup cpages=4
munmap p0 m0[0..4] => ok ; entry p0 m0[0] none ; session s0 setup
migrate-alloc s0 dev0
migrate-pages s0
migrate-finalize s0 => ok ; folios count=0 ; device dev0 free=2048 refs=0 ; zone normal free=16384
