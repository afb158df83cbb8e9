#! title: madvise that leaves a VMA's flags as they are does not split it, so a THP across the range stays PMD-mapped; a change of flags splits the VMA and the PMD
#! kernel: mm/madvise.c madvise_update_vma (new_flags == vma->vm_flags), mm/vma.c vma_modify_flags, mm/huge_memory.c vma_adjust_trans_huge
mmap p0 m0 anon rw pages=512
madvise p0 m0[0..512] hugepage
write p0 m0[0..512] = 3
madvise p0 m0[89] hugepage => ok ; entry p0 m0[89] page pmd ; vma p0 m0[0] end=512
madvise p0 m0[89] dofork => ok ; entry p0 m0[89] page pmd
fork p0 -> p1
madvise p1 m0[89] hugepage => ok ; entry p1 m0[0] page pmd ; same p0 m0[89] p1 m0[89]
madvise p0 m0[89] dontfork => ok ; entry p0 m0[89] page !pmd ; vma p0 m0[89] start=89 end=90 dontfork
