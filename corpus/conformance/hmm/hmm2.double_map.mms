#! title: two devices read the same pages; one migrates them (read-only); the other device's next read pulls them back
#! kernel: lib/test_hmm.c dmirror_interval_invalidate (migration owned by the other device erases this device's entries), dmirror_devmem_fault
#! selftest: tools/testing/selftests/mm/hmm-tests.c hmm2.double_map
mmap p0 m0 anon rw pages=6
write p0 m0[0..6] = index
mprotect p0 m0[0..6] r
dev-read dev0 p0 m0[0..6] => ok cpages=6 faults=1 data=index
dev-read dev1 p0 m0[0..6] => ok cpages=6 faults=1 data=index
migrate-to-dev dev1 p0 m0[0..6] => ok cpages=6 faults=0 data=index ; entry p0 m0[0] devpriv !write ; mirror dev0 p0 m0[0] none ; mirror dev1 p0 m0[0] read
dev-read dev0 p0 m0[0..6] => ok cpages=6 faults=1 data=index ; entry p0 m0[0] page !write
