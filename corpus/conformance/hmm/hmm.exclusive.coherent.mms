#! title: device-exclusive access on a device-coherent device
#! kernel: mm/rmap.c make_device_exclusive; mm/memory.c remove_device_exclusive_entry
#! selftest: tools/testing/selftests/mm/hmm-tests.c hmm.exclusive (device-coherent variant)
mmap p0 m0 anon rw pages=1024
write p0 m0[0..1024] = index
dev-exclusive dev2 p0 m0[0..1024] => ok cpages=1024 faults=0 data=index ; mirror dev2 p0 m0[0] atomic
write p0 m0[0..1024] = index+1
read p0 m0[0..1024] => ok data=index+1
dev-check-exclusive dev2 p0 m0[0..1024] => ok
