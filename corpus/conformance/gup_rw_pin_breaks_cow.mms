#! title: a writable pin of a COW-shared page breaks COW; the other process keeps the old page
#! kernel: mm/gup.c can_follow_write_pte, faultin_page (FAULT_FLAG_WRITE); mm/memory.c wp_page_copy
mmap p0 m0 anon rw pages=1
write p0 m0[0] = 1
fork p0 -> p1
gup p0 m0[0] pin write -> h0 => ok 1 ; !same p0 m0[0] p1 m0[0] ; entry p0 m0[0] page write dirty ; folio p0 m0[0] ref=1025 excl
dma-write h0[0] = 9
read p0 m0[0] => ok data=9
read p1 m0[0] => ok data=1
