//! The guest side of the channel: the host's [`Executor`] and observer,
//! driven by [`Request`]s. It runs as the guest's init, but nothing here
//! is guest-specific: any Linux process can serve a channel (the tests
//! serve one in a thread on the host).

use std::io::{BufRead, Write};
use std::time::Duration;

use mmdiff_core::text::parse_op;

use super::protocol::{recv, send, Reply, Request, GREETING};
use crate::env::Environment;
use crate::exec::Executor;
use crate::machine::Machine;

/// Why serving stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum Served {
    /// The host closed the channel.
    Closed,
    /// The host asked for the guest to power off.
    PowerOff,
}

/// Greets the host with `env`, then answers requests until the channel
/// closes or the host asks to power off. An error is the channel's own
/// (a request that cannot be read is refused, not an error).
pub fn serve(
    input: &mut impl BufRead,
    output: &mut impl Write,
    env: &Environment,
) -> std::io::Result<Served> {
    send(
        output,
        &Reply::Hello {
            greeting: GREETING.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            env: Box::new(env.clone()),
        },
    )?;
    let mut machine: Option<Executor> = None;
    loop {
        let request = match recv::<Request>(input) {
            Ok(Some(r)) => r,
            Ok(None) => return Ok(Served::Closed),
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                send(output, &Reply::Refused(e.to_string()))?;
                continue;
            }
            Err(e) => return Err(e),
        };
        let reply = match request {
            Request::Start {
                config,
                deadline_ms,
            } => {
                machine = None;
                Reply::Started(Executor::new(&config, env).map(|mut exec| {
                    exec.set_deadline(Duration::from_millis(deadline_ms));
                    machine = Some(exec);
                }))
            }
            Request::Apply { op } => match (&mut machine, parse_op(&op)) {
                (Some(exec), Ok(op)) => Reply::Applied(Machine::apply(exec, &op)),
                (None, _) => Reply::Refused("an op before Start".into()),
                (_, Err(e)) => Reply::Refused(format!("op `{op}`: {e}")),
            },
            Request::Observe => match &mut machine {
                Some(exec) => Reply::Observed(exec.observe()),
                None => Reply::Refused("Observe before Start".into()),
            },
            Request::End => {
                machine = None;
                Reply::Ended
            }
            Request::PowerOff => return Ok(Served::PowerOff),
        };
        send(output, &reply)?;
    }
}
