#! title: uffd-wp write-protects present pages; a write waits for the handler until the range is resolved
#! kernel: mm/userfaultfd.c mwriteprotect_range; mm/mprotect.c change_pte_range (MM_CP_UFFD_WP, MM_CP_UFFD_WP_RESOLVE); mm/memory.c do_wp_page (handle_userfault)
mmap p0 m0 anon rw pages=2
write p0 m0[0..2] = 1
uffd-wp p0 m0[0] on => ok ; entry p0 m0[0] page uffd-wp !write ; vma p0 m0[0] uffd-wp end=1 ; entry p0 m0[1] page write !uffd-wp
write p0 m0[0] = 2 => blocked@0
read p0 m0[0] => ok data=1
uffd-wp p0 m0[0] off => ok ; entry p0 m0[0] page !uffd-wp write
write p0 m0[0] = 3 => ok
fork p0 -> p1 => ok ; vma p1 m0[0] !uffd-wp
