#! title: a pin keeps its page through mprotect and munmap; the page is freed only when the pin is released
#! kernel: mm/gup.c unpin_user_pages; mm/mprotect.c change_pte_range; mm/memory.c zap_pte_range
mmap p0 m0 anon rw pages=1
write p0 m0[0] = 4
gup p0 m0[0] pin write -> h0 => ok 1
mprotect p0 m0[0] r => ok ; folio p0 m0[0] ref=1025
dma-write h0[0] = 5
read p0 m0[0] => ok data=5
munmap p0 m0[0] => ok ; folios count=1 ; zone normal free=16383
dma-read h0[0] => ok data=5
release h0 dirty => ok ; folios count=0 ; zone normal free=16384
