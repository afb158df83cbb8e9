#! title: pages faulted in by a long-term pin come from ZONE_NORMAL even in a movable VMA
#! kernel: mm/gup.c __gup_longterm_locked (memalloc_pin_save)
mmap p0 m0 anon rw pages=1 zone=movable
gup p0 m0[0] pin write longterm -> h0 => ok 1 ; folio p0 m0[0] zone=normal ; zone movable free=4096
