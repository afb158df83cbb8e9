#! title: a snapshot for one device must not report another device's private page as valid
#! planted: hmm-foreign-device-private-valid
#! signature: dev-snapshot/outcome:snapshot
#! known-minimum: 3
#! kernel: mm/hmm.c hmm_vma_handle_pte (pgmap->owner == range->dev_private_owner)
mmap p0 m0 anon r pages=1
migrate-to-dev dev0 p0 m0[0]
dev-snapshot dev2 p0 m0[0]
