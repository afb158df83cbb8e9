#! title: migrating an empty MADV_HUGEPAGE window populates device memory with zeroes
#! kernel: mm/migrate_device.c migrate_vma_collect_hole (SELECT_COMPOUND, aligned), migrate_vma_insert_huge_pmd_page
#! selftest: tools/testing/selftests/mm/hmm-tests.c hmm.migrate_anon_huge_empty
mmap p0 m0 anon r pages=1024
madvise p0 m0[512..1024] hugepage
migrate-to-dev dev0 p0 m0[512..1024] => ok cpages=512 faults=0 data=0 ; entry p0 m0[512] devpriv !write ; device dev0 free=1536 refs=512
