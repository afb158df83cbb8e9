#! title: a write pin released at once (gup_test's PIN_BASIC_TEST: pinned and unpinned in one call) of a page fork shares breaks COW: the pinning process maps its own exclusive copy, the other keeps the old page, now its alone
#! kernel: mm/gup.c __get_user_pages, follow_page_pte, faultin_page (FAULT_FLAG_WRITE); mm/memory.c do_wp_page, wp_page_copy; mm/gup_test.c __gup_test_ioctl
#! config: kernel=6.12
mmap p0 m0 anon rw pages=2
write p0 m0[0..2] = 1
fork p0 -> p1 => ok ; same p0 m0[0] p1 m0[0] ; folio p0 m0[0] map=2 !excl
gup p0 m0[0] pin write -> h0 => ok 1 ; !same p0 m0[0] p1 m0[0] ; folio p0 m0[0] map=1 excl ref=1025 ; entry p0 m0[0] page write ; folio p1 m0[0] map=1 !excl ; same p0 m0[1] p1 m0[1]
release h0 => ok ; folio p0 m0[0] ref=1 !pinned
gup p1 m0[1] pin fast write -> h1 => ok 1 ; !same p0 m0[1] p1 m0[1] ; folio p1 m0[1] excl ; folio p0 m0[1] map=1 !excl
release h1 => ok
write p0 m0[0..2] = 2
read p1 m0[0..2] => ok data=1
