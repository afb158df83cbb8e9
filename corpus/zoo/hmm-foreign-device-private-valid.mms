#! title: hmm_range_fault must not report another device's private page as a valid page
#! planted: hmm-foreign-device-private-valid
#! signature: hmm-fault/outcome:pfns.valid
#! known-minimum: 3
#! kernel: mm/hmm.c hmm_vma_handle_pte (pgmap->owner == range->dev_private_owner)
mmap p0 m0 anon rw pages=1
migrate-to-dev dev0 p0 m0[0]        => ok cpages=1 faults=0 data=0 ; entry p0 m0[0] devpriv
# A snapshot for dev1: dev0's private memory is not dev1's to access, so
# the word is 0 (with REQ_FAULT the page would be faulted back to RAM).
hmm-fault p0 m0[0] owner=dev1       => ok pfns=[0]
