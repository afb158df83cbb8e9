#! title: reclaim never swaps a page that may be DMA-pinned, nor one locked by someone else
#! kernel: mm/vmscan.c shrink_folio_list (folio_trylock, folio_maybe_dma_pinned before add_to_swap)
mmap p0 m0 anon rw pages=3
write p0 m0[0..3] = index
gup p0 m0[0] pin -> h0 => ok 1 ; folio p0 m0[0] ref=1025 pinned
lock x0 p0 m0[1]
reclaim => ok 1 ; entry p0 m0[0] page ; entry p0 m0[1] page ; entry p0 m0[2] swap ; swap used=1
unlock x0
release h0
reclaim => ok 2 ; swap used=3 ; folios count=0
