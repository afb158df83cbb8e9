#! title: migrating a referenced page with a neighbour hole must keep the page in system memory
#! planted: migrate-ignores-extra-refs
#! signature: migrate-to-dev/state:entry.kind
#! known-minimum: 3
#! kernel: mm/migrate_device.c migrate_vma_check_page, mm/migrate.c folio_migrate_mapping (refcount freeze)
# The range covers a hole after the page: the hole migrates, the
# referenced page must stay a normal present page.
mmap p0 m0 anon rw pages=1
gup p0 m0[0] get write -> h0
migrate-to-dev dev0 p0 m0[0..2]
