#! title: long-term writable pins of shared mappings on writeback filesystems are refused; tmpfs is fine
#! kernel: mm/gup.c check_vma_flags, writable_file_mapping_allowed
file f0 ext4 pages=1
file f1 tmpfs pages=1
mmap p0 m0 file-shared f0 rw pages=1
mmap p0 m1 file-shared f1 rw pages=1
gup p0 m0[0] pin write longterm -> h0 => EFAULT
gup p0 m0[0] pin write -> h0 => ok 1 ; folio p0 m0[0] ref=1026 dirty
gup p0 m1[0] pin write longterm -> h1 => ok 1
