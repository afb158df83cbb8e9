//! Every `unsafe` of the crate: the system calls that have no safe
//! wrapper, and the fault-recovering CPU access.
//!
//! The rest of the crate calls these functions only; each `unsafe` block
//! says why it is sound. Two kinds of memory are touched here that Rust
//! knows nothing about:
//!
//! - the *window area* of a scenario process ([`crate::layout`]): a range
//!   of the address space that is checked to be free when the process
//!   starts, and that only the executor's own `mmap`s ever populate. No
//!   Rust object lives there, so mapping, unmapping or changing it cannot
//!   invalidate anything the compiler relies on;
//! - one probe page ([`with_probe_page`]) the environment probes map and
//!   unmap around a closure.
//!
//! Faults are recovered the way the kernel's own exception tables do it:
//! the access is one machine instruction at a known address, and the
//! SIGSEGV/SIGBUS handler, when the faulting instruction pointer is that
//! address, moves the instruction pointer to the instruction after it and
//! reports the signal in a register. `sigsetjmp` is not available in Rust,
//! and probing in a forked grandchild would change the state under test
//! (fork write-protects and shares every anonymous page, and leaves out
//! `MADV_DONTFORK` ranges), so this is the one way to let the real fault
//! happen exactly once, exactly as the CPU would take it, and go on.

use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// An errno value; `Err(errno)` of the calls below.
pub type Errno = i32;

/// The errno of the last failed call.
fn last_errno() -> Errno {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

fn check(ret: libc::c_long) -> Result<libc::c_long, Errno> {
    if ret < 0 {
        Err(last_errno())
    } else {
        Ok(ret)
    }
}

// ------------------------------------------------------------ processes

/// Runs `child` in a new process made with `fork()` and returns the new
/// process's pid in the caller. The child never returns into the
/// caller's stack frames: when `child` returns (or panics) the process
/// ends with `_exit`, so no destructor of the parent's objects runs twice.
pub fn spawn<F: FnOnce() -> i32>(child: F) -> Result<i32, Errno> {
    // SAFETY: fork() in a possibly multi-threaded process. The child only
    // runs `child`, which uses its own file descriptors, system calls and
    // the allocator (glibc makes malloc usable after fork by taking its
    // arena locks around fork), and then leaves with `_exit`; it never
    // unwinds into, or returns through, frames of the parent.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Child) => {
            let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(child)).unwrap_or(70);
            // SAFETY: _exit ends the process without running atexit
            // handlers or destructors, which belong to the parent.
            unsafe { libc::_exit(code) }
        }
        Ok(nix::unistd::ForkResult::Parent { child }) => Ok(child.as_raw()),
        Err(e) => Err(e as Errno),
    }
}

/// Closes every file descriptor above 2 except `keep`, in a process that
/// has just been forked and is about to serve as a scenario process.
pub fn close_fds_except(keep: RawFd) {
    let keep = keep as libc::c_uint;
    // SAFETY: close_range() only closes descriptors. In a fresh scenario
    // process no live Rust object owns any of them except `keep`: the
    // parent's objects that hold them are never dropped in this process
    // (it ends with `_exit`).
    unsafe {
        if keep > 3 {
            libc::syscall(
                libc::SYS_close_range,
                3 as libc::c_uint,
                keep - 1,
                0 as libc::c_uint,
            );
        }
        libc::syscall(
            libc::SYS_close_range,
            keep + 1,
            libc::c_uint::MAX,
            0 as libc::c_uint,
        );
    }
}

/// Signal dispositions of a scenario process: its children (scenario
/// forks) are reaped automatically when they exit before it (the
/// controller reaps those that outlive it), and SIGSEGV/SIGBUS on the
/// access instructions are recovered ([`cpu_load`], [`cpu_store`]).
pub fn setup_scenario_signals() -> Result<(), Errno> {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    let on_fault = SigAction::new(
        SigHandler::SigAction(recover_fault),
        SaFlags::SA_SIGINFO,
        SigSet::empty(),
    );
    let ignore = SigAction::new(SigHandler::SigIgn, SaFlags::empty(), SigSet::empty());
    // SAFETY: `recover_fault` is async-signal-safe (it reads and writes
    // the interrupted context and calls signal(), nothing else); ignoring
    // SIGCHLD only changes who reaps exited children.
    unsafe {
        sigaction(Signal::SIGSEGV, &on_fault).map_err(|e| e as Errno)?;
        sigaction(Signal::SIGBUS, &on_fault).map_err(|e| e as Errno)?;
        sigaction(Signal::SIGCHLD, &ignore).map_err(|e| e as Errno)?;
    }
    Ok(())
}

