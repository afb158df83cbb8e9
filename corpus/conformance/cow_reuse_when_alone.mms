#! title: after the child exits, the parent's write reuses the formerly shared page
#! kernel: mm/memory.c do_wp_page, wp_can_reuse_anon_folio
mmap p0 m0 anon rw pages=1
write p0 m0[0] = 1
fork p0 -> p1 => ok ; folio p0 m0[0] ref=2 !excl
exit p1 => ok ; folio p0 m0[0] ref=1 map=1 !excl ; entry p0 m0[0] page !write
write p0 m0[0] = 2 => ok ; folio p0 m0[0] ref=1 excl ; entry p0 m0[0] page write ; folios count=1
