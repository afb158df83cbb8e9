#! title: bench: a 1 GiB MADV_HUGEPAGE anonymous region, written, then one hmm_range_fault snapshot of all of it
#! config: window_pages=262144 zone_pages=278528,4096,4096 device_pages=262144
#! run-with: mmdiff bench --only thp1g-hmm-fault (timed), or mmdiff replay triage/bench-workloads/thp1g-hmm-fault.mms (checked)
mmap p0 m0 anon rw pages=262144
madvise p0 m0[0..262144] hugepage
write p0 m0[0..262144] = index => ok
# A pure snapshot (no REQ_FAULT): 512 PMD-mapped THPs reported page by page.
hmm-fault p0 m0[0..262144]
