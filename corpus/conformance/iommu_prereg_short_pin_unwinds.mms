#! title: when a chunk pins fewer pages than asked, preregistration unpins everything it pinned; the short chunk's positive count is what mm_iommu_do_alloc returns
#! kernel: arch/powerpc/mm/book3s64/iommu_api.c mm_iommu_do_alloc ("if (!ret) ret = -EFAULT" only catches 0; free_exit: unpin_user_pages)
#! seed: 000
mmap p0 m0 anon rw pages=100
write p0 m0[0..100] = 1
iommu-prereg i0 p0 m0[0..128] => ok 36 ; folio p0 m0[0] ref=1 !pinned ; folio p0 m0[99] ref=1 ; has-pinned p0
iommu-translate i0[0] => ENOENT
iommu-prereg i0 p0 m1[0..4] => EFAULT
