#! title: before Linux 6.17 test_hmm faults a device access in calls of 64 pages (pfns[64]); a call that fails stores nothing, so a read of 41 pages over a 34-page VMA maps none of them in the device table (from 6.17, 32-page calls: the first 32 would be mapped) (found by a guest campaign)
#! kernel: lib/test_hmm.c (6.12) dmirror_fault (pfns[64]), dmirror_range_fault; mm/hmm.c hmm_range_fault (EFAULT past the VMA)
#! config: kernel=6.12
mmap p0 m2 anon rw pages=34
dev-read dev3 p0 m2[0..41] => EFAULT
dev-read dev3 p0 m2[20] => ok cpages=1 faults=1 data=0
