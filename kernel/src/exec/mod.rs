//! The executor: runs ops of the subset on real processes and answers in
//! the models' [`Outcome`] form.
//!
//! The controller (the calling process) never maps a window itself. It
//! forks scenario process `p0` at start ([`crate::child`]); a `fork` op
//! makes that scenario process fork, and `exit` ends one. Files live in a
//! private directory (tmpfs for `tmpfs`, a disk filesystem for `ext4`) and
//! are removed on drop. A `gup get fast` handle is the read end of a pipe
//! that `vmsplice` filled with references to the pages: the controller
//! holds it, so the references outlive the process as the models'
//! handles do (long-term pins and one-shot gup_test requests: `handles`).
//!
//! The models' own conventions (empty slots are `ENOENT`, occupied ones
//! `EEXIST`/`EBUSY`, ranges beyond a window `EINVAL`) are applied here, in
//! the oracle's order of checks, before the kernel sees anything: they
//! are rules of the op language, not of the kernel.
//!
//! Submodules: `procs` (talking to, forking, ending and killing scenario
//! processes), `handles` (`vmsplice` handles), `args` (op arguments and
//! errnos as the kernel spells them).
//!
//! Dropping the executor kills every scenario process it made (through
//! pidfds, so a reused pid is never hit) and reaps them: the controller is
//! a child subreaper, so a scenario process whose parent exited becomes
//! the controller's child instead of init's.

use std::fs;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::time::Duration;

use mmdiff_core::op::{
    FileId, Fill, FsKind, GupFlags, HandleId, MapKind, Op, PageRange, ProcId, FILES, HANDLES, PROCS,
};
use mmdiff_core::outcome::{Errno, Outcome, Payload, Signal};
use mmdiff_core::Config;

use crate::env::Environment;
pub use crate::kernel_outcome::{ExecError, KernelOutcome, DEFAULT_DEADLINE};

mod args;
mod device;
mod handles;
mod procs;

use crate::layout::{Layout, PAGE_SIZE};
use crate::subset;
use crate::sys;
use crate::wire::{
    self, Command, Reply, DMIRROR_CHECK_EXCLUSIVE, DMIRROR_EXCLUSIVE, DMIRROR_MIGRATE_TO_DEV,
    DMIRROR_MIGRATE_TO_SYS, DMIRROR_READ, DMIRROR_SNAPSHOT, DMIRROR_WRITE, MAX_CHUNK_PAGES,
};
pub use args::errno_name;
use args::{advice_value, errno_text, prot_bits};

/// One live scenario process.
pub(crate) struct Proc {
    pub(crate) pid: i32,
    sock: OwnedFd,
    pidfd: OwnedFd,
}

/// A file slot.
pub(crate) struct FileSlot {
    pub(crate) path: PathBuf,
    file: fs::File,
}

/// A `gup get fast` handle: the pipes holding the page references, in
/// order, with the pages each holds (a pipe holds at most
/// [`Environment::pipe_max_pages`]).
struct Handle {
    pipes: Vec<(OwnedFd, u32)>,
    pages: u32,
    /// Window-relative page of the first page (the DMA "index" base).
    base: u64,
    /// A long-term pin set of `gup_test` (then `pipes` is empty).
    pin: Option<handles::GupTestPin>,
    /// The pages were put back already: a one-shot gup_test request, which
    /// [`crate::subset::support_in`] runs only when the next op releases
    /// the handle (then `pipes` is empty and `pin` is `None`).
    put_back: bool,
}

/// Runs ops on real processes. See the module documentation.
pub struct Executor {
    config: Config,
    pub(crate) layout: Layout,
    env: Environment,
    deadline: Duration,
    pub(crate) procs: [Option<Proc>; PROCS as usize],
    pub(crate) files: [Option<FileSlot>; FILES as usize],
    handles: [Option<Handle>; HANDLES as usize],
    mirrors: device::Mirrors,
    dirs: Vec<PathBuf>,
}

