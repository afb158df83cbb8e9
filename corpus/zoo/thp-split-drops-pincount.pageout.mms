#! title: MADV_PAGEOUT of part of a pinned THP splits it; the pins must survive the split
#! planted: thp-split-drops-pincount
#! signature: madvise/invariant:dangling-reference@subject
#! known-minimum: 4
#! kernel: mm/madvise.c madvise_cold_or_pageout_pte_range (split_folio), mm/huge_memory.c can_split_folio
mmap p0 m0 anon rw pages=512
madvise p0 m0[0..512] hugepage
gup p0 m0[100] pin write -> h0
madvise p0 m0[7] pageout
