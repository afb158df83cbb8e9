#! title: splitting an anonymous THP maps its zero-filled pages to the shared zero page and frees them (Linux 6.12+); MADV_PAGEOUT and MADV_FREE of part of a THP split it unless another process maps it
#! kernel: mm/huge_memory.c __folio_split (remap_page, RMP_USE_SHARED_ZEROPAGE); mm/migrate.c remove_migration_pte, try_to_map_unused_to_zeropage; mm/madvise.c madvise_cold_or_pageout_pte_range, madvise_free_pte_range (folio_maybe_mapped_shared); mm/huge_memory.c madvise_free_huge_pmd
#! config: swap_slots=0
mmap p0 m0 anon rw pages=512
madvise p0 m0[0..512] hugepage
write p0 m0[441..446] = 18
madvise p0 m0[78] pageout => ok ; entry p0 m0[0] zero ; entry p0 m0[441] page !pmd ; folio p0 m0[441] order=0 ; folios count=5
read p0 m0[440..447] => ok data=[0,18,18,18,18,18,0]
# MADV_FREE of part of a THP only this process maps splits it; its zero-filled page goes to the zero page.
mmap p0 m1 anon rw pages=512
madvise p0 m1[0..512] hugepage
write p0 m1[0..512] = index
madvise p0 m1[10..20] free => ok ; entry p0 m1[0] zero ; entry p0 m1[1] page !pmd ; folio p0 m1[1] order=0
# A THP another process maps too is neither split nor freed (folio_maybe_mapped_shared).
mmap p0 m2 anon rw pages=512
madvise p0 m2[0..512] hugepage
write p0 m2[0..512] = index
fork p0 -> p1
madvise p1 m2[10..20] free => ok ; entry p1 m2[0] page pmd ; folio p1 m2[0] order=9 map=2
madvise p1 m2[10..20] pageout => ok ; entry p1 m2[0] page pmd ; folio p1 m2[0] order=9
