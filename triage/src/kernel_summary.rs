//! What a kernel campaign ([`crate::kernel_fuzz`]) reports: the counts of
//! every input, the distinct disagreements, the closing lines for people
//! and the `--json` object.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use mmdiff_core::op::OpKind;
use mmdiff_core::Op;
use mmdiff_kernel::{Explained, Report};
use serde_json::json;

/// What a worker reports per input.
pub struct Exec {
    pub worker: usize,
    /// The input's index among the worker's inputs.
    pub exec: u64,
    pub ops: Vec<Op>,
    /// Draws the kernel engine could not compare, by kind.
    pub rejected: BTreeMap<OpKind, u64>,
    /// The comparison, or the engine's failure.
    pub result: Result<Report, String>,
    /// Since the campaign started.
    pub after: Duration,
}

/// A distinct disagreement the campaign found.
#[derive(Clone, Debug, PartialEq)]
pub struct KernelFound {
    pub signature: String,
    /// The first line of the divergence's report.
    pub failure: String,
    pub worker: usize,
    pub exec: u64,
    pub seconds: f64,
    /// The raw scenario (with its `.bin`), if writing worked.
    pub raw: Option<PathBuf>,
    /// The minimized scenario and its op count, or why there is none.
    pub minimized: Result<(PathBuf, usize), String>,
}

/// What a kernel campaign did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KernelSummary {
    /// `kernel` (this machine's) or `qemu` (a guest's).
    pub engine: &'static str,
    pub kernel: String,
    pub seed: u64,
    pub jobs: usize,
    pub execs: u64,
    /// Ops run on both sides.
    pub ops: u64,
    /// Ops generated (more than run when a sequence disagrees early).
    pub ops_generated: u64,
    pub seconds: f64,
    pub observations: u64,
    /// Ops of generated sequences not run, by kind (always zero unless
    /// the generator and [`subset::support`] disagree).
    pub skipped: BTreeMap<OpKind, u64>,
    /// Generator draws the kernel engine cannot compare, by kind.
    pub rejected: BTreeMap<OpKind, u64>,
    pub explained: BTreeMap<Explained, u64>,
    pub found: Vec<KernelFound>,
    /// Executor failures and files not written.
    pub errors: Vec<String>,
    pub interrupted: bool,
}

pub fn rate(n: u64, secs: f64) -> u64 {
    if secs > 0.0 {
        (n as f64 / secs) as u64
    } else {
        0
    }
}

fn by_kind(m: &BTreeMap<OpKind, u64>) -> String {
    if m.is_empty() {
        return "none".into();
    }
    m.iter()
        .map(|(k, n)| format!("{}×{n}", k.keyword()))
        .collect::<Vec<_>>()
        .join(" ")
}

impl KernelSummary {
    /// Adds one input's counts.
    pub fn add(&mut self, e: &Exec) {
        self.execs += 1;
        self.ops_generated += e.ops.len() as u64;
        for (k, n) in &e.rejected {
            *self.rejected.entry(*k).or_insert(0) += n;
        }
        let r = match &e.result {
            Ok(r) => r,
            Err(err) => {
                self.errors
                    .push(format!("worker {} input #{}: {err}", e.worker, e.exec));
                return;
            }
        };
        self.ops += r.ops_run as u64;
        self.observations += r.observations;
        for (k, (n, _)) in &r.skipped {
            *self.skipped.entry(*k).or_insert(0) += *n as u64;
        }
        for (x, n) in &r.explained {
            *self.explained.entry(*x).or_insert(0) += n;
        }
    }

    /// The closing report, for people.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "{} fuzz ({}): {} execs, {} ops run of {} generated in {:.1}s ({} execs/s); {} page observations compared; {} disagreement signature{}{}",
            self.engine,
            self.kernel,
            self.execs,
            self.ops,
            self.ops_generated,
            self.seconds,
            rate(self.execs, self.seconds),
            self.observations,
            self.found.len(),
            if self.found.len() == 1 { "" } else { "s" },
            if self.interrupted { " (interrupted)" } else { "" },
        )];
        lines.push(format!("  skipped: {}", by_kind(&self.skipped)));
        lines.push(format!(
            "  rejected draws (not comparable on the kernel): {}",
            by_kind(&self.rejected)
        ));
        for (x, n) in &self.explained {
            lines.push(format!("  explained {}×{n}: {}", x.name(), x.reason()));
        }
        for f in &self.found {
            lines.push(format!("  {}", found_line(f)));
        }
        for e in &self.errors {
            lines.push(format!("  error: {e}"));
        }
        lines
    }

    /// The `--json` summary: one object.
    pub fn json(&self) -> String {
        let kinds = |m: &BTreeMap<OpKind, u64>| -> serde_json::Map<String, serde_json::Value> {
            m.iter()
                .map(|(k, n)| (k.keyword().to_string(), json!(n)))
                .collect()
        };
        let explained: serde_json::Map<String, serde_json::Value> = self
            .explained
            .iter()
            .map(|(x, n)| (x.name().to_string(), json!(n)))
            .collect();
        let found: Vec<serde_json::Value> = self
            .found
            .iter()
            .map(|f| {
                let (minimized, ops, why) = match &f.minimized {
                    Ok((p, n)) => (Some(p.display().to_string()), Some(*n), None),
                    Err(e) => (None, None, Some(e.clone())),
                };
                json!({
                    "signature": f.signature,
                    "failure": f.failure,
                    "seconds": f.seconds,
                    "worker": f.worker,
                    "exec": f.exec,
                    "raw": f.raw.as_ref().map(|p| p.display().to_string()),
                    "minimized": minimized,
                    "minimized_ops": ops,
                    "not_minimized": why,
                })
            })
            .collect();
        json!({
            "engine": self.engine,
            "kernel": self.kernel,
            "seed": self.seed,
            "jobs": self.jobs,
            "execs": self.execs,
            "ops": self.ops,
            "ops_generated": self.ops_generated,
            "seconds": self.seconds,
            "execs_per_second": rate(self.execs, self.seconds),
            "observations": self.observations,
            "skipped": kinds(&self.skipped),
            "rejected_draws": kinds(&self.rejected),
            "explained": explained,
            "disagreements": found,
            "errors": self.errors,
            "interrupted": self.interrupted,
        })
        .to_string()
    }
}

/// `signature -> minimized (raw)`, one line.
pub fn found_line(f: &KernelFound) -> String {
    let raw = f
        .raw
        .as_ref()
        .map_or("not saved".to_string(), |p| p.display().to_string());
    match &f.minimized {
        Ok((p, n)) => format!("{} -> {} ({n} ops; raw: {raw})", f.signature, p.display()),
        Err(why) => format!("{} -> {raw} (not minimized: {why})", f.signature),
    }
}
