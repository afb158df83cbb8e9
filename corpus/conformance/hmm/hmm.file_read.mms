#! title: the device reads a read-only shared file mapping
#! kernel: lib/test_hmm.c dmirror_read; mm/hmm.c hmm_range_fault (file pages)
#! selftest: tools/testing/selftests/mm/hmm-tests.c hmm.file_read
file f0 tmpfs pages=1024
mmap p0 m1 file-shared f0 rw pages=1024
write p0 m1[0..1024] = index
munmap p0 m1[0..1024]
mmap p0 m0 file-shared f0 r pages=1024
dev-read dev0 p0 m0[0..1024] => ok cpages=1024 faults=1 data=index
