#! title: MADV_PAGEOUT reclaims the range's pages mapped only by this process, and leaves shared ones
#! kernel: mm/madvise.c madvise_cold_or_pageout_pte_range, reclaim_pages
mmap p0 m0 anon rw pages=2
write p0 m0[0..2] = index
fork p0 -> p1
write p0 m0[1] = 5
madvise p0 m0[0..2] pageout => ok ; entry p0 m0[0] page ; entry p0 m0[1] swap ; swap used=1
read p0 m0[0..2] => ok data=[0,5]
