//! What the kernel engine reports: an op's outcome on the kernel, and
//! the executor's own failures (which are not outcomes: a scenario run
//! that hits one has not been compared).

use std::time::Duration;

use mmdiff_core::op::{OpKind, ProcId};
use mmdiff_core::outcome::Outcome;

/// What the kernel did with one op.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum KernelOutcome {
    /// The op ran; its result in the models' form.
    Done(Outcome),
    /// The op ran and failed with an errno the op language has no name
    /// for.
    UnknownErrno(i32),
    /// The op ran and failed, and the kernel's interface does not say
    /// why: gup_test's one-shot requests answer "no page taken" and drop
    /// the errno of the `get_user_pages*` / `pin_user_pages*` call. It
    /// agrees with any error of the models ([`crate::compare::agrees`]).
    ErrnoUnreported,
    /// The op is not expressible on this kernel and did not run.
    Skipped {
        kind: OpKind,
        reason: std::borrow::Cow<'static, str>,
    },
}

/// The executor failed (as opposed to the op failing).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ExecError {
    /// The kernel engine cannot run on this machine.
    Unsupported(String),
    /// Setting up files, directories or processes failed.
    Setup(String),
    /// A scenario process died, hung or answered nonsense.
    Process { proc: ProcId, error: String },
    /// Reading the kernel's state failed.
    Observe(String),
    /// The guest kernel could not be reached, or answered nonsense.
    Guest(String),
}

impl std::fmt::Display for ExecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExecError::Unsupported(e) => write!(f, "kernel engine unsupported: {e}"),
            ExecError::Setup(e) => write!(f, "setup failed: {e}"),
            ExecError::Process { proc, error } => write!(f, "scenario process {proc}: {error}"),
            ExecError::Observe(e) => write!(f, "observing the kernel failed: {e}"),
            ExecError::Guest(e) => write!(f, "guest: {e}"),
        }
    }
}

impl std::error::Error for ExecError {}

/// How long a scenario process may take to answer one command.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(20);
