#! title: a pinned page offered for migration is not collected (its exclusive mapping cannot be shared) and stays where it is
#! kernel: mm/migrate_device.c migrate_vma_collect_pmd (folio_try_share_anon_rmap_pte fails on a maybe-pinned folio), migrate_vma_check_page
mmap p0 m0 anon rw pages=2
write p0 m0[0..2] = index
gup p0 m0[0] pin write -> h0 => ok 1
migrate-to-dev dev0 p0 m0[0..2] => ENOENT ; entry p0 m0[0] page write ; folio p0 m0[0] ref=1025 zone=normal ; entry p0 m0[1] devpriv
release h0
migrate-to-dev dev0 p0 m0[0..2] => ok cpages=2 faults=0 data=index ; entry p0 m0[0] devpriv
