#! title: collect only trylocks: a page locked by someone else is skipped, the others migrate
#! kernel: mm/migrate_device.c migrate_vma_collect_pmd (folio_trylock failure: mpfn = 0)
mmap p0 m0 anon rw pages=3
write p0 m0[0..3] = index
lock x0 p0 m0[1]
migrate-setup s0 p0 m0[0..3] select=system owner=dev0 => session s0 setup cpages=2 ; entry p0 m0[1] page ; entry p0 m0[0] migration
migrate-alloc s0 dev0 => ok 2
migrate-pages s0
migrate-finalize s0 => ok ; entry p0 m0[0] devpriv ; entry p0 m0[1] page ; entry p0 m0[2] devpriv
unlock x0
