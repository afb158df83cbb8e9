#! title: bench: a 1 GiB MADV_HUGEPAGE anonymous region, written, long-term pinned in one call, then unpinned
#! config: window_pages=262144 zone_pages=278528,4096,4096 device_pages=262144
#! run-with: mmdiff bench --only thp1g-pin-longterm (timed), or mmdiff replay triage/bench-workloads/thp1g-pin-longterm.mms (checked)
mmap p0 m0 anon rw pages=262144
madvise p0 m0[0..262144] hugepage
write p0 m0[0..262144] = index => ok
# ZONE_NORMAL THPs are long-term pinnable in place: nothing migrates.
gup p0 m0[0..262144] pin longterm -> h0 => ok 262144
release h0 => ok
