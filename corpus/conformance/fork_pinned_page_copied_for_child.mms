#! title: fork gives the child a copy of an exclusive page that may be pinned; the parent keeps its page writable
#! kernel: mm/memory.c copy_present_page; include/linux/rmap.h folio_try_dup_anon_rmap_pte (folio_needs_cow_for_dma)
mmap p0 m0 anon rw pages=2
write p0 m0[0..2] = index
gup p0 m0[0] pin -> h0 => ok 1
fork p0 -> p1 => ok ; !same p0 m0[0] p1 m0[0] ; entry p0 m0[0] page write ; folio p0 m0[0] excl ref=1025 ; folio p1 m0[0] excl ref=1 ; entry p1 m0[0] page write dirty ; same p0 m0[1] p1 m0[1] ; entry p0 m0[1] page !write
write p0 m0[0] = 7
dma-read h0[0] => ok data=7
read p1 m0[0] => ok data=0
