#! title: THP needs MADV_HUGEPAGE ("madvise" policy) and a PMD block entirely inside the VMA
#! kernel: mm/huge_memory.c __thp_vma_allowable_orders, thp_vma_suitable_order
mmap p0 m0 anon rw pages=512
write p0 m0[0] = 1 => ok ; entry p0 m0[0] page !pmd ; folio p0 m0[0] order=0
mmap p0 m1 anon rw pages=600 at=1
madvise p0 m1[1..601] hugepage
write p0 m1[1] = 1 => ok ; entry p0 m1[1] page !pmd ; folio p0 m1[1] order=0
write p0 m1[512] = 2 => ok ; entry p0 m1[512] page !pmd
mmap p0 m2 anon rw pages=512
madvise p0 m2[0..512] nohugepage
write p0 m2[0] = 3 => ok ; entry p0 m2[0] page !pmd ; vma p0 m2[0] nohugepage
