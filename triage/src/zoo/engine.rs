//! The engines `mmdiff zoo` measures, and what one trial of one engine
//! reports before minimization.

use std::path::PathBuf;
use std::time::Duration;

use crate::input::Input;

use super::bugs::Bug;

/// A bug-finding engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Engine {
    /// `mmdiff fuzz` on one worker thread.
    Fuzz,
    /// The structure-aware libFuzzer target (`fuzz/`, `-s none`).
    CargoFuzz,
    /// The proptest-state-machine suite's generator and shrinker.
    Proptest,
}

impl Engine {
    pub const ALL: [Engine; 3] = [Engine::Fuzz, Engine::CargoFuzz, Engine::Proptest];

    /// The name on the command line and in the JSON.
    pub fn key(self) -> &'static str {
        match self {
            Engine::Fuzz => "fuzz",
            Engine::CargoFuzz => "cargo-fuzz",
            Engine::Proptest => "proptest",
        }
    }

    /// The name in tables and the plot.
    pub fn title(self) -> &'static str {
        match self {
            Engine::Fuzz => "mmdiff fuzz",
            Engine::CargoFuzz => "cargo fuzz",
            Engine::Proptest => "proptest-state-machine",
        }
    }

    pub fn from_key(key: &str) -> Option<Engine> {
        Engine::ALL.into_iter().find(|e| e.key() == key)
    }
}

/// Everything one trial needs: the bug (switched on by the caller), the
/// trial's seed and budget, the seeds the engine starts from and a
/// scratch directory of its own.
pub struct TrialSetup<'a> {
    pub bug: &'a Bug,
    pub seed: u64,
    pub budget: Duration,
    /// The corpus seeds as scenario text, without the bug's repros.
    pub text_seeds: PathBuf,
    /// The same seeds in the fuzz byte encoding.
    pub byte_seeds: PathBuf,
    /// Empty at the start of the trial; artifacts and logs go here.
    pub work: PathBuf,
}

/// What a trial ended with.
#[derive(Debug)]
pub enum Run {
    /// The first divergent input, found `seconds` after the start.
    Found { seconds: f64, input: Input },
    /// Nothing within the budget.
    Missed,
    /// The engine itself failed (not a divergence): why.
    Failed(String),
}
