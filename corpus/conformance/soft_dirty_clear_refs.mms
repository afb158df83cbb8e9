#! title: clear_refs write-protects and cleans soft-dirty PTEs; the next write faults and sets soft-dirty again
#! kernel: fs/proc/task_mmu.c clear_refs_write, clear_soft_dirty; mm/memory.c wp_page_reuse
mmap p0 m0 anon rw pages=2
write p0 m0[0..2] = 1 => ok ; entry p0 m0[0] page soft-dirty write ; vma p0 m0[0] soft-dirty
clear-soft-dirty p0 => ok ; entry p0 m0[0] page !soft-dirty !write dirty ; vma p0 m0[0] !soft-dirty
write p0 m0[0] = 2 => ok ; entry p0 m0[0] page soft-dirty write ; entry p0 m0[1] page !soft-dirty !write ; folio p0 m0[0] excl ref=1
