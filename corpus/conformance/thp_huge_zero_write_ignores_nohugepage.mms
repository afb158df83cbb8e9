#! title: a write to the huge zero page maps a THP even after MADV_NOHUGEPAGE: the policy was checked when the huge zero page was mapped, the write fault checks only the allocation
#! kernel: mm/memory.c wp_huge_pmd; mm/huge_memory.c do_huge_pmd_wp_page, do_huge_zero_wp_pmd (vma_alloc_anon_folio_pmd)
mmap p0 m0 anon rw pages=512
madvise p0 m0[0..512] hugepage
read p0 m0[0] => ok data=0 ; entry p0 m0[0] hugezero pmd
madvise p0 m0[0..512] nohugepage => ok ; entry p0 m0[0] hugezero pmd ; vma p0 m0[0] nohugepage
write p0 m0[5] = 5 => ok ; entry p0 m0[0] page pmd write ; folio p0 m0[0] order=9
read p0 m0[4..6] => ok data=[0,5]
