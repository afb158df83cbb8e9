#! title: with MADV_HUGEPAGE a read fault maps the huge zero page; a write replaces it with a THP
#! kernel: mm/huge_memory.c do_huge_pmd_anonymous_page (huge zero), do_huge_zero_wp_pmd
mmap p0 m0 anon rw pages=512
madvise p0 m0[0..512] hugepage
read p0 m0[0..512] => ok data=0 ; entry p0 m0[0] hugezero pmd !write ; folios count=0 ; vma p0 m0[0] anon-vma
write p0 m0[7] = 7 => ok ; entry p0 m0[0] page pmd write ; folio p0 m0[0] order=9 ; zone normal free=15872
read p0 m0[6..8] => ok data=[0,7]
