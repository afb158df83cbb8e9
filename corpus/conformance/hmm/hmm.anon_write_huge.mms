#! title: the device writes a MADV_HUGEPAGE window: the write fault maps a THP
#! kernel: mm/hmm.c hmm_vma_fault; mm/huge_memory.c do_huge_pmd_anonymous_page
#! selftest: tools/testing/selftests/mm/hmm-tests.c hmm.anon_write_huge
mmap p0 m0 anon rw pages=1024
madvise p0 m0[512..1024] hugepage
dev-write dev0 p0 m0[512..1024] = index => ok cpages=512 faults=1 ; entry p0 m0[512] page pmd write ; folio p0 m0[512] order=9
read p0 m0[512..1024] => ok data=index
