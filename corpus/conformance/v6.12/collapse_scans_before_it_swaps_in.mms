#! title: before Linux 6.19 MADV_COLLAPSE faults device-private entries back only for a block that passes the scan: in a read-only VMA no PTE is writable (SCAN_PAGE_RO), so the call fails with EINVAL and the pages stay in device memory (found by a guest campaign)
#! kernel: mm/khugepaged.c (6.12) hpage_collapse_scan_pmd (is_swap_pte, SCAN_PAGE_RO), collapse_huge_page (__collapse_huge_page_swapin)
#! config: kernel=6.12
mmap p0 m0 anon r pages=512
migrate-to-dev dev0 p0 m0[0..512] => ok cpages=512 faults=0 data=0 ; entry p0 m0[0] devpriv !write
madvise p0 m0[0..512] collapse => EINVAL ; entry p0 m0[0] devpriv ; entry p0 m0[511] devpriv
