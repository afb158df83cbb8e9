#! title: the HMM test driver's invalidation erases its device-table entries through the page just past the invalidated range (dmirror_do_update walks xa_for_each_range up to end >> PAGE_SHIFT, an inclusive last index): after another device migrates pages 7-8, dev0's mirror must fault page 9 again but still has page 10 (found by a guest campaign)
#! kernel: lib/test_hmm.c dmirror_interval_invalidate, dmirror_do_update; mm/migrate_device.c migrate_vma_collect (MMU_NOTIFY_MIGRATE over [start, end), owner dev3)
mmap p0 m0 anon rw pages=14
write p0 m0[0..14] = 1
dev-read dev0 p0 m0[0..14] => ok cpages=14 faults=1 data=1
migrate-to-dev dev3 p0 m0[7..9] => ok cpages=2 faults=0 data=1
dev-read dev0 p0 m0[10] => ok cpages=1 faults=0 data=1
dev-read dev0 p0 m0[9] => ok cpages=1 faults=1 data=1
