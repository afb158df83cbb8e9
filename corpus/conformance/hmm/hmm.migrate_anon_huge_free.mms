#! title: MADV_FREE on a THP that lives in device memory
#! kernel: mm/madvise.c madvise_free_pte_range (non-present entries are left alone)
#! selftest: tools/testing/selftests/mm/hmm-tests.c hmm.migrate_anon_huge_free
mmap p0 m0 anon rw pages=1024
madvise p0 m0[512..1024] hugepage
write p0 m0[512..1024] = index
migrate-to-dev dev0 p0 m0[512..1024] => ok cpages=512 faults=0 data=index ; entry p0 m0[512] devpriv pmd write
madvise p0 m0[512..1024] free => ok
