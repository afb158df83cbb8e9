#! title: hmm_range_fault with REQ_FAULT and no owner must fault a device-private page back to RAM
#! planted: hmm-foreign-device-private-valid
#! signature: hmm-fault/state:entry.kind
#! known-minimum: 3
#! kernel: mm/hmm.c hmm_vma_handle_pte (pgmap->owner == range->dev_private_owner)
mmap p0 m0 anon rw pages=1
migrate-to-dev dev0 p0 m0[0]
hmm-fault p0 m0[0] fault
