#! title: fork between setup and finalize copies the migration entries read-only; finalize maps the device page read-only in both processes
#! kernel: mm/memory.c copy_nonpresent_pte (writable migration entry -> readable in a COW parent); mm/migrate.c remove_migration_pte
mmap p0 m0 anon rw pages=1
write p0 m0[0] = 5
migrate-setup s0 p0 m0[0] select=system owner=dev0 => session s0 setup cpages=1 ; entry p0 m0[0] migration write
fork p0 -> p1 => ok ; entry p0 m0[0] migration !write !exclusive ; entry p1 m0[0] migration !write !exclusive
migrate-alloc s0 dev0
migrate-pages s0
migrate-finalize s0 => ok ; entry p0 m0[0] devpriv !write ; entry p1 m0[0] devpriv !write ; same p0 m0[0] p1 m0[0] ; folio p0 m0[0] ref=2 map=2 !excl
read p1 m0[0] => ok data=5
