#! title: device-exclusive access: the CPU's next access restores each page and the device loses its atomic entries
#! kernel: mm/rmap.c make_device_exclusive; mm/memory.c remove_device_exclusive_entry, restore_exclusive_pte
#! selftest: tools/testing/selftests/mm/hmm-tests.c hmm.exclusive
mmap p0 m0 anon rw pages=1024
write p0 m0[0..1024] = index
dev-exclusive dev0 p0 m0[0..1024] => ok cpages=1024 faults=0 data=index ; entry p0 m0[0] devexcl ; mirror dev0 p0 m0[0] atomic ; folio p0 m0[0] ref=1 map=1 !locked
read p0 m0[0..1024] => ok data=index ; entry p0 m0[0] page ; mirror dev0 p0 m0[0] none
write p0 m0[0..1024] = index+1
read p0 m0[0..1024] => ok data=index+1
dev-check-exclusive dev0 p0 m0[0..1024] => ok
