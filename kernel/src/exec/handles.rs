//! Handles. `gup get fast`: `vmsplice` in the scenario process fills
//! pipes with references to the pages (read-only `get_user_pages_fast`),
//! and the controller keeps the pipes; `dma-read` reads through the
//! references without consuming them, `release` closes the pipes.
//! `gup pin longterm`: the scenario process starts `gup_test`'s long-term
//! pin set (`PIN_LONGTERM_TEST_START`, `pin_user_pages[_fast]` with
//! `FOLL_LONGTERM`), the controller reads through it
//! (`PIN_LONGTERM_TEST_READ`) and stops it on `release`.
//! Any other `gup`: one gup_test request by the scenario process takes the
//! pages and puts them back (`GUP_BASIC_TEST`, `GUP_FAST_BENCHMARK`,
//! `PIN_BASIC_TEST`, `PIN_FAST_BENCHMARK`), which is the `gup` and the
//! `release` that follows it ([`crate::subset::support_in`]): the handle
//! only remembers that, and its `release` has nothing left to do.

use std::os::fd::{AsRawFd, OwnedFd};

use mmdiff_core::op::{GupFlags, HandleId, ProcId};
use mmdiff_core::outcome::{Errno, Outcome, Payload};

use super::{ExecError, Executor, Handle};
use crate::child::GUP_TEST;
use crate::layout::{first_words, PAGE_SIZE};
use crate::sys;
use crate::wire::{Command, Reply};

/// `gup_test`'s pin set (one kernel-wide), held through the descriptor
/// the pinning process opened (closing any `gup_test` file unpins, so the
/// controller opens none of its own): dropping it unpins every page.
pub(crate) struct GupTestPin {
    fd: OwnedFd,
}

impl Drop for GupTestPin {
    fn drop(&mut self) {
        let _ = sys::gup_test_stop(&self.fd);
    }
}

impl Executor {
    /// `gup get fast` as `vmsplice` in process `p`: one pipe per chunk of
    /// at most [`crate::Environment::pipe_max_pages`] pages (a larger pipe
    /// needs `CAP_SYS_RESOURCE`), chunk after chunk until one takes fewer
    /// pages than asked, as one `vmsplice` stops at the first page it
    /// cannot get.
    pub(super) fn splice(
        &mut self,
        p: ProcId,
        h: HandleId,
        start: u64,
        end: u64,
        base: u64,
    ) -> Result<Result<Outcome, i32>, ExecError> {
        let chunk = chunk_pages(self.env.pipe_max_pages);
        let mut pipes = Vec::new();
        let mut taken: u64 = 0;
        let mut at = start;
        while at < end {
            let pages = (end - at).min(chunk);
            let cmd = Command::Splice {
                addr: self.layout.addr_of_page(at),
                pages: u32::try_from(pages).unwrap_or(u32::MAX),
            };
            let (got, errno) = match self.call(p, &cmd, &[])? {
                (Reply::Spliced { errno: 0, bytes }, mut fds) => {
                    let got = bytes / PAGE_SIZE;
                    if let (Some(pipe), true) = (fds.pop(), got > 0) {
                        pipes.push((pipe, got as u32));
                    }
                    (got, 0)
                }
                (Reply::Spliced { errno, .. }, _) => (0, errno),
                (other, _) => return Err(self.proc_error(p, format!("unexpected reply {other:?}"))),
            };
            taken += got;
            if got < pages {
                // Nothing at all taken: the call's error, as vmsplice
                // reports it; else the pages taken so far.
                if taken == 0 && errno != 0 {
                    return Ok(Err(errno));
                }
                break;
            }
            at += pages;
        }
        if taken > 0 {
            self.handles[h.index()] = Some(Handle {
                pipes,
                pages: taken as u32,
                base,
                pin: None,
                put_back: false,
            });
        }
        Ok(Ok(Outcome::count(taken)))
    }

