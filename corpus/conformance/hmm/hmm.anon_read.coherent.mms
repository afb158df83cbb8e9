#! title: a device-coherent device reads anonymous memory like a device-private one
#! kernel: lib/test_hmm.c dmirror_read, dmirror_fault
#! selftest: tools/testing/selftests/mm/hmm-tests.c hmm.anon_read (device-coherent variant)
mmap p0 m0 anon rw pages=1024
write p0 m0[2..1024] = index
mprotect p0 m0[0..1024] r
read p0 m0[1] => ok data=0
dev-read dev2 p0 m0[0..1024] => ok cpages=1024 faults=1 data=[2*0,1022*index]
