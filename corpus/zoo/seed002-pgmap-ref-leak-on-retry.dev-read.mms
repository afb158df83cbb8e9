#! title: the test driver's read must not leak the pgmap reference of a walk that restarts after faulting a device page back
#! planted: seed002-pgmap-ref-leak-on-retry
#! signature: dev-read/invariant:device-accounting@subject
#! known-minimum: 3
#! kernel: mm/hmm.c hmm_range_fault (-EBUSY restart), hmm_vma_handle_pte; mm/memremap.c get_dev_pagemap, put_dev_pagemap
mmap p0 m0 anon r pages=1
migrate-to-dev dev0 p0 m0[0]
dev-read dev2 p0 m0[0]
