#! title: GUP returns the number of pages done before the first failure, or the error if none; bad flag combinations are refused
#! kernel: mm/gup.c __get_user_pages, is_valid_gup_args, check_vma_flags, faultin_page (FOLL_NOFAULT)
mmap p0 m0 anon rw pages=2
gup p0 m0[0..4] get -> h0 => ok 2
gup p0 m0[2..4] get -> h1 => EFAULT
gup p0 m0[0] get longterm -> h1 => EINVAL
mmap p0 m1 anon rw pages=1
gup p0 m1[0] pin nofault -> h1 => EFAULT
mmap p0 m2 anon r pages=1
gup p0 m2[0] pin write -> h1 => EFAULT
mmap p0 m3 anon none pages=1
gup p0 m3[0] get -> h1 => EFAULT
gup p0 m0[0] get -> h0 => EBUSY
