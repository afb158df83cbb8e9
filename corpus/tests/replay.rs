//! Replays the scenario corpus: one test per `*.mms` file below `corpus/`
//! (`conformance/`, `regressions/`, any other directory), named by its path
//! relative to `corpus/`. A failing test's message is the line `mmdiff
//! replay corpus/` prints for the file when run from the repository root.
//!
//!     cargo test -p mmdiff-corpus --test replay                 # all
//!     cargo test -p mmdiff-corpus --test replay -- regressions/ # a subset

use std::path::{Path, PathBuf};

use libtest_mimic::{Arguments, Failed, Trial};
use mmdiff_triage::files::{self, Found};
use mmdiff_triage::replay::{self, Verdict};

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
                let report = replay::replay_path_as(&path, &display);
                match report.verdict {
                    Verdict::Pass { .. } => Ok(()),
                    Verdict::Fail { message, details } => {
                        let mut text = message;
                        for d in details {
                            text.push_str("\n    ");
                            text.push_str(&d);
                        }
                        Err(Failed::from(text))
                    }
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
