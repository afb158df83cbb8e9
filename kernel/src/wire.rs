//! The controller ↔ scenario-process protocol.
//!
//! Each scenario process has one `SOCK_SEQPACKET` socket to the
//! controller: one message per command and per reply, so framing is the
//! kernel's, and file descriptors (a file to map, the socket of a process
//! about to be forked, a pipe holding spliced pages, the process's own
//! pidfd) travel with the message as `SCM_RIGHTS`. The controller waits
//! for every reply with a deadline, so a hung process cannot hang it.
//!
//! Messages are a tag byte and little-endian fields; nothing here trusts
//! the other side: a short or unknown message is a protocol error.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use nix::sys::socket::{
    recvmsg, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags,
    SockFlag, SockType,
};

/// The largest message: an access chunk of [`MAX_CHUNK_PAGES`] values
/// plus headers.
const MAX_MESSAGE: usize = 64 * 1024;

/// Pages per read/write command: long accesses are split into chunks that
/// fit one message (the access stops at the first chunk that faults).
pub const MAX_CHUNK_PAGES: u32 = 4096;

/// Descriptors one message may carry.
const MAX_FDS: usize = 2;

/// The request numbers of [`Command::Dmirror`] (`HMM_DMIRROR_*`,
/// lib/test_hmm_uapi.h).
pub const DMIRROR_READ: u8 = 0;
pub const DMIRROR_WRITE: u8 = 1;
pub const DMIRROR_MIGRATE_TO_DEV: u8 = 2;
pub const DMIRROR_MIGRATE_TO_SYS: u8 = 3;
pub const DMIRROR_SNAPSHOT: u8 = 4;
pub const DMIRROR_EXCLUSIVE: u8 = 5;
pub const DMIRROR_CHECK_EXCLUSIVE: u8 = 6;
pub const DMIRROR_RELEASE: u8 = 7;

/// A command for a scenario process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `mmap(addr, len, prot, flags, fd, offset)`; the file, if any, is
    /// the message's descriptor.
    Map {
        addr: u64,
        len: u64,
        prot: i32,
        flags: i32,
        offset: u64,
    },
    Unmap {
        addr: u64,
        len: u64,
    },
    Protect {
        addr: u64,
        len: u64,
        prot: i32,
    },
    Advise {
        addr: u64,
        len: u64,
        advice: i32,
    },
    Remap {
        old: u64,
        len: u64,
        new: u64,
    },
    /// `fork()`; the child serves the socket that comes with the message.
    Fork,
    /// `_exit(0)`; no reply.
    Exit,
    /// CPU loads of the `u64` at the start of `pages` pages from `addr`.
    Load {
        addr: u64,
        pages: u32,
    },
    /// CPU stores of `values[i]` at the start of page `i` from `addr`.
    Store {
        addr: u64,
        values: Vec<u64>,
    },
    /// `vmsplice` of `pages` pages from `addr` into a new pipe of that
    /// capacity; the pipe's read end comes back with the reply.
    Splice {
        addr: u64,
        pages: u32,
    },
    /// The `u64` at `addr` read through the process's own
    /// `/proc/self/mem` (`FOLL_FORCE`: also where a load would fault);
    /// answered as an access of one page.
    Peek {
        addr: u64,
    },
    /// An ioctl of the HMM test driver (`lib/test_hmm.c`) on this
    /// process's mirror of device `dev` (`/dev/hmm_dmirror<dev>`, opened
    /// on first use): `struct hmm_dmirror_cmd` over `npages` pages from
    /// `addr`; for `HMM_DMIRROR_WRITE`, `values[i]` starts page `i` of the
    /// buffer (the rest of the page is zero).
    Dmirror {
        dev: u8,
        request: u8,
        addr: u64,
        npages: u64,
        values: Vec<u64>,
    },
    /// Closes this process's mirror of device `dev` (`ENOENT` if it has
    /// none).
    CloseMirror {
        dev: u8,
    },
    /// `PIN_LONGTERM_TEST_START` of `gup_test` over `pages` pages from
    /// `addr`, pinned by this process (`flags`: `PIN_LONGTERM_*`).
    PinLongterm {
        addr: u64,
        pages: u64,
        flags: u32,
    },
    /// A one-shot request of `gup_test` (`GUP_BASIC_TEST`,
    /// `GUP_FAST_BENCHMARK`, `PIN_BASIC_TEST`, `PIN_FAST_BENCHMARK`: the
    /// pages are taken and put back in one call) over `pages` pages from
    /// `addr` by this process, with `FOLL_*` `flags`. A `gup_test`
    /// descriptor may come with the message (the one holding a long-term
    /// pin set: closing a fresh one would unpin that set); otherwise the
    /// process opens and closes its own.
    GupOnce {
        request: u8,
        addr: u64,
        pages: u64,
        flags: u32,
    },
}

