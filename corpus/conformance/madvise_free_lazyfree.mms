#! title: MADV_FREE makes clean pages lazyfree; reclaim discards them, and a page written again becomes swap-backed instead
#! kernel: mm/madvise.c madvise_free_pte_range; mm/swap.c folio_mark_lazyfree; mm/vmscan.c shrink_folio_list
mmap p0 m0 anon rw pages=2
write p0 m0[0..2] = 9
madvise p0 m0[0..2] free => ok ; folio p0 m0[0] !swapbacked ; entry p0 m0[0] page !dirty !young
write p0 m0[1] = 8 => ok ; entry p0 m0[1] page dirty
reclaim => ok 1 ; entry p0 m0[0] none ; entry p0 m0[1] page ; folio p0 m0[1] swapbacked ; swap used=0
read p0 m0[0..2] => ok data=[0,8]
