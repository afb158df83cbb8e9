//! A scenario process: one process of the scenario (`p0..p3`), doing
//! exactly what the controller tells it, one system call or access at a
//! time, in its own address space.
//!
//! It starts by closing every descriptor but its socket (so it holds no
//! other process's socket and sees end-of-file when the controller goes
//! away), installs the fault-recovering signal handlers, sends its pid and
//! pidfd, and then serves commands until it is told to exit or its socket
//! closes. A `fork` command forks this very process; the new child serves
//! the socket that came with the command.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use crate::layout::{first_words, AREA_BASE, AREA_LEN, PAGE_SIZE};
use crate::sys;
use crate::wire::{
    self, Command, Reply, DMIRROR_CHECK_EXCLUSIVE, DMIRROR_EXCLUSIVE, DMIRROR_MIGRATE_TO_DEV,
    DMIRROR_READ, DMIRROR_SNAPSHOT, DMIRROR_WRITE,
};

/// Exit codes of a scenario process that could not serve (the controller
/// reports the process as gone either way).
const EXIT_SETUP: i32 = 71;
/// The kernel's GUP test interface (`CONFIG_GUP_TEST`, on debugfs).
pub const GUP_TEST: &str = "/sys/kernel/debug/gup_test";
const EXIT_PROTOCOL: i32 = 72;

/// The first scenario process: checks that the window area is free, pins
/// itself (and so every process it forks) to the CPU it runs on, then
/// serves `sock`.
///
/// One CPU makes the per-CPU LRU batches deterministic: `MADV_FREE` puts
/// folios in this CPU's lazyfree batch, and `MADV_PAGEOUT` drains only the
/// batches of the CPU it runs on (`lru_add_drain`), so a process that moved
/// between the two would see its lazyfree folios stay unreclaimed.
pub fn serve_first(sock: OwnedFd) -> i32 {
    sys::close_fds_except(sock.as_raw_fd());
    pin_to_this_cpu();
    // The area must hold nothing of the program forked from; a probe
    // mapping with MAP_FIXED_NOREPLACE fails with EEXIST otherwise.
    let flags =
        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_FIXED_NOREPLACE;
    if sys::map(AREA_BASE, AREA_LEN, libc::PROT_NONE, flags, None, 0).is_err()
        || sys::unmap(AREA_BASE, AREA_LEN).is_err()
    {
        return EXIT_SETUP;
    }
    serve(sock)
}

/// `sched_setaffinity` to the current CPU; a failure leaves the process
/// free to move (the comparison then depends on scheduling, as it would).
fn pin_to_this_cpu() {
    use nix::sched::{sched_getcpu, sched_setaffinity, CpuSet};
    let Ok(cpu) = sched_getcpu() else { return };
    let mut set = CpuSet::new();
    if set.set(cpu).is_ok() {
        let _ = sched_setaffinity(nix::unistd::Pid::from_raw(0), &set);
    }
}

/// Serves commands on `sock` until `exit` or end-of-file.
fn serve(sock: OwnedFd) -> i32 {
    sys::close_fds_except(sock.as_raw_fd());
    if sys::setup_scenario_signals().is_err() {
        return EXIT_SETUP;
    }
    let Ok(pidfd) = sys::pidfd_of_self() else {
        return EXIT_SETUP;
    };
    let hello = Reply::Hello {
        pid: std::process::id() as i32,
    };
    if wire::send(&sock, &hello.encode(), &[pidfd.as_raw_fd()]).is_err() {
        return EXIT_SETUP;
    }
    drop(pidfd);
    // This process's mirrors (`/dev/hmm_dmirror<d>`), opened on first
    // use: a mirror belongs to the mm of the process that opened it, so a
    // forked child starts without any (the descriptors are closed above).
    let mut mirrors: [Option<OwnedFd>; 4] = Default::default();
    loop {
        let Ok((bytes, mut fds)) = wire::recv(&sock, None) else {
            return 0;
        };
        let Ok(command) = Command::decode(&bytes) else {
            return EXIT_PROTOCOL;
        };
        let (reply, pipe) = match command {
            Command::Exit => return 0,
            Command::Fork => {
                let Some(child_sock) = fds.pop() else {
                    return EXIT_PROTOCOL;
                };
                // In this process the closure (and with it the child's
                // socket) is dropped when spawn returns.
                let r = sys::spawn(move || serve(child_sock));
                (status(r.map(drop)), None)
            }
            Command::Map {
                addr,
                len,
                prot,
                flags,
                offset,
            } => {
                let file = fds.first().map(|f| f.as_fd());
                (status(sys::map(addr, len, prot, flags, file, offset)), None)
            }
            Command::Unmap { addr, len } => (status(sys::unmap(addr, len)), None),
            Command::Protect { addr, len, prot } => (status(sys::protect(addr, len, prot)), None),
            Command::Advise { addr, len, advice } => (status(sys::advise(addr, len, advice)), None),
            Command::Remap { old, len, new } => (status(sys::remap(old, len, new)), None),
            Command::Load { addr, pages } => (load(addr, pages), None),
            Command::Store { addr, values } => (store(addr, &values), None),
            Command::Splice { addr, pages } => splice(addr, pages),
            Command::Peek { addr } => (peek(addr), None),
            Command::Dmirror {
                dev,
                request,
                addr,
                npages,
                values,
            } => dmirror(&mut mirrors, dev, request, addr, npages, &values),
            Command::PinLongterm { addr, pages, flags } => pin_longterm(addr, pages, flags),
            Command::GupOnce {
                request,
                addr,
                pages,
                flags,
            } => (gup_once(fds.pop(), request, addr, pages, flags), None),
            Command::CloseMirror { dev } => {
                let slot = mirrors.get_mut(dev as usize).and_then(Option::take);
                let errno = if slot.is_some() { 0 } else { libc::ENOENT };
                (Reply::Status { errno }, None)
            }
        };
        let attached: Vec<i32> = pipe.iter().map(|p| p.as_raw_fd()).collect();
        if wire::send(&sock, &reply.encode(), &attached).is_err() {
            return 0;
        }
    }
}

