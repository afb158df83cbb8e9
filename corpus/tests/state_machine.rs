//! A proptest-state-machine suite: the oracle is the reference state
//! machine, the subject the system under test. After every transition (one
//! op) the subject's canonical outcome and canonical state must equal the
//! oracle's, both states must pass the invariants, and both models'
//! digests must equal `digest::of_state` of their exported state. On a failure
//! proptest shrinks the op sequence (dropping ops, then simplifying them).
//!
//! Transitions come from [`mmdiff_triage::state_machine::OracleMachine`]
//! (`mmdiff zoo` drives the same machine as its proptest engine).
//!
//!     cargo test -p mmdiff-corpus --test state_machine
//!     MMDIFF_PROPTEST_CASES=1000 cargo test --release -p mmdiff-corpus --test state_machine
//!
//! The default is 32 cases of up to 64 ops with a fixed seed, so that
//! `cargo test` stays fast and reproducible; `PROPTEST_RNG_SEED=<n>` picks
//! another seed.

use mmdiff_core::canon;
use mmdiff_core::digest;
use mmdiff_core::invariants;
use mmdiff_core::lockstep;
use mmdiff_core::text;
use mmdiff_core::{Config, Model, Op, Outcome, State};
use mmdiff_oracle::Oracle;
use mmdiff_subject::Subject;
use mmdiff_triage::state_machine::{OracleMachine, Reference, MAX_OPS};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use proptest_state_machine::{prop_state_machine, StateMachineTest};

/// Cases unless `MMDIFF_PROPTEST_CASES` says otherwise.
const DEFAULT_CASES: u32 = 32;
/// The seed unless `PROPTEST_RNG_SEED` gives one.
const DEFAULT_SEED: u64 = 0x6d6d_6469_6666;

fn config() -> Config {
    Config::default()
}

fn proptest_config() -> ProptestConfig {
    let defaults = ProptestConfig::default();
    let cases = std::env::var("MMDIFF_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(DEFAULT_CASES);
    let rng_seed = match std::env::var_os("PROPTEST_RNG_SEED") {
        Some(_) => defaults.rng_seed,
        None => RngSeed::Fixed(DEFAULT_SEED),
    };
    ProptestConfig {
        cases,
        rng_seed,
        ..defaults
    }
}

/// The canonical state of a model and its raw outcome renamed to match.
fn canonical(m: &impl Model, raw: Option<&Outcome>) -> (State, Option<Outcome>) {
    let (state, renames) = canon::canonicalize(&m.raw_state());
    (state, raw.map(|o| o.renamed(&renames)))
}

/// Fails the case unless both models agree and both states are sound.
fn compare(
    op: Option<&Op>,
    oracle: &Oracle,
    last: Option<&Outcome>,
    sut: &Subject,
    raw: Option<&Outcome>,
) {
    let at = op.map_or_else(
        || "before the first op".to_string(),
        |op| format!("`{}`", text::op_to_string(op)),
    );
    let (a, oa) = canonical(oracle, last);
    let (b, ob) = canonical(sut, raw);
    if oa != ob {
        let show = |o: &Option<Outcome>| o.as_ref().map_or("-".into(), text::outcome_to_string);
        panic!(
            "{at}: outcomes differ\n  oracle   {}\n  subject  {}",
            show(&oa),
            show(&ob)
        );
    }
    for (name, state) in [("oracle", &a), ("subject", &b)] {
        let broken = invariants::check(state);
        assert!(
            broken.is_empty(),
            "{at}: {name} broke invariants: {broken:?}"
        );
    }
    // The digests lockstep's fast path compares: the oracle computes its
    // own from its world, the subject keeps its up to date as it changes;
    // both must equal the definition on the exported state.
    assert_eq!(
        oracle.digest(),
        digest::of_state(&oracle.raw_state()),
        "{at}: the oracle's digest disagrees with digest::of_state"
    );
    assert_eq!(
        sut.digest(),
        digest::of_state(&sut.raw_state()),
        "{at}: the subject's incremental digest disagrees with digest::of_state"
    );
    if a != b {
        panic!(
            "{at}: states differ ({})\n{}",
            lockstep::state_path(&a, &b).unwrap_or_default(),
            lockstep::state_diff(&a, &b, ["oracle", "subject"])
        );
    }
}

struct SubjectTest;

impl StateMachineTest for SubjectTest {
    type SystemUnderTest = Subject;
    type Reference = OracleMachine;

    fn init_test(_: &Reference) -> Subject {
        Subject::new(&config())
    }

    fn apply(mut sut: Subject, reference: &Reference, op: Op) -> Subject {
        let raw = sut.apply(&op);
        compare(
            Some(&op),
            &reference.oracle,
            reference.last.as_ref(),
            &sut,
            Some(&raw),
        );
        sut
    }

    /// `apply` already compared everything after each op; this covers the
    /// initial states.
    fn check_invariants(sut: &Subject, reference: &Reference) {
        if reference.last.is_none() {
            compare(None, &reference.oracle, None, sut, None);
        }
    }
}

prop_state_machine! {
    #![proptest_config(proptest_config())]

    #[test]
    fn subject_follows_the_oracle(sequential 1..MAX_OPS => SubjectTest);
}
