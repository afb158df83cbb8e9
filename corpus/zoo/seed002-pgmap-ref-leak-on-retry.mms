#! title: hmm_range_fault must not leak the dev_pagemap reference of its walk when the walk restarts after a fault
#! planted: seed002-pgmap-ref-leak-on-retry
#! signature: hmm-fault/invariant:device-accounting@subject
#! known-minimum: 3
#! kernel: mm/hmm.c hmm_range_fault (-EBUSY restart), hmm_vma_handle_pte; mm/memremap.c get_dev_pagemap, put_dev_pagemap
mmap p0 m0 anon rw pages=1
migrate-to-dev dev0 p0 m0[0]   => ok cpages=1 faults=0 data=0 ; device dev0 refs=1
# Not our device's page: the walk looks its pgmap up, then faults it back
# to system memory (migrate_to_ram) and restarts. The device page is
# freed and no pgmap reference may be left behind.
hmm-fault p0 m0[0] fault       => ok pfns=[vw:F0[0]] ; device dev0 refs=0
