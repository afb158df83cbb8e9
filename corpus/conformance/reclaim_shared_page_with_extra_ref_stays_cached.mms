#! title: a shared anon page with an extra GET reference is unmapped to swap entries but cannot be freed: it stays in the swap cache
#! kernel: mm/vmscan.c shrink_folio_list, __remove_mapping (refcount freeze fails); mm/memory.c do_swap_page (swap cache hit)
mmap p0 m0 anon rw pages=1
write p0 m0[0] = 9
fork p0 -> p1
gup p1 m0[0] get -> h0 => ok 1 ; folio p0 m0[0] ref=3 map=2
reclaim => ok 0 ; entry p0 m0[0] swap ; entry p1 m0[0] swap ; swap used=1 ; folios count=1
dma-read h0[0] => ok data=9
read p0 m0[0] => ok data=9 ; folio p0 m0[0] swapcache ref=3 map=1
