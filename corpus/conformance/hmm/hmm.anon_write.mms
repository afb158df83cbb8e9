#! title: the device writes untouched anonymous memory through one write-fault round
#! kernel: lib/test_hmm.c dmirror_write, dmirror_fault (HMM_PFN_REQ_WRITE)
#! selftest: tools/testing/selftests/mm/hmm-tests.c hmm.anon_write
mmap p0 m0 anon rw pages=1024
dev-write dev0 p0 m0[0..1024] = index => ok cpages=1024 faults=1 ; mirror dev0 p0 m0[7] write same-as p0 m0[7]
read p0 m0[0..1024] => ok data=index
