//! Talking to scenario processes: one command and its reply with a
//! deadline, `fork`, `exit`, and killing a process that misbehaves.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use mmdiff_core::op::ProcId;
use mmdiff_core::outcome::Outcome;

use super::{ExecError, Executor, Proc};
use crate::sys;
use crate::wire::{self, Command, Reply, WireError};

impl Executor {
    /// Sends a command whose reply is a status.
    pub(super) fn status(
        &mut self,
        p: ProcId,
        cmd: &Command,
        fds: &[i32],
    ) -> Result<Result<Outcome, i32>, ExecError> {
        Ok(self.status_fds(p, cmd, fds)?.map(|_| Outcome::OK))
    }

    /// [`Executor::status`] with the descriptors the reply carries.
    pub(super) fn status_fds(
        &mut self,
        p: ProcId,
        cmd: &Command,
        fds: &[i32],
    ) -> Result<Result<Vec<OwnedFd>, i32>, ExecError> {
        match self.call(p, cmd, fds)? {
            (Reply::Status { errno: 0 }, fds) => Ok(Ok(fds)),
            (Reply::Status { errno }, _) => Ok(Err(errno)),
            (other, _) => Err(self.proc_error(p, format!("unexpected reply {other:?}"))),
        }
    }

    /// One command and its reply.
    pub(super) fn call(
        &mut self,
        p: ProcId,
        cmd: &Command,
        fds: &[i32],
    ) -> Result<(Reply, Vec<OwnedFd>), ExecError> {
        let deadline = self.deadline;
        let proc = self.procs[p.index()]
            .as_ref()
            .ok_or_else(|| ExecError::Process {
                proc: p,
                error: "no such process".into(),
            })?;
        let result = wire::send(&proc.sock, &cmd.encode(), fds)
            .and_then(|()| wire::recv(&proc.sock, Some(deadline)))
            .and_then(|(bytes, fds)| Ok((Reply::decode(&bytes)?, fds)));
        result.map_err(|e| self.lost(p, e))
    }

    /// A process that failed to answer is killed and forgotten.
    pub(super) fn lost(&mut self, p: ProcId, e: WireError) -> ExecError {
        self.kill(p);
        ExecError::Process {
            proc: p,
            error: e.to_string(),
        }
    }

    pub(super) fn proc_error(&mut self, p: ProcId, error: String) -> ExecError {
        self.kill(p);
        ExecError::Process { proc: p, error }
    }

    /// Receives a new process's `Hello` and pidfd.
    pub(super) fn hello(&self, p: ProcId, sock: OwnedFd) -> Result<Proc, ExecError> {
        let err = |error: String| ExecError::Process { proc: p, error };
        let (bytes, mut fds) =
            wire::recv(&sock, Some(self.deadline)).map_err(|e| err(e.to_string()))?;
        let Reply::Hello { pid } = Reply::decode(&bytes).map_err(|e| err(e.to_string()))? else {
            return Err(err("expected hello".into()));
        };
        let pidfd = fds
            .pop()
            .ok_or_else(|| err("hello without a pidfd".into()))?;
        Ok(Proc { pid, sock, pidfd })
    }

    pub(super) fn fork(
        &mut self,
        p: ProcId,
        child: ProcId,
    ) -> Result<Result<Outcome, i32>, ExecError> {
        let (ctl, child_end) = wire::channel().map_err(|e| ExecError::Setup(e.to_string()))?;
        let reply = self.call(p, &Command::Fork, &[child_end.as_raw_fd()])?;
        drop(child_end);
        match reply {
            (Reply::Status { errno: 0 }, _) => {
                let proc = self.hello(child, ctl)?;
                self.procs[child.index()] = Some(proc);
                Ok(Ok(Outcome::OK))
            }
            (Reply::Status { errno }, _) => Ok(Err(errno)),
            (other, _) => Err(self.proc_error(p, format!("unexpected reply {other:?}"))),
        }
    }

    /// Tells `p` to exit and waits until it is gone, so that its
    /// mappings are torn down before anything is observed.
    pub(super) fn exit(&mut self, p: ProcId) -> Result<(), ExecError> {
        let Some(proc) = self.procs[p.index()].take() else {
            return Ok(());
        };
        self.mirrors.orphan(p);
        // No reply: the process is gone when its pidfd is readable.
        let sent = wire::send(&proc.sock, &Command::Exit.encode(), &[]);
        let gone = sent.is_ok() && wait_exit(&proc.pidfd, Instant::now() + self.deadline);
        if !gone {
            let _ = sys::pidfd_kill(proc.pidfd.as_fd());
            wait_exit(&proc.pidfd, Instant::now() + self.deadline);
        }
        let _ = sys::reap(proc.pidfd.as_fd());
        if gone {
            Ok(())
        } else {
            Err(ExecError::Process {
                proc: p,
                error: "did not exit".into(),
            })
        }
    }

    /// Kills `p` (if alive) and forgets it.
    pub(super) fn kill(&mut self, p: ProcId) {
        if let Some(proc) = self.procs[p.index()].take() {
            self.mirrors.orphan(p);
            let _ = sys::pidfd_kill(proc.pidfd.as_fd());
            if wait_exit(&proc.pidfd, Instant::now() + Duration::from_secs(5)) {
                let _ = sys::reap(proc.pidfd.as_fd());
            }
        }
    }
}

/// Waits until the process behind `pidfd` has exited; false on timeout.
pub(super) fn wait_exit(pidfd: &OwnedFd, until: Instant) -> bool {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        let ms = u16::try_from(left.as_millis()).unwrap_or(u16::MAX).max(1);
        let mut fds = [PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(0) => continue,
            Ok(_) => return true,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return false,
        }
    }
}
