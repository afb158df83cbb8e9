#! title: migrating a device-coherent page back to system memory must skip it while someone holds an extra reference
#! planted: migrate-ignores-extra-refs
#! signature: migrate-to-sys/outcome:dev.cpages
#! known-minimum: 4
#! kernel: mm/migrate_device.c migrate_vma_check_page (extra references), migrate_device_unmap
mmap p0 m0 anon rw pages=1
migrate-to-dev dev2 p0 m0[0]
gup p0 m0[0] get -> h0
migrate-to-sys dev2 p0 m0[0]
