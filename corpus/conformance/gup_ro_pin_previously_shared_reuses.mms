#! title: a read-only pin of a previously shared page that is ours alone marks it exclusive without copying
#! kernel: mm/memory.c do_wp_page (unshare, wp_can_reuse_anon_folio)
mmap p0 m0 anon rw pages=1
write p0 m0[0] = 1
fork p0 -> p1
exit p1 => ok ; folio p0 m0[0] !excl ref=1
gup p0 m0[0] pin longterm -> h0 => ok 1 ; folio p0 m0[0] excl ref=1025 ; entry p0 m0[0] page !write ; folios count=1
