#! title: before Linux 6.19 test_hmm maps a migrated hole of a writable VMA WRITE in the device table (no source page, VM_WRITE), so the device writes it without a fault; from 6.19 only a source that was MIGRATE_PFN_WRITE is (found by a guest campaign)
#! kernel: lib/test_hmm.c (6.12) dmirror_migrate_alloc_and_copy ((!spage && vma->vm_flags & VM_WRITE) -> MIGRATE_PFN_WRITE), dmirror_migrate_finalize_and_map, dmirror_do_write
#! config: kernel=6.12
mmap p0 m6 anon rw pages=3
migrate-to-dev dev0 p0 m6[0..3] => ok cpages=3 faults=0 data=0 ; entry p0 m6[1] devpriv
dev-write dev0 p0 m6[1] = index+17 => ok cpages=1 faults=0
