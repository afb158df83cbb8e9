//! The zoo's ground truth: one `corpus/zoo/<fault>.mms` per planted fault,
//! with the fault's name, the signature its shortest repro diverges with
//! and that repro's length; and, per fault, the corpus seeds an engine may
//! start from.

use std::path::{Path, PathBuf};

use mmdiff_core::lockstep::{run_lockstep, Check};
use mmdiff_core::text;
use mmdiff_core::{Config, Op};
use mmdiff_oracle::Oracle;
use mmdiff_subject::Subject;

use crate::files::{self, Found};
use crate::input;
use crate::planted;

/// One planted fault and its shortest known repros: the main one
/// (`<fault>.mms`) and one per other signature the fault shows through
/// (`<fault>.<what>.mms`, e.g. the same missing pin bias seen from IOMMU
/// pre-registration instead of GUP).
#[derive(Clone, Debug)]
pub struct Bug {
    /// The fault's name (`MMDIFF_PLANTED`).
    pub name: &'static str,
    /// The main repro's signature.
    pub signature: String,
    /// Ops of the main repro.
    pub known_minimum: usize,
    /// Every repro, the main one first.
    pub repros: Vec<Repro>,
}

/// A shortest known repro of a fault.
#[derive(Clone, Debug)]
pub struct Repro {
    pub signature: String,
    pub known_minimum: usize,
    pub path: PathBuf,
}

impl Bug {
    /// `signature` is one the fault is known to show, and `ops` at most one
    /// op over the shortest known repro with that signature.
    pub fn matches(&self, signature: &str, ops: usize) -> bool {
        self.repros
            .iter()
            .any(|r| r.signature == signature && ops <= r.known_minimum + 1)
    }

    /// The repro with `signature`, if the zoo has one.
    pub fn repro(&self, signature: &str) -> Option<&Repro> {
        self.repros.iter().find(|r| r.signature == signature)
    }
}

/// Loads every `*.mms` of `dir`, each naming its fault, signature and
/// known minimum in `#! planted:`, `#! signature:` and `#! known-minimum:`
/// headers, grouped by fault (sorted by the main repro's file name); an
/// error names the file and what is missing.
pub fn load(dir: &Path) -> Result<Vec<Bug>, String> {
    let mut bugs: Vec<Bug> = Vec::new();
    for found in files::collect(&[dir.to_path_buf()], files::is_scenario) {
        let path = match found {
            Found::File(p) => p,
            Found::Error(p, e) => return Err(format!("{}: {e}", p.display())),
        };
        let (name, repro) = load_repro(&path)?;
        let is_main = path.file_stem().is_some_and(|s| s == name);
        match bugs.iter_mut().find(|b| b.name == name) {
            Some(bug) if is_main => bug.repros.insert(0, repro),
            Some(bug) => bug.repros.push(repro),
            None => bugs.push(Bug {
                name,
                signature: String::new(),
                known_minimum: 0,
                repros: vec![repro],
            }),
        }
    }
    if bugs.is_empty() {
        return Err(format!("{}: no zoo repros (*.mms)", dir.display()));
    }
    for bug in &mut bugs {
        let main = &bug.repros[0];
        if main.path.file_stem().is_none_or(|s| s != bug.name) {
            return Err(format!(
                "{}: `{}` has no main repro `{}.mms`",
                dir.display(),
                bug.name,
                bug.name
            ));
        }
        bug.signature = main.signature.clone();
        bug.known_minimum = main.known_minimum;
    }
    bugs.sort_by_key(|b| b.name);
    Ok(bugs)
}

fn load_repro(path: &Path) -> Result<(&'static str, Repro), String> {
    let repro = input::load(path)?;
    let header = |key: &str| {
        repro
            .header(key)
            .ok_or_else(|| format!("{}: no `#! {key}:` header", repro.path))
    };
    let fault = header("planted")?;
    let name = planted::lookup(fault).ok_or_else(|| {
        format!(
            "{}: `#! planted: {fault}` names no planted fault of this build",
            repro.path
        )
    })?;
    let minimum = header("known-minimum")?;
    let known_minimum = minimum.parse().map_err(|_| {
        format!(
            "{}: `#! known-minimum: {minimum}`: expected a number of ops",
            repro.path
        )
    })?;
    Ok((
        name,
        Repro {
            signature: header("signature")?.to_string(),
            known_minimum,
            path: path.to_path_buf(),
        },
    ))
}

/// The scenarios of a seed corpus, as the engines start from them: their
/// ops on the default machine (what `mmdiff fuzz`'s pool and the byte
/// encoding keep), with the file each came from.
#[derive(Clone, Debug, Default)]
pub struct Seeds {
    pub scenarios: Vec<(String, Vec<Op>)>,
    /// Files that did not load, one message each.
    pub problems: Vec<String>,
}

/// Every scenario under `corpus` except the zoo's repros (files with a
/// `#! planted:` header: they are the answers).
pub fn seeds(corpus: &Path) -> Seeds {
    let mut seeds = Seeds::default();
    for found in files::collect(&[corpus.to_path_buf()], files::is_scenario) {
        let path = match found {
            Found::File(p) => p,
            Found::Error(p, e) => {
                seeds.problems.push(format!("{}: {e}", p.display()));
                continue;
            }
        };
        match input::load(&path) {
            Ok(i) if i.header("planted").is_some() => {}
            Ok(i) => {
                let name = files::relative_name(&path, corpus).replace('/', "__");
                seeds.scenarios.push((name, i.scenario.ops()));
            }
            Err(e) => seeds.problems.push(e),
        }
    }
    seeds
}

impl Seeds {
    /// The seeds that do not already diverge with `bug` active, and the
    /// names of those that do. A seed that diverges as it is measures the
    /// corpus, not the engine (and `cargo test` replays it anyway): a
    /// trial starts without them.
    pub fn without_repros_of(&self, bug: &Bug) -> (Seeds, Vec<String>) {
        let config = Config::default();
        let mut kept = Seeds::default();
        let mut repros = Vec::new();
        planted::with_active(Some(bug.name), || {
            for (name, ops) in &self.scenarios {
                let report = run_lockstep::<Oracle, Subject>(&config, ops, Check::Digest);
                if report.divergence.is_some() {
                    repros.push(name.clone());
                } else {
                    kept.scenarios.push((name.clone(), ops.clone()));
                }
            }
        });
        (kept, repros)
    }

    /// Writes the seeds into `dir` as scenario text (for `mmdiff fuzz
    /// --corpus`) or in the fuzz byte encoding (for libFuzzer); scenarios
    /// the byte encoding cannot express are left out of the latter.
    pub fn write(&self, dir: &Path, as_bytes: bool) -> Result<usize, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut written = 0;
        for (name, ops) in &self.scenarios {
            let (file, data) = if as_bytes {
                match mmdiff_core::bytes::encode(ops) {
                    Ok(b) => (format!("{name}.bin"), b),
                    Err(_) => continue,
                }
            } else {
                let text = text::print(&text::Scenario::from_ops(ops));
                (name.clone(), text.into_bytes())
            };
            let path = dir.join(file);
            files::write_atomic(&path, &data).map_err(|e| format!("{}: {e}", path.display()))?;
            written += 1;
        }
        Ok(written)
    }
}
