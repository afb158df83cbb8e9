#! title: alloc_contig_range migrates in-use pages out of CMA but fails with EBUSY on a pinned one
#! kernel: mm/page_alloc.c alloc_contig_range, mm/migrate.c migrate_pages (folio_migrate_mapping refcount check)
mmap p0 m0 anon rw pages=2 zone=cma
write p0 m0[0..2] = index
gup p0 m0[0] pin -> h0 => ok 1 ; folio p0 m0[0] zone=cma
cma-evacuate => EBUSY ; folio p0 m0[0] zone=cma ; folio p0 m0[1] zone=normal ; zone cma free=4095
release h0
cma-evacuate => ok 1 ; folio p0 m0[0] zone=normal ; zone cma free=4096
read p0 m0[0..2] => ok data=index
