#! title: entries the driver declines (no destination) are restored to their original pages by finalize
#! kernel: mm/migrate_device.c migrate_vma_pages (no dst: clear MIGRATE), migrate_vma_finalize (restore src)
mmap p0 m0 anon rw pages=4
write p0 m0[0..4] = index
migrate-setup s0 p0 m0[0..4] select=system owner=dev0 => session s0 setup cpages=4
migrate-alloc s0 dev0 fail=1..3 => ok 2
migrate-pages s0
migrate-finalize s0 => ok ; entry p0 m0[0] devpriv ; entry p0 m0[1] page write ; entry p0 m0[2] page ; entry p0 m0[3] devpriv ; folio p0 m0[1] !locked excl ; device dev0 free=2046
read p0 m0[0..4] => ok data=index
