//! The proptest-state-machine engine: the state-machine suite's reference
//! machine ([`crate::state_machine::OracleMachine`]) generates sequences
//! of up to [`MAX_OPS`] ops from the oracle's state; each runs on oracle
//! and subject in lockstep (digests after every op, the same verdicts as
//! the suite's per-op comparison), and proptest shrinks the first failure.
//!
//! proptest has no time budget, so the trial runs batches of
//! [`CASES_PER_BATCH`] cases, each batch from its own seed derived from
//! the trial's, until a case fails or the budget is spent.

use std::cell::Cell;
use std::sync::atomic::Ordering;
use std::time::Instant;

use mmdiff_core::lockstep::{run_lockstep, Check};
use mmdiff_core::text::Scenario;
use mmdiff_core::{Config, Op};
use mmdiff_oracle::Oracle;
use mmdiff_subject::Subject;
use proptest::test_runner::{
    Config as ProptestConfig, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner,
};
use proptest_state_machine::ReferenceStateMachine;

use crate::input::{Input, Source};
use crate::state_machine::{OracleMachine, MAX_OPS};

use super::engine::{Run, TrialSetup};

/// Cases per proptest run: small enough that the budget is checked often.
const CASES_PER_BATCH: u32 = 32;
/// proptest's own shrinking of the failure, at most (our minimizer runs
/// on its result afterwards, outside the measured time).
const SHRINK_MILLIS: u32 = 10_000;

pub fn run(setup: &TrialSetup) -> Run {
    let start = Instant::now();
    let config = Config::default();
    let first_failure = Cell::new(None::<f64>);
    let strategy = OracleMachine::sequential_strategy(1..MAX_OPS);
    let mut batch = 0u64;
    while start.elapsed() < setup.budget {
        let mut runner = TestRunner::new_with_rng(
            ProptestConfig {
                cases: CASES_PER_BATCH,
                max_shrink_time: SHRINK_MILLIS,
                max_shrink_iters: 100_000,
                failure_persistence: None,
                ..ProptestConfig::default()
            },
            TestRng::from_seed(RngAlgorithm::ChaCha, &batch_seed(setup.seed, batch)),
        );
        let result = runner.run(&strategy, |(_, ops, seen)| {
            if first_failure.get().is_none() && start.elapsed() >= setup.budget {
                return Ok(());
            }
            let divergence =
                run_lockstep::<Oracle, Subject>(&config, &ops, Check::Digest).divergence;
            // The shrinker drops the ops the test never reached.
            if let Some(seen) = seen {
                let reached = divergence.as_ref().map_or(ops.len(), |d| d.index + 1);
                seen.store(reached, Ordering::SeqCst);
            }
            match divergence {
                None => Ok(()),
                Some(d) => {
                    if first_failure.get().is_none() {
                        first_failure.set(Some(start.elapsed().as_secs_f64()));
                    }
                    Err(TestCaseError::fail(d.signature))
                }
            }
        });
        match result {
            Ok(()) => batch += 1,
            Err(TestError::Fail(_, (_, ops, _))) => {
                return found(first_failure.get().unwrap_or_default(), ops, setup)
            }
            Err(TestError::Abort(why)) => return Run::Failed(format!("proptest aborted: {why}")),
        }
    }
    Run::Missed
}

fn found(seconds: f64, ops: Vec<Op>, setup: &TrialSetup) -> Run {
    if seconds > setup.budget.as_secs_f64() {
        return Run::Missed;
    }
    Run::Found {
        seconds,
        input: Input {
            path: format!("proptest seed {}", setup.seed),
            source: Source::Text,
            scenario: Scenario::from_ops(&ops),
            config: Config::default(),
        },
    }
}

/// The 32-byte ChaCha seed of batch `batch` of a trial seeded `seed`.
fn batch_seed(seed: u64, batch: u64) -> [u8; 32] {
    let mut out = [0u8; 32];
    out[..8].copy_from_slice(&seed.to_le_bytes());
    out[8..16].copy_from_slice(&batch.to_le_bytes());
    out[16..].copy_from_slice(b"mmdiff-zoo-batch");
    out
}