/// One HMM test driver ioctl on the mirror of device `dev`, with a
/// duplicate of the mirror's descriptor when this ioctl opened it.
fn dmirror(
    mirrors: &mut [Option<OwnedFd>; 4],
    dev: u8,
    request: u8,
    addr: u64,
    npages: u64,
    values: &[u64],
) -> (Reply, Option<OwnedFd>) {
    let failed = |errno| {
        let reply = Reply::Dmirror {
            errno,
            cpages: 0,
            faults: 0,
            buffer: Vec::new(),
        };
        (reply, None)
    };
    let Some(slot) = mirrors.get_mut(dev as usize) else {
        return failed(libc::ENODEV);
    };
    let mut opened = None;
    if slot.is_none() {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(format!("/dev/hmm_dmirror{dev}"));
        match file.and_then(|f| {
            let fd = OwnedFd::from(f);
            fd.try_clone().map(|dup| (fd, dup))
        }) {
            Ok((fd, dup)) => {
                *slot = Some(fd);
                opened = Some(dup);
            }
            Err(e) => return failed(e.raw_os_error().unwrap_or(libc::EIO)),
        }
    }
    let Some(fd) = slot.as_ref() else {
        return failed(libc::EIO);
    };
    let page = PAGE_SIZE as usize;
    let pages = npages as usize;
    let mut buffer = vec![
        0u8;
        match request {
            DMIRROR_SNAPSHOT => pages,
            DMIRROR_CHECK_EXCLUSIVE => 0,
            _ => pages * page,
        }
    ];
    if request == DMIRROR_WRITE {
        for (i, v) in values.iter().enumerate().take(pages) {
            buffer[i * page..i * page + 8].copy_from_slice(&v.to_le_bytes());
        }
    }
    let mut cmd = [addr, 0, npages, 0, 0];
    let errno = sys::dmirror_ioctl(fd, request, &mut cmd, &mut buffer)
        .err()
        .unwrap_or(0);
    let buffer = match request {
        DMIRROR_READ | DMIRROR_MIGRATE_TO_DEV | DMIRROR_EXCLUSIVE if errno == 0 => {
            first_words(&buffer)
        }
        DMIRROR_SNAPSHOT if errno == 0 => buffer.iter().map(|&b| u64::from(b)).collect(),
        _ => Vec::new(),
    };
    let reply = Reply::Dmirror {
        errno,
        cpages: cmd[3],
        faults: cmd[4],
        buffer,
    };
    (reply, opened)
}

/// `PIN_LONGTERM_TEST_START` on a new descriptor of `gup_test`, which
/// goes to the controller with the reply: closing the last descriptor of
/// any `gup_test` file unpins the pin set (`gup_test_release`), and the
/// pins must outlive this process as the models' handles do.
fn pin_longterm(addr: u64, pages: u64, flags: u32) -> (Reply, Option<OwnedFd>) {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(GUP_TEST);
    let fd = match file {
        Ok(f) => OwnedFd::from(f),
        Err(e) => return (status(Err(e.raw_os_error().unwrap_or(libc::EIO))), None),
    };
    match sys::gup_test_start(&fd, addr, pages * PAGE_SIZE, flags) {
        Ok(()) => (status(Ok(())), Some(fd)),
        Err(errno) => (status(Err(errno)), None),
    }
}

