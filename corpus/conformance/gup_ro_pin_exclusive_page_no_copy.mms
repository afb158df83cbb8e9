#! title: a read-only pin of an exclusive anon page pins it in place
#! kernel: mm/internal.h gup_must_unshare (PageAnonExclusive)
mmap p0 m0 anon rw pages=1
write p0 m0[0] = 1
gup p0 m0[0] pin longterm -> h0 => ok 1 ; folio p0 m0[0] ref=1025 excl ; entry p0 m0[0] page write ; folios count=1
