//! What a campaign shows: the live status (an indicatif spinner on a
//! terminal, a plain line every few seconds otherwise), the final report,
//! and the `--json` summary.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use mmdiff_core::coverage::StateCoverage;
use mmdiff_core::KernelVersion;
use serde_json::json;

use super::pairs;

/// How a new divergence ended up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Promotion {
    /// Minimized to `ops` ops and written to `path`.
    New { path: PathBuf, ops: usize },
    /// The corpus already records the signature, in `path`.
    Known(PathBuf),
    /// Not minimized or promoted: why.
    NotPromoted(String),
}

/// One distinct divergence the campaign found.
#[derive(Clone, Debug, PartialEq)]
pub struct Found {
    pub signature: String,
    /// `op #k `...`: reason`.
    pub description: String,
    pub worker: usize,
    /// The input's index among its worker's inputs.
    pub exec: u64,
    /// Seconds from the start of the campaign.
    pub seconds: f64,
    /// The raw scenario written (with its `.bin`), if writing worked.
    pub artifact: Option<PathBuf>,
    pub promotion: Promotion,
}

/// What a campaign did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    pub seed: u64,
    /// The models' profile (`--kernel`).
    pub kernel: KernelVersion,
    pub jobs: usize,
    pub execs: u64,
    pub ops: u64,
    pub seconds: f64,
    /// Distinct ordered op-kind pairs run.
    pub pairs: usize,
    /// The oracle's state transitions (the subject's are the same on every
    /// op where the digests agreed, which is every op but divergent ones).
    pub coverage: StateCoverage,
    /// Distinct divergences, in the order found.
    pub found: Vec<Found>,
    /// Problems writing artifacts or reading the corpus.
    pub problems: Vec<String>,
    /// Stopped by Ctrl-C.
    pub interrupted: bool,
}

fn rate(n: u64, secs: f64) -> u64 {
    if secs > 0.0 {
        (n as f64 / secs) as u64
    } else {
        0
    }
}

/// The campaign's first line: `seed: N`, and `; kernel: V` when the
/// profile is not the baseline, so that a log says how to reproduce it.
pub fn seed_line(seed: u64, kernel: KernelVersion) -> String {
    if kernel == KernelVersion::BASELINE {
        format!("seed: {seed}")
    } else {
        format!("seed: {seed}; kernel: {kernel}")
    }
}

/// The status line: throughput, reach and findings.
pub fn status(
    execs: u64,
    ops: u64,
    pairs: usize,
    transitions: usize,
    signatures: usize,
    elapsed: Duration,
) -> String {
    let secs = elapsed.as_secs_f64();
    format!(
        "[{:>5}s] execs {} ({}/s)  ops {} ({}/s)  op pairs {}/{}  transitions {}  signatures {}",
        elapsed.as_secs(),
        execs,
        rate(execs, secs),
        ops,
        rate(ops, secs),
        pairs,
        pairs::POSSIBLE,
        transitions,
        signatures
    )
}

/// The live display.
pub struct Display {
    bar: Option<ProgressBar>,
    /// Plain status lines (stderr is not a terminal), this often.
    plain_every: Option<Duration>,
    next_plain: Duration,
}

impl Display {
    /// `enabled`: show anything at all (`--quiet` turns it off).
    pub fn new(enabled: bool) -> Display {
        let terminal = std::io::stderr().is_terminal();
        let bar = (enabled && terminal).then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Display {
            bar,
            plain_every: (enabled && !terminal).then(|| Duration::from_secs(10)),
            next_plain: Duration::from_secs(10),
        }
    }

    pub fn update(&mut self, err: &mut dyn Write, line: String, elapsed: Duration) {
        if let Some(bar) = &self.bar {
            bar.set_message(line);
        } else if let Some(every) = self.plain_every {
            if elapsed >= self.next_plain {
                let _ = writeln!(err, "{line}");
                self.next_plain = elapsed + every;
            }
        }
    }

