#! title: a device may write only through pages pinned for writing
#! kernel: mm/gup.c (FOLL_WRITE); drivers must not write through FOLL_GET/FOLL_PIN without FOLL_WRITE
mmap p0 m0 anon rw pages=1
write p0 m0[0] = 1
gup p0 m0[0] pin -> h0 => ok 1
dma-write h0[0] = 2 => EPERM
dma-read h0[0..2] => EINVAL
release h1 => ENOENT
