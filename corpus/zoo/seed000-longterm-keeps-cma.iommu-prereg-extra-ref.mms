#! title: the prereg's long-term pin must migrate a CMA page first, and fail when an extra reference keeps it from migrating (a range past the VMA: the buggy pin returns a short count)
#! planted: seed000-longterm-keeps-cma
#! signature: iommu-prereg/outcome:ENOMEM-vs-count
#! known-minimum: 3
#! kernel: mm/gup.c check_and_migrate_movable_pages (-ENOMEM when a folio stays), arch/powerpc/mm/book3s64/iommu_api.c mm_iommu_do_alloc
mmap p0 m0 anon rw pages=1 zone=cma
gup p0 m0[0] get write -> h0
iommu-prereg i0 p0 m0[0..2]