    /// Prints `text` (a whole line) without tearing the live status.
    pub fn println(&self, out: &mut dyn Write, text: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| {
                let _ = writeln!(out, "{text}");
                let _ = out.flush();
            }),
            None => {
                let _ = writeln!(out, "{text}");
                let _ = out.flush();
            }
        }
    }

    /// Removes the spinner (the report that follows says it all), or
    /// prints the last plain status line.
    pub fn finish(&mut self, err: &mut dyn Write, line: String) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        } else if self.plain_every.is_some() {
            let _ = writeln!(err, "{line}");
        }
    }
}

/// The closing report, for people.
pub fn report(out: &mut dyn Write, s: &Summary) {
    let _ = writeln!(
        out,
        "fuzz: {} execs, {} ops in {:.1}s ({} execs/s, {} ops/s, {} job{}); {} op-kind pairs, {} state transitions; {} divergence signature{}{}",
        s.execs,
        s.ops,
        s.seconds,
        rate(s.execs, s.seconds),
        rate(s.ops, s.seconds),
        s.jobs,
        if s.jobs == 1 { "" } else { "s" },
        s.pairs,
        s.coverage.len(),
        s.found.len(),
        if s.found.len() == 1 { "" } else { "s" },
        if s.interrupted { " (interrupted)" } else { "" },
    );
    for f in &s.found {
        let _ = writeln!(out, "  {}", found_line(f));
    }
    for p in &s.problems {
        let _ = writeln!(out, "  problem: {p}");
    }
}

/// `signature -> where it went`, one line.
pub fn found_line(f: &Found) -> String {
    let raw = f
        .artifact
        .as_ref()
        .map_or("not saved".to_string(), |p| p.display().to_string());
    match &f.promotion {
        Promotion::New { path, ops } => format!(
            "{} -> {} ({ops} ops; raw: {raw})",
            f.signature,
            path.display()
        ),
        Promotion::Known(path) => {
            format!("{} (known: {}; raw: {raw})", f.signature, path.display())
        }
        Promotion::NotPromoted(why) => format!("{} -> {raw} ({why})", f.signature),
    }
}

/// The `--json` summary: one object.
pub fn json(s: &Summary) -> String {
    let signatures: Vec<serde_json::Value> = s
        .found
        .iter()
        .map(|f| {
            let (status, regression) = match &f.promotion {
                Promotion::New { path, .. } => ("new", Some(path.display().to_string())),
                Promotion::Known(path) => ("known", Some(path.display().to_string())),
                Promotion::NotPromoted(_) => ("not-promoted", None),
            };
            json!({
                "signature": f.signature,
                "failure": f.description,
                "seconds": f.seconds,
                "worker": f.worker,
                "exec": f.exec,
                "artifact": f.artifact.as_ref().map(|p| p.display().to_string()),
                "status": status,
                "regression": regression,
            })
        })
        .collect();
    let new_regressions: Vec<String> = s
        .found
        .iter()
        .filter_map(|f| match &f.promotion {
            Promotion::New { path, .. } => Some(path.display().to_string()),
            _ => None,
        })
        .collect();
    let transitions: serde_json::Map<String, serde_json::Value> = s
        .coverage
        .iter()
        .map(|(t, n)| (t.to_string(), json!(n)))
        .collect();
    let mut v = json!({
        "seed": s.seed,
        "jobs": s.jobs,
        "execs": s.execs,
        "ops": s.ops,
        "seconds": s.seconds,
        "execs_per_second": rate(s.execs, s.seconds),
        "op_kind_pairs": s.pairs,
        "signatures": signatures,
        "new_regressions": new_regressions,
        "state_coverage": {
            "model": "oracle",
            "note": "the subject's states matched the oracle's by digest after every op that did not diverge",
            "ops": s.coverage.ops(),
            "transitions": transitions,
        },
        "problems": s.problems,
        "interrupted": s.interrupted,
    });
    if s.kernel != KernelVersion::BASELINE {
        v["kernel"] = json!(s.kernel.to_string());
    }
    v.to_string()
}
