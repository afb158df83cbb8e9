#! title: reclaim writes dirty page-cache pages back and drops them; the data survives in the file
#! kernel: mm/vmscan.c shrink_folio_list, pageout, __remove_mapping
file f0 ext4 pages=1
mmap p0 m0 file-shared f0 rw pages=1
write p0 m0[0] = 12
reclaim => ok 1 ; entry p0 m0[0] none ; folios count=0
mmap p1 m0 file-shared f0 r pages=1 => ENOENT
fork p0 -> p1
read p1 m0[0] => ok data=12 ; folio p1 m0[0] !dirty
