#! title: MIGRATE_TO_DEV moves anonymous pages to device-private memory: the CPU sees device-private entries, writable as the VMA is
#! kernel: lib/test_hmm.c dmirror_migrate_to_device; mm/migrate_device.c migrate_vma_setup/pages/finalize, remove_migration_pte
#! selftest: tools/testing/selftests/mm/hmm-tests.c hmm.migrate
mmap p0 m0 anon rw pages=1024
write p0 m0[0..1024] = index
migrate-to-dev dev0 p0 m0[0..1024] => ok cpages=1024 faults=0 data=index ; entry p0 m0[0] devpriv write ; folio p0 m0[0] dev=dev0 anon excl ref=1 map=1 ; device dev0 free=1024 refs=1024 ; zone normal free=16384 ; mirror dev0 p0 m0[3] write same-as p0 m0[3]
munmap p0 m0[0..1024] => ok ; device dev0 free=2048 refs=0 ; folios count=0