/// `pidfd_open(getpid())`: a descriptor for this process that stays
/// valid after it exits, so the controller can wait for it and kill it
/// without any risk of hitting a reused pid.
pub fn pidfd_of_self() -> Result<OwnedFd, Errno> {
    // SAFETY: pidfd_open returns a new descriptor, owned by nobody else.
    unsafe {
        let fd = check(libc::syscall(libc::SYS_pidfd_open, libc::getpid(), 0))?;
        Ok(OwnedFd::from_raw_fd(fd as RawFd))
    }
}

/// Makes the calling process a child subreaper
/// (`PR_SET_CHILD_SUBREAPER`): scenario processes whose parent exited
/// (an `exit` op ends a process whose forks live on) are re-parented to
/// it instead of to init, so it can reap them ([`reap`]).
pub fn become_subreaper() -> Result<(), Errno> {
    nix::sys::prctl::set_child_subreaper(true).map_err(|e| e as Errno)
}

/// `waitid(P_PIDFD, pidfd, WEXITED)`: reaps the exited process behind
/// `pidfd` if it is the caller's child (otherwise its own parent reaps
/// it, and this returns `ECHILD`). The pidfd names exactly that process,
/// so no other child is ever reaped by mistake.
pub fn reap(pidfd: BorrowedFd<'_>) -> Result<(), Errno> {
    // SAFETY: waitid writes one siginfo_t into `info`, which outlives the
    // call.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let ret = libc::waitid(
            libc::P_PIDFD,
            pidfd.as_raw_fd() as libc::id_t,
            &mut info,
            libc::WEXITED,
        );
        check(ret as libc::c_long).map(drop)
    }
}

/// `pidfd_send_signal(pidfd, SIGKILL)`.
pub fn pidfd_kill(pidfd: BorrowedFd<'_>) -> Result<(), Errno> {
    // SAFETY: a plain system call on a descriptor we hold.
    unsafe {
        check(libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            libc::SIGKILL,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        ))?;
    }
    Ok(())
}

// ---------------------------------------------------------- address space

/// `Err(EINVAL)` unless `[addr, addr + len)` lies inside the window area:
/// the calls below touch nothing else, whatever their callers compute.
fn in_area(addr: u64, len: u64) -> Result<(), Errno> {
    if crate::layout::within_area(addr, len) {
        Ok(())
    } else {
        Err(libc::EINVAL)
    }
}

/// `mmap(addr, len, prot, flags, fd, offset)` inside the window area.
pub fn map(
    addr: u64,
    len: u64,
    prot: i32,
    flags: i32,
    fd: Option<BorrowedFd<'_>>,
    offset: u64,
) -> Result<(), Errno> {
    in_area(addr, len)?;
    let fd = fd.map_or(-1, |f| f.as_raw_fd());
    // SAFETY: the range lies in the window area (see the module
    // documentation): no Rust object is mapped there.
    let ret = unsafe {
        libc::mmap(
            addr as *mut libc::c_void,
            len as usize,
            prot,
            flags,
            fd,
            offset as libc::off_t,
        )
    };
    if ret == libc::MAP_FAILED {
        return Err(last_errno());
    }
    if ret as u64 != addr {
        // MAP_FIXED_NOREPLACE on old kernels is a hint: undo and refuse.
        // SAFETY: `ret` is the mapping just made, owned by nobody.
        unsafe { libc::munmap(ret, len as usize) };
        return Err(libc::EEXIST);
    }
    Ok(())
}

/// `munmap` inside the window area.
pub fn unmap(addr: u64, len: u64) -> Result<(), Errno> {
    in_area(addr, len)?;
    // SAFETY: window area only (module documentation).
    let ret = unsafe { libc::munmap(addr as *mut libc::c_void, len as usize) };
    check(ret as libc::c_long).map(drop)
}

