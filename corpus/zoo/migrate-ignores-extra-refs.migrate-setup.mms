#! title: migrate_vma_setup must not collect a page someone else holds a reference to
#! planted: migrate-ignores-extra-refs
#! signature: migrate-setup/outcome:migrate.cpages
#! known-minimum: 3
#! kernel: mm/migrate_device.c migrate_vma_check_page, mm/migrate.c folio_migrate_mapping (refcount freeze)
mmap p0 m0 anon rw pages=1
gup p0 m0[0] get write -> h0
migrate-setup s0 p0 m0[0] select=system
