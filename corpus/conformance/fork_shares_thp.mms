#! title: fork shares an unpinned THP through both PMDs, write-protected in both
#! kernel: mm/huge_memory.c copy_huge_pmd, folio_try_dup_anon_rmap_pmd
mmap p0 m0 anon rw pages=512
madvise p0 m0[0..512] hugepage
write p0 m0[0..512] = index => ok ; entry p0 m0[0] page pmd write dirty ; folio p0 m0[0] order=9 ref=1 map=1 entire=1 excl
fork p0 -> p1 => ok ; same p0 m0[100] p1 m0[100] ; folio p0 m0[0] ref=2 map=2 entire=2 !excl ; entry p0 m0[0] page pmd !write ; entry p1 m0[0] page pmd !write !young
read p1 m0[511] => ok data=511
