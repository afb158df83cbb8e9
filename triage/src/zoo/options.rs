//! `mmdiff zoo`'s command line.

use std::path::PathBuf;
use std::time::Duration;

use crate::args::{self, Opt, UsageError};

use super::engine::Engine;

#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    pub trials: usize,
    pub budget: Duration,
    pub first_seed: u64,
    pub engines: Vec<Engine>,
    /// Bugs to measure by name; `None`: every repro in `zoo`.
    pub bugs: Option<Vec<String>>,
    pub zoo: PathBuf,
    pub corpus: PathBuf,
    pub fuzz_dir: PathBuf,
    pub out: PathBuf,
    /// Exit 1 unless every trial found its bug with its signature.
    pub require_detection: bool,
    /// Earlier runs' `zoo.json` files to report together instead of running.
    pub merge: Vec<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            trials: 5,
            budget: Duration::from_secs(120),
            first_seed: 1,
            engines: Engine::ALL.to_vec(),
            bugs: None,
            zoo: PathBuf::from("corpus/zoo"),
            corpus: PathBuf::from("corpus"),
            fuzz_dir: PathBuf::from("fuzz"),
            out: PathBuf::from("target/zoo"),
            require_detection: false,
            merge: Vec::new(),
        }
    }
}

pub const USAGE: &str = "\
usage: mmdiff zoo [--trials N] [--budget SECS] [--seed N] [--engines LIST]
                  [--bugs LIST] [--zoo DIR] [--corpus DIR] [--fuzz-dir DIR]
                  [--out DIR] [--require-detection]
       mmdiff zoo --merge <zoo.json>... [--zoo DIR] [--out DIR]

The bug-finding benchmark: for every planted fault of the subject (one
repro per fault in corpus/zoo/, with the signature a find must have and
the length of the shortest known repro), every engine and N seeded
trials, the time to the first divergence (censored at the budget), and
whether the engine's find, minimized, has the fault's signature and is at
most one op longer than the known minimum. Engines run one at a time on
one thread, so their times compare; pin the whole run to a core with
`taskset -c 1` on a shared machine.

Needs the planted faults: cargo run --release --features planted -- zoo

engines (--engines, comma-separated; default all):
  fuzz        mmdiff fuzz --jobs 1 --stop-on-divergence, in this process
  cargo-fuzz  the libFuzzer target `differential` (-s none), built once with
              the faults into <fuzz-dir>/target/planted; skipped with a note
              when cargo-fuzz is not installed
  proptest    the proptest-state-machine suite's reference machine, run in
              batches of cases until the budget

Engines start from the scenarios of --corpus except the zoo's repros and
the scenarios that already diverge with the fault on (those are listed in
the report: replaying the corpus finds that fault without any engine).

options:
  --trials N           trials per bug and engine (default 5)
  --budget SECS        time budget per trial (default 120)
  --seed N             seed of the first trial; trial k uses N+k (default 1)
  --bugs LIST          only these faults (names as in corpus/zoo/)
  --zoo DIR            the repros (default corpus/zoo)
  --corpus DIR         the seeds (default corpus)
  --fuzz-dir DIR       the cargo-fuzz crate (default fuzz)
  --out DIR            results (default target/zoo): zoo.md, zoo.json,
                       zoo.svg (survival curves), trials/ (each trial's
                       artifacts and logs), seeds/
  --require-detection  exit 1 unless every trial found its fault with the
                       fault's signature (the CI tier)
  --merge              report the trials of earlier runs' zoo.json files
                       together (same budget), scored against the zoo's
                       repros as they are now; runs nothing";

const OPTS: &[Opt] = &[
    Opt {
        names: &["--trials"],
        takes_value: true,
    },
    Opt {
        names: &["--budget"],
        takes_value: true,
    },
    Opt {
        names: &["--seed"],
        takes_value: true,
    },
    Opt {
        names: &["--engines"],
        takes_value: true,
    },
    Opt {
        names: &["--bugs"],
        takes_value: true,
    },
    Opt {
        names: &["--zoo"],
        takes_value: true,
    },
    Opt {
        names: &["--corpus"],
        takes_value: true,
    },
    Opt {
        names: &["--fuzz-dir"],
        takes_value: true,
    },
    Opt {
        names: &["--out", "-o"],
        takes_value: true,
    },
    Opt {
        names: &["--require-detection"],
        takes_value: false,
    },
    Opt {
        names: &["--merge"],
        takes_value: false,
    },
];

fn list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

pub fn parse_options(argv: &[String]) -> Result<Options, UsageError> {
    let p = args::parse(argv, OPTS)?;
    let mut o = Options::default();
    if p.has("--merge") {
        if p.positional.is_empty() {
            return Err(UsageError("--merge: no zoo.json given".into()));
        }
        o.merge = p.positional.iter().map(PathBuf::from).collect();
    } else if let Some(extra) = p.positional.first() {
        return Err(UsageError(format!("unexpected argument `{extra}`")));
    }
    if let Some(n) = p.number("--trials")? {
        if n == 0 || n > 1000 {
            return Err(UsageError("--trials must be in 1..=1000".into()));
        }
        o.trials = n as usize;
    }
    if let Some(s) = p.number("--budget")? {
        if s == 0 {
            return Err(UsageError("--budget must be at least 1 second".into()));
        }
        o.budget = Duration::from_secs(s);
    }
    if let Some(s) = p.number("--seed")? {
        o.first_seed = s;
    }
    if let Some(v) = p.value("--engines") {
        let mut engines = Vec::new();
        for name in list(v) {
            let e = Engine::from_key(&name).ok_or_else(|| {
                UsageError(format!(
                    "--engines: unknown engine `{name}` (expected fuzz, cargo-fuzz or proptest)"
                ))
            })?;
            if !engines.contains(&e) {
                engines.push(e);
            }
        }
        if engines.is_empty() {
            return Err(UsageError("--engines: no engine given".into()));
        }
        engines.sort();
        o.engines = engines;
    }
    if let Some(v) = p.value("--bugs") {
        let bugs = list(v);
        if bugs.is_empty() {
            return Err(UsageError("--bugs: no fault given".into()));
        }
        o.bugs = Some(bugs);
    }
    for (name, field) in [
        ("--zoo", &mut o.zoo),
        ("--corpus", &mut o.corpus),
        ("--fuzz-dir", &mut o.fuzz_dir),
        ("--out", &mut o.out),
    ] {
        if let Some(v) = p.value(name) {
            *field = PathBuf::from(v);
        }
    }
    o.require_detection = p.has("--require-detection");
    Ok(o)
}