/// A reply of a scenario process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// The first message of a new process, with its pidfd.
    Hello { pid: i32 },
    /// A system call's result: 0, or the errno.
    Status { errno: i32 },
    /// An access: the values loaded (none for stores) and, if it stopped,
    /// the index of the page that faulted and the signal.
    Access {
        values: Vec<u64>,
        stop: Option<(u32, i32)>,
    },
    /// `vmsplice`: bytes spliced, or the errno; with the pipe when any
    /// page was taken.
    Spliced { bytes: u64, errno: i32 },
    /// A `Dmirror` ioctl: 0 or the errno, `cpages` and `faults` as the
    /// driver set them, and the buffer: the `u64` at the start of each
    /// page (`READ`, `MIGRATE_TO_DEV`, `EXCLUSIVE`), or one protection byte per page
    /// (`SNAPSHOT`, one value per byte); empty otherwise. The ioctl that
    /// opened the mirror attaches a duplicate of its descriptor.
    Dmirror {
        errno: i32,
        cpages: u64,
        faults: u64,
        buffer: Vec<u64>,
    },
    /// A `GupOnce` request: the bytes taken (and put back) as gup_test
    /// reports them, or the ioctl's own errno.
    GupTaken { bytes: u64, errno: i32 },
}

/// Why talking to a scenario process failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WireError {
    /// The process closed its socket (it exited or crashed).
    Closed,
    /// No reply within the deadline.
    Timeout,
    /// A system call on the socket failed.
    Io(String),
    /// A message that does not decode.
    Malformed(String),
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WireError::Closed => write!(f, "the process closed its socket"),
            WireError::Timeout => write!(f, "no reply within the deadline"),
            WireError::Io(e) => write!(f, "socket error: {e}"),
            WireError::Malformed(e) => write!(f, "malformed message: {e}"),
        }
    }
}

/// A connected pair of sockets: the controller's end and the process's.
pub fn channel() -> Result<(OwnedFd, OwnedFd), WireError> {
    socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(|e| WireError::Io(format!("socketpair: {e}")))
}

/// Sends one message with `fds` attached.
pub fn send(sock: &OwnedFd, bytes: &[u8], fds: &[RawFd]) -> Result<(), WireError> {
    let iov = [std::io::IoSlice::new(bytes)];
    let cmsgs = [ControlMessage::ScmRights(fds)];
    let cmsgs: &[ControlMessage] = if fds.is_empty() { &[] } else { &cmsgs };
    loop {
        match sendmsg::<()>(sock.as_raw_fd(), &iov, cmsgs, MsgFlags::MSG_NOSIGNAL, None) {
            Ok(_) => return Ok(()),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(nix::errno::Errno::EPIPE) | Err(nix::errno::Errno::ECONNRESET) => {
                return Err(WireError::Closed)
            }
            Err(e) => return Err(WireError::Io(format!("sendmsg: {e}"))),
        }
    }
}

