#! title: splitting a THP whose pages a device holds exclusively keeps the device's table pointing at the same pages
#! found-by: mmdiff fuzz --seed 6 (oracle invariant mirror-coherent after split-thp), minimized by hand
#! kernel: mm/huge_memory.c __split_huge_page (pages keep their identity; lib/test_hmm.c stores struct page pointers)
mmap p0 m0 anon rw pages=512
madvise p0 m0[0..512] hugepage
write p0 m0[0..512] = index
dev-exclusive dev1 p0 m0[1..3] => ok cpages=2 faults=0 data=index ; entry p0 m0[1] devexcl ; mirror dev1 p0 m0[1] atomic same-as p0 m0[1]
split-thp p0 m0[100] => ok ; folio p0 m0[1] order=0 ; mirror dev1 p0 m0[1] atomic same-as p0 m0[1] ; mirror dev1 p0 m0[2] atomic same-as p0 m0[2]
read p0 m0[0..4] => ok data=index ; mirror dev1 p0 m0[1] none
