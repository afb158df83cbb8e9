//! Trial records and what is reported from them: per bug and engine the
//! detections, the median time to detection (misses censored at the
//! budget), and whether the minimized finds have the bug's signature and
//! its known length; as a markdown table and a JSON document.

use std::fmt::Write as _;

use serde_json::json;

use super::bugs::Bug;
use super::engine::Engine;

/// One trial, after minimization of what it found.
#[derive(Clone, Debug, PartialEq)]
pub struct Trial {
    pub bug: &'static str,
    pub engine: Engine,
    pub seed: u64,
    /// Seconds to the first divergence; `None`: not within the budget.
    pub seconds: Option<f64>,
    /// Ops of the input the engine reported.
    pub found_ops: Option<usize>,
    /// The minimized find: its signature and length.
    pub minimized: Option<(String, usize)>,
    /// What went wrong, when the engine or the minimizer failed.
    pub error: Option<String>,
}

impl Trial {
    pub fn detected(&self) -> bool {
        self.seconds.is_some()
    }

    /// The minimized find has one of the bug's signatures and is at most
    /// one op longer than the shortest known repro with that signature.
    pub fn matches(&self, bug: &Bug) -> bool {
        self.minimized
            .as_ref()
            .is_some_and(|(sig, ops)| bug.matches(sig, *ops))
    }
}

/// An engine on one bug over its trials.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    pub trials: usize,
    pub detected: usize,
    /// The median time to detection with misses as +infinity; `None` when
    /// half or more of the trials missed (the median is past the budget).
    pub median: Option<f64>,
    /// Detections whose minimized find has the bug's signature and length.
    pub matching: usize,
    /// Lengths of the minimized finds, sorted.
    pub lengths: Vec<usize>,
    /// Signatures of minimized finds the zoo has no repro for, sorted,
    /// without repeats.
    pub other_signatures: Vec<String>,
}

pub fn cell(bug: &Bug, engine: Engine, trials: &[Trial]) -> Cell {
    let mine: Vec<&Trial> = trials
        .iter()
        .filter(|t| t.bug == bug.name && t.engine == engine)
        .collect();
    let mut times: Vec<f64> = mine
        .iter()
        .map(|t| t.seconds.unwrap_or(f64::INFINITY))
        .collect();
    times.sort_by(f64::total_cmp);
    let median = median(&times).filter(|m| m.is_finite());
    let mut lengths: Vec<usize> = mine
        .iter()
        .filter_map(|t| t.minimized.as_ref().map(|m| m.1))
        .collect();
    lengths.sort_unstable();
    let mut other_signatures: Vec<String> = mine
        .iter()
        .filter_map(|t| t.minimized.as_ref().map(|m| m.0.clone()))
        .filter(|s| bug.repro(s).is_none())
        .collect();
    other_signatures.sort();
    other_signatures.dedup();
    Cell {
        trials: mine.len(),
        detected: mine.iter().filter(|t| t.detected()).count(),
        median,
        matching: mine.iter().filter(|t| t.matches(bug)).count(),
        lengths,
        other_signatures,
    }
}

/// The median of sorted `values` (the mean of the middle two for an even
/// count); `None` when empty.
fn median(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// What the run was: the header of both reports.
pub struct RunInfo<'a> {
    pub trials: usize,
    pub budget_seconds: u64,
    pub first_seed: u64,
    pub engines: &'a [Engine],
    /// Engines that could not run, and why.
    pub skipped: &'a [(Engine, String)],
    /// Corpus seeds in all.
    pub seed_count: usize,
    /// Per bug, the corpus seeds left out because they diverge as they are.
    pub excluded_seeds: &'a [(&'static str, Vec<String>)],
}

fn seconds(s: Option<f64>, budget: u64) -> String {
    match s {
        Some(s) if s < 10.0 => format!("{s:.2}"),
        Some(s) => format!("{s:.1}"),
        None => format!("> {budget}"),
    }
}

