#! title: bench: a 1 GiB MADV_HUGEPAGE anonymous region, written, migrated to device-private memory and back
#! config: window_pages=262144 zone_pages=278528,4096,4096 device_pages=262144
#! run-with: mmdiff bench --only thp1g-migrate-dev (timed), or mmdiff replay triage/bench-workloads/thp1g-migrate-dev.mms (checked)
mmap p0 m0 anon rw pages=262144
madvise p0 m0[0..262144] hugepage
write p0 m0[0..262144] = index => ok
# test_hmm migrates in 512-page chunks with SELECT_COMPOUND: one device THP per PMD.
migrate-to-dev dev0 p0 m0[0..262144] => ok cpages=262144 faults=0 data=index
# cpages counts the migrated src[] entries that carry a page: one per device THP, 512.
migrate-to-sys dev0 p0 m0[0..262144] => ok cpages=512 faults=0
