//! The entry point every fuzzing front end calls: `mmdiff fuzz`, the
//! cargo-fuzz targets, the AFL binary and OSS-Fuzz builds. Bytes are
//! decoded by the shared decoder ([`mmdiff_core::bytes::decode`]) and run on
//! the oracle and the subject in lockstep, so the same bytes mean the same
//! ops, and the same verdict, in every driver.
//!
//! The check is [`Check::Digest`]: a state digest and an outcome hash after
//! every op, the full canonical states and the invariants at the end, and
//! an exact re-run in full when anything differs, which names the first
//! divergent op. A [`Failure`] carries that divergence and the ops up to and
//! including it, ready to print as a scenario.

#![forbid(unsafe_code)]

use std::fmt;

use mmdiff_core::lockstep::{run_lockstep, Check, Divergence};
use mmdiff_core::text::{self, Line, Scenario};
use mmdiff_core::{bytes, Config, Model, Op};
use mmdiff_oracle::Oracle;
use mmdiff_subject::Subject;

/// A divergence between the oracle and the subject on one input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The input's ops up to and including the divergent one.
    pub ops: Vec<Op>,
    /// How many ops the whole input decoded to.
    pub decoded: usize,
    pub divergence: Box<Divergence>,
}

impl Failure {
    /// [`Divergence::signature`]: `<op>/<what>:<field>`.
    pub fn signature(&self) -> &str {
        &self.divergence.signature
    }

    /// The ops as a scenario, the divergent line marked, with the
    /// signature and the failure in its header: paste it into `corpus/`
    /// or give it to `mmdiff minimize`.
    pub fn scenario(&self) -> Scenario {
        let d = &self.divergence;
        let mut s = Scenario::from_ops(&self.ops);
        s.header = vec![
            ("failure".into(), d.to_string()),
            ("signature".into(), d.signature.clone()),
        ];
        if d.op.is_some() {
            if let Some(Line::Op { comment, .. }) = s.lines.get_mut(d.index) {
                *comment = Some(format!(" <- {}", d.blame()));
            }
        }
        s
    }
}

impl fmt::Display for Failure {
    /// The explanation (what differs, both outcomes, the state diff) and
    /// the scenario text: what a fuzzer prints when it stops on a crash.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "mmdiff divergence: {}\n{}\n--- scenario ({} of {} ops; replay with `mmdiff explain <file>`) ---\n{}",
            self.divergence.signature,
            self.divergence.explain(),
            self.ops.len(),
            self.decoded,
            text::print(&self.scenario())
        )
    }
}

/// Decodes `data` and runs it on the oracle and the subject in lockstep.
pub fn run_bytes(data: &[u8]) -> Result<(), Failure> {
    run_bytes_with::<Oracle, Subject>(data)
}

/// Runs `ops` on the oracle and the subject in lockstep: the part of
/// [`run_bytes`] after decoding, for drivers that build ops directly.
pub fn run_ops(ops: &[Op]) -> Result<(), Failure> {
    run_ops_with::<Oracle, Subject>(ops)
}

/// [`run_bytes`] on any two models (the campaign's own tests use toys).
pub fn run_bytes_with<A: Model, B: Model>(data: &[u8]) -> Result<(), Failure> {
    run_ops_with::<A, B>(&bytes::decode(data))
}

/// [`run_bytes_with`] on another machine or profile (`mmdiff fuzz
/// --kernel`); the fuzzing front ends run the default one.
pub fn run_bytes_on<A: Model, B: Model>(config: &Config, data: &[u8]) -> Result<(), Failure> {
    run_ops_on::<A, B>(config, &bytes::decode(data))
}

/// [`run_ops`] on any two models.
pub fn run_ops_with<A: Model, B: Model>(ops: &[Op]) -> Result<(), Failure> {
    run_ops_on::<A, B>(&Config::default(), ops)
}

/// [`run_ops_with`] on `config`.
pub fn run_ops_on<A: Model, B: Model>(config: &Config, ops: &[Op]) -> Result<(), Failure> {
    let report = run_lockstep::<A, B>(config, ops, Check::Digest);
    match report.divergence {
        None => Ok(()),
        Some(divergence) => {
            let keep = match divergence.op {
                Some(_) => (divergence.index + 1).min(ops.len()),
                None => 0,
            };
            Err(Failure {
                ops: ops[..keep].to_vec(),
                decoded: ops.len(),
                divergence,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agreeing_inputs_pass() {
        let src = "mmap p0 m0 anon rw pages=4\nwrite p0 m0[0..4] = index\nfork p0 -> p1\nwrite p1 m0[1] = 9\n";
        let ops = text::parse(src).unwrap().ops();
        let data = bytes::encode(&ops).unwrap();
        assert_eq!(bytes::decode(&data), ops);
        assert_eq!(run_bytes(&data), Ok(()));
        assert_eq!(run_bytes(&[]), Ok(()));
    }

    #[test]
    fn random_bytes_get_the_verdict_of_a_full_comparison() {
        // Digest mode (what run_bytes uses) must reach the verdict a full
        // comparison after every op reaches, and never let a panic escape.
        let mut rng = mmdiff_core::rng::SplitMix64::new(17);
        for len in [1usize, 7, 64, 300] {
            let mut buf = vec![0u8; len];
            rng.fill(&mut buf);
            let ops = bytes::decode(&buf);
            let full = run_lockstep::<Oracle, Subject>(&Config::default(), &ops, Check::Full);
            let digest = run_bytes(&buf).err().map(|f| f.divergence);
            assert_eq!(digest, full.divergence, "{len} bytes");
        }
    }

    /// Agrees with the oracle-side toy except that it panics on `reclaim`.
    struct Toy<const BUG: bool>(Config);

    impl<const BUG: bool> Model for Toy<BUG> {
        fn new(c: &Config) -> Self {
            Toy(c.clone())
        }
        fn name(&self) -> &'static str {
            if BUG {
                "toy"
            } else {
                "clean"
            }
        }
        fn apply(&mut self, op: &Op) -> mmdiff_core::Outcome {
            assert!(!(BUG && *op == Op::Reclaim), "toy bug");
            mmdiff_core::Outcome::OK
        }
        fn raw_state(&self) -> mmdiff_core::State {
            mmdiff_core::State::empty(&self.0)
        }
    }

    #[test]
    fn a_failure_keeps_the_ops_up_to_the_divergent_one_and_prints_them() {
        let ops = vec![Op::CmaEvacuate, Op::Reclaim, Op::CmaEvacuate];
        let data = bytes::encode(&ops).unwrap();
        let f = run_bytes_with::<Toy<false>, Toy<true>>(&data).unwrap_err();
        assert_eq!(f.signature(), "reclaim/panic@toy");
        assert_eq!(f.ops, ops[..2]);
        assert_eq!(f.decoded, 3);
        let scenario = text::print(&f.scenario());
        assert!(
            scenario.contains("#! signature: reclaim/panic@toy\n"),
            "{scenario}"
        );
        assert!(
            scenario.contains("reclaim # <- toy fails here"),
            "{scenario}"
        );
        assert_eq!(text::parse(&scenario).unwrap().ops(), ops[..2]);
        let shown = f.to_string();
        assert!(
            shown.starts_with("mmdiff divergence: reclaim/panic@toy\n"),
            "{shown}"
        );
        assert!(shown.contains("--- scenario (2 of 3 ops;"), "{shown}");
        assert!(shown.ends_with(&scenario), "{shown}");
    }
}