/// `mprotect` inside the window area.
pub fn protect(addr: u64, len: u64, prot: i32) -> Result<(), Errno> {
    in_area(addr, len)?;
    // SAFETY: window area only (module documentation).
    let ret = unsafe { libc::mprotect(addr as *mut libc::c_void, len as usize, prot) };
    check(ret as libc::c_long).map(drop)
}

/// `madvise` inside the window area.
pub fn advise(addr: u64, len: u64, advice: i32) -> Result<(), Errno> {
    in_area(addr, len)?;
    // SAFETY: window area only (module documentation); advice values that
    // free memory (DONTNEED, FREE, PAGEOUT) free only window pages.
    let ret = unsafe { libc::madvise(addr as *mut libc::c_void, len as usize, advice) };
    check(ret as libc::c_long).map(drop)
}

/// `mremap(old, len, len, MREMAP_MAYMOVE|MREMAP_FIXED, new)` inside the
/// window area.
pub fn remap(old: u64, len: u64, new: u64) -> Result<(), Errno> {
    in_area(old, len)?;
    in_area(new, len)?;
    // SAFETY: both ranges lie in the window area (module documentation).
    let ret = unsafe {
        libc::mremap(
            old as *mut libc::c_void,
            len as usize,
            len as usize,
            libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED,
            new as *mut libc::c_void,
        )
    };
    if ret == libc::MAP_FAILED {
        return Err(last_errno());
    }
    Ok(())
}

/// `vmsplice(pipe, [addr, addr + len), 0)`: the kernel takes page
/// references with `get_user_pages_fast` (read-only `FOLL_GET`) and keeps
/// them in the pipe. Returns the bytes spliced.
pub fn splice_pages(pipe: BorrowedFd<'_>, addr: u64, len: u64) -> Result<u64, Errno> {
    in_area(addr, len)?;
    let iov = libc::iovec {
        iov_base: addr as *mut libc::c_void,
        iov_len: len as usize,
    };
    // SAFETY: the kernel reads the window range (module documentation)
    // through page references; nothing is written to user memory.
    let ret = unsafe { libc::vmsplice(pipe.as_raw_fd(), &iov, 1, libc::SPLICE_F_NONBLOCK) };
    check(ret as libc::c_long).map(|n| n as u64)
}

// ------------------------------------------------------ fault recovery

/// What one recovered access returns: the loaded value and the signal
/// that interrupted it (0 when none did). Returned in RAX:RDX.
#[repr(C)]
struct Access {
    value: u64,
    signal: u64,
}

#[cfg(target_arch = "x86_64")]
std::arch::global_asm!(
    ".text",
    ".p2align 4",
    ".globl mmdiff_kernel_load",
    ".hidden mmdiff_kernel_load",
    "mmdiff_kernel_load:",
    "    xor edx, edx",
    ".globl mmdiff_kernel_load_insn",
    ".hidden mmdiff_kernel_load_insn",
    "mmdiff_kernel_load_insn:",
    "    mov rax, qword ptr [rdi]",
    ".globl mmdiff_kernel_load_done",
    ".hidden mmdiff_kernel_load_done",
    "mmdiff_kernel_load_done:",
    "    ret",
    ".p2align 4",
    ".globl mmdiff_kernel_store",
    ".hidden mmdiff_kernel_store",
    "mmdiff_kernel_store:",
    "    xor edx, edx",
    "    xor eax, eax",
    ".globl mmdiff_kernel_store_insn",
    ".hidden mmdiff_kernel_store_insn",
    "mmdiff_kernel_store_insn:",
    "    mov qword ptr [rdi], rsi",
    ".globl mmdiff_kernel_store_done",
    ".hidden mmdiff_kernel_store_done",
    "mmdiff_kernel_store_done:",
    "    ret",
);

extern "C" {
    fn mmdiff_kernel_load(addr: u64) -> Access;
    fn mmdiff_kernel_store(addr: u64, value: u64) -> Access;
    // Labels, declared as functions only to take their addresses.
    fn mmdiff_kernel_load_insn();
    fn mmdiff_kernel_load_done();
    fn mmdiff_kernel_store_insn();
    fn mmdiff_kernel_store_done();
}

