#! title: migrating a page the device holds exclusively gives it back to the CPU: the new page is mapped read-only and old, and the device loses its atomic entry
#! kernel: mm/rmap.c try_to_migrate_one (device-exclusive entry -> migration entry), mm/migrate.c remove_migration_pte
mmap p0 m0 anon rw pages=1 zone=cma
write p0 m0[0] = 3
dev-exclusive dev0 p0 m0[0] => ok cpages=1 faults=0 data=3 ; entry p0 m0[0] devexcl ; mirror dev0 p0 m0[0] atomic
cma-evacuate => ok 1 ; entry p0 m0[0] page !write !young ; folio p0 m0[0] zone=normal excl ref=1 map=1 ; mirror dev0 p0 m0[0] none ; zone cma free=4096
read p0 m0[0] => ok data=3
dev-check-exclusive dev0 p0 m0[0] => ok
