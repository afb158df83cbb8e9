#! title: without an order-9 page the THP fault falls back to a 4 KiB page
#! kernel: mm/huge_memory.c do_huge_pmd_anonymous_page (VM_FAULT_FALLBACK), mm/memory.c do_anonymous_page
mmap p0 m0 anon rw pages=512
madvise p0 m0[0..512] hugepage
fail-alloc normal
write p0 m0[0] = 1 => ok ; entry p0 m0[0] page !pmd ; folio p0 m0[0] order=0 ; zone normal free=16383
