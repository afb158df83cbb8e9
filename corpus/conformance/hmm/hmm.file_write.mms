#! title: the device writes a shared file mapping; the CPU and the file see the data
#! kernel: lib/test_hmm.c dmirror_write; mm/memory.c do_shared_fault
#! selftest: tools/testing/selftests/mm/hmm-tests.c hmm.file_write
file f0 tmpfs pages=1024
mmap p0 m0 file-shared f0 rw pages=1024
dev-write dev0 p0 m0[0..1024] = index => ok cpages=1024 faults=1
read p0 m0[0..1024] => ok data=index
mmap p0 m1 file-shared f0 r pages=1024
read p0 m1[0..1024] => ok data=index
