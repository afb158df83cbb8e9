#! title: before Linux 6.15 a tail page of a THP cannot be made device-exclusive (EBUSY, after GUP split the PMD), and the head page converts every mapping of the folio: all 512 PTEs become device-exclusive entries and the folio is left unmapped
#! kernel: mm/rmap.c (6.12) make_device_exclusive_range (PageTail), folio_make_device_exclusive (rmap walk, folio_mapcount), page_make_device_exclusive_one
#! config: kernel=6.12
mmap p0 m0 anon rw pages=512
madvise p0 m0[0..512] hugepage
write p0 m0[0..512] = index
dev-exclusive dev0 p0 m0[1] => EBUSY ; entry p0 m0[1] page write !pmd ; entry p0 m0[0] page write !pmd ; folio p0 m0[0] order=9 map=512
dev-exclusive dev0 p0 m0[0] => ok cpages=1 faults=0 data=0 ; entry p0 m0[0] devexcl write ; entry p0 m0[511] devexcl write ; folio p0 m0[0] map=0 ; mirror dev0 p0 m0[0] atomic ; mirror dev0 p0 m0[1] none
read p0 m0[300] => ok data=300 ; entry p0 m0[300] page write dirty ; entry p0 m0[0] devexcl write ; folio p0 m0[0] map=1
