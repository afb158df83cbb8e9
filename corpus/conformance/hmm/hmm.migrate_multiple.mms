#! title: repeated migrate-to-device, CPU fault-back and unmap leave no device memory behind
#! kernel: lib/test_hmm.c dmirror_migrate_to_device, dmirror_devmem_fault
#! selftest: tools/testing/selftests/mm/hmm-tests.c hmm.migrate_multiple
mmap p0 m0 anon rw pages=1024
write p0 m0[0..1024] = index
migrate-to-dev dev0 p0 m0[0..1024] => ok cpages=1024 faults=0 data=index
read p0 m0[0..1024] => ok data=index ; device dev0 free=2048 refs=0
munmap p0 m0[0..1024]
mmap p0 m0 anon rw pages=1024
write p0 m0[0..1024] = index+1
migrate-to-dev dev0 p0 m0[0..1024] => ok cpages=1024 faults=0 data=index+1
read p0 m0[0..1024] => ok data=index+1 ; device dev0 free=2048 refs=0
munmap p0 m0[0..1024] => ok ; folios count=0