fn lengths(c: &Cell) -> String {
    match (c.lengths.first(), c.lengths.last()) {
        (Some(lo), Some(hi)) if lo == hi => lo.to_string(),
        (Some(lo), Some(hi)) => format!("{lo}-{hi}"),
        _ => "-".into(),
    }
}

/// The markdown report: a summary per engine, the time to detection and
/// the minimized finds (one row per bug, one column per engine), then
/// notes.
pub fn markdown(info: &RunInfo, bugs: &[Bug], trials: &[Trial]) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# mmdiff zoo\n\n{} trials per bug and engine (seeds {}..={}), {} s budget per trial, engines one at a time on one thread.\n",
        info.trials,
        info.first_seed,
        info.first_seed + info.trials.saturating_sub(1) as u64,
        info.budget_seconds
    );
    for (engine, why) in info.skipped {
        let _ = writeln!(md, "- {} skipped: {why}", engine.title());
    }
    for line in summary(info, bugs, trials) {
        let _ = writeln!(md, "- {line}");
    }
    let engines = |md: &mut String, head: &str| {
        let mut h = format!("| {head} |");
        let mut rule = "|---|---:|---:|".to_string();
        for e in info.engines {
            let _ = write!(h, " {} |", e.title());
            rule.push_str("---:|");
        }
        let _ = writeln!(md, "{h}\n{rule}");
    };
    let _ = writeln!(
        md,
        "\n## Time to detection\n\nMedian seconds to the first divergence (a miss counts as never), and trials that found the bug. *corpus* is how many of the {} corpus seeds diverge as they are with the bug on: engines start without them.\n",
        info.seed_count
    );
    engines(&mut md, "bug | corpus | min");
    for bug in bugs {
        let excluded = excluded_seeds(info, bug.name).len();
        let mut row = format!("| {} | {excluded} | {} |", bug.name, bug.known_minimum);
        for &e in info.engines {
            let c = cell(bug, e, trials);
            let _ = write!(
                row,
                " {} ({}/{}) |",
                seconds(c.median, info.budget_seconds),
                c.detected,
                c.trials
            );
        }
        let _ = writeln!(md, "{row}");
    }
    let _ = writeln!(
        md,
        "\n## Minimized finds\n\nFinds whose minimized scenario has one of the bug's signatures and is at most one op longer than its shortest known repro (*min*, ops), out of all finds; and the lengths of the minimized finds.\n"
    );
    engines(&mut md, "bug | repros | min");
    for bug in bugs {
        let mut row = format!(
            "| {} | {} | {} |",
            bug.name,
            bug.repros.len(),
            bug.known_minimum
        );
        for &e in info.engines {
            let c = cell(bug, e, trials);
            let _ = write!(row, " {}/{}, {} ops |", c.matching, c.detected, lengths(&c));
        }
        let _ = writeln!(md, "{row}");
    }
    let notes: Vec<String> = bugs
        .iter()
        .flat_map(|bug| {
            info.engines.iter().filter_map(move |&e| {
                let c = cell(bug, e, trials);
                (!c.other_signatures.is_empty()).then(|| {
                    format!(
                        "- {} / {}: minimized to a signature the zoo has no repro for: {}",
                        bug.name,
                        e.title(),
                        c.other_signatures.join(", ")
                    )
                })
            })
        })
        .chain(trials.iter().filter_map(|t| {
            t.error
                .as_ref()
                .map(|e| format!("- {} / {} seed {}: {e}", t.bug, t.engine.title(), t.seed))
        }))
        .collect();
    if !notes.is_empty() {
        let _ = writeln!(md, "\n## Notes\n\n{}", notes.join("\n"));
    }
    md
}

fn excluded_seeds<'a>(info: &'a RunInfo, bug: &str) -> &'a [String] {
    info.excluded_seeds
        .iter()
        .find(|(b, _)| *b == bug)
        .map_or(&[], |(_, names)| names.as_slice())
}