    /// `gup pin longterm` through `gup_test`: process `p` pins
    /// `[start, end)` (all or nothing: gup_test unpins what it pinned when
    /// a call fails) and hands its descriptor to the controller, which
    /// reads through the pins and stops them.
    pub(super) fn pin_longterm(
        &mut self,
        p: ProcId,
        h: HandleId,
        start: u64,
        end: u64,
        base: u64,
        flags: GupFlags,
    ) -> Result<Result<Outcome, i32>, ExecError> {
        let mut bits = 0;
        if flags.write {
            bits |= sys::PIN_LONGTERM_WRITE;
        }
        if flags.fast {
            bits |= sys::PIN_LONGTERM_FAST;
        }
        let cmd = Command::PinLongterm {
            addr: self.layout.addr_of_page(start),
            pages: end - start,
            flags: bits,
        };
        let fd = match self.status_fds(p, &cmd, &[])? {
            Ok(mut fds) => fds.pop(),
            Err(errno) => return Ok(Err(errno)),
        };
        let Some(fd) = fd else {
            return Err(self.proc_error(p, format!("{GUP_TEST}: pinned without a descriptor")));
        };
        let pages = end - start;
        self.handles[h.index()] = Some(Handle {
            pipes: Vec::new(),
            pages: u32::try_from(pages).unwrap_or(u32::MAX),
            base,
            pin: Some(GupTestPin { fd }),
            put_back: false,
        });
        Ok(Ok(Outcome::count(pages)))
    }

    /// A `gup` that the next op releases, as one gup_test request by
    /// process `p` over `[start, end)`, one page per call (so the size
    /// gup_test writes back counts exactly the pages taken): the pages are
    /// put back before it returns. `Ok(Some(count))` with a handle that
    /// holds nothing, `Ok(None)` when no page was taken (gup_test drops
    /// the call's errno), `Err` with the ioctl's own errno.
    pub(super) fn gup_once(
        &mut self,
        p: ProcId,
        h: HandleId,
        start: u64,
        end: u64,
        base: u64,
        flags: GupFlags,
    ) -> Result<Result<Option<Outcome>, i32>, ExecError> {
        let request = match (flags.pin, flags.fast) {
            (false, false) => sys::GUP_BASIC_TEST,
            (false, true) => sys::GUP_FAST_BENCHMARK,
            (true, false) => sys::PIN_BASIC_TEST,
            (true, true) => sys::PIN_FAST_BENCHMARK,
        };
        let mut bits = 0;
        if flags.write {
            bits |= sys::FOLL_WRITE;
        }
        if flags.force {
            bits |= sys::FOLL_FORCE;
        }
        if flags.nofault {
            bits |= sys::FOLL_NOFAULT;
        }
        let cmd = Command::GupOnce {
            request,
            addr: self.layout.addr_of_page(start),
            pages: end - start,
            flags: bits,
        };
        // The descriptor of a held long-term pin set goes along: the
        // process must not close a gup_test file of its own while one is
        // held (closing any unpins the set).
        let held: Vec<i32> = self
            .handles
            .iter()
            .flatten()
            .filter_map(|x| x.pin.as_ref())
            .map(|pin| pin.fd.as_raw_fd())
            .take(1)
            .collect();
        let bytes = match self.call(p, &cmd, &held)? {
            (Reply::GupTaken { bytes, errno: 0 }, _) => bytes,
            (Reply::GupTaken { errno, .. }, _) => return Ok(Err(errno)),
            (other, _) => return Err(self.proc_error(p, format!("unexpected reply {other:?}"))),
        };
        let taken = bytes / PAGE_SIZE;
        if taken > end - start || bytes % PAGE_SIZE != 0 {
            return Err(self.proc_error(
                p,
                format!("{GUP_TEST}: {bytes} bytes taken of {} pages", end - start),
            ));
        }
        if taken == 0 {
            return Ok(Ok(None));
        }
        self.handles[h.index()] = Some(Handle {
            pipes: Vec::new(),
            pages: taken as u32,
            base,
            pin: None,
            put_back: true,
        });
        Ok(Ok(Some(Outcome::count(taken))))
    }

