#! title: after mprotect PROT_READ a device write to former device-exclusive pages is refused
#! kernel: mm/hmm.c hmm_vma_fault (-EPERM); mm/mprotect.c change_pte_range
#! selftest: tools/testing/selftests/mm/hmm-tests.c hmm.exclusive_mprotect
mmap p0 m0 anon rw pages=1024
write p0 m0[0..1024] = index
dev-exclusive dev0 p0 m0[0..1024] => ok cpages=1024 faults=0 data=index
mprotect p0 m0[0..1024] r => ok ; mirror dev0 p0 m0[0] none
dev-write dev0 p0 m0[0..1024] = index => EPERM
