#! title: fork splits the PMD of a THP that may be pinned and copies its pages for the child
#! kernel: mm/huge_memory.c copy_huge_pmd (folio_try_dup_anon_rmap_pmd -> -EBUSY, __split_huge_pmd); mm/memory.c copy_present_page
mmap p0 m0 anon rw pages=512
madvise p0 m0[0..512] hugepage
write p0 m0[0..512] = index
gup p0 m0[0] pin -> h0 => ok 1 ; folio p0 m0[0] ref=2 pin=1
fork p0 -> p1 => ok ; entry p0 m0[0] page !pmd write ; folio p0 m0[0] order=9 ref=513 map=512 entire=0 pin=1 ; folio p1 m0[0] order=0 excl ; !same p0 m0[9] p1 m0[9] ; zone normal free=15360
read p1 m0[511] => ok data=511