/// Receives one message and the descriptors attached to it; waits at
/// most `deadline` (forever with `None`).
pub fn recv(
    sock: &OwnedFd,
    deadline: Option<Duration>,
) -> Result<(Vec<u8>, Vec<OwnedFd>), WireError> {
    if let Some(d) = deadline {
        wait_readable(sock, Instant::now() + d)?;
    }
    let mut buf = vec![0u8; MAX_MESSAGE];
    let mut space = nix::cmsg_space!([RawFd; MAX_FDS]);
    loop {
        let mut iov = [std::io::IoSliceMut::new(&mut buf)];
        let msg = match recvmsg::<()>(
            sock.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            Ok(m) => m,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(nix::errno::Errno::ECONNRESET) => return Err(WireError::Closed),
            Err(e) => return Err(WireError::Io(format!("recvmsg: {e}"))),
        };
        let mut fds = Vec::new();
        if let Ok(cmsgs) = msg.cmsgs() {
            for c in cmsgs {
                if let ControlMessageOwned::ScmRights(raw) = c {
                    fds.extend(raw.into_iter().map(crate::sys::owned_received_fd));
                }
            }
        }
        let n = msg.bytes;
        if msg.flags.contains(MsgFlags::MSG_TRUNC) {
            return Err(WireError::Malformed("message too long".into()));
        }
        if n == 0 {
            return Err(WireError::Closed);
        }
        buf.truncate(n);
        return Ok((buf, fds));
    }
}

fn wait_readable(sock: &OwnedFd, until: Instant) -> Result<(), WireError> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::AsFd;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(WireError::Timeout);
        }
        let ms = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(sock.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(ms.max(1))) {
            Ok(0) => continue,
            Ok(_) => return Ok(()),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(WireError::Io(format!("poll: {e}"))),
        }
    }
}

// ------------------------------------------------------------- encoding

struct Writer(Vec<u8>);

impl Writer {
    fn new(tag: u8) -> Self {
        Writer(vec![tag])
    }
    fn u64(mut self, v: u64) -> Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn i32(self, v: i32) -> Self {
        self.u64(v as i64 as u64)
    }
    fn values(mut self, vs: &[u64]) -> Self {
        self = self.u64(vs.len() as u64);
        for v in vs {
            self = self.u64(*v);
        }
        self
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Result<(u8, Self), WireError> {
        let (&tag, _) = bytes
            .split_first()
            .ok_or_else(|| WireError::Malformed("empty message".into()))?;
        Ok((tag, Reader { bytes, at: 1 }))
    }
    fn u64(&mut self) -> Result<u64, WireError> {
        let end = self.at + 8;
        let b = self
            .bytes
            .get(self.at..end)
            .ok_or_else(|| WireError::Malformed("message too short".into()))?;
        self.at = end;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    fn i32(&mut self) -> Result<i32, WireError> {
        let v = self.u64()? as i64;
        i32::try_from(v).map_err(|_| WireError::Malformed(format!("{v} is not an i32")))
    }
    fn u32(&mut self) -> Result<u32, WireError> {
        let v = self.u64()?;
        u32::try_from(v).map_err(|_| WireError::Malformed(format!("{v} is not a u32")))
    }
    fn u8(&mut self) -> Result<u8, WireError> {
        let v = self.u64()?;
        u8::try_from(v).map_err(|_| WireError::Malformed(format!("{v} is not a u8")))
    }
    fn values(&mut self) -> Result<Vec<u64>, WireError> {
        let n = self.u64()?;
        if n > MAX_CHUNK_PAGES as u64 {
            return Err(WireError::Malformed(format!("{n} values")));
        }
        (0..n).map(|_| self.u64()).collect()
    }
    fn end(self) -> Result<(), WireError> {
        if self.at == self.bytes.len() {
            Ok(())
        } else {
            Err(WireError::Malformed("trailing bytes".into()))
        }
    }
}

impl Command {
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Command::Map {
                addr,
                len,
                prot,
                flags,
                offset,
            } => Writer::new(1)
                .u64(*addr)
                .u64(*len)
                .i32(*prot)
                .i32(*flags)
                .u64(*offset),
            Command::Unmap { addr, len } => Writer::new(2).u64(*addr).u64(*len),
            Command::Protect { addr, len, prot } => Writer::new(3).u64(*addr).u64(*len).i32(*prot),
            Command::Advise { addr, len, advice } => {
                Writer::new(4).u64(*addr).u64(*len).i32(*advice)
            }
            Command::Remap { old, len, new } => Writer::new(5).u64(*old).u64(*len).u64(*new),
            Command::Fork => Writer::new(6),
            Command::Exit => Writer::new(7),
            Command::Load { addr, pages } => Writer::new(8).u64(*addr).u64(*pages as u64),
            Command::Store { addr, values } => Writer::new(9).u64(*addr).values(values),
            Command::Splice { addr, pages } => Writer::new(10).u64(*addr).u64(*pages as u64),
            Command::Peek { addr } => Writer::new(11).u64(*addr),
            Command::Dmirror {
                dev,
                request,
                addr,
                npages,
                values,
            } => Writer::new(12)
                .u64(u64::from(*dev))
                .u64(u64::from(*request))
                .u64(*addr)
                .u64(*npages)
                .values(values),
            Command::CloseMirror { dev } => Writer::new(13).u64(u64::from(*dev)),
            Command::PinLongterm { addr, pages, flags } => Writer::new(14)
                .u64(*addr)
                .u64(*pages)
                .u64(u64::from(*flags)),
            Command::GupOnce {
                request,
                addr,
                pages,
                flags,
            } => Writer::new(15)
                .u64(u64::from(*request))
                .u64(*addr)
                .u64(*pages)
                .u64(u64::from(*flags)),
        }
        .0
    }

