#! title: VM_IO|VM_PFNMAP mappings are populated at mmap, have no struct pages, refuse GUP and MADV_DONTNEED, and are copied at fork
#! kernel: mm/memory.c remap_pfn_range, vma_needs_copy; mm/gup.c check_vma_flags; mm/madvise.c madvise_dontneed_free_valid_vma
mmap p0 m0 special rw pages=2 => ok ; entry p0 m0[0] io write ; folios count=0
write p0 m0[1] = 6
gup p0 m0[0..2] get -> h0 => EFAULT
gup p0 m0[0..2] pin -> h0 => EFAULT ; has-pinned p0
madvise p0 m0[0..2] dontneed => EINVAL
fork p0 -> p1 => ok ; entry p1 m0[1] io
write p1 m0[0] = 5
read p0 m0[0..2] => ok data=[5,6]