/// The SIGSEGV/SIGBUS handler. A fault on one of the two access
/// instructions resumes after it with the signal number in RDX; any other
/// fault is a real crash: the default action is restored and the
/// instruction faults again, ending the process (the controller then sees
/// the process gone and reports it).
extern "C" fn recover_fault(sig: libc::c_int, _info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    let resume = [
        (
            mmdiff_kernel_load_insn as *const () as usize,
            mmdiff_kernel_load_done as *const () as usize,
        ),
        (
            mmdiff_kernel_store_insn as *const () as usize,
            mmdiff_kernel_store_done as *const () as usize,
        ),
    ];
    // SAFETY: for an SA_SIGINFO handler the kernel passes the interrupted
    // context as a valid, writable `ucontext_t`; changing its registers
    // changes where and how the interrupted code resumes, which is the
    // point. signal() is async-signal-safe.
    unsafe {
        let uc = &mut *(ctx as *mut libc::ucontext_t);
        let gregs = &mut uc.uc_mcontext.gregs;
        let rip = gregs[libc::REG_RIP as usize] as usize;
        if let Some(&(_, done)) = resume.iter().find(|(insn, _)| *insn == rip) {
            gregs[libc::REG_RIP as usize] = done as libc::greg_t;
            gregs[libc::REG_RDX as usize] = sig as libc::greg_t;
            gregs[libc::REG_RAX as usize] = 0;
        } else {
            libc::signal(sig, libc::SIG_DFL);
        }
    }
}

/// A CPU load of the `u64` at `addr` (window area; an address outside it
/// is refused as `SIGSEGV` without touching memory). `Err(signal)` when
/// the access faulted with SIGSEGV or SIGBUS; the fault happened exactly
/// as the CPU took it, and nothing was loaded.
pub fn cpu_load(addr: u64) -> Result<u64, i32> {
    if in_area(addr, 8).is_err() || !addr.is_multiple_of(8) {
        return Err(libc::SIGSEGV);
    }
    // SAFETY: the load is one instruction in assembly (the compiler
    // assumes nothing about the memory), at an 8-byte aligned window
    // address; a fault on it is recovered by `recover_fault`, which
    // [`setup_scenario_signals`] installed.
    let a = unsafe { mmdiff_kernel_load(addr) };
    match a.signal {
        0 => Ok(a.value),
        s => Err(s as i32),
    }
}

/// A CPU store of `value` at `addr` (window area); see [`cpu_load`].
pub fn cpu_store(addr: u64, value: u64) -> Result<(), i32> {
    if in_area(addr, 8).is_err() || !addr.is_multiple_of(8) {
        return Err(libc::SIGSEGV);
    }
    // SAFETY: as for `cpu_load`; the stored-to memory is window memory
    // that no Rust object refers to.
    let a = unsafe { mmdiff_kernel_store(addr, value) };
    match a.signal {
        0 => Ok(()),
        s => Err(s as i32),
    }
}

// -------------------------------------------------------------- probes

/// Maps `len` bytes of private anonymous memory anywhere, runs `probe`
/// with the address and unmaps it: the environment probes' own memory.
fn with_probe_area<T>(len: usize, probe: impl FnOnce(u64) -> T) -> Result<T, Errno> {
    // SAFETY: a new anonymous mapping at an address the kernel chooses
    // (so it overlaps nothing); the probes touch it only inside it,
    // through raw pointers, and it is unmapped before returning.
    unsafe {
        let p = libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if p == libc::MAP_FAILED {
            return Err(last_errno());
        }
        let out = probe(p as u64);
        libc::munmap(p, len);
        Ok(out)
    }
}

/// Writes `value` at `addr` of a probe area.
fn probe_store(addr: u64, value: u64) {
    // SAFETY: `addr` lies in a live, writable probe area
    // ([`with_probe_area`]) and is 8-byte aligned.
    unsafe { std::ptr::write_volatile(addr as *mut u64, value) }
}

/// `madvise` of `[addr, addr + len)` inside a probe area.
fn probe_advise(addr: u64, len: usize, advice: i32) -> bool {
    // SAFETY: the range lies in a live probe area ([`with_probe_area`]),
    // which nothing but the probe references.
    unsafe { libc::madvise(addr as *mut libc::c_void, len, advice) == 0 }
}

