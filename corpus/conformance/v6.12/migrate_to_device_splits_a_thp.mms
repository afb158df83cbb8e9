#! title: before Linux 6.19 test_hmm migrates a PMD-mapped THP to device memory page by page: migrate_vma_collect_pmd splits the folio (no MIGRATE_VMA_SELECT_COMPOUND, no device-private THP), and back in system memory the pages are small folios
#! kernel: mm/migrate_device.c (6.12) migrate_vma_collect_pmd (split_folio), lib/test_hmm.c dmirror_migrate_to_device (MIGRATE_VMA_SELECT_SYSTEM)
#! config: kernel=6.12
mmap p0 m0 anon rw pages=512
madvise p0 m0[0..512] hugepage
write p0 m0[0..512] = index
migrate-to-dev dev0 p0 m0[0..512] => ok cpages=512 faults=0 data=index ; entry p0 m0[0] devpriv !pmd ; folio p0 m0[0] order=0 ; entry p0 m0[511] devpriv
migrate-to-sys dev0 p0 m0[0..512] => ok cpages=512 faults=0 ; entry p0 m0[0] page !pmd ; folio p0 m0[0] order=0
read p0 m0[510..512] => ok data=[510,511]
