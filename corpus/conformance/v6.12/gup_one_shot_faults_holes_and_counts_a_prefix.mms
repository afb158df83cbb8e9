#! title: a get or pin released at once (gup_test's one-shot requests, one page per call) faults holes in (the zero page for a read, a new page for a write) and returns the pages before the first one it cannot take; taking none is an error (gup_test does not say which)
#! kernel: mm/gup.c __get_user_pages (gup_vma_lookup, check_vma_flags), follow_page_pte (zero page), faultin_page, gup_fast_fallback; mm/gup_test.c __gup_test_ioctl (size = pages taken with nr_pages_per_call=1)
#! config: kernel=6.12
mmap p0 m0 anon rw pages=4
gup p0 m0[0..4] get -> h0 => ok 4 ; entry p0 m0[0] zero ; entry p0 m0[3] zero
release h0 => ok
gup p0 m0[2..4] get write -> h0 => ok 2 ; entry p0 m0[2] page write ; entry p0 m0[3] page write ; entry p0 m0[0] zero
release h0 => ok
gup p0 m0[0] pin fast -> h0 => ok 1 ; entry p0 m0[0] zero
release h0 => ok
mmap p0 m1 anon rw pages=3
write p0 m1[0] = 7
gup p0 m1[0..8] pin write -> h1 => ok 3 ; entry p0 m1[2] page write
release h1 => ok
gup p0 m1[1..8] get fast write -> h1 => ok 2
release h1 => ok
gup p0 m1[3..8] pin -> h1 => EFAULT
release h1 => ENOENT
mmap p0 m2 anon r pages=2
gup p0 m2[0..2] pin write -> h2 => EFAULT
release h2 => ENOENT
gup p0 m2[0..2] get force write -> h2 => ok 2 ; entry p0 m2[0] page !write
release h2 => ok
gup p0 m2[0] get nofault -> h2 => ok 1
release h2 => ok
mmap p0 m3 anon rw pages=1
gup p0 m3[0] pin nofault -> h3 => EFAULT
release h3 => ENOENT
read p0 m1[0..3] => ok data=[7,0,0]
