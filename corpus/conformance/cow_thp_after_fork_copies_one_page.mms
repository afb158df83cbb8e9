#! title: a write to a shared THP splits the writer's PMD and copies a single 4 KiB page
#! kernel: mm/huge_memory.c do_huge_pmd_wp_page (fallback: __split_huge_pmd), mm/memory.c wp_page_copy
mmap p0 m0 anon rw pages=512
madvise p0 m0[0..512] hugepage
write p0 m0[0..512] = index
fork p0 -> p1
write p1 m0[3] = 99 => ok ; entry p1 m0[3] page !pmd write ; folio p1 m0[3] order=0 excl ; entry p1 m0[4] page !pmd !write ; entry p0 m0[3] page pmd !write ; same p0 m0[4] p1 m0[4] ; folio p0 m0[0] order=9 ref=512 map=512 entire=1
read p1 m0[2..5] => ok data=[2,99,4]
read p0 m0[3] => ok data=3
