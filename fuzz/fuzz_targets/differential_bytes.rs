//! libFuzzer target with libFuzzer's own byte mutations: the input is fuzz
//! bytes (`mmdiff_core::bytes`), run by `mmdiff_harness::run_bytes`; a
//! divergence panics with its explanation and scenario. The same check
//! as `differential`, which mutates ops instead of bytes.
//!
//! With `--features planted`, `MMDIFF_PLANTED=<fault>` plants a fault in
//! the subject.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mmdiff_fuzz::check_differential(data);
});