/// Maps one private anonymous page anywhere, writes `1` to it, runs
/// `probe` with its address and unmaps it. For the environment probes
/// (soft-dirty and pfn visibility in `/proc/self/pagemap`, io_uring
/// buffer registration), which need a real page of their own.
pub fn with_probe_page<T>(probe: impl FnOnce(u64) -> T) -> Result<T, Errno> {
    with_probe_area(4096, |addr| {
        probe_store(addr, 1);
        probe(addr)
    })
}

/// `PIN_LONGTERM_TEST_START`, `_STOP` and `_READ` of the kernel's GUP
/// test interface (mm/gup_test.h, `/sys/kernel/debug/gup_test`):
/// `_IOW('g', 7, struct pin_longterm_test)` (24 bytes), `_IO('g', 8)`,
/// `_IOW('g', 9, __u64)`.
const PIN_LONGTERM_TEST_START: u64 = (1 << 30) | (24 << 16) | ((b'g' as u64) << 8) | 7;
const PIN_LONGTERM_TEST_STOP: u64 = ((b'g' as u64) << 8) | 8;
const PIN_LONGTERM_TEST_READ: u64 = (1 << 30) | (8 << 16) | ((b'g' as u64) << 8) | 9;
/// `PIN_LONGTERM_TEST_FLAG_USE_WRITE` and `_USE_FAST`.
pub const PIN_LONGTERM_WRITE: u32 = 1;
pub const PIN_LONGTERM_FAST: u32 = 2;

/// `PIN_LONGTERM_TEST_START`: the calling process pins `size` bytes from
/// `addr` with `FOLL_LONGTERM` (plus the `PIN_LONGTERM_*` flags), all or
/// nothing. One pin set exists at a time, kernel-wide.
pub fn gup_test_start(fd: &OwnedFd, addr: u64, size: u64, flags: u32) -> Result<(), Errno> {
    // struct pin_longterm_test { __u64 addr; __u64 size; __u32 flags; }
    let args: [u64; 3] = [addr, size, u64::from(flags)];
    // SAFETY: the driver reads 24 bytes at the pointer, which `args` holds
    // for the duration of the call.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), PIN_LONGTERM_TEST_START as _, args.as_ptr()) };
    if r < 0 {
        Err(last_errno())
    } else {
        Ok(())
    }
}

/// `PIN_LONGTERM_TEST_STOP`: unpins the pin set.
pub fn gup_test_stop(fd: &OwnedFd) -> Result<(), Errno> {
    // SAFETY: the request takes no argument.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), PIN_LONGTERM_TEST_STOP as _, 0) };
    if r < 0 {
        Err(last_errno())
    } else {
        Ok(())
    }
}

/// `PIN_LONGTERM_TEST_READ`: the contents of the pinned pages, read
/// through the pins into `buffer` (`pages` pages).
pub fn gup_test_read(fd: &OwnedFd, buffer: &mut [u8]) -> Result<(), Errno> {
    let user_addr: u64 = buffer.as_mut_ptr() as u64;
    // SAFETY: the driver reads the `__u64` address, then copies every
    // pinned page to it; the callers size `buffer` for all of them.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), PIN_LONGTERM_TEST_READ as _, &user_addr) };
    if r < 0 {
        Err(last_errno())
    } else {
        Ok(())
    }
}

/// gup_test's one-shot requests (mm/gup_test.h), `_IOWR('g', nr, struct
/// gup_test)`: each takes the pages and puts them back in the same call.
pub const GUP_FAST_BENCHMARK: u8 = 1;
pub const PIN_FAST_BENCHMARK: u8 = 2;
pub const GUP_BASIC_TEST: u8 = 4;
pub const PIN_BASIC_TEST: u8 = 5;

/// The `FOLL_*` flags a one-shot request passes on (`enum` in
/// include/linux/mm_types.h of 6.12; `FOLL_GET`, `FOLL_PIN` and
/// `FOLL_LONGTERM` are never passed: the request chooses get or pin).
pub const FOLL_WRITE: u32 = 1 << 0;
pub const FOLL_FORCE: u32 = 1 << 3;
pub const FOLL_NOFAULT: u32 = 1 << 5;

