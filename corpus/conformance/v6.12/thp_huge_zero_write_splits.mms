#! title: before Linux 6.13 a write to the huge zero page splits its PMD into zero-page PTEs and the PTE fault maps one new page (do_huge_pmd_wp_page falls back); from 6.13 it maps a THP (do_huge_zero_wp_pmd)
#! kernel: mm/huge_memory.c (6.12) do_huge_pmd_wp_page (is_huge_zero_pmd: fallback, __split_huge_pmd); mm/memory.c do_wp_page, wp_page_copy
#! config: kernel=6.12
mmap p0 m0 anon rw pages=512
madvise p0 m0[0..512] hugepage
read p0 m0[0] => ok data=0 ; entry p0 m0[0] hugezero pmd
write p0 m0[7] = 7 => ok ; entry p0 m0[7] page write !pmd ; folio p0 m0[7] order=0 ; entry p0 m0[0] zero !pmd ; entry p0 m0[8] zero !pmd
read p0 m0[6..9] => ok data=[0,7,0]
