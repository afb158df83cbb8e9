#! title: mremap moves pages with their state to another place; the old range is unmapped; a THP moves whole when the move keeps PMD alignment
#! kernel: mm/mremap.c move_vma, move_page_tables, move_ptes (move_soft_dirty_pte), move_huge_pmd, remap_move
mmap p0 m0 anon rw pages=4
write p0 m0[0..4] = index
mremap p0 m0[0..4] -> m1[10] => ok ; vma p0 m0[0] none ; vma p0 m1[10] start=10 end=14 ; entry p0 m1[10] page write soft-dirty ; folio p0 m1[10] ref=1 map=1 excl
read p0 m1[10..14] => ok data=index-10
read p0 m0[0] => SIGSEGV@0
mmap p0 m2 anon rw pages=512
madvise p0 m2[0..512] hugepage
write p0 m2[0..512] = 1
mremap p0 m2[0..512] -> m3[512] => ok ; entry p0 m3[512] page pmd ; folio p0 m3[512] order=9 entire=1
mremap p0 m3[512..1024] -> m4[1] => ok ; entry p0 m4[1] page !pmd ; folio p0 m4[1] order=9 entire=0 map=512
# The range runs past the VMA's end: since Linux 6.17 (remap_move) the VMA moves and the gap after it is left alone.
mremap p0 m4[1..600] -> m5[0] => ok ; vma p0 m4[1] none ; vma p0 m5[0] start=0 end=512 ; entry p0 m5[0] page !pmd ; folio p0 m5[0] order=9 entire=0 map=512
