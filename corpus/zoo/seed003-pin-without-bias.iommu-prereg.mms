#! title: IOMMU pre-registration pins with the pin bias like any FOLL_PIN
#! planted: seed003-pin-without-bias
#! signature: iommu-prereg/invariant:refs-balance@subject
#! known-minimum: 2
#! kernel: mm/gup.c try_grab_folio (GUP_PIN_COUNTING_BIAS), include/linux/mm.h folio_maybe_dma_pinned
mmap p0 m0 anon rw pages=1
iommu-prereg i0 p0 m0[0]
