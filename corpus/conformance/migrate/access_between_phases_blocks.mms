#! title: between migrate_vma_setup and finalize the pages are migration entries: CPU access and GUP sleep on them; after finalize the device owns the data
#! kernel: mm/migrate_device.c migrate_vma_collect_pmd (migration entries), mm/migrate.c migration_entry_wait, mm/gup.c faultin_page
mmap p0 m0 anon rw pages=4
write p0 m0[0..4] = index
migrate-setup s0 p0 m0[0..4] select=system owner=dev0 => session s0 setup cpages=4 ; entry p0 m0[0] migration write dirty ; folio p0 m0[0] locked ; session s0 setup cpages=4
read p0 m0[0] => blocked@0
gup p0 m0[1] get -> h0 => blocked@1
hmm-fault p0 m0[2] fault owner=dev0 => blocked@2
hmm-fault p0 m0[2..4] owner=dev0 => ok pfns=[2*0]
migrate-alloc s0 dev0 => ok 4 ; session s0 allocated
migrate-pages s0 => session s0 migrated cpages=4
migrate-finalize s0 => ok ; session s0 none ; entry p0 m0[0] devpriv write ; device dev0 free=2044 refs=4 ; folios count=4
read p0 m0[0..4] => ok data=index ; device dev0 free=2048 refs=0
