#! title: a COW fork must write-protect device-private entries in parent and child
#! planted: seed001-fork-keeps-device-write
#! signature: fork/invariant:devpriv-write-exclusive@subject
#! known-minimum: 3
#! kernel: mm/memory.c copy_nonpresent_pte (is_writable_device_private_entry)
mmap p0 m0 anon rw pages=1
migrate-to-dev dev0 p0 m0[0]
fork p0 -> p1
