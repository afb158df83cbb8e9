#! title: MADV_COLLAPSE checks each VMA up front (large enough for an aligned PMD block, no MADV_NOHUGEPAGE, an anon_vma), else EINVAL even when the range holds no whole block; a block cut by a VMA boundary belongs to neither VMA and is not tried; a VMA's part that reaches no block boundary is EINVAL; an empty block ends the walk
#! kernel: mm/madvise.c madvise_walk_vmas; mm/khugepaged.c madvise_collapse (thp_vma_allowable_order, TVA_FORCED_COLLAPSE; hstart, hend; the scan results that go on), check_pmd_state (SCAN_PMD_NONE); mm/huge_memory.c __thp_vma_allowable_orders (thp_vma_suitable_order, anon_vma), vma_thp_disabled
# Too small for a block.
mmap p0 m0 anon rw pages=16
write p0 m0[0..16] = 1
madvise p0 m0[0..16] collapse => EINVAL ; entry p0 m0[0] page !pmd
# Large enough, but no anonymous page was ever mapped: no anon_vma.
mmap p0 m1 anon rw pages=1024
madvise p0 m1[0..16] collapse => EINVAL ; vma p0 m1[0] !anon-vma
# With an anon_vma, a range starting on a block boundary but holding no block: nothing to do.
write p0 m1[0..4] = 2
madvise p0 m1[0..16] collapse => ok ; entry p0 m1[0] page !pmd
# A range strictly inside one block: hstart > hend, the block count wraps: EINVAL.
madvise p0 m1[1..16] collapse => EINVAL
madvise p0 m1[0..1024] nohugepage
madvise p0 m1[0..16] collapse => EINVAL
# Two VMAs, both with an anon_vma, meeting inside the block m2[512..1024): the block is in neither part.
mmap p0 m2 anon rw pages=2048
write p0 m2[512..520] = 3
mprotect p0 m2[600..2048] r
madvise p0 m2[256..1024] collapse => ok ; entry p0 m2[512] page !pmd ; vma p0 m2[600] anon-vma
# The second VMA's part [600, 800) reaches no block boundary: EINVAL after the first part.
madvise p0 m2[256..800] collapse => EINVAL
# A hole in the range: the mapped parts are collapsed first, then ENOMEM; a VMA's own error comes first.
mmap p0 m3 anon rw pages=1024
write p0 m3[0..1024] = 4
madvise p0 m3[0..1100] collapse => ENOMEM ; entry p0 m3[0] page pmd ; entry p0 m3[512] page pmd
mmap p0 m4 anon rw pages=16 at=100
write p0 m4[100..116] = 5
madvise p0 m4[0..512] collapse => EINVAL
# An empty block (no PTE table: SCAN_PMD_NONE) ends the walk: the block after it is not tried.
mmap p0 m5 anon rw pages=1024
write p0 m5[715] = 6
madvise p0 m5[0..1024] collapse => EINVAL ; entry p0 m5[715] page !pmd
madvise p0 m5[512..1024] collapse => ok ; entry p0 m5[715] page pmd
