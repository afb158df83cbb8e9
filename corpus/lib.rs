//! The scenario corpus: `conformance/` holds hand-written scenarios that
//! assert kernel behaviour, `regressions/` the minimized failures found by
//! fuzzing. `tests/replay.rs` replays every `*.mms` file below this
//! directory as one test.

/// The corpus directory (where this crate's manifest is).
pub const DIR: &str = env!("CARGO_MANIFEST_DIR");
