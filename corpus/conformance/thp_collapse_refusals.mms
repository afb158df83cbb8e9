#! title: MADV_COLLAPSE refuses an empty block (EINVAL), pages with extra references (EAGAIN) and MADV_NOHUGEPAGE (EINVAL)
#! kernel: mm/khugepaged.c madvise_collapse_errno, hpage_collapse_scan_pmd, is_refcount_suitable
mmap p0 m0 anon rw pages=512
madvise p0 m0[0..512] collapse => EINVAL
write p0 m0[0..512] = 1
gup p0 m0[3] get -> h0 => ok 1
madvise p0 m0[0..512] collapse => EAGAIN ; entry p0 m0[0] page !pmd
release h0
madvise p0 m0[0..512] nohugepage
madvise p0 m0[0..512] collapse => EINVAL
madvise p0 m0[0..512] hugepage
madvise p0 m0[0..512] collapse => ok ; entry p0 m0[0] page pmd
