#! title: unpin_user_pages_dirty_lock marks the folios dirty; a plain unpin does not
#! kernel: mm/gup.c unpin_user_pages_dirty_lock
file f0 ext4 pages=2
mmap p0 m0 file-shared f0 r pages=2
read p0 m0[0..2] => ok data=0 ; folio p0 m0[0] !dirty
gup p0 m0[0..2] pin -> h0 => ok 2
release h0 => ok ; folio p0 m0[0] !dirty
gup p0 m0[0..2] pin -> h0 => ok 2
release h0 dirty => ok ; folio p0 m0[0] dirty ; folio p0 m0[1] dirty
