#! title: mprotect write-protects and restores exclusive anon PTEs, splits and merges VMAs, and fails on holes
#! kernel: mm/mprotect.c mprotect_fixup, change_pte_range, can_change_pte_writable; do_mprotect_pkey
mmap p0 m0 anon rw pages=4
write p0 m0[0..4] = index
mprotect p0 m0[1..2] r => ok ; vma p0 m0[1] prot=r start=1 end=2 ; entry p0 m0[1] page !write dirty
write p0 m0[1] = 9 => SIGSEGV@1
read p0 m0[1] => ok data=1
mprotect p0 m0[1..2] rw => ok ; entry p0 m0[1] page write ; vma p0 m0[0] start=0 end=4 prot=rw
mprotect p0 m0[0] none => ok ; entry p0 m0[0] page !write
read p0 m0[0] => SIGSEGV@0
mprotect p0 m0[2..10] r => ENOMEM ; vma p0 m0[3] prot=r end=4
