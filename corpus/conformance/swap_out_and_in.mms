#! title: reclaim swaps anonymous pages out; a read fault brings them back writable but clean, still in the swap cache
#! kernel: mm/vmscan.c shrink_folio_list; mm/rmap.c try_to_unmap_one; mm/memory.c do_swap_page (6.10+: map writable when exclusive)
mmap p0 m0 anon rw pages=2
write p0 m0[0..2] = index
reclaim => ok 2 ; entry p0 m0[0] swap exclusive soft-dirty ; swap used=2 ; folios count=0 ; zone normal free=16384
read p0 m0[0] => ok data=0 ; entry p0 m0[0] page write !dirty ; folio p0 m0[0] swapcache excl ref=2 map=1 ; swap used=2
write p0 m0[1] = 5 => ok ; folio p0 m0[1] !swapcache ref=1 excl ; entry p0 m0[1] page write dirty ; swap used=1
read p0 m0[0..2] => ok data=[0,5]
