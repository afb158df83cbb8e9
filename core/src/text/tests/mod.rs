//! Tests of the scenario text format: round trips over generated ops,
//! outcomes and expectations; golden canonical forms; error positions;
//! robustness on arbitrary input.

mod errors;
mod golden;
mod hmm;
mod robustness;
mod round_trip;
mod strategies;
