#! title: touching a file mapping beyond the end of the file raises SIGBUS
#! kernel: mm/filemap.c filemap_fault (VM_FAULT_SIGBUS past i_size)
file f0 tmpfs pages=2
mmap p0 m0 file-shared f0 rw pages=4
write p0 m0[0..4] = 1 => SIGBUS@2 ; entry p0 m0[1] page write dirty
read p0 m0[0..2] => ok data=1
