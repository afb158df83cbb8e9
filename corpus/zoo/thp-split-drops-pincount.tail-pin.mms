#! title: a THP pinned through a tail page must not be split
#! planted: thp-split-drops-pincount
#! signature: split-thp/invariant:dangling-reference@subject
#! known-minimum: 4
#! kernel: mm/huge_memory.c can_split_folio, split_huge_page_to_list_to_order
mmap p0 m0 anon rw pages=512
madvise p0 m0[0..512] hugepage
gup p0 m0[1] pin write -> h0
split-thp p0 m0[0]
