#! title: splitting a VMA at an address inside a PMD block the VMA covers whole invalidates that whole block for mmu notifiers, PMD leaf or not (vma_adjust_trans_huge -> split_huge_pmd_address -> __split_huge_pmd starts a MMU_NOTIFY_CLEAR over the block before it looks at the PMD): a device mirror loses its entries there and must fault again; a VMA that does not cover the block is split without it (found by a guest campaign)
#! kernel: mm/vma.c __split_vma, mm/huge_memory.c split_huge_pmd_if_needed, __split_huge_pmd; lib/test_hmm.c dmirror_interval_invalidate
mmap p0 m2 anon rw pages=559
dev-write dev0 p0 m2[496] = 1 => ok cpages=1 faults=1
munmap p0 m2[374] => ok
dev-write dev0 p0 m2[496] = 2 => ok cpages=1 faults=1
mmap p0 m3 anon rw pages=100
dev-write dev0 p0 m3[50] = 1 => ok cpages=1 faults=1
munmap p0 m3[10] => ok
dev-write dev0 p0 m3[50] = 2 => ok cpages=1 faults=0
