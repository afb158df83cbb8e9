//! libFuzzer target for the scenario text format: any UTF-8 text must
//! parse or be refused without a panic, and what parses must print and
//! parse back to the same scenario (and print the same text again).
//! Non-UTF-8 inputs are rejected: scenario files are read as UTF-8 and
//! refused before the parser otherwise.
#![no_main]

use libfuzzer_sys::{fuzz_target, Corpus};

fuzz_target!(|data: &[u8]| -> Corpus {
    match std::str::from_utf8(data) {
        Ok(src) => {
            mmdiff_fuzz::check_scenario_text(src);
            Corpus::Keep
        }
        Err(_) => Corpus::Reject,
    }
});
