#! title: an interval notifier sees invalidations in its range: read-retry says retry, and hmm-fault with that sequence returns EBUSY
#! kernel: mm/mmu_notifier.c mmu_interval_read_begin, mmu_interval_read_retry, mmu_interval_check_retry; mm/hmm.c hmm_range_fault
mmap p0 m0 anon rw pages=4
write p0 m0[0..4] = 1
notifier n0 p0 m0[0..2] => ok ; notifier n0 fresh
read-retry n0 => ok 0
hmm-fault p0 m0[0..2] owner=dev0 seq=n0 => ok pfns=[vw:F0[0],vw:F1[0]]
munmap p0 m0[3] => ok ; notifier n0 fresh
mprotect p0 m0[1] r => ok ; notifier n0 stale
read-retry n0 => ok 1
hmm-fault p0 m0[0..2] owner=dev0 seq=n0 => EBUSY
read-begin n0 => ok ; notifier n0 fresh
hmm-fault p0 m0[0..2] owner=dev0 seq=n0 => ok pfns=[vw:F0[0],v:F1[0]]
