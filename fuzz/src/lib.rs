//! What the cargo-fuzz targets share: the differential check, the
//! structure-aware mutator and crossover over the byte format, and the
//! parser round-trip check. The targets themselves are a few lines each.

use mmdiff_core::bytes;
use mmdiff_core::mutate;
use mmdiff_core::rng::SplitMix64;
use mmdiff_core::text;

/// One time in this many the structure-aware mutator hands the input to
/// libFuzzer's own byte mutator instead: that one uses the comparison
/// operands it traced and the dictionary, which reach values (a page
/// count, a fill) that nudging arguments does not.
pub const BYTE_MUTATION_ONE_IN: u32 = 4;

/// Runs the input's ops on the oracle and the subject in lockstep and
/// panics on a divergence, printing the explanation and the scenario.
pub fn check_differential(data: &[u8]) {
    if let Err(failure) = mmdiff_harness::run_bytes(data) {
        panic!("{failure}");
    }
}

/// The body of `fuzz_mutator!`: decodes `data[..size]`, applies one
/// [`mutate::mutate`] seeded by `seed`, and writes the re-encoded ops back,
/// whole ops only, within `max_size` bytes. `byte_mutate` is libFuzzer's
/// own mutator (`libfuzzer_sys::fuzzer_mutate`), used one time in
/// [`BYTE_MUTATION_ONE_IN`].
pub fn structured_mutate(
    data: &mut [u8],
    size: usize,
    max_size: usize,
    seed: u32,
    byte_mutate: fn(&mut [u8], usize, usize) -> usize,
) -> usize {
    let size = size.min(data.len());
    let max_size = max_size.min(data.len());
    if BYTE_MUTATION_ONE_IN > 0 && seed.is_multiple_of(BYTE_MUTATION_ONE_IN) {
        return byte_mutate(data, size, max_size);
    }
    let mut rng = SplitMix64::new(u64::from(seed));
    let input = bytes::decode(&data[..size]);
    // The input is its own donor: a splice repeats one of its runs (other
    // inputs come in through the crossover).
    let mut ops = input.clone();
    mutate::mutate(&mut ops, &input, &mut rng, bytes::MAX_OPS);
    write_out(data, &mutate::encode_within(&ops, max_size))
}

/// The body of `fuzz_crossover!`: the first ops of one input followed by
/// the last ops of the other ([`mutate::crossover`]), within `out.len()`
/// bytes.
pub fn structured_crossover(data1: &[u8], data2: &[u8], out: &mut [u8], seed: u32) -> usize {
    let mut rng = SplitMix64::new(u64::from(seed));
    let ops = mutate::crossover(
        &bytes::decode(data1),
        &bytes::decode(data2),
        &mut rng,
        bytes::MAX_OPS,
    );
    let encoded = mutate::encode_within(&ops, out.len());
    write_out(out, &encoded)
}

fn write_out(buf: &mut [u8], encoded: &[u8]) -> usize {
    // encode_within kept the encoding within the buffer; min() guards it.
    let n = encoded.len().min(buf.len());
    buf[..n].copy_from_slice(&encoded[..n]);
    n
}

/// The parser's contract on any text: `parse` returns (no panic), and a
/// scenario it accepts prints to text that parses back to the same
/// scenario and prints the same again. Panics with the input otherwise.
pub fn check_scenario_text(src: &str) {
    let Ok(scenario) = text::parse(src) else {
        return;
    };
    let printed = text::print(&scenario);
    match text::parse(&printed) {
        Ok(again) if again == scenario => {
            let reprinted = text::print(&again);
            assert_eq!(
                reprinted, printed,
                "printing is not stable\ninput: {src:?}\nprinted: {printed:?}"
            );
        }
        Ok(again) => panic!(
            "print/parse changed the scenario\ninput: {src:?}\nprinted: {printed:?}\nfirst: {scenario:?}\nagain: {again:?}"
        ),
        Err(e) => panic!(
            "printed scenario does not parse: {e}\ninput: {src:?}\nprinted: {printed:?}"
        ),
    }
}
