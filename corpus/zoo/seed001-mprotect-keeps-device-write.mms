#! title: mprotect to read-only must write-protect a device-private entry too
#! planted: seed001-mprotect-keeps-device-write
#! signature: mprotect/invariant:writable-needs-vm-write@subject
#! known-minimum: 3
#! kernel: mm/mprotect.c change_softleaf_pte (writable device-private -> readable)
mmap p0 m0 anon rw pages=1
migrate-to-dev dev0 p0 m0[0]
mprotect p0 m0[0] r
