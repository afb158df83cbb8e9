#! title: device-coherent memory is mapped by present PTEs and never faults back: it must be migrated back explicitly
#! kernel: lib/test_hmm.c dmirror_migrate_to_system; mm/migrate_device.c (MIGRATE_VMA_SELECT_DEVICE_COHERENT)
#! selftest: tools/testing/selftests/mm/hmm-tests.c hmm.migrate_multiple (device-coherent variant)
mmap p0 m0 anon rw pages=1024
write p0 m0[0..1024] = index
migrate-to-dev dev2 p0 m0[0..1024] => ok cpages=1024 faults=0 data=index ; entry p0 m0[0] page write ; folio p0 m0[0] dev=dev2 ; device dev2 free=1024 refs=1024
read p0 m0[0..4] => ok data=index ; folio p0 m0[0] dev=dev2
migrate-to-sys dev2 p0 m0[0..1024] => ok cpages=1024 faults=0 ; folio p0 m0[0] zone=normal ; device dev2 free=2048 refs=0
read p0 m0[0..1024] => ok data=index
