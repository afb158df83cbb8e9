#! title: MAP_SHARED|MAP_ANONYMOUS memory is shmem: writes are seen by parent and child, and fork copies no page tables
#! kernel: mm/memory.c vma_needs_copy, do_shared_fault; mm/shmem.c shmem_zero_setup
mmap p0 m0 anon-shared rw pages=2
write p0 m0[0] = 7 => ok ; folio p0 m0[0] !anon swapbacked dirty ref=2 map=1
fork p0 -> p1 => ok ; entry p1 m0[0] none
read p1 m0[0] => ok data=7 ; same p0 m0[0] p1 m0[0] ; folio p1 m0[0] ref=3 map=2
write p1 m0[1] = 8
read p0 m0[0..2] => ok data=[7,8]
