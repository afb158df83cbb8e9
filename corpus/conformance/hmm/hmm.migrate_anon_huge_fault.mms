#! title: a collapsed THP migrates to the device as one PMD device-private entry; the snapshot shows DEV_PRIVATE_LOCAL|WRITE|PMD; CPU reads fault it back
#! kernel: mm/migrate_device.c migrate_vma_collect_huge_pmd (SELECT_COMPOUND), remove_migration_pmd; lib/test_hmm.c dmirror_mkentry
#! selftest: tools/testing/selftests/mm/hmm-tests.c hmm.migrate_anon_huge_fault
mmap p0 m0 anon rw pages=1024
write p0 m0[512..1024] = index
madvise p0 m0[512..1024] collapse => ok ; entry p0 m0[512] page pmd
migrate-to-dev dev0 p0 m0[512..1024] => ok cpages=512 faults=0 data=index ; entry p0 m0[512] devpriv pmd write ; folio p0 m0[512] dev=dev0 order=9
dev-snapshot dev0 p0 m0[512..1024] => ok snapshot=[512*26]
read p0 m0[512..1024] => ok data=index ; entry p0 m0[512] page pmd
