#! title: before Linux 6.15 test_hmm makes a range device-exclusive 64 pages at a time, and maps a chunk's pages in the device table only if GUP took the whole chunk: when it stops at an unmapped page, the pages it took are made exclusive but never mapped, and the ioctl fails with EBUSY (from 6.15 each page is mapped as it is made exclusive and the failure is GUP's EFAULT)
#! kernel: lib/test_hmm.c (6.12) dmirror_exclusive (pages[64], dmirror_atomic_map); mm/rmap.c (6.12) make_device_exclusive_range (get_user_pages_remote)
#! config: kernel=6.12
mmap p0 m0 anon rw pages=66
write p0 m0[0..66] = 5
munmap p0 m0[65] => ok
dev-exclusive dev0 p0 m0[0..66] => EBUSY ; entry p0 m0[63] devexcl write ; mirror dev0 p0 m0[63] atomic ; entry p0 m0[64] devexcl write ; mirror dev0 p0 m0[64] none ; folio p0 m0[64] ref=1 map=0 !locked
dev-check-exclusive dev0 p0 m0[0..66] => EPERM
read p0 m0[63..65] => ok data=5 ; entry p0 m0[64] page write dirty
