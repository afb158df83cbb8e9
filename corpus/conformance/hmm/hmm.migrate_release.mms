#! title: RELEASE evicts every device page back to system memory; the CPU then reads its data
#! kernel: lib/test_hmm.c dmirror_device_evict_chunk; mm/migrate_device.c migrate_device_range
#! selftest: tools/testing/selftests/mm/hmm-tests.c hmm.migrate_release
mmap p0 m0 anon rw pages=1024
write p0 m0[0..1024] = index
migrate-to-dev dev0 p0 m0[0..1024] => ok cpages=1024 faults=0 data=index
dev-release dev0 => ok ; entry p0 m0[0] page ; device dev0 refs=0 released
read p0 m0[0..512] => ok data=index
