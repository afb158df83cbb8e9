#! title: before Linux 6.19 MADV_COLLAPSE counts device-private entries as swap entries: __collapse_huge_page_swapin faults each one back to system memory (do_swap_page, the driver's migrate_to_ram) and the block collapses into a THP (from 6.19 the scan stops at a non-swap entry: SCAN_PTE_NON_PRESENT, EINVAL) (found by a guest campaign)
#! kernel: mm/khugepaged.c (6.12) hpage_collapse_scan_pmd (is_swap_pte), __collapse_huge_page_swapin; mm/memory.c do_swap_page; lib/test_hmm.c dmirror_devmem_fault
#! config: kernel=6.12
mmap p0 m0 anon rw pages=512
migrate-to-dev dev0 p0 m0[1..512] => ok cpages=511 faults=0 data=0 ; entry p0 m0[1] devpriv ; entry p0 m0[0] none
write p0 m0[46] = 2 => ok ; entry p0 m0[46] page
madvise p0 m0[0..512] collapse => ok ; entry p0 m0[0] page pmd ; folio p0 m0[0] order=9
read p0 m0[45..48] => ok data=[0,2,0]