    pub fn decode(bytes: &[u8]) -> Result<Command, WireError> {
        let (tag, mut r) = Reader::new(bytes)?;
        let c = match tag {
            1 => Command::Map {
                addr: r.u64()?,
                len: r.u64()?,
                prot: r.i32()?,
                flags: r.i32()?,
                offset: r.u64()?,
            },
            2 => Command::Unmap {
                addr: r.u64()?,
                len: r.u64()?,
            },
            3 => Command::Protect {
                addr: r.u64()?,
                len: r.u64()?,
                prot: r.i32()?,
            },
            4 => Command::Advise {
                addr: r.u64()?,
                len: r.u64()?,
                advice: r.i32()?,
            },
            5 => Command::Remap {
                old: r.u64()?,
                len: r.u64()?,
                new: r.u64()?,
            },
            6 => Command::Fork,
            7 => Command::Exit,
            8 => Command::Load {
                addr: r.u64()?,
                pages: r.u32()?,
            },
            9 => Command::Store {
                addr: r.u64()?,
                values: r.values()?,
            },
            10 => Command::Splice {
                addr: r.u64()?,
                pages: r.u32()?,
            },
            11 => Command::Peek { addr: r.u64()? },
            12 => Command::Dmirror {
                dev: r.u8()?,
                request: r.u8()?,
                addr: r.u64()?,
                npages: r.u64()?,
                values: r.values()?,
            },
            13 => Command::CloseMirror { dev: r.u8()? },
            14 => Command::PinLongterm {
                addr: r.u64()?,
                pages: r.u64()?,
                flags: r.u32()?,
            },
            15 => Command::GupOnce {
                request: r.u8()?,
                addr: r.u64()?,
                pages: r.u64()?,
                flags: r.u32()?,
            },
            t => return Err(WireError::Malformed(format!("command tag {t}"))),
        };
        r.end()?;
        Ok(c)
    }
}

