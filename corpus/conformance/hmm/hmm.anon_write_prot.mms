#! title: a device write to a read-only VMA is refused with EPERM; after mprotect RW it succeeds and replaces the zero page
#! kernel: mm/hmm.c hmm_vma_fault (write required without VM_WRITE: -EPERM)
#! selftest: tools/testing/selftests/mm/hmm-tests.c hmm.anon_write_prot
mmap p0 m0 anon r pages=1024
dev-read dev0 p0 m0[0] => ok cpages=1 faults=1 data=0 ; entry p0 m0[0] zero
dev-write dev0 p0 m0[0..1024] = index => EPERM
read p0 m0[0..1024] => ok data=0
mprotect p0 m0[0..1024] rw
dev-write dev0 p0 m0[0..1024] = index => ok cpages=1024 faults=1 ; entry p0 m0[0] page write
read p0 m0[0..1024] => ok data=index
