#! title: MADV_COLLAPSE turns 512 small pages into a PMD-mapped THP, without MADV_HUGEPAGE
#! kernel: mm/khugepaged.c madvise_collapse, collapse_huge_page
#! selftest: hmm.migrate_anon_huge_fault (the MADV_COLLAPSE step)
mmap p0 m0 anon rw pages=1024
write p0 m0[0..1024] = index => ok ; folios count=1024
madvise p0 m0[0..1024] collapse => ok ; entry p0 m0[0] page pmd write dirty ; entry p0 m0[512] page pmd ; folios count=2 ; folio p0 m0[512] order=9 ref=1 map=1 entire=1 excl ; folio p0 m0[600] !excl subpage=88 ; zone normal free=15360
read p0 m0[510..514] => ok data=index
