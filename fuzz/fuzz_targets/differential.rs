//! libFuzzer target: decode the input bytes into ops
//! (`mmdiff_core::bytes::decode`), run oracle and subject in lockstep
//! (Digest mode) and panic on the first divergence, with its signature,
//! its explanation and the scenario text of the ops up to and including the
//! divergent one.
//!
//! With `--features planted`, the subject's planted fault is chosen by the
//! `MMDIFF_PLANTED` environment variable.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mmdiff_core::lockstep::{run_lockstep, Check};
use mmdiff_core::text::{print, Scenario};
use mmdiff_core::Config;
use mmdiff_oracle::Oracle;
use mmdiff_subject::Subject;

fuzz_target!(|data: &[u8]| {
    let ops = mmdiff_core::bytes::decode(data);
    let report = run_lockstep::<Oracle, Subject>(&Config::default(), &ops, Check::Digest);
    if let Some(d) = report.divergence {
        let end = if ops.is_empty() {
            0
        } else {
            d.index.min(ops.len() - 1) + 1
        };
        let scenario = print(&Scenario::from_ops(&ops[..end]));
        panic!(
            "mmdiff divergence: {}\n{}\n--- scenario ({} of {} ops) ---\n{}",
            d.signature,
            d.explain(),
            end,
            ops.len(),
            scenario
        );
    }
});
