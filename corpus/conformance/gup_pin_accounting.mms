#! title: FOLL_PIN adds GUP_PIN_COUNTING_BIAS to a small folio's refcount, and one reference plus one pincount per page to a large folio; FOLL_GET adds one reference
#! kernel: mm/gup.c try_grab_folio, gup_put_folio; include/linux/mm.h folio_maybe_dma_pinned
mmap p0 m0 anon rw pages=1
write p0 m0[0] = 1
gup p0 m0[0] pin -> h0 => ok 1 ; folio p0 m0[0] ref=1025 pinned ; has-pinned p0
gup p0 m0[0] get -> h1 => ok 1 ; folio p0 m0[0] ref=1026
release h0 => ok ; folio p0 m0[0] ref=2 !pinned
release h1 => ok ; folio p0 m0[0] ref=1
mmap p0 m1 anon rw pages=512
madvise p0 m1[0..512] hugepage
write p0 m1[0] = 1
gup p0 m1[0..3] pin write -> h2 => ok 3 ; folio p0 m1[0] ref=4 pin=3 pinned order=9
release h2 => ok ; folio p0 m1[0] ref=1 pin=0 !pinned
