#! title: soft-dirty survives swap-out in the swap entry, and soft-dirty tracking keeps a swapped-in page read-only
#! kernel: mm/rmap.c try_to_unmap_one (pte_swp_mksoft_dirty); mm/memory.c do_swap_page (pte_needs_soft_dirty_wp)
mmap p0 m0 anon rw pages=2
write p0 m0[0..2] = 1
reclaim => ok 2 ; entry p0 m0[0] swap soft-dirty exclusive
clear-soft-dirty p0 => ok ; entry p0 m0[0] swap !soft-dirty
read p0 m0[0] => ok data=1 ; entry p0 m0[0] page !write !soft-dirty ; folio p0 m0[0] excl
read p0 m0[1] => ok data=1
