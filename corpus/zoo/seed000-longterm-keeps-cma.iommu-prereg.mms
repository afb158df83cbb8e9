#! title: IOMMU pre-registration (a long-term pin) must migrate a CMA page out of the CMA area first
#! planted: seed000-longterm-keeps-cma
#! signature: iommu-prereg/state:folio.memory
#! known-minimum: 3
#! kernel: mm/gup.c __gup_longterm_locked, check_and_migrate_movable_pages, include/linux/mm.h folio_is_longterm_pinnable
mmap p0 m0 anon rw pages=1 zone=cma
write p0 m0[0] = 0
iommu-prereg i0 p0 m0[0]
