#! title: a read-only pin of a COW-shared anon page unshares it first, so the pin keeps seeing what the pinning process sees (CVE-2020-29374)
#! kernel: mm/internal.h gup_must_unshare; mm/gup.c follow_page_pte (-EMLINK), faultin_page (FAULT_FLAG_UNSHARE); mm/memory.c do_wp_page
mmap p0 m0 anon rw pages=1
write p0 m0[0] = 1
fork p0 -> p1
gup p1 m0[0] pin -> h0 => ok 1 ; !same p0 m0[0] p1 m0[0] ; folio p1 m0[0] excl ref=1025 ; entry p1 m0[0] page !write ; folio p0 m0[0] ref=1 !excl
write p0 m0[0] = 2
dma-read h0[0] => ok data=1
write p1 m0[0] = 3 => ok ; folio p1 m0[0] ref=1025 ; entry p1 m0[0] page write
dma-read h0[0] => ok data=3
