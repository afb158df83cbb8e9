#! title: a pin on a small folio counted as a plain reference leaves the page looking unpinned
#! planted: seed003-pin-without-bias
#! signature: gup/invariant:refs-balance@subject
#! known-minimum: 2
#! kernel: mm/gup.c try_grab_folio (GUP_PIN_COUNTING_BIAS), include/linux/mm.h folio_maybe_dma_pinned
mmap p0 m0 anon rw pages=1
gup p0 m0[0] pin write -> h0
