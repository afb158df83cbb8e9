#! title: zone migration of a page the device holds exclusively re-points the process entry instead of leaving it on the freed page
#! found-by: mmdiff fuzz --seed 5 (oracle invariant dangling-reference after cma-evacuate), minimized by hand
#! kernel: mm/rmap.c try_to_migrate_one (device-exclusive entries), mm/migrate.c remove_migration_pte
mmap p0 m0 anon rw pages=2 zone=cma
write p0 m0[0..2] = index
dev-exclusive dev2 p0 m0[0..2] => ok cpages=2 faults=0 data=index
cma-evacuate => ok 2 ; entry p0 m0[0] page !write ; entry p0 m0[1] page !write ; folio p0 m0[0] zone=normal ; folios count=2
read p0 m0[0..2] => ok data=index
