#! title: fork must copy a maybe-pinned exclusive anon page for the child, not share it
#! planted: fork-shares-pinned-page
#! signature: fork/invariant:pinned-anon-exclusive@subject
#! known-minimum: 3
#! kernel: mm/memory.c copy_present_pte, folio_try_dup_anon_rmap_pte (folio_needs_cow_for_dma)
mmap p0 m0 anon rw pages=1
gup p0 m0[0] pin write -> h0
fork p0 -> p1
