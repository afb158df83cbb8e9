#! title: a FOLL_LONGTERM pin must migrate a CMA page out of the CMA area before pinning it
#! planted: seed000-longterm-keeps-cma
#! signature: gup/state:folio.memory
#! known-minimum: 3
#! kernel: mm/gup.c __gup_longterm_locked, check_and_migrate_movable_pages, include/linux/mm.h folio_is_longterm_pinnable
mmap p0 m0 anon rw pages=1 zone=cma
write p0 m0[0] = 7                        => ok ; folio p0 m0[0] zone=cma
# The page is migrated to ZONE_NORMAL first, then pinned there: the CMA
# area stays allocatable while the pin lasts.
gup p0 m0[0] pin write longterm -> h0     => ok 1 ; folio p0 m0[0] zone=normal pinned ; zone cma free=4096
