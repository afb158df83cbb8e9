#! title: unmapping part of a PMD-mapped THP splits the PMD; the folio stays large and partly mapped
#! kernel: mm/huge_memory.c __split_huge_pmd_locked; mm/memory.c zap_pte_range
mmap p0 m0 anon rw pages=512
madvise p0 m0[0..512] hugepage
write p0 m0[0..512] = index
munmap p0 m0[256..512] => ok ; entry p0 m0[0] page !pmd write dirty ; folio p0 m0[0] order=9 ref=256 map=256 entire=0 excl ; zone normal free=15872
read p0 m0[255] => ok data=255
