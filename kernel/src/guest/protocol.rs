//! The channel between the host and the guest executor: one JSON record
//! per line, each way. The guest speaks first ([`Reply::Hello`]) and then
//! answers every [`Request`] with exactly one [`Reply`], in order, so a
//! transcript of the channel reads as the op-by-op record of a run.

use std::io::{BufRead, Write};

use mmdiff_core::Config;
use serde::{Deserialize, Serialize};

use crate::env::Environment;
use crate::exec::{ExecError, KernelOutcome};
use crate::view::View;

/// Sent by the guest when it is ready, and as the reply to `Hello`.
pub const GREETING: &str = "mmdiff-guest";

/// What the host asks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Request {
    /// A fresh machine (the previous one, if any, is dropped first).
    Start { config: Config, deadline_ms: u64 },
    /// One op, in the scenario text form (`text::op_to_string`).
    Apply { op: String },
    /// The observable state of every live scenario process.
    Observe,
    /// Drop the current machine (its processes are killed and reaped).
    End,
    /// Power the guest off.
    PowerOff,
}

/// What the guest answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Reply {
    /// The guest is up: its greeting, the executor's version, and the
    /// facts its kernel decides.
    Hello {
        greeting: String,
        version: String,
        env: Box<Environment>,
    },
    Started(Result<(), ExecError>),
    Applied(Result<KernelOutcome, ExecError>),
    Observed(Result<View, ExecError>),
    Ended,
    /// The request could not be read or does not fit the state (an op
    /// before `Start`, text that does not parse).
    Refused(String),
}

/// Writes one record and flushes it.
pub fn send<T: Serialize>(out: &mut impl Write, record: &T) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(record).map_err(std::io::Error::other)?;
    line.push(b'\n');
    out.write_all(&line)?;
    out.flush()
}

/// Reads one record; `Ok(None)` at the end of the stream. Lines that are
/// not records (a serial line's noise before the guest speaks) are
/// reported as errors with the text seen.
pub fn recv<T: for<'de> Deserialize<'de>>(input: &mut impl BufRead) -> std::io::Result<Option<T>> {
    let mut line = String::new();
    if input.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let text = line.trim_end_matches(['\n', '\r']);
    serde_json::from_str(text).map(Some).map_err(|e| {
        let shown: String = text.chars().take(200).collect();
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not a channel record ({e}): `{shown}`"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mmdiff_core::outcome::{Outcome, Payload};

    #[test]
    fn records_round_trip_one_per_line() {
        let records = vec![
            Reply::Hello {
                greeting: GREETING.into(),
                version: "0.1.0".into(),
                env: Box::new(Environment::default()),
            },
            Reply::Applied(Ok(KernelOutcome::Done(Outcome::Ok(Payload::Data {
                base: 3,
                values: vec![1, 2, 3],
            })))),
            Reply::Applied(Err(ExecError::Setup("no tmpfs".into()))),
            Reply::Observed(Ok(View::default())),
        ];
        let mut wire = Vec::new();
        for r in &records {
            send(&mut wire, r).expect("writes to memory");
        }
        assert_eq!(wire.iter().filter(|&&b| b == b'\n').count(), records.len());
        let mut input = std::io::Cursor::new(wire);
        for r in &records {
            assert_eq!(recv::<Reply>(&mut input).expect("reads").as_ref(), Some(r));
        }
        assert_eq!(recv::<Reply>(&mut input).expect("end"), None);
        let mut noise = std::io::Cursor::new(b"[    0.1] Booting\n".to_vec());
        let e = recv::<Reply>(&mut noise).unwrap_err();
        assert!(e.to_string().contains("Booting"), "{e}");
    }
}
