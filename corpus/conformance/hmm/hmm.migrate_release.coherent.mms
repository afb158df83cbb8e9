#! title: RELEASE of a device-coherent device moves its pages back to system memory
#! kernel: lib/test_hmm.c dmirror_device_evict_chunk; mm/migrate_device.c migrate_device_range
#! selftest: tools/testing/selftests/mm/hmm-tests.c hmm.migrate_release (device-coherent variant)
mmap p0 m0 anon rw pages=1024
write p0 m0[0..1024] = index
migrate-to-dev dev2 p0 m0[0..1024] => ok cpages=1024 faults=0 data=index
dev-release dev2 => ok ; folio p0 m0[0] zone=normal ; device dev2 refs=0 released
read p0 m0[0..512] => ok data=index
