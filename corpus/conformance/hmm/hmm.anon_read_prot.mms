#! title: the device cannot read PROT_NONE memory: EFAULT, nothing copied
#! kernel: mm/hmm.c hmm_vma_walk_test (no VM_READ with a fault required: -EFAULT)
#! selftest: tools/testing/selftests/mm/hmm-tests.c hmm.anon_read_prot
mmap p0 m0 anon rw pages=1024
write p0 m0[0..1024] = index
mprotect p0 m0[0..1024] none
dev-read dev0 p0 m0[0..1024] => EFAULT ; mirror dev0 p0 m0[0] none
mprotect p0 m0[0..1024] r
read p0 m0[0..1024] => ok data=index
