//! Op arguments as the kernel spells them, and errnos back.

use std::collections::BTreeMap;

use mmdiff_core::op::{Advice, Prot};
use mmdiff_core::outcome::Errno;

pub(super) fn prot_bits(p: Prot) -> i32 {
    match p {
        Prot::None => libc::PROT_NONE,
        Prot::R => libc::PROT_READ,
        Prot::RW => libc::PROT_READ | libc::PROT_WRITE,
    }
}

pub(super) fn advice_value(a: Advice) -> i32 {
    match a {
        Advice::DontNeed => libc::MADV_DONTNEED,
        Advice::Free => libc::MADV_FREE,
        Advice::HugePage => libc::MADV_HUGEPAGE,
        Advice::NoHugePage => libc::MADV_NOHUGEPAGE,
        Advice::Collapse => libc::MADV_COLLAPSE,
        Advice::PageOut => libc::MADV_PAGEOUT,
        Advice::DontFork => libc::MADV_DONTFORK,
        Advice::DoFork => libc::MADV_DOFORK,
    }
}

/// The op language's name of a kernel errno, if it has one.
pub fn errno_name(errno: i32) -> Option<Errno> {
    let table: BTreeMap<i32, Errno> = [
        (libc::EPERM, Errno::EPERM),
        (libc::ENOENT, Errno::ENOENT),
        (libc::EINTR, Errno::EINTR),
        (libc::EIO, Errno::EIO),
        (libc::EBADF, Errno::EBADF),
        (libc::EAGAIN, Errno::EAGAIN),
        (libc::ENOMEM, Errno::ENOMEM),
        (libc::EACCES, Errno::EACCES),
        (libc::EFAULT, Errno::EFAULT),
        (libc::EBUSY, Errno::EBUSY),
        (libc::EEXIST, Errno::EEXIST),
        (libc::EINVAL, Errno::EINVAL),
        (libc::ENOSPC, Errno::ENOSPC),
        (libc::ERANGE, Errno::ERANGE),
        (libc::EOPNOTSUPP, Errno::EOPNOTSUPP),
        (libc::EHWPOISON, Errno::EHWPOISON),
    ]
    .into_iter()
    .collect();
    table.get(&errno).copied()
}

pub(super) fn errno_text(errno: i32) -> String {
    nix::errno::Errno::from_raw(errno).desc().to_string()
}
