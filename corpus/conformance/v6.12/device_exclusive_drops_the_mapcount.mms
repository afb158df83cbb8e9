#! title: before Linux 6.15 making a page device-exclusive takes its rmap away (mapcount 0; the entry keeps the mapping's reference) and leaves the writable variant; the CPU's access restores a writable, dirty PTE with the rmap back, and its invalidation drops the device's atomic entry and, test_hmm's range being inclusive, the next page's too
#! kernel: mm/rmap.c (6.12) make_device_exclusive_range, folio_make_device_exclusive, page_make_device_exclusive_one; mm/memory.c (6.12) remove_device_exclusive_entry, restore_exclusive_pte; lib/test_hmm.c (6.12) dmirror_exclusive, dmirror_do_update
#! config: kernel=6.12
mmap p0 m0 anon rw pages=4
write p0 m0[0..4] = index
dev-exclusive dev0 p0 m0[0..2] => ok cpages=2 faults=0 data=index ; entry p0 m0[0] devexcl write ; entry p0 m0[1] devexcl write ; folio p0 m0[0] ref=1 map=0 !locked ; mirror dev0 p0 m0[0] atomic ; mirror dev0 p0 m0[1] atomic
read p0 m0[0] => ok data=0 ; entry p0 m0[0] page write dirty ; folio p0 m0[0] ref=1 map=1 ; mirror dev0 p0 m0[0] none ; mirror dev0 p0 m0[1] none ; entry p0 m0[1] devexcl write
dev-check-exclusive dev0 p0 m0[0..2] => ok
munmap p0 m0[0..4] => ok
