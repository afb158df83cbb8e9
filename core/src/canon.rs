//! Canonicalization and rendering of states. (Being written.)

use crate::state::{Renames, State};

pub fn canonicalize(_raw: &State) -> (State, Renames) {
    unimplemented!("canon::canonicalize")
}

pub fn render(_state: &State) -> String {
    unimplemented!("canon::render")
}
