#! title: MADV_DONTFORK keeps a VMA out of the child
#! kernel: mm/madvise.c madvise_update_vma (VM_DONTCOPY), kernel/fork.c dup_mmap
mmap p0 m0 anon rw pages=4
write p0 m0[0..4] = index
madvise p0 m0[2..4] dontfork => ok ; vma p0 m0[2] dontfork start=2 end=4 ; vma p0 m0[0] !dontfork end=2
fork p0 -> p1
read p1 m0[0..2] => ok data=index
read p1 m0[2] => SIGSEGV@2 ; vma p1 m0[2] none
madvise p0 m0[2..4] dofork => ok ; vma p0 m0[0] start=0 end=4 !dontfork
