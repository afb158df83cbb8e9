#! title: a migration owned by a device that replaces the zero page drops that device's table entry for the zero page
#! found-by: mmdiff fuzz --seed 7 (oracle invariant mirror-coherent after migrate-pages), minimized by hand
#! kernel: mm/migrate_device.c migrate_vma_insert_page (replaces a zero-page PTE); lib/test_hmm.c dmirror_interval_invalidate (own MIGRATE events skipped)
mmap p0 m0 anon rw pages=1
dev-read dev0 p0 m0[0] => ok cpages=1 faults=1 data=0 ; entry p0 m0[0] zero ; mirror dev0 p0 m0[0] read same-as p0 m0[0]
migrate-setup s0 p0 m0[0] select=system owner=dev0 => session s0 setup cpages=1 ; entry p0 m0[0] zero ; mirror dev0 p0 m0[0] read
migrate-alloc s0 dev0 => ok 1
migrate-pages s0 => session s0 migrated cpages=1 ; entry p0 m0[0] devpriv write ; mirror dev0 p0 m0[0] none
migrate-finalize s0 => ok ; device dev0 free=2047 refs=1
