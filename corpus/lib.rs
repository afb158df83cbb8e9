//! The scenario corpus lives next to this file; `tests/replay.rs` replays it.
