#! title: a read fault maps the shared zero page; a write copies it into a new exclusive page
#! kernel: mm/memory.c do_anonymous_page, wp_page_copy
mmap p0 m0 anon rw pages=2
read p0 m0[0..2] => ok data=0 ; entry p0 m0[0] zero !write ; folios count=0 ; vma p0 m0[0] !anon-vma
write p0 m0[1] = 5 => ok ; entry p0 m0[0] zero ; entry p0 m0[1] page write dirty ; folio p0 m0[1] ref=1 map=1 excl anon ; vma p0 m0[0] anon-vma
read p0 m0[0..2] => ok data=[0,5]
