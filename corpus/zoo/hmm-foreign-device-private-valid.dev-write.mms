#! title: the test driver's write must fault another device's private page back to RAM, not take it as valid
#! planted: hmm-foreign-device-private-valid
#! signature: dev-write/state:entry.kind
#! known-minimum: 3
#! kernel: mm/hmm.c hmm_vma_handle_pte (pgmap->owner == range->dev_private_owner)
# dev2's write (hmm_range_fault with HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE,
# owner dev2) must migrate dev0's private page back to system memory.
mmap p0 m0 anon rw pages=1
migrate-to-dev dev0 p0 m0[0]
dev-write dev2 p0 m0[0] = 0