/// A one-shot `gup_test` request (the pages are taken and put back in
/// one call) on `held`, the descriptor that holds the long-term pin set
/// if there is one: closing any `gup_test` file unpins that set
/// (`gup_test_release`), so a fresh descriptor is opened, and closed
/// again, only when the controller holds none.
fn gup_once(held: Option<OwnedFd>, request: u8, addr: u64, pages: u64, flags: u32) -> Reply {
    let failed = |errno| Reply::GupTaken { bytes: 0, errno };
    let fd = match held {
        Some(fd) => fd,
        None => {
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(GUP_TEST);
            match file {
                Ok(f) => OwnedFd::from(f),
                Err(e) => return failed(e.raw_os_error().unwrap_or(libc::EIO)),
            }
        }
    };
    match sys::gup_test_once(&fd, request, addr, pages * PAGE_SIZE, flags) {
        Ok(bytes) => Reply::GupTaken { bytes, errno: 0 },
        Err(errno) => failed(errno),
    }
}

fn status(r: Result<(), sys::Errno>) -> Reply {
    Reply::Status {
        errno: r.err().unwrap_or(0),
    }
}

/// CPU loads page by page; the first fault ends the access.
fn load(addr: u64, pages: u32) -> Reply {
    let mut values = Vec::with_capacity(pages as usize);
    for i in 0..pages {
        match sys::cpu_load(addr + i as u64 * PAGE_SIZE) {
            Ok(v) => values.push(v),
            Err(sig) => {
                return Reply::Access {
                    values,
                    stop: Some((i, sig)),
                }
            }
        }
    }
    Reply::Access { values, stop: None }
}

/// CPU stores page by page; the first fault ends the access.
fn store(addr: u64, values: &[u64]) -> Reply {
    for (i, v) in values.iter().enumerate() {
        if let Err(sig) = sys::cpu_store(addr + i as u64 * PAGE_SIZE, *v) {
            return Reply::Access {
                values: Vec::new(),
                stop: Some((i as u32, sig)),
            };
        }
    }
    Reply::Access {
        values: Vec::new(),
        stop: None,
    }
}

/// The `u64` at `addr` read through `/proc/self/mem`, which reads with
/// `FOLL_FORCE` (a `PROT_NONE` page too). Read here rather than by the
/// controller so that what the read leaves in per-CPU LRU batches (it
/// marks the page accessed) is on this process's CPU, where its own next
/// `lru_add_drain` empties them.
fn peek(addr: u64) -> Reply {
    use std::os::unix::fs::FileExt;
    let read = (|| {
        if !crate::layout::within_area(addr, 8) {
            return Err(std::io::Error::from_raw_os_error(libc::EFAULT));
        }
        let mem = std::fs::File::open("/proc/self/mem")?;
        let mut b = [0u8; 8];
        mem.read_exact_at(&mut b, addr)?;
        Ok(u64::from_le_bytes(b))
    })();
    match read {
        Ok(v) => Reply::Access {
            values: vec![v],
            stop: None,
        },
        Err(_) => Reply::Access {
            values: Vec::new(),
            stop: Some((0, libc::SIGSEGV)),
        },
    }
}

/// `vmsplice` of the pages into a fresh pipe large enough for all of
/// them; the pipe's read end goes to the controller, which keeps the page
/// references alive as long as the handle lives.
fn splice(addr: u64, pages: u32) -> (Reply, Option<OwnedFd>) {
    let failed = |errno| (Reply::Spliced { bytes: 0, errno }, None);
    let Ok((read_end, write_end)) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC) else {
        return failed(libc::EMFILE);
    };
    let capacity = (pages.max(1) as u64 * PAGE_SIZE).next_power_of_two();
    let Ok(capacity) = i32::try_from(capacity) else {
        return failed(libc::E2BIG);
    };
    if let Err(e) = nix::fcntl::fcntl(&write_end, nix::fcntl::FcntlArg::F_SETPIPE_SZ(capacity)) {
        return failed(e as i32);
    }
    match sys::splice_pages(write_end.as_fd(), addr, pages as u64 * PAGE_SIZE) {
        Ok(bytes) => (Reply::Spliced { bytes, errno: 0 }, Some(read_end)),
        Err(errno) => failed(errno),
    }
}
