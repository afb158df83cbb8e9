#! title: preregistration is a long-term pin: pages in CMA are migrated to normal memory before they are pinned
#! kernel: arch/powerpc/mm/book3s64/iommu_api.c mm_iommu_do_alloc (pin_user_pages FOLL_LONGTERM); mm/gup.c check_and_migrate_movable_folios
#! seed: 000 (before 5.2 this driver migrated CMA pages by hand)
mmap p0 m0 anon rw pages=4 zone=cma
write p0 m0[0..4] = index => ok ; zone cma free=4092
iommu-prereg i0 p0 m0[0..4] => ok ; folio p0 m0[0] zone=normal ref=1025 ; zone cma free=4096 ; zone normal free=16380
read p0 m0[0..4] => ok data=index
