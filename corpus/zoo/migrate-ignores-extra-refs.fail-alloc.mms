#! title: a referenced page is not collected, so a failing device allocation is not consumed for it
#! planted: migrate-ignores-extra-refs
#! signature: migrate-to-dev/state:device.fail-alloc
#! known-minimum: 4
#! kernel: mm/migrate_device.c migrate_vma_check_page, mm/migrate.c folio_migrate_mapping (refcount freeze)
mmap p0 m0 anon rw pages=1
gup p0 m0[0] get write -> h0
dev-fail-alloc dev0
migrate-to-dev dev0 p0 m0[0]
