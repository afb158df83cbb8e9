#! title: migrate_vma_setup's collect must leave the fault folio locked (its lock belongs to the caller, do_swap_page)
#! planted: seed004-unlocks-fault-folio
#! signature: migrate-setup/state:folio.locked
#! known-minimum: 3
#! kernel: mm/migrate_device.c migrate_vma_collect_huge_pmd (split fallback: unlock unless fault folio), migrate_vma_setup (fault_page)
mmap p0 m0 anon rw pages=512
# A device-private THP: one PMD device-private entry.
migrate-to-dev dev0 p0 m0[0..512]                                    => ok cpages=512 faults=0 data=0 ; entry p0 m0[0] devpriv pmd ; folio p0 m0[0] order=9 !locked
# A one-page migration with page 0 as the fault page (locked and
# referenced by the caller). The range does not cover the PMD, so collect
# falls back to splitting the folio, which fails for the fault folio:
# nothing is collected, and the fault folio must still be locked.
migrate-setup s0 p0 m0[0] select=private owner=dev0 fault-page=0    => ok cpages=0 src=[-] ; folio p0 m0[0] locked
