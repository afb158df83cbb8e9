#! title: opening a dmirror device (its first use by a process) and closing it
#! kernel: lib/test_hmm.c dmirror_fops_open, dmirror_fops_release
#! selftest: tools/testing/selftests/mm/hmm-tests.c hmm.open_close
mmap p0 m0 anon rw pages=1
dev-read dev0 p0 m0[0] => ok cpages=1 faults=1 data=0 ; mirror dev0 p0 m0[0] read
dev-close dev0 p0 => ok ; mirror dev0 p0 m0[0] none ; device dev0 free=2048 refs=0
dev-close dev0 p0 => ENOENT
