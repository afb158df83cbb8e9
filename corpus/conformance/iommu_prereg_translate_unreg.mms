#! title: IOMMU preregistration long-term write-pins the range; the page shift is 21 for a whole aligned THP; unregistering unpins
#! kernel: arch/powerpc/mm/book3s64/iommu_api.c mm_iommu_do_alloc, mm_iommu_ua_to_hpa, mm_iommu_unpin
#! seed: 000 (powerpc mm_iommu_do_alloc with FOLL_LONGTERM)
mmap p0 m0 anon rw pages=512
madvise p0 m0[0..512] hugepage
write p0 m0[0..512] = index
iommu-prereg i0 p0 m0[0..512] => ok ; folio p0 m0[0] order=9 ref=513 pin=512 ; has-pinned p0
iommu-translate i0[5] => ok page=F0[5] shift=21
iommu-translate i0[512] => EFAULT
iommu-prereg i1 p0 m0[100..200] => EINVAL ; folio p0 m0[0] pin=512
iommu-unreg i0 => ok ; folio p0 m0[0] ref=1 pin=0
iommu-unreg i0 => ENOENT
mmap p0 m1 anon rw pages=8
write p0 m1[0..8] = 1
iommu-prereg i2 p0 m1[0..8] => ok
iommu-translate i2[7] => ok page=F8[0] shift=12
