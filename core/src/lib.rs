//! mmdiff's shared crate: the op language, the scenario text format, the
//! byte decoder, the canonical state, its invariants, and the [`Model`]
//! trait that the oracle and the subject implement. Both models depend on
//! this crate and never on each other.

#![forbid(unsafe_code)]

pub mod bytes;
pub mod canon;
pub mod config;
pub mod coverage;
pub mod digest;
pub mod expect;
pub mod ids;
pub mod invariants;
pub mod lockstep;
pub mod model;
pub mod mutate;
pub mod op;
pub mod outcome;
pub mod rng;
pub mod run;
pub mod runs;
pub mod state;
#[cfg(any(test, feature = "strategies"))]
pub mod strategies;
pub mod text;

pub use config::{Config, KernelVersion};
pub use model::Model;
pub use op::Op;
pub use outcome::{Errno, Outcome, Payload, Signal};
pub use state::State;

/// `GUP_PIN_COUNTING_BIAS` (include/linux/mm.h): what one FOLL_PIN adds to a
/// small folio's refcount.
pub const GUP_PIN_COUNTING_BIAS: i64 = 1024;
