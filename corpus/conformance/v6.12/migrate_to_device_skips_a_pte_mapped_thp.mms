#! title: before Linux 6.15 migrate_vma_collect_pmd does not collect the pages of a PTE-mapped large folio ("FIXME support THP"): test_hmm migrates nothing and its read-back finds no entry (ENOENT); the THP stays (found by a guest campaign)
#! kernel: mm/migrate_device.c (6.12) migrate_vma_collect_pmd (PageTransCompound); lib/test_hmm.c (6.12) dmirror_migrate_to_device (dmirror_do_read)
#! config: kernel=6.12
mmap p0 m0 anon rw pages=512
madvise p0 m0[0..512] hugepage
write p0 m0[0..512] = 4
mprotect p0 m0[100..150] r => ok ; entry p0 m0[0] page !pmd ; folio p0 m0[0] order=9
migrate-to-dev dev0 p0 m0[100..150] => ENOENT ; entry p0 m0[100] page ; folio p0 m0[100] order=9 ; mirror dev0 p0 m0[100] none
read p0 m0[99..101] => ok data=4
