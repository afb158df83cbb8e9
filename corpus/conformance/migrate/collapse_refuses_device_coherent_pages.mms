#! title: MADV_COLLAPSE does not take device-coherent pages: vm_normal_page finds a zone-device page and the scan ends with SCAN_PAGE_NULL (EINVAL); the block stays as it is (found by a guest campaign)
#! kernel: mm/khugepaged.c hpage_collapse_scan_pmd (is_zone_device_page), madvise_collapse
mmap p0 m0 anon rw pages=512
write p0 m0[0] = 1
migrate-to-dev dev3 p0 m0[1..512] => ok cpages=511 faults=0 data=0 ; entry p0 m0[1] page ; folio p0 m0[1] dev=dev3
madvise p0 m0[0..512] collapse => EINVAL ; entry p0 m0[0] page !pmd ; folio p0 m0[1] dev=dev3
read p0 m0[0..2] => ok data=[1,0]
