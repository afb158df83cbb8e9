#! title: a same-size fixed mremap moves every VMA of the range, each to the same offset from the destination, keeping the gaps between them (Linux 6.17+); a gap at the start is EFAULT; a userfaultfd-armed VMA moves only alone
#! kernel: mm/mremap.c do_mremap (vrm_move_only), check_mremap_params (vrm_overlaps), remap_move, vma_multi_allowed, mremap_to, move_vma
# Source: anon rw m0[0..4), a gap, anon r m0[6..8), a gap, shmem m0[10..12).
mmap p0 m0 anon rw pages=4
mmap p0 m0 anon r pages=2 at=6
mmap p0 m0 anon-shared rw pages=2 at=10
write p0 m0[0..4] = index
read p0 m0[6..8] => ok data=0
write p0 m0[10..12] = 7
# Destination: one PROT_NONE mapping under the whole range.
mmap p0 m1 anon rw pages=16
write p0 m1[0..16] = 9
mprotect p0 m1[0..16] none
# remap_move: no gap permitted at the start of the range.
mremap p0 m0[4..12] -> m1[0] => EFAULT ; vma p0 m0[6] start=6 end=8 ; vma p0 m1[0] end=16
# From the middle of the first VMA to past the last: three pieces move; the destination under the gaps (and under the trailing gap) keeps its mapping.
mremap p0 m0[2..14] -> m1[0] => ok ; vma p0 m0[0] end=2 ; vma p0 m0[2] none ; vma p0 m0[6] none ; vma p0 m0[10] none ; vma p0 m1[0] start=0 end=2 prot=rw ; vma p0 m1[2] start=2 end=4 prot=none ; vma p0 m1[4] start=4 end=6 prot=r ; vma p0 m1[6] start=6 end=8 prot=none ; vma p0 m1[8] start=8 end=10 kind=anon-shared ; vma p0 m1[10] start=10 end=16 prot=none
read p0 m1[0..2] => ok data=[2,3]
read p0 m1[8..10] => ok data=7
# vma_multi_allowed: a userfaultfd-armed first VMA must be alone in the range.
mmap p0 m2 anon rw pages=4
mmap p0 m2 anon rw pages=2 at=6
uffd-wp p0 m2[0..4] on
mremap p0 m2[0..8] -> m3[0] => EFAULT ; vma p0 m2[0] end=4 uffd-wp ; vma p0 m3[0] none
mremap p0 m2[0..4] -> m3[0] => ok ; vma p0 m3[0] end=4 uffd-wp ; vma p0 m2[0] none
# An armed VMA after the first: the VMAs before it stay moved.
mmap p0 m4 anon rw pages=2
write p0 m4[0..2] = 5
mmap p0 m4 anon rw pages=2 at=3
uffd-wp p0 m4[3..5] on
mremap p0 m4[0..5] -> m5[0] => EFAULT ; vma p0 m4[0] none ; vma p0 m5[0] end=2 ; vma p0 m4[3] start=3 end=5 uffd-wp ; vma p0 m5[3] none
read p0 m5[0..2] => ok data=5
