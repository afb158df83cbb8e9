#! title: splitting a THP whose pages a device holds exclusively leaves no stale device-table entry: the split's unmap (try_to_migrate, MMU_NOTIFY_CLEAR over the folio's extent) erases the device's entries, atomic ones included
#! found-by: mmdiff fuzz --seed 6 (oracle invariant mirror-coherent after split-thp), minimized by hand
#! kernel: mm/huge_memory.c unmap_folio, mm/rmap.c try_to_migrate_one (mmu_notifier MMU_NOTIFY_CLEAR up to vma_address_end), lib/test_hmm.c dmirror_interval_invalidate (only its own MMU_NOTIFY_MIGRATE is ignored); the erasure seen on the 6.12 guest for present pages
mmap p0 m0 anon rw pages=512
madvise p0 m0[0..512] hugepage
write p0 m0[0..512] = index
dev-exclusive dev1 p0 m0[1..3] => ok cpages=2 faults=0 data=index ; entry p0 m0[1] devexcl ; mirror dev1 p0 m0[1] atomic same-as p0 m0[1]
split-thp p0 m0[100] => ok ; folio p0 m0[1] order=0 ; mirror dev1 p0 m0[1] none ; mirror dev1 p0 m0[2] none
read p0 m0[0..4] => ok data=index ; mirror dev1 p0 m0[1] none
