//! The interface every executable model implements.

use crate::config::Config;
use crate::digest::{self, Digest};
use crate::op::Op;
use crate::outcome::Outcome;
use crate::state::State;

/// An executable model of the mm state machine.
///
/// `apply` performs one op and returns its outcome with the model's raw
/// folio ids; `raw_state` exposes the whole state with raw ids.
/// [`crate::canon::canonicalize`] turns both into comparable form.
pub trait Model {
    /// A fresh machine: process `p0` exists with an empty address space.
    fn new(config: &Config) -> Self
    where
        Self: Sized;
    /// A short name for reports (`oracle`, `subject`).
    fn name(&self) -> &'static str;
    fn apply(&mut self, op: &Op) -> Outcome;
    fn raw_state(&self) -> State;
    /// The [`digest`] of the canonical state. The default exports the
    /// state; a model may keep the digest up to date instead, and must then
    /// agree with [`digest::of_state`] after every op.
    fn digest(&self) -> Digest {
        digest::of_state(&self.raw_state())
    }
}
