#! title: before Linux 6.15 test_hmm's EXCLUSIVE of shared memory fails with EBUSY: folio_make_device_exclusive refuses a page-cache folio, so no page of the chunk is mapped (from 6.15 make_device_exclusive returns EOPNOTSUPP)
#! kernel: mm/rmap.c (6.12) folio_make_device_exclusive (folio_test_anon); lib/test_hmm.c (6.12) dmirror_exclusive (-EBUSY)
#! config: kernel=6.12
mmap p0 m0 anon-shared rw pages=2
write p0 m0[0..2] = 3
dev-exclusive dev0 p0 m0[0..2] => EBUSY ; entry p0 m0[0] page write ; mirror dev0 p0 m0[0] none
read p0 m0[0..2] => ok data=3
