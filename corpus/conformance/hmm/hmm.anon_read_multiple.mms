#! title: repeated device reads of fresh mappings
#! kernel: lib/test_hmm.c dmirror_read
#! selftest: tools/testing/selftests/mm/hmm-tests.c hmm.anon_read_multiple
mmap p0 m0 anon rw pages=1024
write p0 m0[0..1024] = index
dev-read dev0 p0 m0[0..1024] => ok cpages=1024 faults=1 data=index
munmap p0 m0[0..1024] => ok ; mirror dev0 p0 m0[0] none
mmap p0 m0 anon rw pages=1024
write p0 m0[0..1024] = index+1
dev-read dev0 p0 m0[0..1024] => ok cpages=1024 faults=1 data=index+1
