#! title: clear_refs leaves a writable pinned page of a COW mapping writable and soft-dirty
#! kernel: fs/proc/task_mmu.c pte_is_pinned (commit 9348b73c2e1b "Don't write-protect pinned pages")
mmap p0 m0 anon rw pages=2
write p0 m0[0..2] = 1
gup p0 m0[0] pin write -> h0 => ok 1 ; has-pinned p0
clear-soft-dirty p0 => ok ; entry p0 m0[0] page write soft-dirty ; entry p0 m0[1] page !write !soft-dirty
