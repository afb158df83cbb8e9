#! title: unmapping and exiting return every page; folios shared with another process live on until it lets go
#! kernel: mm/memory.c zap_pte_range, mm/mmap.c exit_mmap
mmap p0 m0 anon rw pages=600
madvise p0 m0[0..600] hugepage
write p0 m0[0..600] = 1 => ok ; zone normal free=15784
fork p0 -> p1
munmap p0 m0[0..600] => ok ; zone normal free=15784 ; vma p0 m0[0] none
munmap p0 m0[0..600] => ok
exit p1 => ok ; zone normal free=16384 ; folios count=0
exit p0 => ok
read p0 m0[0] => ENOENT
