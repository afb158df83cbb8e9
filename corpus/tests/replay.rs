//! Replays the scenario corpus: one test per `*.mms` file below `corpus/`
//! (`conformance/`, `regressions/`, any other directory), named by its path
//! relative to `corpus/`. Each test runs its file twice: on the oracle
//! alone (expectations and invariants, every failure counted) and on the
//! oracle and the subject in lockstep (`Check::Full`: outcomes, canonical
//! states and invariants compared after every op). A failing test's
//! message is what `mmdiff replay --model oracle corpus/` and `mmdiff
//! replay corpus/` print for the file when run from the repository root.
//!
//!     cargo test -p mmdiff-corpus --test replay                 # all
//!     cargo test -p mmdiff-corpus --test replay -- regressions/ # a subset

use std::path::{Path, PathBuf};

use libtest_mimic::{Arguments, Failed, Trial};
use mmdiff_triage::files::{self, Found};
use mmdiff_triage::replay::{self, Models, Verdict};

fn main() {
    let args = Arguments::from_args();
    let root = PathBuf::from(mmdiff_corpus::DIR);
    let trials = files::collect(std::slice::from_ref(&root), files::is_scenario)
        .into_iter()
        .map(|found| trial(&root, found))
        .collect();
    libtest_mimic::run(&args, trials).exit();
}

fn trial(root: &Path, found: Found) -> Trial {
    match found {
        Found::File(path) => {
            let name = files::relative_name(&path, root);
            let display = format!("corpus/{name}");
            Trial::test(name, move || {
                let mut text = String::new();
                for models in [Models::Oracle, Models::Lockstep] {
                    let report = replay::replay_path_models(&path, &display, models);
                    let Verdict::Fail { message, details } = report.verdict else {
                        continue;
                    };
                    // An expectation the oracle misses fails both runs alike.
                    if text.lines().next() == Some(message.as_str()) {
                        continue;
                    }
                    if !text.is_empty() {
                        text.push('\n');
                    }
                    text.push_str(&message);
                    for d in details {
                        text.push_str("\n    ");
                        text.push_str(&d);
                    }
                }
                if text.is_empty() {
                    Ok(())
                } else {
                    Err(Failed::from(text))
                }
            })
        }
        Found::Error(path, e) => {
            let name = files::relative_name(&path, root);
            let message = format!("corpus/{name}: cannot read: {e}");
            Trial::test(name, move || Err(Failed::from(message)))
        }
    }
}
