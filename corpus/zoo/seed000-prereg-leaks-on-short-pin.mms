#! title: an IOMMU preregistration whose pinning comes back short must unpin every page it pinned
#! planted: seed000-prereg-leaks-on-short-pin
#! signature: iommu-prereg/invariant:refs-balance@subject
#! known-minimum: 2
#! kernel: arch/powerpc/mm/book3s64/iommu_api.c mm_iommu_do_alloc (free_exit: unpin_user_pages of what was pinned)
mmap p0 m0 anon rw pages=1
# Two entries, one chunk: pin_user_pages(FOLL_WRITE|FOLL_LONGTERM) pins
# page 0 and stops at the hole after it. The kernel returns the short
# count (ok 1) after unpinning page 0 again: nothing may stay pinned.
iommu-prereg i0 p0 m0[0..2] => ok 1 ; folio p0 m0[0] ref=1 !pinned
