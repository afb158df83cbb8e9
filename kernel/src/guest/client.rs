//! The host side of the channel: a [`Kernel`] whose machines live in the
//! guest. Every op and every observation is one request and one reply.

use std::io::{BufReader, Read, Write};
use std::time::Duration;

use mmdiff_core::op::Op;
use mmdiff_core::text::op_to_string;
use mmdiff_core::Config;

use super::protocol::{recv, send, Reply, Request, GREETING};
use crate::env::Environment;
use crate::exec::{ExecError, KernelOutcome};
use crate::machine::{Kernel, Machine};
use crate::view::View;

/// Lines that are not records tolerated before the guest's greeting (a
/// serial line may carry boot noise).
const NOISE_LINES: usize = 64;

/// A guest's kernel, reached over a byte stream (a qemu chardev socket,
/// or any stream a [`super::serve`] answers on).
pub struct GuestKernel {
    input: BufReader<Box<dyn Read + Send>>,
    output: Box<dyn Write + Send>,
    env: Environment,
    /// The guest executor's version.
    pub version: String,
    /// Why the channel is unusable (a request timed out, the guest went
    /// away): every later request fails at once with it, so ending a
    /// scenario on a hung guest does not wait a second timeout.
    broken: Option<String>,
}

fn channel_error(e: impl std::fmt::Display) -> ExecError {
    ExecError::Guest(format!("channel: {e}"))
}

impl GuestKernel {
    /// Waits for the guest's greeting on `input` and keeps its
    /// environment.
    pub fn connect(
        input: Box<dyn Read + Send>,
        output: Box<dyn Write + Send>,
    ) -> Result<GuestKernel, ExecError> {
        let mut input = BufReader::new(input);
        let mut noise = Vec::new();
        loop {
            match recv::<Reply>(&mut input) {
                Ok(Some(Reply::Hello {
                    greeting,
                    version,
                    env,
                })) if greeting == GREETING => {
                    return Ok(GuestKernel {
                        input,
                        output,
                        env: *env,
                        version,
                        broken: None,
                    })
                }
                Ok(Some(other)) => {
                    return Err(channel_error(format!("expected a greeting, got {other:?}")))
                }
                Ok(None) => {
                    return Err(channel_error(format!(
                        "closed before the guest greeted{}",
                        shown(&noise)
                    )))
                }
                Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                    noise.push(e.to_string());
                    if noise.len() > NOISE_LINES {
                        return Err(channel_error(format!("no greeting{}", shown(&noise))));
                    }
                }
                Err(e) => return Err(channel_error(e)),
            }
        }
    }

    /// Sends `request` and reads its reply. A channel that failed once
    /// (timed out, closed) stays failed.
    fn ask(&mut self, request: &Request) -> Result<Reply, ExecError> {
        if let Some(why) = &self.broken {
            return Err(channel_error(format!("unusable since: {why}")));
        }
        let reply = match send(&mut self.output, request) {
            Err(e) => Err(e.to_string()),
            Ok(()) => match recv::<Reply>(&mut self.input) {
                Ok(Some(Reply::Refused(why))) => {
                    return Err(channel_error(format!("refused: {why}")))
                }
                Ok(Some(reply)) => Ok(reply),
                Ok(None) => Err("the guest closed the channel".to_string()),
                Err(e) if is_timeout(&e) => {
                    Err(format!("no answer in time ({e}): the guest hangs"))
                }
                Err(e) => Err(e.to_string()),
            },
        };
        reply.map_err(|why| {
            self.broken = Some(why.clone());
            channel_error(why)
        })
    }

    /// Whether the channel failed, and why.
    pub fn broken(&self) -> Option<&str> {
        self.broken.as_deref()
    }

    /// Asks the guest to power off; the channel is unusable afterwards.
    pub fn power_off(&mut self) {
        // The guest does not answer; a failure means it is gone already.
        let _ = send(&mut self.output, &Request::PowerOff);
    }
}

/// A socket read timeout (`SO_RCVTIMEO`: `WouldBlock` on Linux).
fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

fn shown(noise: &[String]) -> String {
    match noise.last() {
        Some(last) => format!(" ({} other lines, the last: {last})", noise.len()),
        None => String::new(),
    }
}

fn unexpected(reply: Reply) -> ExecError {
    channel_error(format!("unexpected reply {reply:?}"))
}

impl Kernel for GuestKernel {
    fn env(&self) -> &Environment {
        &self.env
    }

    fn start(
        &mut self,
        config: &Config,
        deadline: Duration,
    ) -> Result<Box<dyn Machine + '_>, ExecError> {
        let request = Request::Start {
            config: config.clone(),
            deadline_ms: deadline.as_millis().try_into().unwrap_or(u64::MAX),
        };
        match self.ask(&request)? {
            Reply::Started(r) => r?,
            other => return Err(unexpected(other)),
        }
        Ok(Box::new(GuestMachine { kernel: self }))
    }
}

/// One scenario's machine in the guest; dropping it ends it there.
struct GuestMachine<'a> {
    kernel: &'a mut GuestKernel,
}

impl Machine for GuestMachine<'_> {
    fn apply(&mut self, op: &Op) -> Result<KernelOutcome, ExecError> {
        let op = op_to_string(op);
        match self.kernel.ask(&Request::Apply { op })? {
            Reply::Applied(r) => r,
            other => Err(unexpected(other)),
        }
    }

    fn observe(&mut self) -> Result<View, ExecError> {
        match self.kernel.ask(&Request::Observe)? {
            Reply::Observed(r) => r,
            other => Err(unexpected(other)),
        }
    }
}

impl Drop for GuestMachine<'_> {
    fn drop(&mut self) {
        // A failure here shows at the next request.
        let _ = self.kernel.ask(&Request::End);
    }
}
