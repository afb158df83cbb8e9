#! title: a long-term read-only pin of a page-cache page in a private file mapping unshares it into an anonymous copy
#! kernel: mm/internal.h gup_must_unshare; mm/memory.c do_wp_page (unshare of a non-anon page)
file f0 tmpfs pages=1
mmap p0 m0 file-private f0 r pages=1
read p0 m0[0]
gup p0 m0[0] pin -> h0 => ok 1 ; folio p0 m0[0] !anon ref=1026
release h0
gup p0 m0[0] pin longterm -> h1 => ok 1 ; folio p0 m0[0] anon excl ref=1025 ; entry p0 m0[0] page !write
