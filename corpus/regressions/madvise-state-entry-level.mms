#! title: MADV_PAGEOUT meets a PMD-mapped device-coherent THP once: the range covers it whole, so it is not split
#! found-by: mmdiff fuzz --seed 878589562163647303
#! input: #70761 of worker 1
#! signature: madvise/state:entry.level
#! failure: op #2 `madvise p0 m0[0..683] pageout`: oracle and subject states differ
#! minimized: 6 ops -> 3 ops in 293 tests, 1.25 s
#! minimized-from: artifacts/fuzz/state-8afb4c4c015892f1.mms
mmap p0 m0 anon rw pages=512
migrate-to-dev dev2 p0 m0[0..683]
madvise p0 m0[0..683] pageout
