#! title: with MADV_HUGEPAGE a write fault maps a fresh order-9 folio with one PMD
#! kernel: mm/huge_memory.c do_huge_pmd_anonymous_page, map_anon_folio_pmd
mmap p0 m0 anon rw pages=1024
madvise p0 m0[0..1024] hugepage => ok ; vma p0 m0[0] hugepage
write p0 m0[5] = 1 => ok ; entry p0 m0[0] page pmd write dirty young soft-dirty ; folio p0 m0[0] order=9 ref=1 map=1 entire=1 excl anon ; folio p0 m0[5] subpage=5 ; zone normal free=15872 ; entry p0 m0[512] none
