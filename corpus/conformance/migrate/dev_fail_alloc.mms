#! title: HMM_DMIRROR_FLAG_FAIL_ALLOC fails the next device allocation once: that page is not migrated
#! kernel: lib/test_hmm.c dmirror_devmem_alloc_page (HMM_DMIRROR_FLAG_FAIL_ALLOC)
mmap p0 m0 anon rw pages=2
write p0 m0[0..2] = index
dev-fail-alloc dev0 => ok ; device dev0 fail-alloc
migrate-to-dev dev0 p0 m0[0..2] => ENOENT ; device dev0 !fail-alloc free=2047
migrate-to-dev dev0 p0 m0[0..2] => ok cpages=2 faults=0 data=index
