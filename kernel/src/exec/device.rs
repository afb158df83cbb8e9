//! The HMM test driver's ioctls (`lib/test_hmm.c`, `/dev/hmm_dmirror<d>`).
//!
//! A mirror belongs to the mm that opened the device file, as in the
//! models, where a process's first device op makes its mirror: each
//! scenario process opens its own on first use, and the controller keeps a
//! duplicate of every such descriptor. Closing a mirror's last descriptor
//! (`dmirror_fops_release`) evicts every page of the device to system
//! memory, which the models do on `dev-close` only: so a process's exit
//! leaves its mirrors to the controller until the scenario ends (the
//! models drop them with the mm, without evicting), and `dev-close` closes
//! both descriptors. `dev-release` (`HMM_DMIRROR_RELEASE`, a device-wide
//! command) goes through a mirror the controller opens for itself.

use std::fs;
use std::os::fd::OwnedFd;

use mmdiff_core::op::{Fill, PageRange, ProcId};
use mmdiff_core::outcome::{Errno, Outcome, Payload};

use super::{ExecError, Executor};
use crate::sys;
use crate::wire::{
    Command, Reply, DMIRROR_CHECK_EXCLUSIVE, DMIRROR_EXCLUSIVE, DMIRROR_MIGRATE_TO_DEV,
    DMIRROR_READ, DMIRROR_RELEASE, DMIRROR_SNAPSHOT,
};

/// Mirror descriptors the controller holds.
#[derive(Default)]
pub(super) struct Mirrors {
    /// Duplicates of the live processes' mirrors, by (process, device).
    live: Vec<((ProcId, u8), OwnedFd)>,
    /// Mirrors of processes that exited, closed when the scenario ends.
    orphaned: Vec<OwnedFd>,
    /// The controller's own mirror per device (for `dev-release`).
    own: [Option<OwnedFd>; 4],
}

impl Mirrors {
    /// Process `p` is gone: its mirrors stay open until the scenario ends.
    pub(super) fn orphan(&mut self, p: ProcId) {
        let (gone, live) = std::mem::take(&mut self.live)
            .into_iter()
            .partition(|((q, _), _)| *q == p);
        self.live = live;
        self.orphaned.extend(gone.into_iter().map(|(_, fd)| fd));
    }
}

impl Executor {
    /// An HMM test driver ioctl by process `p` on its mirror of device
    /// `dev` over `range` (`READ`, `WRITE`, `MIGRATE_TO_DEV`,
    /// `MIGRATE_TO_SYS`, `SNAPSHOT`, `EXCLUSIVE` or `CHECK_EXCLUSIVE`), in
    /// the models' outcome form: `{cpages, faults}` with the values read
    /// back (`READ`, `MIGRATE_TO_DEV` and `EXCLUSIVE`, indexed by window
    /// page), the protection bytes, or plain success (`CHECK_EXCLUSIVE`,
    /// `EPERM` while a page of the range is mapped for atomic access).
    pub(super) fn dmirror(
        &mut self,
        p: ProcId,
        dev: u8,
        range: &PageRange,
        request: u8,
        fill: Option<Fill>,
    ) -> Result<Result<Outcome, i32>, ExecError> {
        if !self.has(p) {
            return Ok(Ok(Outcome::Err(Errno::ENOENT)));
        }
        let Some((start, end)) = self.config.abs_range(range) else {
            return Ok(Ok(Outcome::Err(Errno::EINVAL)));
        };
        let values = match fill {
            Some(fill) => (range.start..range.end)
                .map(|page| fill.value_at(u64::from(page)))
                .collect(),
            None => Vec::new(),
        };
        let cmd = Command::Dmirror {
            dev,
            request,
            addr: self.layout.addr_of_page(start),
            npages: end - start,
            values,
        };
        let (reply, mut fds) = self.call(p, &cmd, &[])?;
        if let Some(fd) = fds.pop() {
            self.mirrors.live.push(((p, dev), fd));
        }
        let Reply::Dmirror {
            errno,
            cpages,
            faults,
            buffer,
        } = reply
        else {
            return Err(self.proc_error(p, format!("unexpected reply {reply:?}")));
        };
        if errno != 0 {
            return Ok(Err(errno));
        }
        let payload = match request {
            DMIRROR_READ | DMIRROR_MIGRATE_TO_DEV | DMIRROR_EXCLUSIVE => Payload::Dev {
                cpages,
                faults,
                data: Some((u64::from(range.start), buffer)),
            },
            DMIRROR_SNAPSHOT => Payload::Snapshot(buffer.iter().map(|&b| b as u8).collect()),
            DMIRROR_CHECK_EXCLUSIVE => Payload::None,
            _ => Payload::Dev {
                cpages,
                faults,
                data: None,
            },
        };
        Ok(Ok(Outcome::Ok(payload)))
    }

    /// `dev-close`: process `p` closes its mirror of `dev` and the
    /// controller its duplicate, the last descriptor: the driver evicts
    /// the device's pages (`dmirror_fops_release`). `ENOENT` without the
    /// process or the mirror.
    pub(super) fn dev_close(
        &mut self,
        p: ProcId,
        dev: u8,
    ) -> Result<Result<Outcome, i32>, ExecError> {
        if !self.has(p) {
            return Ok(Ok(Outcome::Err(Errno::ENOENT)));
        }
        let closed = self.status(p, &Command::CloseMirror { dev }, &[])?;
        if closed.is_ok() {
            // Dropping the duplicate runs the release before close returns.
            self.mirrors.live.retain(|(key, _)| *key != (p, dev));
        }
        Ok(closed)
    }

    /// `dev-release`: `HMM_DMIRROR_RELEASE` through the controller's own
    /// mirror of `dev`.
    pub(super) fn dev_release(&mut self, dev: u8) -> Result<Result<Outcome, i32>, ExecError> {
        let Some(slot) = self.mirrors.own.get_mut(usize::from(dev)) else {
            return Ok(Err(libc::ENODEV));
        };
        if slot.is_none() {
            let path = format!("/dev/hmm_dmirror{dev}");
            let file = fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)
                .map_err(|e| ExecError::Setup(format!("{path}: {e}")))?;
            *slot = Some(OwnedFd::from(file));
        }
        let Some(fd) = slot.as_ref() else {
            return Err(ExecError::Setup(format!("/dev/hmm_dmirror{dev}: not open")));
        };
        // The driver checks the command's range even for a device-wide
        // request: one page at 0 is a valid one.
        let mut cmd = [0, 0, 1, 0, 0];
        match sys::dmirror_ioctl(fd, DMIRROR_RELEASE, &mut cmd, &mut []) {
            Ok(()) => Ok(Ok(Outcome::OK)),
            Err(errno) => Ok(Err(errno)),
        }
    }
}
