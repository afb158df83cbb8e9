#! title: a THP with an extra reference cannot be split; once released it can, and its zero-filled page goes to the shared zero page
#! kernel: mm/huge_memory.c can_split_folio, split_huge_page_to_list_to_order, __folio_split (RMP_USE_SHARED_ZEROPAGE); mm/migrate.c try_to_map_unused_to_zeropage
mmap p0 m0 anon rw pages=512
madvise p0 m0[0..512] hugepage
write p0 m0[0..512] = index
lock x0 p0 m0[0] => ok ; folio p0 m0[0] ref=2 locked
split-thp p0 m0[0] => EBUSY
unlock x0
gup p0 m0[0..2] get -> h0 => ok 2 ; folio p0 m0[0] ref=3
split-thp p0 m0[0] => EAGAIN ; folio p0 m0[0] order=9
release h0
split-thp p0 m0[0] => ok ; entry p0 m0[0] zero ; folio p0 m0[1] order=0 ref=1 map=1 excl ; entry p0 m0[1] page !pmd write ; folios count=511 ; zone normal free=15873
read p0 m0[300] => ok data=300
