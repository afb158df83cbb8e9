#! title: migrate_vma_setup's fault-in walk must not leak the pgmap reference when it restarts
#! planted: seed002-pgmap-ref-leak-on-retry
#! signature: migrate-setup/invariant:device-accounting@subject
#! known-minimum: 3
#! kernel: mm/hmm.c hmm_range_fault (-EBUSY restart), hmm_vma_handle_pte; mm/memremap.c get_dev_pagemap, put_dev_pagemap
mmap p0 m0 anon r pages=1
migrate-to-dev dev0 p0 m0[0]
migrate-setup s0 p0 m0[0] select=fault