/// `struct gup_test` (mm/gup_test.h): 80 bytes with the tail padding.
#[repr(C)]
#[derive(Default)]
struct GupTest {
    get_delta_usec: u64,
    put_delta_usec: u64,
    addr: u64,
    size: u64,
    nr_pages_per_call: u32,
    gup_flags: u32,
    test_flags: u32,
    which_pages: [u32; 8],
}

const _: () = assert!(std::mem::size_of::<GupTest>() == 80);

/// `_IOWR('g', nr, struct gup_test)`.
pub fn gup_test_request(nr: u8) -> u64 {
    (3 << 30)
        | ((std::mem::size_of::<GupTest>() as u64) << 16)
        | (u64::from(b'g') << 8)
        | u64::from(nr)
}

/// A one-shot gup_test request `nr` (`GUP_BASIC_TEST`, `GUP_FAST_BENCHMARK`,
/// `PIN_BASIC_TEST`, `PIN_FAST_BENCHMARK`) by the calling process over
/// `size` bytes from `addr` with `gup_flags`, one page per call
/// (`nr_pages_per_call = 1`): `__gup_test_ioctl` stops at the first call
/// that gets nothing, before advancing, so the size it writes back
/// (`addr - gup->addr`) is exactly the bytes taken. A call's errno is not
/// reported (the loop just stops); `Err` is the ioctl's own failure.
pub fn gup_test_once(
    fd: &OwnedFd,
    nr: u8,
    addr: u64,
    size: u64,
    gup_flags: u32,
) -> Result<u64, Errno> {
    let mut args = GupTest {
        addr,
        size,
        nr_pages_per_call: 1,
        gup_flags,
        ..GupTest::default()
    };
    let request = gup_test_request(nr);
    // SAFETY: the driver reads and writes back one `struct gup_test` at
    // the pointer, which `args` is (`repr(C)`, the kernel's layout) for
    // the duration of the call; it keeps no pointer to it.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), request as _, &mut args as *mut GupTest) };
    if r < 0 {
        Err(last_errno())
    } else {
        Ok(args.size)
    }
}

/// `_IOWR('H', nr, struct hmm_dmirror_cmd)` (lib/test_hmm_uapi.h: the
/// command is five `__u64`s, 40 bytes).
pub fn dmirror_request(nr: u8) -> u64 {
    (3 << 30) | (40 << 16) | (u64::from(b'H') << 8) | u64::from(nr)
}

/// One HMM test driver ioctl on `fd`: `cmd` is `{addr, ptr, npages,
/// cpages, faults}`, `buffer` the user buffer `ptr` points at (at least
/// `npages` pages for READ/WRITE, `npages` bytes for SNAPSHOT). The
/// driver's `cpages` and `faults` are written back into `cmd`.
pub fn dmirror_ioctl(
    fd: &OwnedFd,
    nr: u8,
    cmd: &mut [u64; 5],
    buffer: &mut [u8],
) -> Result<(), Errno> {
    cmd[1] = buffer.as_mut_ptr() as u64;
    // SAFETY: `cmd` is a live, writable `struct hmm_dmirror_cmd`; the
    // driver reads or writes at most `npages` pages (or bytes) of `ptr`,
    // which the callers size `buffer` for, and both outlive the call.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), dmirror_request(nr) as _, cmd.as_mut_ptr()) };
    if r < 0 {
        Err(last_errno())
    } else {
        Ok(())
    }
}

/// Whether `MADV_DONTNEED` of a whole PMD block frees the block's emptied
/// PTE table (`CONFIG_PT_RECLAIM`, Linux 6.14+): a page is written (a PTE
/// table appears), the whole block zapped, the block advised
/// `MADV_HUGEPAGE` and written again. Only with the table gone can that
/// fault map a THP (`do_huge_pmd_anonymous_page` needs `pmd_none`), which
/// smaps shows as `AnonHugePages`. False when THP cannot be used at all.
pub fn pt_reclaim_probe(pmd_bytes: usize) -> bool {
    with_probe_area(2 * pmd_bytes, |area| {
        let block = area.next_multiple_of(pmd_bytes as u64);
        probe_store(block, 1);
        let zapped = probe_advise(block, pmd_bytes, libc::MADV_DONTNEED)
            && probe_advise(block, pmd_bytes, libc::MADV_HUGEPAGE);
        if zapped {
            probe_store(block, 2);
        }
        zapped
            && std::fs::read_to_string("/proc/self/smaps").is_ok_and(|smaps| {
                crate::observe::parse_smaps(&smaps)
                    .iter()
                    .any(|m| m.start == block && m.anon_huge_kb > 0)
            })
    })
    .unwrap_or(false)
}

