#! title: the device reads anonymous memory through one hmm_range_fault round; the untouched page gets the zero page
#! kernel: lib/test_hmm.c dmirror_read, dmirror_fault; mm/hmm.c hmm_range_fault
#! selftest: tools/testing/selftests/mm/hmm-tests.c hmm.anon_read
mmap p0 m0 anon rw pages=1024
write p0 m0[2..1024] = index
mprotect p0 m0[0..1024] r
read p0 m0[1] => ok data=0 ; entry p0 m0[1] zero ; entry p0 m0[0] none
dev-read dev0 p0 m0[0..1024] => ok cpages=1024 faults=1 data=[2*0,1022*index] ; entry p0 m0[0] zero ; mirror dev0 p0 m0[0] read same-as p0 m0[0] ; mirror dev0 p0 m0[5] read same-as p0 m0[5]
