#! title: splitting an anonymous THP unmaps it first (try_to_migrate brackets every VMA mapping it with MMU_NOTIFY_CLEAR over the folio's extent), so a device mirror loses its entries for the folio, and a zero-filled piece is then mapped to the shared zero page although a device had mirrored it (test_hmm holds no reference); found by a guest campaign: part of a THP moved by mremap, read by a device, then split by MADV_PAGEOUT of the rest
#! kernel: mm/huge_memory.c unmap_folio, remap_page (RMP_USE_SHARED_ZEROPAGE), try_to_map_unused_to_zeropage; mm/rmap.c try_to_migrate_one; lib/test_hmm.c dmirror_interval_invalidate
mmap p0 m2 anon rw pages=512
madvise p0 m2[0..512] hugepage
write p0 m2[404..425] = index
mremap p0 m2[264..296] -> m4[0]
dev-read dev1 p0 m4[24..32] => ok cpages=8 faults=1 data=0
madvise p0 m2[296..512] pageout => ok ; entry p0 m4[24] zero ; mirror dev1 p0 m4[24] none
dev-read dev1 p0 m4[24..32] => ok cpages=8 faults=1 data=0
