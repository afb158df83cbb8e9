#! title: fork copies page tables of a private file mapping only once it has anonymous pages
#! kernel: mm/memory.c vma_needs_copy, copy_page_range
file f0 tmpfs pages=4
mmap p0 m0 file-private f0 rw pages=4
read p0 m0[0..4] => ok data=0 ; vma p0 m0[0] !anon-vma ; entry p0 m0[0] page !write ; folio p0 m0[0] !anon ref=2 map=1
fork p0 -> p1 => ok ; entry p1 m0[0] none
write p0 m0[1] = 3 => ok ; vma p0 m0[0] anon-vma ; folio p0 m0[1] anon excl ; folio p0 m0[0] !anon
fork p0 -> p2 => ok ; same p0 m0[0] p2 m0[0] ; same p0 m0[1] p2 m0[1] ; folio p2 m0[1] ref=2 map=2 !excl
read p2 m0[0..2] => ok data=[0,3]
