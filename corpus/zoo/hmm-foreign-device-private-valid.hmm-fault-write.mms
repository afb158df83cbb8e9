#! title: a write fault through hmm_range_fault on a read-only VMA fails, even on another device's private page
#! planted: hmm-foreign-device-private-valid
#! signature: hmm-fault/outcome:EPERM-vs-pfns
#! known-minimum: 3
#! kernel: mm/hmm.c hmm_vma_handle_pte (pgmap->owner == range->dev_private_owner), hmm_vma_fault (-EPERM without VM_WRITE)
# The page is not the caller's device memory, so the walk must fault it,
# and a write fault in a VMA without VM_WRITE is -EPERM; taking the page
# as valid skips the fault and returns pfns.
mmap p0 m0 anon r pages=1
migrate-to-dev dev0 p0 m0[0]
hmm-fault p0 m0[0] write
