#! title: a FOLL_LONGTERM pin of a movable page that cannot be migrated (extra reference) must fail, not pin it in place
#! planted: seed000-longterm-keeps-cma
#! signature: gup/outcome:ENOMEM-vs-count
#! known-minimum: 3
#! kernel: mm/gup.c __gup_longterm_locked, check_and_migrate_movable_pages, include/linux/mm.h folio_is_longterm_pinnable
mmap p0 m0 anon rw pages=1 zone=movable
gup p0 m0[0] get write -> h0
gup p0 m0[0] pin longterm -> h1
