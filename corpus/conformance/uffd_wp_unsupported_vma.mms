#! title: userfaultfd write-protect registers only anonymous and shmem memory, and only fully mapped ranges
#! kernel: fs/userfaultfd.c userfaultfd_register, vma_can_userfault
file f0 ext4 pages=1
mmap p0 m0 file-shared f0 rw pages=1
uffd-wp p0 m0[0] on => EINVAL
mmap p0 m1 anon rw pages=1
uffd-wp p0 m1[0..2] on => EINVAL
file f1 tmpfs pages=1
mmap p0 m2 file-shared f1 rw pages=1
uffd-wp p0 m2[0] on => ok ; vma p0 m2[0] uffd-wp
