#! title: collecting one page of a THP pinned by IOMMU pre-registration must not split away its pins
#! planted: thp-split-drops-pincount
#! signature: migrate-setup/invariant:pinned-anon-exclusive@subject
#! known-minimum: 4
#! kernel: mm/huge_memory.c can_split_folio, split_huge_page_to_list_to_order
mmap p0 m0 anon rw pages=512
madvise p0 m0[0..512] hugepage
iommu-prereg i0 p0 m0[0]
migrate-setup s0 p0 m0[0] select=system