impl Reply {
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Reply::Hello { pid } => Writer::new(1).i32(*pid),
            Reply::Status { errno } => Writer::new(2).i32(*errno),
            Reply::Access { values, stop } => {
                let w = Writer::new(3).values(values);
                match stop {
                    None => w.u64(0),
                    Some((page, sig)) => w.u64(1).u64(*page as u64).i32(*sig),
                }
            }
            Reply::Spliced { bytes, errno } => Writer::new(4).u64(*bytes).i32(*errno),
            Reply::Dmirror {
                errno,
                cpages,
                faults,
                buffer,
            } => Writer::new(5)
                .i32(*errno)
                .u64(*cpages)
                .u64(*faults)
                .values(buffer),
            Reply::GupTaken { bytes, errno } => Writer::new(6).u64(*bytes).i32(*errno),
        }
        .0
    }

    pub fn decode(bytes: &[u8]) -> Result<Reply, WireError> {
        let (tag, mut r) = Reader::new(bytes)?;
        let reply = match tag {
            1 => Reply::Hello { pid: r.i32()? },
            2 => Reply::Status { errno: r.i32()? },
            3 => {
                let values = r.values()?;
                let stop = match r.u64()? {
                    0 => None,
                    1 => Some((r.u32()?, r.i32()?)),
                    k => return Err(WireError::Malformed(format!("stop marker {k}"))),
                };
                Reply::Access { values, stop }
            }
            4 => Reply::Spliced {
                bytes: r.u64()?,
                errno: r.i32()?,
            },
            5 => Reply::Dmirror {
                errno: r.i32()?,
                cpages: r.u64()?,
                faults: r.u64()?,
                buffer: r.values()?,
            },
            6 => Reply::GupTaken {
                bytes: r.u64()?,
                errno: r.i32()?,
            },
            t => return Err(WireError::Malformed(format!("reply tag {t}"))),
        };
        r.end()?;
        Ok(reply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_and_replies_round_trip() {
        let commands = [
            Command::Map {
                addr: 1 << 44,
                len: 8192,
                prot: 3,
                flags: 0x32,
                offset: 4096,
            },
            Command::Unmap { addr: 1, len: 2 },
            Command::Dmirror {
                dev: 1,
                request: 1,
                addr: 1 << 40,
                npages: 2,
                values: vec![7, 8],
            },
            Command::Protect {
                addr: 1,
                len: 2,
                prot: 0,
            },
            Command::Advise {
                addr: 1,
                len: 2,
                advice: 25,
            },
            Command::Remap {
                old: 1,
                len: 2,
                new: 3,
            },
            Command::Fork,
            Command::Exit,
            Command::Load { addr: 9, pages: 3 },
            Command::Store {
                addr: 9,
                values: vec![1, u64::MAX, 0],
            },
            Command::Splice { addr: 9, pages: 2 },
            Command::Peek { addr: 4096 },
            Command::CloseMirror { dev: 3 },
            Command::PinLongterm {
                addr: 1 << 40,
                pages: 3,
                flags: 2,
            },
            Command::GupOnce {
                request: 5,
                addr: 1 << 40,
                pages: 2,
                flags: 9,
            },
        ];
        for c in commands {
            assert_eq!(Command::decode(&c.encode()), Ok(c.clone()));
        }
        let replies = [
            Reply::Hello { pid: 42 },
            Reply::Dmirror {
                errno: 0,
                cpages: 2,
                faults: 1,
                buffer: vec![3, 4],
            },
            Reply::Status { errno: -1 },
            Reply::Access {
                values: vec![5, 6],
                stop: Some((2, 11)),
            },
            Reply::Access {
                values: vec![],
                stop: None,
            },
            Reply::Spliced {
                bytes: 8192,
                errno: 0,
            },
            Reply::GupTaken {
                bytes: 4096,
                errno: 0,
            },
        ];
        for r in replies {
            assert_eq!(Reply::decode(&r.encode()), Ok(r.clone()));
        }
    }

    #[test]
    fn malformed_messages_are_errors_not_panics() {
        for bad in [&[][..], &[0], &[1, 2, 3], &[99], &[7, 0]] {
            assert!(Command::decode(bad).is_err(), "{bad:?}");
            assert!(Reply::decode(bad).is_err(), "{bad:?}");
        }
        let mut huge = Writer::new(9).u64(0).u64(u64::MAX).0;
        huge.extend_from_slice(&[0; 16]);
        assert!(Command::decode(&huge).is_err());
    }
}
