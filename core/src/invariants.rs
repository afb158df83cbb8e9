//! Invariants of the canonical state. (Being written.)

use crate::state::State;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub invariant: &'static str,
    pub detail: String,
}

pub fn check(_state: &State) -> Vec<Violation> {
    Vec::new()
}
