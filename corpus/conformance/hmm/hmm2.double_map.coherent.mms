#! title: two coherent devices read the same pages; one migrates them; the other reads the coherent pages in place
#! kernel: lib/test_hmm.c dmirror_read, dmirror_interval_invalidate; device-coherent pages are present
#! selftest: tools/testing/selftests/mm/hmm-tests.c hmm2.double_map (device-coherent variant)
mmap p0 m0 anon rw pages=6
write p0 m0[0..6] = index
mprotect p0 m0[0..6] r
dev-read dev2 p0 m0[0..6] => ok cpages=6 faults=1 data=index
dev-read dev3 p0 m0[0..6] => ok cpages=6 faults=1 data=index
migrate-to-dev dev3 p0 m0[0..6] => ok cpages=6 faults=0 data=index ; entry p0 m0[0] page !write ; folio p0 m0[0] dev=dev3 ; mirror dev2 p0 m0[0] none
dev-read dev2 p0 m0[0..6] => ok cpages=6 faults=1 data=index ; folio p0 m0[0] dev=dev3 ; mirror dev2 p0 m0[0] read same-as p0 m0[0]
