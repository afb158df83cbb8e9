#! title: reclaim splits a THP to swap it out; the pins of a pinned THP must survive (reclaim must not even try: folio_maybe_dma_pinned)
#! planted: thp-split-drops-pincount
#! signature: reclaim/invariant:dangling-reference@subject
#! known-minimum: 4
#! kernel: mm/vmscan.c shrink_folio_list (folio_maybe_dma_pinned), mm/huge_memory.c can_split_folio
mmap p0 m0 anon rw pages=512
madvise p0 m0[0..512] hugepage
gup p0 m0[0] pin write -> h0
reclaim
