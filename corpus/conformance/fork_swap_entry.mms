#! title: fork duplicates swap entries; the parent's entry loses its exclusive marker
#! kernel: mm/memory.c copy_nonpresent_pte (swap), do_swap_page
mmap p0 m0 anon rw pages=1
write p0 m0[0] = 11
reclaim => ok 1 ; entry p0 m0[0] swap exclusive ; swap used=1 ; folios count=0
fork p0 -> p1 => ok ; entry p0 m0[0] swap !exclusive ; entry p1 m0[0] swap !exclusive
read p1 m0[0] => ok data=11 ; entry p1 m0[0] page !write ; folio p1 m0[0] swapcache ref=2 map=1 !excl
read p0 m0[0] => ok data=11 ; same p0 m0[0] p1 m0[0] ; folio p0 m0[0] ref=3 map=2
