#! title: migrating a fork-shared shmem page to the device: collect turns the caller's PTE into a migration entry, try_to_migrate's rmap walk starts an MMU_NOTIFY_CLEAR in every VMA it visits (the caller's too, whatever the PTE holds), so the device loses its mirror of the page; shmem is not migrated to device memory, the PTE is restored, and test_hmm's read-back finds no entry (found by a guest campaign)
#! kernel: mm/rmap.c try_to_migrate_one (mmu_notifier_invalidate_range_start before page_vma_mapped_walk); mm/migrate_device.c migrate_vma_collect_pmd, migrate_device_pages (only anonymous memory to device memory); lib/test_hmm.c dmirror_migrate_to_device
mmap p0 m0 anon-shared rw pages=1 at=2
fork p0 -> p2
dev-read dev0 p2 m0[2]
fork p2 -> p1
dev-read dev1 p1 m0[2]
migrate-to-dev dev0 p2 m0[2] => ENOENT ; entry p2 m0[2] page ; folio p2 m0[2] map=2 ; mirror dev0 p2 m0[2] none
