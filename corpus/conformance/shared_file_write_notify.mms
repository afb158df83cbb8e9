#! title: shared mappings of a writeback filesystem start read-only (write-notify); tmpfs shared mappings are writable from the first read fault
#! kernel: mm/mmap.c vma_wants_writenotify; mm/memory.c do_read_fault, wp_page_shared
file f0 ext4 pages=2
file f1 tmpfs pages=2
mmap p0 m0 file-shared f0 rw pages=2
mmap p0 m1 file-shared f1 rw pages=2
read p0 m0[0] => ok data=0 ; entry p0 m0[0] page !write ; folio p0 m0[0] !dirty
read p0 m1[0] => ok data=0 ; entry p0 m1[0] page write !dirty
write p0 m0[0] = 1 => ok ; entry p0 m0[0] page write dirty ; folio p0 m0[0] dirty
