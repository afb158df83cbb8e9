#! title: a referenced page must not move to coherent device memory
#! planted: migrate-ignores-extra-refs
#! signature: migrate-to-dev/state:folio.memory
#! known-minimum: 3
#! kernel: mm/migrate_device.c migrate_vma_check_page, mm/migrate.c folio_migrate_mapping (refcount freeze)
mmap p0 m0 anon rw pages=1
gup p0 m0[0] get write -> h0
migrate-to-dev dev2 p0 m0[0..2]