/// Headline numbers: per engine, how many bugs it found in at least 4 of
/// 5 trials (80%) and with a median under 30 s; then `mmdiff fuzz`
/// against each other engine, median against median.
pub fn summary(info: &RunInfo, bugs: &[Bug], trials: &[Trial]) -> Vec<String> {
    let mut lines = Vec::new();
    for &e in info.engines {
        let cells: Vec<Cell> = bugs.iter().map(|b| cell(b, e, trials)).collect();
        let reliable = cells
            .iter()
            .filter(|c| c.trials > 0 && c.detected * 5 >= c.trials * 4)
            .count();
        let fast = cells
            .iter()
            .filter(|c| c.median.is_some_and(|m| m < 30.0))
            .count();
        let finds: usize = cells.iter().map(|c| c.detected).sum();
        let matching: usize = cells.iter().map(|c| c.matching).sum();
        lines.push(format!(
            "{}: found in at least 80% of trials: {reliable}/{} bugs; median under 30 s: {fast}/{}; minimized finds with the bug's signature and length: {matching}/{finds}",
            e.title(),
            bugs.len(),
            bugs.len()
        ));
    }
    if info.engines.contains(&Engine::Fuzz) {
        for &other in info.engines.iter().filter(|&&e| e != Engine::Fuzz) {
            let mut as_fast = 0;
            let mut slower = Vec::new();
            for bug in bugs {
                let ours = cell(bug, Engine::Fuzz, trials)
                    .median
                    .unwrap_or(f64::INFINITY);
                let theirs = cell(bug, other, trials).median.unwrap_or(f64::INFINITY);
                if ours <= theirs {
                    as_fast += 1;
                } else {
                    slower.push(bug.name);
                }
            }
            let mut line = format!(
                "mmdiff fuzz at least as fast as {} (median) on {as_fast}/{} bugs",
                other.title(),
                bugs.len()
            );
            if !slower.is_empty() {
                let _ = write!(line, "; slower on {}", slower.join(", "));
            }
            lines.push(line);
        }
    }
    lines
}

/// The JSON report: the run, the bugs, every trial and every cell.
pub fn json(info: &RunInfo, bugs: &[Bug], trials: &[Trial]) -> String {
    let trial_values: Vec<serde_json::Value> = trials
        .iter()
        .map(|t| {
            json!({
                "bug": t.bug,
                "engine": t.engine.key(),
                "seed": t.seed,
                "detected": t.detected(),
                "seconds": t.seconds,
                "found_ops": t.found_ops,
                "minimized_signature": t.minimized.as_ref().map(|m| &m.0),
                "minimized_ops": t.minimized.as_ref().map(|m| m.1),
                "error": t.error,
            })
        })
        .collect();
    let bug_values: Vec<serde_json::Value> = bugs
        .iter()
        .map(|bug| {
            let engines: serde_json::Map<String, serde_json::Value> = info
                .engines
                .iter()
                .map(|&e| {
                    let c = cell(bug, e, trials);
                    let v = json!({
                        "trials": c.trials,
                        "detected": c.detected,
                        "median_seconds": c.median,
                        "matching": c.matching,
                        "minimized_ops": c.lengths,
                        "other_signatures": c.other_signatures,
                    });
                    (e.key().to_string(), v)
                })
                .collect();
            let excluded = excluded_seeds(info, bug.name);
            let repros: Vec<serde_json::Value> = bug
                .repros
                .iter()
                .map(|r| json!({"signature": r.signature, "known_minimum": r.known_minimum, "path": r.path.display().to_string()}))
                .collect();
            json!({
                "name": bug.name,
                "signature": bug.signature,
                "known_minimum": bug.known_minimum,
                "repros": repros,
                "excluded_seeds": excluded,
                "engines": engines,
            })
        })
        .collect();
    let skipped: Vec<serde_json::Value> = info
        .skipped
        .iter()
        .map(|(e, why)| json!({"engine": e.key(), "why": why}))
        .collect();
    let doc = json!({
        "trials_per_cell": info.trials,
        "budget_seconds": info.budget_seconds,
        "first_seed": info.first_seed,
        "corpus_seeds": info.seed_count,
        "engines": info.engines.iter().map(|e| e.key()).collect::<Vec<_>>(),
        "skipped": skipped,
        "bugs": bug_values,
        "trials": trial_values,
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}
