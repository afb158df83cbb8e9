#! title: MADV_PAGEOUT of part of a large folio only this process maps splits it and reclaims only the pieces in the range; a large folio another process maps is left whole
#! kernel: mm/madvise.c madvise_cold_or_pageout_pte_range (madvise_folio_pte_batch, folio_maybe_mapped_shared, split_folio), madvise_pageout
mmap p0 m0 anon rw pages=512
madvise p0 m0[0..512] hugepage
write p0 m0[0..512] = index+1
# One page dropped: a PTE-mapped THP that no whole range can cover any more.
madvise p0 m0[7] dontneed => ok ; entry p0 m0[0] page !pmd ; folio p0 m0[0] order=9 map=511
madvise p0 m0[0..4] pageout => ok ; entry p0 m0[0] swap ; entry p0 m0[4] page ; folio p0 m0[4] order=0 map=1
read p0 m0[0..6] => ok data=[1,2,3,4,5,6]
# Shared with a child: neither split nor reclaimed.
mmap p0 m1 anon rw pages=512
madvise p0 m1[0..512] hugepage
write p0 m1[0..512] = 2
madvise p0 m1[9] dontneed
fork p0 -> p1
madvise p0 m1[0..4] pageout => ok ; entry p0 m1[0] page ; folio p0 m1[0] order=9
