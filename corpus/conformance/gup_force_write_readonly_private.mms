#! title: FOLL_FORCE writes to a read-only private mapping through a private COW copy that stays read-only in the page table
#! kernel: mm/gup.c check_vma_flags (FOLL_FORCE), can_follow_write_pte; mm/memory.c wp_page_copy
file f0 tmpfs pages=1
mmap p0 m0 file-shared f0 rw pages=1
write p0 m0[0] = 1
mmap p0 m1 file-private f0 r pages=1
gup p0 m1[0] get write force -> h0 => ok 1 ; folio p0 m1[0] anon excl ; entry p0 m1[0] page !write dirty
dma-write h0[0] = 5
read p0 m1[0] => ok data=5
read p0 m0[0] => ok data=1
