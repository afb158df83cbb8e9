#! title: a private anonymous page shared by fork is copied on the first write
#! kernel: mm/memory.c copy_present_pte, do_wp_page, wp_page_copy
mmap p0 m0 anon rw pages=1
write p0 m0[0] = 1
fork p0 -> p1 => ok ; same p0 m0[0] p1 m0[0] ; entry p0 m0[0] page !write ; entry p1 m0[0] page !write !young ; folio p0 m0[0] ref=2 map=2 !excl
write p1 m0[0] = 2 => ok ; !same p0 m0[0] p1 m0[0] ; folio p1 m0[0] ref=1 map=1 excl ; entry p1 m0[0] page write dirty soft-dirty
read p0 m0[0] => ok data=1
read p1 m0[0] => ok data=2
