#! title: CPU reads of device-private pages migrate them back one page at a time; migrating the mixed range again works
#! kernel: mm/memory.c do_swap_page (device-private: migrate_to_ram); lib/test_hmm.c dmirror_devmem_fault
#! selftest: tools/testing/selftests/mm/hmm-tests.c hmm.migrate_fault
mmap p0 m0 anon rw pages=1024
write p0 m0[0..1024] = index
migrate-to-dev dev0 p0 m0[0..1024] => ok cpages=1024 faults=0 data=index
read p0 m0[0..512] => ok data=index ; entry p0 m0[0] page write ; entry p0 m0[512] devpriv write ; device dev0 free=1536 refs=512
migrate-to-dev dev0 p0 m0[0..1024] => ok cpages=1024 faults=0 data=index ; entry p0 m0[0] devpriv ; device dev0 free=1024 refs=1024