    /// What a device would read through the handle's references: the
    /// pipes' buffers are duplicated with `tee` (the handle keeps its
    /// references) and the copies are read out.
    pub(super) fn dma_read(
        &mut self,
        h: HandleId,
        start: u32,
        end: u32,
    ) -> Result<Result<Outcome, i32>, ExecError> {
        let Some(handle) = &self.handles[h.index()] else {
            return Ok(Ok(Outcome::Err(Errno::ENOENT)));
        };
        if handle.put_back {
            return Err(ExecError::Setup(format!(
                "handle {h}: a one-shot gup_test request put its pages back; only its release can follow"
            )));
        }
        if start >= end || end > handle.pages {
            return Ok(Ok(Outcome::Err(Errno::EINVAL)));
        }
        let mut all = Vec::with_capacity(handle.pages as usize);
        if let Some(pin) = &handle.pin {
            let mut buffer = vec![0u8; handle.pages as usize * PAGE_SIZE as usize];
            sys::gup_test_read(&pin.fd, &mut buffer)
                .map_err(|e| ExecError::Observe(format!("PIN_LONGTERM_TEST_READ: errno {e}")))?;
            all.extend(first_words(&buffer));
        }
        for (pipe, pages) in &handle.pipes {
            if all.len() >= end as usize {
                break;
            }
            all.extend(read_through_pipe(pipe, *pages).map_err(ExecError::Observe)?);
        }
        let Some(values) = all.get(start as usize..end as usize) else {
            return Err(ExecError::Observe(format!(
                "handle {h} holds {} pages, {} expected",
                all.len(),
                handle.pages
            )));
        };
        Ok(Ok(Outcome::Ok(Payload::Data {
            base: handle.base + start as u64,
            values: values.to_vec(),
        })))
    }
}

/// Pages per pipe: the largest power of two within `max_pages` (pipe
/// sizes are powers of two), at least one.
pub(super) fn chunk_pages(max_pages: u64) -> u64 {
    if max_pages <= 1 {
        1
    } else {
        1 << (63 - max_pages.leading_zeros())
    }
}

/// The first `u64` of each of the `pages` page buffers in `pipe`, without
/// consuming them.
pub(super) fn read_through_pipe(pipe: &OwnedFd, pages: u32) -> Result<Vec<u64>, String> {
    use nix::fcntl::{tee, FcntlArg, OFlag, SpliceFFlags};
    let bytes = pages as usize * PAGE_SIZE as usize;
    let (copy_r, copy_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| e.to_string())?;
    let capacity = i32::try_from(bytes.next_power_of_two()).map_err(|e| e.to_string())?;
    nix::fcntl::fcntl(&copy_w, FcntlArg::F_SETPIPE_SZ(capacity)).map_err(|e| e.to_string())?;
    // tee duplicates the buffers from the start of the pipe without
    // consuming them; the copy has room for all of them.
    let copied = tee(pipe, &copy_w, bytes, SpliceFFlags::SPLICE_F_NONBLOCK)
        .map_err(|e| format!("tee: {e}"))?;
    if copied != bytes {
        return Err(format!("tee copied {copied} of {bytes} bytes"));
    }
    drop(copy_w);
    let mut data = Vec::with_capacity(copied);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match nix::unistd::read(&copy_r, &mut buf) {
            Ok(0) => break,
            Ok(n) => data.extend_from_slice(&buf[..n]),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(format!("read: {e}")),
        }
    }
    if data.len() != bytes {
        return Err(format!(
            "read {} of {bytes} bytes through the handle",
            data.len()
        ));
    }
    Ok(first_words(&data))
}

#[cfg(test)]
mod tests {
    use super::chunk_pages;

    #[test]
    fn chunks_are_powers_of_two_within_the_pipe_limit() {
        assert_eq!(chunk_pages(256), 256);
        assert_eq!(chunk_pages(300), 256);
        assert_eq!(chunk_pages(1), 1);
        assert_eq!(chunk_pages(0), 1);
        assert_eq!(chunk_pages(u64::MAX), 1 << 63);
    }

    #[test]
    fn gup_test_requests_are_iowr_g_of_the_80_byte_struct() {
        use crate::sys;
        // _IOWR('g', 4, struct gup_test) as the selftests' gup_test.c
        // sees it: read/write, 80 bytes, type 'g'.
        assert_eq!(sys::gup_test_request(sys::GUP_BASIC_TEST), 0xc050_6704);
        assert_eq!(sys::gup_test_request(sys::GUP_FAST_BENCHMARK), 0xc050_6701);
        assert_eq!(sys::gup_test_request(sys::PIN_FAST_BENCHMARK), 0xc050_6702);
        assert_eq!(sys::gup_test_request(sys::PIN_BASIC_TEST), 0xc050_6705);
        assert_eq!(
            (sys::FOLL_WRITE, sys::FOLL_FORCE, sys::FOLL_NOFAULT),
            (1, 8, 32)
        );
    }
}