/// `io_uring_setup` + `IORING_REGISTER_BUFFERS` of `[addr, addr + len)`:
/// whether this kernel lets user space take long-term writable pins
/// (`pin_user_pages(FOLL_WRITE|FOLL_LONGTERM)`) through io_uring fixed
/// buffers. The ring is closed again, which unpins.
pub fn io_uring_register_probe(addr: u64, len: u64) -> Result<(), Errno> {
    // struct io_uring_params is 120 bytes; zeroed means "no features".
    let mut params = [0u32; 30];
    // SAFETY: io_uring_setup writes into `params`, which is large enough;
    // the returned descriptor is new and owned here.
    let ring = unsafe {
        let fd = check(libc::syscall(
            libc::SYS_io_uring_setup,
            4 as libc::c_uint,
            params.as_mut_ptr(),
        ))?;
        OwnedFd::from_raw_fd(fd as RawFd)
    };
    let iov = libc::iovec {
        iov_base: addr as *mut libc::c_void,
        iov_len: len as usize,
    };
    const IORING_REGISTER_BUFFERS: libc::c_uint = 0;
    // SAFETY: the kernel reads one iovec and pins the probe page it names,
    // which stays mapped until the ring (closed below) has unpinned it.
    unsafe {
        check(libc::syscall(
            libc::SYS_io_uring_register,
            ring.as_raw_fd(),
            IORING_REGISTER_BUFFERS,
            &iov as *const libc::iovec,
            1 as libc::c_uint,
        ))?;
    }
    drop(ring);
    Ok(())
}

/// `struct pm_scan_arg` (include/uapi/linux/fs.h).
#[repr(C)]
#[derive(Default)]
struct PmScanArg {
    size: u64,
    flags: u64,
    start: u64,
    end: u64,
    walk_end: u64,
    vec: u64,
    vec_len: u64,
    max_pages: u64,
    category_inverted: u64,
    category_mask: u64,
    category_anyof_mask: u64,
    return_mask: u64,
}

/// `struct page_region`: `[start, end)` with its categories.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct PageRegion {
    pub start: u64,
    pub end: u64,
    pub categories: u64,
}

/// `PAGEMAP_SCAN` = `_IOWR('f', 16, struct pm_scan_arg)`.
const PAGEMAP_SCAN: libc::c_ulong = (3 << 30) | (96 << 16) | ((b'f' as libc::c_ulong) << 8) | 16;

/// One `PAGEMAP_SCAN` ioctl on an open `/proc/PID/pagemap`: regions of
/// `[start, end)` having any of `anyof`, with `return_mask` categories.
/// Returns the regions and the address where the walk stopped (the
/// buffer may fill up first).
pub fn pagemap_scan(
    pagemap: BorrowedFd<'_>,
    start: u64,
    end: u64,
    anyof: u64,
    return_mask: u64,
    regions: &mut [PageRegion],
) -> Result<(usize, u64), Errno> {
    let mut arg = PmScanArg {
        size: std::mem::size_of::<PmScanArg>() as u64,
        start,
        end,
        vec: regions.as_mut_ptr() as u64,
        vec_len: regions.len() as u64,
        category_anyof_mask: anyof,
        return_mask,
        ..PmScanArg::default()
    };
    // SAFETY: the kernel reads `arg` and writes at most `vec_len` regions
    // into `regions`, and `walk_end` into `arg`; both outlive the call.
    let n = unsafe {
        libc::ioctl(
            pagemap.as_raw_fd(),
            PAGEMAP_SCAN,
            &mut arg as *mut PmScanArg,
        )
    };
    let n = check(n as libc::c_long)?;
    Ok((n as usize, arg.walk_end))
}

/// Takes ownership of a descriptor that arrived with `SCM_RIGHTS`.
pub fn owned_received_fd(fd: RawFd) -> OwnedFd {
    // SAFETY: the kernel installed this descriptor in this process while
    // receiving the message; nothing else knows its number yet.
    unsafe { OwnedFd::from_raw_fd(fd) }
}
