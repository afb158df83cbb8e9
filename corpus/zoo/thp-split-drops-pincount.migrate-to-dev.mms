#! title: migrating one page of a pinned THP to a device must not split away its pins
#! planted: thp-split-drops-pincount
#! signature: migrate-to-dev/invariant:dangling-reference@subject
#! known-minimum: 4
#! kernel: mm/huge_memory.c can_split_folio, split_huge_page_to_list_to_order
mmap p0 m0 anon rw pages=512
madvise p0 m0[0..512] hugepage
gup p0 m0[0] pin write -> h0
migrate-to-dev dev0 p0 m0[0]
