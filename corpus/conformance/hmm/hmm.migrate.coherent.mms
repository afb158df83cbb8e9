#! title: MIGRATE_TO_DEV to device-coherent memory: the CPU keeps present PTEs to the device pages
#! kernel: lib/test_hmm.c dmirror_migrate_to_device; mm/migrate.c remove_migration_pte (coherent destination -> present PTE)
#! selftest: tools/testing/selftests/mm/hmm-tests.c hmm.migrate (device-coherent variant)
mmap p0 m0 anon rw pages=1024
write p0 m0[0..1024] = index
migrate-to-dev dev2 p0 m0[0..1024] => ok cpages=1024 faults=0 data=index ; entry p0 m0[0] page write ; folio p0 m0[0] dev=dev2 anon excl ; device dev2 free=1024 refs=1024
dev-snapshot dev2 p0 m0[0..2] => ok snapshot=[2*42]
dev-snapshot dev3 p0 m0[0..2] => ok snapshot=[2*52]
munmap p0 m0[0..1024] => ok ; device dev2 free=2048 refs=0
