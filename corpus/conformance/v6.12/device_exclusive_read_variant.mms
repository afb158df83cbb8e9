#! title: before Linux 6.15 mprotect turns a writable device-exclusive entry into the readable variant, and restoring that maps the page from vm_page_prot: read-only and clean even after PROT_WRITE is back (from 6.15 one entry type, restored writable where the VMA allows)
#! kernel: mm/mprotect.c (6.12) change_pte_range (make_readable_device_exclusive_entry); mm/memory.c (6.12) restore_exclusive_pte
#! config: kernel=6.12
mmap p0 m0 anon rw pages=2
write p0 m0[0..2] = 7
dev-exclusive dev0 p0 m0[0..2] => ok cpages=2 faults=0 data=7 ; entry p0 m0[0] devexcl write
mprotect p0 m0[0..2] r => ok ; entry p0 m0[0] devexcl !write ; entry p0 m0[1] devexcl !write
mprotect p0 m0[0..2] rw => ok ; entry p0 m0[0] devexcl !write
read p0 m0[0] => ok data=7 ; entry p0 m0[0] page !write !dirty ; folio p0 m0[0] ref=1 map=1
write p0 m0[0..2] = 8 => ok ; entry p0 m0[0] page write ; entry p0 m0[1] page write dirty
read p0 m0[0..2] => ok data=8
