#! title: when device memory runs out, pages that get no device page stay in system memory and MIGRATE_TO_DEV reports ENOENT
#! kernel: lib/test_hmm.c dmirror_devmem_alloc_page (allocation failure: entry not migrated), dmirror_migrate_to_device (-ENOENT)
mmap p0 m0 anon rw pages=2048
write p0 m0[0..2048] = 1
migrate-to-dev dev0 p0 m0[0..2048] => ok cpages=2048 faults=0 data=1 ; device dev0 free=0 refs=2048
mmap p0 m1 anon rw pages=1
write p0 m1[0] = 2
migrate-to-dev dev0 p0 m1[0] => ENOENT ; entry p0 m1[0] page
migrate-to-dev dev1 p0 m1[0] => ok cpages=1 faults=0 data=2 ; device dev1 free=2047
