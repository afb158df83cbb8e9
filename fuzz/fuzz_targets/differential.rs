//! libFuzzer target, structure-aware: the input is fuzz bytes
//! (`mmdiff_core::bytes`), and libFuzzer's byte mutations are replaced by
//! op-level ones (`mmdiff_core::mutate`: insert, delete, duplicate, swap,
//! tweak an argument, splice) and an op-boundary crossover, so that a
//! mutation changes one op instead of every op after a flipped byte. One
//! mutation in `BYTE_MUTATION_ONE_IN` is still libFuzzer's own, for its
//! comparison-guided values. The check is `mmdiff_harness::run_bytes`; a
//! divergence panics with its explanation and scenario.
//!
//! With `--features planted`, `MMDIFF_PLANTED=<fault>` plants a fault in
//! the subject.
#![no_main]

use libfuzzer_sys::{fuzz_crossover, fuzz_mutator, fuzz_target, fuzzer_mutate};

fuzz_target!(|data: &[u8]| {
    mmdiff_fuzz::check_differential(data);
});

fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    mmdiff_fuzz::structured_mutate(data, size, max_size, seed, fuzzer_mutate)
});

fuzz_crossover!(|data1: &[u8], data2: &[u8], out: &mut [u8], seed: u32| {
    mmdiff_fuzz::structured_crossover(data1, data2, out, seed)
});
