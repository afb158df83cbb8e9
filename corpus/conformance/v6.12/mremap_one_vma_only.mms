#! title: before Linux 6.17 a same-size fixed mremap moves one VMA only: an unmapped source start is EFAULT with nothing changed (vma_lookup); otherwise the destination is unmapped first, then a range past the VMA is EFAULT (vma_to_resize), leaving the destination unmapped
#! kernel: mm/mremap.c (6.12) SYSCALL_DEFINE5(mremap) (vma_lookup), mremap_to (do_munmap of the destination before vma_to_resize), move_vma
#! config: kernel=6.12
mmap p0 m0 anon rw pages=4
mmap p0 m0 anon r pages=2 at=6
write p0 m0[0..4] = index
read p0 m0[6..8] => ok data=0
# The destination: one mapping of 8 pages.
mmap p0 m1 anon rw pages=8
write p0 m1[0..8] = 9
# Starting in the gap: EFAULT, nothing changes.
mremap p0 m0[4..8] -> m1[0] => EFAULT ; vma p0 m1[0] start=0 end=8 ; vma p0 m0[6] start=6 end=8
# Over the first VMA, the gap and the second: the destination goes, then EFAULT; the source stays.
mremap p0 m0[2..8] -> m1[0] => EFAULT ; vma p0 m1[0] none ; vma p0 m1[6] start=6 end=8 ; vma p0 m0[0] end=4 ; vma p0 m0[6] start=6 end=8
# Inside one VMA: it moves, split where the range cuts it.
mremap p0 m0[1..3] -> m1[0] => ok ; vma p0 m0[0] end=1 ; vma p0 m0[1] none ; vma p0 m0[3] start=3 end=4 ; vma p0 m1[0] start=0 end=2
read p0 m1[0..2] => ok data=[1,2]
read p0 m1[6..8] => ok data=9
