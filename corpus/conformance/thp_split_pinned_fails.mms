#! title: a THP with an extra reference cannot be split; once released it can
#! kernel: mm/huge_memory.c can_split_folio, split_huge_page_to_list_to_order
mmap p0 m0 anon rw pages=512
madvise p0 m0[0..512] hugepage
write p0 m0[0..512] = index
lock x0 p0 m0[0] => ok ; folio p0 m0[0] ref=2 locked
split-thp p0 m0[0] => EBUSY
unlock x0
gup p0 m0[0..2] get -> h0 => ok 2 ; folio p0 m0[0] ref=3
split-thp p0 m0[0] => EAGAIN ; folio p0 m0[0] order=9
release h0
split-thp p0 m0[0] => ok ; folio p0 m0[0] order=0 ref=1 map=1 excl ; entry p0 m0[0] page !pmd write ; folios count=512 ; zone normal free=15872
read p0 m0[300] => ok data=300
