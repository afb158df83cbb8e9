#! title: migrating a window mapped by the huge zero page gives zero-filled device memory; CPU reads fault it back
#! kernel: mm/migrate_device.c migrate_vma_collect_huge_pmd (huge zero: hole rules)
#! selftest: tools/testing/selftests/mm/hmm-tests.c hmm.migrate_anon_huge_zero
mmap p0 m0 anon r pages=1024
madvise p0 m0[512..1024] hugepage
read p0 m0[512] => ok data=0 ; entry p0 m0[512] hugezero pmd
migrate-to-dev dev0 p0 m0[512..1024] => ok cpages=512 faults=0 data=0
read p0 m0[512..1024] => ok data=0