/// Distinguishes the directories of executors of one controller process.
static EXECUTOR_SERIAL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl Executor {
    /// A fresh machine: process `p0` with an empty address space.
    ///
    /// The calling process becomes a child subreaper
    /// (`PR_SET_CHILD_SUBREAPER`), so that it can reap scenario processes
    /// that outlive their parent; it reaps exactly its scenario processes
    /// (by pidfd), never other children.
    pub fn new(config: &Config, env: &Environment) -> Result<Executor, ExecError> {
        if let Some(why) = &env.unsupported {
            return Err(ExecError::Unsupported(why.clone()));
        }
        config.validate().map_err(ExecError::Setup)?;
        sys::become_subreaper()
            .map_err(|e| ExecError::Setup(format!("PR_SET_CHILD_SUBREAPER: {}", errno_text(e))))?;
        let serial = EXECUTOR_SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("mmdiff-kernel-{}-{serial}", std::process::id());
        let mut dirs = Vec::new();
        for base in env
            .tmpfs_dir
            .iter()
            .chain(env.disk_dir.iter().map(|(d, _)| d))
        {
            let d = base.join(&name);
            fs::create_dir_all(&d)
                .and_then(|()| fs::canonicalize(&d))
                .map(|d| dirs.push(d))
                .map_err(|e| ExecError::Setup(format!("{}: {e}", base.display())))?;
        }
        let mut exec = Executor {
            config: config.clone(),
            layout: Layout::new(config),
            env: env.clone(),
            deadline: DEFAULT_DEADLINE,
            procs: Default::default(),
            files: Default::default(),
            handles: Default::default(),
            mirrors: Default::default(),
            dirs,
        };
        let (ctl, child) = wire::channel().map_err(|e| ExecError::Setup(e.to_string()))?;
        let pid = sys::spawn(move || crate::child::serve_first(child))
            .map_err(|e| ExecError::Setup(format!("fork: {}", errno_text(e))))?;
        let p0 = ProcId(0);
        let proc = exec.hello(p0, ctl).inspect_err(|_| {
            // p0 could not start and exits on its own; it is our child and
            // unreaped, so its pid is still its own.
            let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
        })?;
        exec.procs[0] = Some(proc);
        Ok(exec)
    }

    /// Sets how long one command may take before the process counts as
    /// hung.
    pub fn set_deadline(&mut self, deadline: Duration) {
        self.deadline = deadline;
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn env(&self) -> &Environment {
        &self.env
    }

    /// Live scenario processes and their pids, by slot.
    pub fn pids(&self) -> Vec<(ProcId, i32)> {
        ProcId::all()
            .filter_map(|p| self.procs[p.index()].as_ref().map(|x| (p, x.pid)))
            .collect()
    }

    /// Runs one op.
    pub fn apply(&mut self, op: &Op) -> Result<KernelOutcome, ExecError> {
        if let Err(reason) = subset::support(op, &self.env) {
            return Ok(KernelOutcome::Skipped {
                kind: op.kind(),
                reason: reason.into(),
            });
        }
        let ran = match *op {
            Op::Gup { p, range, h, flags } => self.gup(p, &range, h, flags)?,
            _ => self.run(op)?.map(Some),
        };
        Ok(match ran {
            Ok(Some(outcome)) => KernelOutcome::Done(outcome),
            Ok(None) => KernelOutcome::ErrnoUnreported,
            Err(errno) => match errno_name(errno) {
                Some(e) => KernelOutcome::Done(Outcome::Err(e)),
                None => KernelOutcome::UnknownErrno(errno),
            },
        })
    }

    /// `gup` by the way its flags run ([`subset::gup_path`]): `vmsplice`,
    /// a long-term pin set, or a one-shot gup_test request. `Ok(None)`: no
    /// page was taken and the interface did not say why.
    fn gup(
        &mut self,
        p: ProcId,
        range: &PageRange,
        h: HandleId,
        flags: GupFlags,
    ) -> Result<Result<Option<Outcome>, i32>, ExecError> {
        if !self.has(p) {
            return Ok(Ok(Some(Outcome::Err(Errno::ENOENT))));
        }
        let Some((start, end)) = self.config.abs_range(range) else {
            return Ok(Ok(Some(Outcome::Err(Errno::EINVAL))));
        };
        if self.handles[h.index()].is_some() {
            return Ok(Ok(Some(Outcome::Err(Errno::EBUSY))));
        }
        let base = u64::from(range.start);
        let done = match subset::gup_path(flags) {
            subset::GupPath::Splice => self.splice(p, h, start, end, base)?,
            subset::GupPath::LongtermPin => self.pin_longterm(p, h, start, end, base, flags)?,
            subset::GupPath::OneShot => return self.gup_once(p, h, start, end, base, flags),
            subset::GupPath::No(_) => Ok(Outcome::Err(Errno::EOPNOTSUPP)),
        };
        Ok(done.map(Some))
    }

    /// An op of the subset: `Ok(Ok(outcome))`, `Ok(Err(errno))` for a
    /// failed system call.
    fn run(&mut self, op: &Op) -> Result<Result<Outcome, i32>, ExecError> {
        use Outcome as O;
        let einval = Ok(Ok(O::Err(Errno::EINVAL)));
        let enoent = Ok(Ok(O::Err(Errno::ENOENT)));
        match *op {
            Op::Mmap {
                p,
                slot,
                at,
                pages,
                kind,
                prot,
                foff,
                ..
            } => {
                if !self.has(p) {
                    return enoent;
                }
                let range = PageRange::new(slot, at, at.saturating_add(pages));
                let Some((start, end)) = self.config.abs_range(&range) else {
                    return einval;
                };
                let (shared, file) = match kind {
                    MapKind::Anon => (false, None),
                    MapKind::AnonShared => (true, None),
                    MapKind::FilePrivate(f) | MapKind::FileShared(f) => {
                        let Some(slot) = &self.files[f.index()] else {
                            return enoent;
                        };
                        let fd = slot
                            .file
                            .try_clone()
                            .map_err(|e| ExecError::Setup(format!("dup: {e}")))?;
                        (
                            matches!(kind, MapKind::FileShared(_)),
                            Some(OwnedFd::from(fd)),
                        )
                    }
                    MapKind::Special => return einval,
                };
                let mut flags = libc::MAP_FIXED
                    | if shared {
                        libc::MAP_SHARED
                    } else {
                        libc::MAP_PRIVATE
                    };
                if file.is_none() {
                    flags |= libc::MAP_ANONYMOUS;
                }
                let cmd = Command::Map {
                    addr: self.layout.addr_of_page(start),
                    len: (end - start) * PAGE_SIZE,
                    prot: prot_bits(prot),
                    flags,
                    offset: foff as u64 * PAGE_SIZE,
                };
                let fds: Vec<i32> = file.iter().map(|f| f.as_raw_fd()).collect();
                self.status(p, &cmd, &fds)
            }
            Op::Munmap { p, range } => {
                self.ranged(p, &range, |addr, len| Command::Unmap { addr, len })
            }
            Op::Mprotect { p, range, prot } => {
                self.ranged(p, &range, |addr, len| Command::Protect {
                    addr,
                    len,
                    prot: prot_bits(prot),
                })
            }
            Op::Madvise { p, range, advice } => {
                self.ranged(p, &range, |addr, len| Command::Advise {
                    addr,
                    len,
                    advice: advice_value(advice),
                })
            }
            Op::Mremap { p, range, to } => {
                if !self.has(p) {
                    return enoent;
                }
                let Some((start, end)) = self.config.abs_range(&range) else {
                    return einval;
                };
                let dst = PageRange::new(to.slot, to.page, to.page.saturating_add(range.len()));
                let Some((dst_start, _)) = self.config.abs_range(&dst) else {
                    return einval;
                };
                let cmd = Command::Remap {
                    old: self.layout.addr_of_page(start),
                    len: (end - start) * PAGE_SIZE,
                    new: self.layout.addr_of_page(dst_start),
                };
                self.status(p, &cmd, &[])
            }
            Op::Fork { p, child } => {
                if !self.has(p) {
                    return enoent;
                }
                if self.has(child) {
                    return Ok(Ok(O::Err(Errno::EEXIST)));
                }
                self.fork(p, child)
            }
            Op::Exit { p } => {
                if !self.has(p) {
                    return enoent;
                }
                self.exit(p)?;
                Ok(Ok(O::OK))
            }
            Op::File { f, fs, pages } => {
                if self.files[f.index()].is_some() {
                    return Ok(Ok(O::Err(Errno::EEXIST)));
                }
                self.create_file(f, fs, pages)?;
                Ok(Ok(O::OK))
            }
            Op::Read { p, range } => {
                if !self.has(p) {
                    return enoent;
                }
                if self.config.abs_range(&range).is_none() {
                    return einval;
                }
                self.access(p, &range, None).map(Ok)
            }
            Op::Write { p, range, fill } => {
                if !self.has(p) {
                    return enoent;
                }
                if self.config.abs_range(&range).is_none() {
                    return einval;
                }
                self.access(p, &range, Some(fill)).map(Ok)
            }
            Op::DevRead { d, p, range } => self.dmirror(p, d.0, &range, DMIRROR_READ, None),
            Op::DevWrite { d, p, range, fill } => {
                self.dmirror(p, d.0, &range, DMIRROR_WRITE, Some(fill))
            }
            Op::DevSnapshot { d, p, range } => self.dmirror(p, d.0, &range, DMIRROR_SNAPSHOT, None),
            Op::DevExclusive { d, p, range } => {
                self.dmirror(p, d.0, &range, DMIRROR_EXCLUSIVE, None)
            }
            Op::DevCheckExclusive { d, p, range } => {
                self.dmirror(p, d.0, &range, DMIRROR_CHECK_EXCLUSIVE, None)
            }
            Op::MigrateToDev { d, p, range } => {
                self.dmirror(p, d.0, &range, DMIRROR_MIGRATE_TO_DEV, None)
            }
            Op::MigrateToSys { d, p, range } => {
                self.dmirror(p, d.0, &range, DMIRROR_MIGRATE_TO_SYS, None)
            }
            Op::DevClose { d, p } => self.dev_close(p, d.0),
            Op::DevRelease { d } => self.dev_release(d.0),
            Op::ClearSoftDirty { p } => {
                let Some(pid) = self.procs[p.index()].as_ref().map(|x| x.pid) else {
                    return enoent;
                };
                fs::write(format!("/proc/{pid}/clear_refs"), "4")
                    .map_err(|e| ExecError::Observe(format!("clear_refs of {p}: {e}")))?;
                Ok(Ok(O::OK))
            }
            Op::Release { h, .. } => match self.handles[h.index()].take() {
                // Closing the pipe drops every page reference it holds,
                // stopping a long-term pin set unpins it; a one-shot
                // request put its pages back already.
                Some(_) => Ok(Ok(O::OK)),
                None => enoent,
            },
            Op::DmaRead { h, start, end } => self.dma_read(h, start, end),
            _ => Ok(Ok(O::Err(Errno::EOPNOTSUPP))),
        }
    }

    fn has(&self, p: ProcId) -> bool {
        self.procs[p.index()].is_some()
    }

    /// An op on the address range of one window: `ENOENT` without the
    /// process, `EINVAL` past the window, else the command's status.
    fn ranged(
        &mut self,
        p: ProcId,
        range: &PageRange,
        cmd: impl FnOnce(u64, u64) -> Command,
    ) -> Result<Result<Outcome, i32>, ExecError> {
        if !self.has(p) {
            return Ok(Ok(Outcome::Err(Errno::ENOENT)));
        }
        let Some((start, end)) = self.config.abs_range(range) else {
            return Ok(Ok(Outcome::Err(Errno::EINVAL)));
        };
        let c = cmd(self.layout.addr_of_page(start), (end - start) * PAGE_SIZE);
        self.status(p, &c, &[])
    }

    fn create_file(&mut self, f: FileId, fs: FsKind, pages: u32) -> Result<(), ExecError> {
        let dir = match fs {
            FsKind::Tmpfs => self.dirs.first(),
            FsKind::Ext4 => self.env.disk_dir.as_ref().and_then(|_| self.dirs.get(1)),
        }
        .ok_or_else(|| ExecError::Setup(format!("no directory for {fs:?} files")))?;
        let path = dir.join(f.to_string());
        let file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .and_then(|file| file.set_len(pages as u64 * PAGE_SIZE).map(|()| file))
            .map_err(|e| ExecError::Setup(format!("{}: {e}", path.display())))?;
        self.files[f.index()] = Some(FileSlot { path, file });
        Ok(())
    }

    /// The `u64`s at the start of `pages` consecutive pages from `addr`,
    /// loaded by process `p` itself, in chunks that fit a message; `true`
    /// with the values before it when a load faulted (the observation of
    /// values, [`crate::observe`]).
    pub(crate) fn load_values(
        &mut self,
        p: ProcId,
        addr: u64,
        pages: u32,
    ) -> Result<(Vec<u64>, bool), ExecError> {
        let mut values = Vec::with_capacity(pages as usize);
        let mut done = 0;
        while done < pages {
            let n = (pages - done).min(MAX_CHUNK_PAGES);
            let cmd = Command::Load {
                addr: addr + done as u64 * PAGE_SIZE,
                pages: n,
            };
            let (reply, _) = self.call(p, &cmd, &[])?;
            let Reply::Access { values: got, stop } = reply else {
                return Err(self.proc_error(p, format!("unexpected reply {reply:?}")));
            };
            values.extend(got);
            if stop.is_some() {
                return Ok((values, true));
            }
            done += n;
        }
        Ok((values, false))
    }

    /// The `u64` at `addr` read by process `p` through its own
    /// `/proc/self/mem`; `None` when that fails.
    pub(crate) fn peek_value(&mut self, p: ProcId, addr: u64) -> Result<Option<u64>, ExecError> {
        match self.call(p, &Command::Peek { addr }, &[])? {
            (Reply::Access { values, stop: None }, _) if values.len() == 1 => {
                Ok(values.first().copied())
            }
            (Reply::Access { .. }, _) => Ok(None),
            (other, _) => Err(self.proc_error(p, format!("unexpected reply {other:?}"))),
        }
    }

    /// CPU reads or writes page by page, in chunks that fit a message.
    fn access(
        &mut self,
        p: ProcId,
        range: &PageRange,
        fill: Option<Fill>,
    ) -> Result<Outcome, ExecError> {
        let base = self.config.window_base(range.slot.0);
        let mut values = Vec::new();
        let mut rel = range.start;
        while rel < range.end {
            let n = (range.end - rel).min(MAX_CHUNK_PAGES);
            let addr = self.layout.addr_of_page(base + rel as u64);
            let cmd = match fill {
                None => Command::Load { addr, pages: n },
                Some(fill) => Command::Store {
                    addr,
                    values: (rel..rel + n).map(|i| fill.value_at(i as u64)).collect(),
                },
            };
            let (reply, _) = self.call(p, &cmd, &[])?;
            let Reply::Access { values: got, stop } = reply else {
                return Err(self.proc_error(p, format!("unexpected reply {reply:?}")));
            };
            values.extend(got);
            if let Some((i, sig)) = stop {
                let sig = if sig == libc::SIGBUS {
                    Signal::Bus
                } else {
                    Signal::Segv
                };
                return Ok(Outcome::Signal {
                    sig,
                    page: rel.saturating_add(i),
                });
            }
            rel += n;
        }
        Ok(match fill {
            None => Outcome::Ok(Payload::Data {
                base: range.start as u64,
                values,
            }),
            Some(_) => Outcome::OK,
        })
    }
}

impl Drop for Executor {
    fn drop(&mut self) {
        self.handles = Default::default();
        for p in ProcId::all() {
            self.kill(p);
        }
        // Closing the last mirrors evicts nothing: the processes are gone.
        self.mirrors = Default::default();
        self.files = Default::default();
        for d in &self.dirs {
            let _ = fs::remove_dir_all(d);
        }
    }
}
