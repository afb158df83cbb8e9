#! title: a write fault on a swap entry drops the swap cache when nobody else holds the folio
#! kernel: mm/memory.c do_swap_page, should_try_to_free_swap
mmap p0 m0 anon rw pages=1
write p0 m0[0] = 3
reclaim => ok 1
write p0 m0[0] = 4 => ok ; folio p0 m0[0] !swapcache ref=1 map=1 excl ; swap used=0
