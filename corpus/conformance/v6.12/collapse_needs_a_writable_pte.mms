#! title: before Linux 6.18 MADV_COLLAPSE refuses a block none of whose PTEs is writable (SCAN_PAGE_RO, EINVAL): after fork every PTE of the parent is write-protected; a write makes one writable again and the collapse goes through
#! kernel: mm/khugepaged.c (6.12) hpage_collapse_scan_pmd, __collapse_huge_page_isolate (writable), madvise_collapse_errno
#! config: kernel=6.12
mmap p0 m3 anon rw pages=512
write p0 m3[0..512] = index+29
fork p0 -> p2
madvise p0 m3[0..512] collapse => EINVAL ; entry p0 m3[0] page !pmd !write ; folio p0 m3[0] order=0
write p0 m3[7] = 1
madvise p0 m3[0..512] collapse => ok ; entry p0 m3[0] page pmd ; folio p0 m3[0] order=9
read p0 m3[6..8] => ok data=[35,1]
