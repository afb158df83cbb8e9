#! title: pinning the zero page read-only is a no-op for accounting; a long-term read-only pin in a private mapping unshares it into a new anon page
#! kernel: mm/gup.c try_grab_folio (is_zero_folio), gup_must_unshare (non-anon page, FOLL_LONGTERM, COW mapping)
mmap p0 m0 anon rw pages=2
read p0 m0[0..2]
gup p0 m0[0] pin -> h0 => ok 1 ; entry p0 m0[0] zero ; folios count=0 ; has-pinned p0
dma-read h0[0] => ok data=0
gup p0 m0[1] pin longterm -> h1 => ok 1 ; entry p0 m0[1] page !write ; folio p0 m0[1] anon excl ref=1025
