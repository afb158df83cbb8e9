#! title: releasing a get_user_pages() reference (put_page) must not release a DMA pin someone else holds on the page
#! planted: seed003-put-page-unpins
#! signature: release/invariant:refs-balance@subject
#! known-minimum: 4
#! kernel: mm/gup.c gup_put_folio, try_grab_folio (GUP_PIN_COUNTING_BIAS), include/linux/mm.h folio_maybe_dma_pinned
# A long-term DMA user pins the page (a small folio: +1024 references) ...
mmap p0 m0 anon rw pages=1
gup p0 m0[0] pin write -> h0 => ok 1 ; folio p0 m0[0] ref=1025 map=1 pinned
# ... and some unrelated kernel code takes and drops a plain reference.
gup p0 m0[0] get -> h1       => ok 1 ; folio p0 m0[0] ref=1026
# put_page() drops exactly that one reference: the pin stays.
release h1                   => ok ; folio p0 m0[0] ref=1025 pinned
