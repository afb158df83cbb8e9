#! title: before Linux 6.19 migrate_vma_setup splits every PMD-mapped THP it walks, before it looks at what is selected: migrating a coherent device's pages back to system memory over a range of a system-memory THP migrates nothing and leaves the THP split (found by a guest campaign)
#! kernel: mm/migrate_device.c (6.12) migrate_vma_collect_pmd (split_folio before the selection), lib/test_hmm.c dmirror_migrate_to_system
#! config: kernel=6.12
mmap p0 m2 anon rw pages=512 at=1024
madvise p0 m2[1024..1536] hugepage
write p0 m2[1024..1536] = index+25
migrate-to-sys dev2 p0 m2[1394..1406] => ok cpages=0 faults=0 ; entry p0 m2[1024] page !pmd ; folio p0 m2[1024] order=0
read p0 m2[1394..1396] => ok data=[1419,1420]
