#! title: a CPU write to page 1 of a window stores the value plus one (the harness's canary)
#! planted: canary
#! signature: write/state:folio.contents
#! known-minimum: 2
mmap p0 m0 anon rw pages=2
write p0 m0[1] = 0
