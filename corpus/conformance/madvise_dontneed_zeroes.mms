#! title: MADV_DONTNEED drops private anonymous pages: the next read sees zeroes
#! kernel: mm/madvise.c madvise_dontneed_single_vma, mm/memory.c zap_pte_range
mmap p0 m0 anon rw pages=4
write p0 m0[0..4] = 1
madvise p0 m0[1..3] dontneed => ok ; entry p0 m0[1] none ; entry p0 m0[3] page ; folios count=2
read p0 m0[0..4] => ok data=[1,2*0,1]
madvise p0 m0[3..8] dontneed => ENOMEM ; entry p0 m0[3] none
