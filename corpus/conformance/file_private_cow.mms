#! title: a write to a private file mapping copies the page-cache page into an anonymous page; the file is unchanged
#! kernel: mm/memory.c do_cow_fault, wp_page_copy
file f0 ext4 pages=2
mmap p0 m0 file-shared f0 rw pages=2
write p0 m0[0..2] = 4
mmap p0 m1 file-private f0 rw pages=2
read p0 m1[0] => ok data=4 ; same p0 m0[0] p0 m1[0] ; entry p0 m1[0] page !write
write p0 m1[0] = 5 => ok ; !same p0 m0[0] p0 m1[0] ; folio p0 m1[0] anon excl ; folio p0 m0[0] !anon ref=2 map=1
write p0 m1[1] = 6 => ok ; folio p0 m1[1] anon
read p0 m0[0..2] => ok data=4
