#! title: MAP_SHARED anonymous memory is shmem, not anonymous: nothing migrates and the read-back fails with ENOENT
#! kernel: mm/migrate_device.c migrate_vma_collect_hole (non-anonymous VMA), lib/test_hmm.c dmirror_migrate_to_device
#! selftest: tools/testing/selftests/mm/hmm-tests.c hmm.migrate_shared
mmap p0 m0 anon-shared rw pages=1024
migrate-to-dev dev0 p0 m0[0..1024] => ENOENT ; device dev0 free=2048
