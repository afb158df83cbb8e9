#! title: bench: a 64 MiB anonymous region of 4 KiB pages, written, forked, rewritten by the child (COW), snapshot in both
#! config: window_pages=16384 zone_pages=40960,4096,4096
#! run-with: mmdiff bench --only fork-cow-4k (timed), or mmdiff replay triage/bench-workloads/fork-cow-4k.mms (checked)
mmap p0 m0 anon rw pages=16384
write p0 m0[0..16384] = index => ok
fork p0 -> p1 => ok
# Every page is shared read-only after fork: each child write copies one page.
write p1 m0[0..16384] = index+1 => ok
hmm-fault p0 m0[0..16384]
hmm-fault p1 m0[0..16384]
