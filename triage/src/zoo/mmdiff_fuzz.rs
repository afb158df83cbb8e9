//! The `mmdiff fuzz` engine: a campaign in this process, exactly the one
//! `mmdiff fuzz --jobs 1 --stop-on-divergence --no-promote` runs, with the
//! trial's seed and budget and the corpus seeds without the bug's repros.

use std::io;

use crate::fuzz::{self, Options};
use crate::input;

use super::engine::{Run, TrialSetup};

pub fn run(setup: &TrialSetup) -> Run {
    let opts = Options {
        time: Some(setup.budget),
        seed: setup.seed,
        out: setup.work.join("artifacts"),
        corpus: Some(setup.text_seeds.clone()),
        promote: false,
        progress: false,
        stop_on_divergence: true,
        jobs: 1,
        ..Options::default()
    };
    let summary = fuzz::campaign(&opts, &mut io::sink(), &mut io::sink());
    let Some(first) = summary.found.first() else {
        return match summary.problems.first() {
            // A corpus that did not load changes what the trial measures.
            Some(p) if summary.interrupted => Run::Failed(format!("interrupted; {p}")),
            Some(p) => Run::Failed(p.clone()),
            None if summary.interrupted => Run::Failed("interrupted".into()),
            None => Run::Missed,
        };
    };
    let Some(artifact) = &first.artifact else {
        return Run::Failed(format!(
            "found {} but could not write it: {}",
            first.signature,
            summary.problems.join("; ")
        ));
    };
    match input::load(artifact) {
        Ok(input) => Run::Found {
            seconds: first.seconds,
            input,
        },
        Err(e) => Run::Failed(e),
    }
}
