#! title: FOLL_LONGTERM migrates pages out of ZONE_MOVABLE and CMA before pinning; short-term pins leave them in place
#! kernel: mm/gup.c __gup_longterm_locked, check_and_migrate_movable_folios; include/linux/mm.h folio_is_longterm_pinnable
mmap p0 m0 anon rw pages=1 zone=movable
mmap p0 m1 anon rw pages=1 zone=cma
write p0 m0[0] = 1
write p0 m1[0] = 2 => ok ; folio p0 m1[0] zone=cma ; zone cma free=4095
gup p0 m0[0] pin -> h0 => ok 1 ; folio p0 m0[0] zone=movable
release h0
gup p0 m0[0] pin longterm -> h1 => ok 1 ; folio p0 m0[0] zone=normal ref=1025 ; zone movable free=4096 ; zone normal free=16383
gup p0 m1[0] pin write longterm -> h2 => ok 1 ; folio p0 m1[0] zone=normal ; zone cma free=4096
read p0 m1[0] => ok data=2
