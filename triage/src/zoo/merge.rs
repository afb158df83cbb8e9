//! `mmdiff zoo --merge <zoo.json>...`: the trials of earlier runs (say, one
//! engine per core of a machine, or one per night) in one report, scored
//! against the zoo as it is now: a repro added since a run counts for its
//! finds.

use std::path::Path;

use serde_json::Value;

use super::bugs::Bug;
use super::engine::Engine;
use super::report::Trial;
use super::Results;

/// What the merged runs had in common, and their trials.
pub struct Merged {
    pub trials_per_cell: usize,
    pub budget_seconds: u64,
    pub first_seed: u64,
    pub results: Results,
}

fn field<'a>(v: &'a Value, key: &str, file: &Path) -> Result<&'a Value, String> {
    v.get(key)
        .ok_or_else(|| format!("{}: no `{key}` (not a zoo.json?)", file.display()))
}

fn number(v: &Value, key: &str, file: &Path) -> Result<u64, String> {
    field(v, key, file)?
        .as_u64()
        .ok_or_else(|| format!("{}: `{key}` is not a number", file.display()))
}

/// Reads every `zoo.json`; their budgets must agree (times censored at
/// different budgets do not compare).
pub fn merge(files: &[&Path], bugs: Vec<Bug>) -> Result<Merged, String> {
    let mut merged: Option<Merged> = None;
    for &file in files {
        let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let doc: Value = serde_json::from_str(&text)
            .map_err(|e| format!("{}: not JSON: {e}", file.display()))?;
        let budget = number(&doc, "budget_seconds", file)?;
        let m = merged.get_or_insert_with(|| Merged {
            trials_per_cell: 0,
            budget_seconds: budget,
            first_seed: 0,
            results: Results {
                bugs: bugs.clone(),
                trials: Vec::new(),
                skipped: Vec::new(),
                seed_count: 0,
                excluded_seeds: Vec::new(),
                interrupted: false,
            },
        });
        if budget != m.budget_seconds {
            return Err(format!(
                "{}: budget {budget} s, but an earlier file has {} s",
                file.display(),
                m.budget_seconds
            ));
        }
        m.trials_per_cell = m
            .trials_per_cell
            .max(number(&doc, "trials_per_cell", file)? as usize);
        m.first_seed = number(&doc, "first_seed", file)?;
        m.results.seed_count = number(&doc, "corpus_seeds", file)? as usize;
        let trials = field(&doc, "trials", file)?
            .as_array()
            .ok_or_else(|| format!("{}: `trials` is not a list", file.display()))?;
        for t in trials {
            m.results.trials.push(trial(t, &bugs, file)?);
        }
        for b in field(&doc, "bugs", file)?.as_array().into_iter().flatten() {
            let (Some(name), Some(seeds)) = (
                b.get("name").and_then(Value::as_str),
                b.get("excluded_seeds").and_then(Value::as_array),
            ) else {
                continue;
            };
            let Some(bug) = bugs.iter().find(|x| x.name == name) else {
                continue;
            };
            if !m.results.excluded_seeds.iter().any(|(n, _)| *n == bug.name) {
                let names = seeds.iter().filter_map(Value::as_str).map(String::from);
                m.results.excluded_seeds.push((bug.name, names.collect()));
            }
        }
    }
    let mut m = merged.ok_or("--merge: no zoo.json given")?;
    m.results
        .bugs
        .retain(|b| m.results.trials.iter().any(|t| t.bug == b.name));
    Ok(m)
}

fn trial(t: &Value, bugs: &[Bug], file: &Path) -> Result<Trial, String> {
    let text = |key: &str| t.get(key).and_then(Value::as_str);
    let name = text("bug").ok_or_else(|| format!("{}: a trial without `bug`", file.display()))?;
    let bug = bugs.iter().find(|b| b.name == name).ok_or_else(|| {
        format!(
            "{}: trial of `{name}`, which the zoo does not have",
            file.display()
        )
    })?;
    let engine = text("engine").and_then(Engine::from_key).ok_or_else(|| {
        format!(
            "{}: a trial of `{name}` without a known engine",
            file.display()
        )
    })?;
    let minimized = match (
        text("minimized_signature"),
        t.get("minimized_ops").and_then(Value::as_u64),
    ) {
        (Some(sig), Some(ops)) => Some((sig.to_string(), ops as usize)),
        _ => None,
    };
    Ok(Trial {
        bug: bug.name,
        engine,
        seed: t.get("seed").and_then(Value::as_u64).unwrap_or_default(),
        seconds: t.get("seconds").and_then(Value::as_f64),
        found_ops: t
            .get("found_ops")
            .and_then(Value::as_u64)
            .map(|n| n as usize),
        minimized,
        error: text("error").map(String::from),
    })
}
