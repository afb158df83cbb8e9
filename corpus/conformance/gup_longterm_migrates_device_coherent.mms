#! title: a FOLL_LONGTERM pin of a device-coherent page migrates it to system memory first (a coherent page must stay evictable): the pin's reference becomes a plain one, migrate_device_coherent_folio copies it to an order-0 ZONE_NORMAL folio, and the range is pinned again (found by a guest campaign)
#! kernel: mm/gup.c check_and_migrate_movable_pages, collect_longterm_unpinnable_folios (device-coherent: collected as is), migrate_longterm_unpinnable_folios; mm/migrate_device.c migrate_device_coherent_folio
mmap p0 m7 anon rw pages=10 at=1103
write p0 m7[1107] = 5
migrate-to-dev dev3 p0 m7[1107] => ok cpages=1 faults=0 data=5 ; device dev3 free=2047 refs=1
gup p0 m7[1107] pin longterm -> h0 => ok 1 ; folio p0 m7[1107] zone=normal pinned ; device dev3 free=2048 refs=0 ; has-pinned p0
dma-read h0[0] => ok data=5
read p0 m7[1107] => ok data=5
release h0 => ok
