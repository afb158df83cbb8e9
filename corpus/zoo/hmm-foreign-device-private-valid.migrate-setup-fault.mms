#! title: migrate_vma_setup's fault-in walk must fault another device's private page back to RAM
#! planted: hmm-foreign-device-private-valid
#! signature: migrate-setup/state:entry.kind
#! known-minimum: 3
#! kernel: mm/hmm.c hmm_vma_handle_pte (pgmap->owner == range->dev_private_owner)
mmap p0 m0 anon r pages=1
migrate-to-dev dev0 p0 m0[0]
migrate-setup s0 p0 m0[0] select=fault
