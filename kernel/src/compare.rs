//! The oracle and the real kernel side by side.
//!
//! [`compare`] runs the expressible ops of a sequence on a fresh oracle
//! (configured from the environment, [`Environment::oracle_config`]) and on
//! a fresh [`Executor`], and after every op compares the outcomes and the
//! two [`View`]s: the oracle's canonical state projected onto what user
//! space can observe, and what the kernel shows. The first op where they
//! differ is the [`KernelDivergence`], with both views and a unified diff
//! of their renderings, as [`mmdiff_core::lockstep`] reports divergences
//! between two models.
//!
//! Ops outside the subset are never run silently wrong: they are skipped
//! on *both* sides (so the oracle answers the question the kernel was
//! asked) and counted per kind, or, with [`Unexpressible::Stop`], the
//! comparison ends before the first of them.
//!
//! Known differences that are not model bugs ([`Explained`]: pagemap's
//! exclusive bit of PMD mappings on Linux 6.15+, fault-around, khugepaged,
//! anonymous VMAs the kernel does not merge, large page-cache folios,
//! observations taken mid-change)
//! are taken out, by rewriting the views the way the kernel shows them or
//! by letting the oracle collapse what khugepaged collapsed, and every
//! page observation (or block) concerned is counted
//! ([`Report::explained`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use mmdiff_core::op::{Advice, Op, OpKind, PageRange, SlotId, PMD_PAGES};
use mmdiff_core::outcome::{Outcome, Payload};
use mmdiff_core::run::Runner;
use mmdiff_core::text::{op_to_string, outcome_to_string};
use mmdiff_core::Config;
use mmdiff_oracle::Oracle;

use crate::env::Environment;
use crate::exec::{ExecError, KernelOutcome};
use crate::explained::{self, coalesce_anon_vmas, Accessed, Explained};
use crate::machine::{HostKernel, Kernel, Machine};
use crate::project::project;
use crate::subset;
use crate::view::View;

/// What to do with an op the kernel engine cannot run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Unexpressible {
    /// Leave it out on both sides and go on (the sequence compared is the
    /// expressible subsequence).
    #[default]
    Skip,
    /// Compare only the ops before the first one that is not expressible.
    Stop,
}

/// Options of a comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    pub unexpressible: Unexpressible,
    /// How long one op may take in a scenario process.
    pub deadline: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            unexpressible: Unexpressible::Skip,
            deadline: crate::exec::DEFAULT_DEADLINE,
        }
    }
}

/// What differed first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DivergenceKind {
    /// The outcomes differ.
    Outcome,
    /// The outcomes agree, the observable states differ.
    State,
}

/// The first op after which the oracle and the kernel disagree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelDivergence {
    /// Index of the op in the input sequence; `None` when the two differ
    /// before the first op.
    pub index: Option<usize>,
    pub op: Option<Op>,
    pub kind: DivergenceKind,
    pub oracle_outcome: Option<Outcome>,
    pub kernel_outcome: Option<KernelOutcome>,
    pub oracle_view: View,
    pub kernel_view: View,
    /// Unified diff of the rendered views, oracle as old, kernel as new.
    pub diff: String,
}

/// The result of one comparison.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// The oracle's config (the scenario's sizes, the machine's memory
    /// and swap).
    pub config: Config,
    pub ops_total: usize,
    /// Ops run on both sides (up to and including a divergent one).
    pub ops_run: usize,
    /// Ops not expressible on this kernel, by kind, with the reason.
    pub skipped: BTreeMap<OpKind, (usize, &'static str)>,
    /// With [`Unexpressible::Stop`]: the index of the op the comparison
    /// stopped before.
    pub stopped_before: Option<usize>,
    /// The op after which the comparison ended because of a known
    /// difference whose consequences the views cannot follow
    /// ([`Explained::ends_comparison`]).
    pub ended: Option<(usize, Explained)>,
    /// Page observations compared (mapped pages of every process, summed
    /// over every comparison).
    pub observations: u64,
    /// Page observations a known difference changed, by difference
    /// (summed over every comparison, like `observations`).
    pub explained: explained::Counts,
    pub divergence: Option<Box<KernelDivergence>>,
}

impl Report {
    /// Whether the oracle and the kernel agreed on everything compared.
    pub fn agrees(&self) -> bool {
        self.divergence.is_none()
    }

    /// Whether every op of the input was run.
    pub fn complete(&self) -> bool {
        self.skipped.is_empty() && self.stopped_before.is_none() && self.ended.is_none()
    }

    /// `gup×2 reclaim×1`: the skipped op kinds.
    pub fn skipped_summary(&self) -> String {
        self.skipped
            .iter()
            .map(|(k, (n, _))| format!("{}×{n}", k.keyword()))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// `pmd-exclusive×3 fault-around×1`: the known differences met.
    pub fn explained_summary(&self) -> String {
        self.explained
            .iter()
            .map(|(e, n)| format!("{}×{n}", e.name()))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// A readable report: counts, skips, known differences, and the
    /// divergence with both outcomes and the diff of the views.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{} of {} ops run, {} page observations compared",
            self.ops_run, self.ops_total, self.observations
        );
        for (k, (n, why)) in &self.skipped {
            let _ = writeln!(s, "skipped {}×{n}: {why}", k.keyword());
        }
        for (e, n) in &self.explained {
            let _ = writeln!(s, "explained {}×{n}: {}", e.name(), e.reason());
        }
        if let Some((i, e)) = self.ended {
            let _ = writeln!(s, "ended after op #{i}: {}", e.name());
        }
        if let Some(i) = self.stopped_before {
            let _ = writeln!(s, "stopped before op #{i} (not expressible)");
        }
        match &self.divergence {
            None => {
                let _ = writeln!(s, "oracle and kernel agree");
            }
            Some(d) => s.push_str(&d.render()),
        }
        s
    }
}

impl KernelDivergence {
    /// `<op>/kernel-outcome` or `<op>/kernel-state:<field>`
    /// ([`crate::view::first_difference`]): the same kind of disagreement
    /// gives the same signature, for deduplicating fuzzing findings.
    pub fn signature(&self) -> String {
        let op = self.op.as_ref().map_or("new", |o| o.kind().keyword());
        match self.kind {
            DivergenceKind::Outcome => format!("{op}/kernel-outcome"),
            DivergenceKind::State => format!(
                "{op}/kernel-state:{}",
                crate::view::first_difference(&self.oracle_view, &self.kernel_view)
                    .unwrap_or("state")
            ),
        }
    }

    pub fn render(&self) -> String {
        let mut s = String::new();
        let what = match self.kind {
            DivergenceKind::Outcome => "outcomes differ",
            DivergenceKind::State => "observable states differ",
        };
        match (&self.index, &self.op) {
            (Some(i), Some(op)) => {
                let _ = writeln!(s, "op #{i} `{}`: {what}", op_to_string(op));
            }
            _ => {
                let _ = writeln!(s, "before the first op: {what}");
            }
        }
        let _ = writeln!(s, "  signature: {}", self.signature());
        if let Some(o) = &self.oracle_outcome {
            let _ = writeln!(s, "  oracle: {}", outcome_to_string(o));
        }
        if let Some(k) = &self.kernel_outcome {
            let _ = writeln!(s, "  kernel: {}", kernel_outcome_text(k));
        }
        for line in self.diff.lines() {
            let _ = writeln!(s, "  {line}");
        }
        s
    }
}

/// `ok data=...`, `EFAULT`, `errno 75`, `failed (errno not reported)`,
/// `skipped: why`.
pub fn kernel_outcome_text(k: &KernelOutcome) -> String {
    match k {
        KernelOutcome::Done(o) => outcome_to_string(o),
        KernelOutcome::UnknownErrno(e) => format!("errno {e}"),
        KernelOutcome::ErrnoUnreported => {
            "failed (errno not reported by the interface; any error agrees)".into()
        }
        KernelOutcome::Skipped { reason, .. } => format!("skipped: {reason}"),
    }
}

/// Whether the kernel's outcome of an op agrees with the oracle's: the
/// same outcome, or a failure whose errno the kernel's interface did not
/// report against any error.
pub fn agrees(oracle: &Outcome, kernel: &KernelOutcome) -> bool {
    match kernel {
        KernelOutcome::Done(k) => k == oracle,
        KernelOutcome::ErrnoUnreported => matches!(oracle, Outcome::Err(_)),
        KernelOutcome::UnknownErrno(_) | KernelOutcome::Skipped { .. } => false,
    }
}

/// [`compare`] on a freshly probed environment with default options.
pub fn compare_with_oracle(config: &Config, ops: &[Op]) -> Result<Report, ExecError> {
    compare(&crate::env::probe(), config, ops, &Options::default())
}

/// Runs `ops` on the oracle and on the kernel side by side; see the
/// module documentation. `Err` only when the executor itself failed.
pub fn compare(
    env: &Environment,
    config: &Config,
    ops: &[Op],
    options: &Options,
) -> Result<Report, ExecError> {
    let mut kernel = HostKernel { env: env.clone() };
    compare_on(&mut kernel, config, ops, options)
}

/// [`compare`] on any [`Kernel`]: the running one or a guest's.
pub fn compare_on(
    kernel: &mut dyn Kernel,
    config: &Config,
    ops: &[Op],
    options: &Options,
) -> Result<Report, ExecError> {
    let env = &kernel.env().clone();
    let oracle_config = env.oracle_config(config);
    let mut report = Report {
        config: oracle_config.clone(),
        ops_total: ops.len(),
        ops_run: 0,
        skipped: BTreeMap::new(),
        stopped_before: None,
        ended: None,
        observations: 0,
        explained: explained::Counts::new(),
        divergence: None,
    };
    // Invariants are the lockstep harness's business; here only the
    // canonical state is needed.
    let mut oracle = Runner::<Oracle>::with_invariants(&oracle_config, |_| Vec::new())
        .map_err(|f| ExecError::Setup(format!("oracle: {f}")))?;
    let mut kernel = kernel.start(&oracle_config, options.deadline)?;
    let kernel = kernel.as_mut();
    let views = Views {
        env,
        config: &oracle_config,
        pmd_first_page: explained::pmd_exclusive_from_first_page(&env.kernel_release),
        fault_around: env.fault_around(),
    };
    if !views.agree(None, 0, &mut oracle, kernel, &mut report)? {
        return Ok(report);
    }
    for (index, op) in ops.iter().enumerate() {
        let next = ops.get(index + 1);
        if let Err(reason) = subset::support_in(op, next, env, oracle.state(), &oracle_config) {
            report.skipped.entry(op.kind()).or_insert((0, reason)).0 += 1;
            if options.unexpressible == Unexpressible::Stop {
                report.stopped_before = Some(index);
                return Ok(report);
            }
            continue;
        }
        let oracle_outcome = oracle
            .step(op, None)
            .map_err(|f| ExecError::Setup(format!("oracle: {f}")))?
            .outcome;
        let kernel_outcome = kernel.apply(op)?;
        report.ops_run += 1;
        let step = Some((index, op, oracle_outcome, kernel_outcome));
        let before = report.explained.clone();
        if !views.agree(step, 0, &mut oracle, kernel, &mut report)? {
            return Ok(report);
        }
        let dontneed = match op {
            Op::Madvise {
                p,
                range,
                advice: Advice::DontNeed,
            } if env.pt_reclaim => oracle_config.abs_range(range).map(|(s, e)| (*p, s, e)),
            _ => None,
        };
        let emptied =
            explained::empty_table_kept(oracle.previous_state(), oracle.state(), dontneed);
        if emptied {
            note(&mut report, Explained::EmptyPageTable, 1);
        }
        let ends = report
            .explained
            .iter()
            .find(|(e, n)| e.ends_comparison() && before.get(e) != Some(n));
        if let Some((&e, _)) = ends {
            report.ended = Some((index, e));
            return Ok(report);
        }
    }
    Ok(report)
}

/// How often, and how long apart, an observation that caught a kernel
/// thread mid-change is repeated before it is compared as it is.
const SETTLE_TRIES: u32 = 20;
const SETTLE_WAIT: std::time::Duration = std::time::Duration::from_millis(10);

/// How many times khugepaged's collapses are followed within one step.
const KHUGEPAGED_ROUNDS: u32 = 4;

/// Pages only the kernel maps (fault-around), per process.
type KernelOnly = std::collections::BTreeSet<(mmdiff_core::op::ProcId, u64)>;

/// An op that ran on both sides: its index, the op, the two outcomes.
type Step<'a> = Option<(usize, &'a Op, Outcome, KernelOutcome)>;

/// How the two sides are observed and compared.
struct Views<'a> {
    env: &'a Environment,
    config: &'a mmdiff_core::Config,
    pmd_first_page: bool,
    fault_around: bool,
}

impl Views<'_> {
    /// The two views after `step` (none: before the first op), with the
    /// known differences taken out and counted.
    fn observe(
        &self,
        step: &Step,
        oracle: &Runner<Oracle>,
        kernel: &mut dyn Machine,
        report: &mut Report,
    ) -> Result<(View, View, KernelOnly), ExecError> {
        let mut kernel_view = kernel.observe()?;
        for _ in 0..SETTLE_TRIES {
            if !explained::unsettled(&kernel_view) {
                break;
            }
            note(report, Explained::Unsettled, 1);
            std::thread::sleep(SETTLE_WAIT);
            kernel_view = kernel.observe()?;
        }
        let mut oracle_view = project(oracle.state(), self.env.soft_dirty, self.config.kernel);
        let mut kernel_only = KernelOnly::new();
        report.observations += kernel_view.pages();
        let n = explained::split_page_cache_folios(&mut kernel_view);
        note(report, Explained::LargePageCache, n);
        if self.pmd_first_page {
            let n = explained::pmd_exclusive_as_pagemap(&mut oracle_view);
            note(report, Explained::PmdExclusiveFirstPage, n);
        }
        if self.fault_around {
            let touched = match step {
                Some((_, op, o, _)) => accessed(op, o, self.config),
                None => Accessed::new(),
            };
            let (stripped, n) = explained::strip_fault_around(&kernel_view, &oracle_view, &touched);
            note(report, Explained::FaultAround, n);
            kernel_only = explained::removed_pages(&kernel_view, &stripped);
            kernel_view = stripped;
        }
        let w = self.config.window_pages;
        coalesce_anon_vmas(&mut oracle_view, w);
        let n = coalesce_anon_vmas(&mut kernel_view, w);
        note(report, Explained::AnonVmaMerge, n);
        Ok((oracle_view, kernel_view, kernel_only))
    }

    /// Compares after `step`; records the divergence and returns false
    /// when the two differ. Blocks khugepaged collapsed are collapsed on
    /// the oracle too before the views are judged again (khugepaged may go
    /// on meanwhile: a few rounds).
    fn agree(
        &self,
        step: Step,
        rounds: u32,
        oracle: &mut Runner<Oracle>,
        kernel: &mut dyn Machine,
        report: &mut Report,
    ) -> Result<bool, ExecError> {
        let (oracle_view, kernel_view, kernel_only) =
            self.observe(&step, oracle, kernel, report)?;
        let outcome_differs = step.as_ref().is_some_and(|(_, op, o, k)| {
            let (k, n) =
                explained::snapshot_without_fault_around(op, o, k, &kernel_only, self.config);
            note(report, Explained::FaultAround, n);
            !agrees(o, &k)
        });
        if !outcome_differs && oracle_view == kernel_view {
            return Ok(true);
        }
        let collapsed = explained::khugepaged_collapses(&oracle_view, &kernel_view);
        if !outcome_differs && rounds < KHUGEPAGED_ROUNDS && !collapsed.is_empty() {
            for &(p, block) in &collapsed {
                let (slot, page) = self.config.window_of(block);
                let range = PageRange::new(SlotId(slot), page, page + PMD_PAGES);
                let collapse = Op::Madvise {
                    p,
                    range,
                    advice: Advice::Collapse,
                };
                oracle
                    .step(&collapse, None)
                    .map_err(|f| ExecError::Setup(format!("oracle: {f}")))?;
            }
            note(report, Explained::Khugepaged, collapsed.len() as u64);
            return self.agree(step, rounds + 1, oracle, kernel, report);
        }
        let diff = view_diff(&oracle_view, &kernel_view, self.config.window_pages);
        let (index, op, oracle_outcome, kernel_outcome) = match step {
            Some((i, op, o, k)) => (Some(i), Some(op.clone()), Some(o), Some(k)),
            None => (None, None, None, None),
        };
        report.divergence = Some(Box::new(KernelDivergence {
            index,
            op,
            kind: if outcome_differs {
                DivergenceKind::Outcome
            } else {
                DivergenceKind::State
            },
            oracle_outcome,
            kernel_outcome,
            oracle_view,
            kernel_view,
            diff,
        }));
        Ok(false)
    }
}

/// Counts `n` page observations (or blocks) changed by `e`.
fn note(report: &mut Report, e: Explained, n: u64) {
    if n > 0 {
        *report.explained.entry(e).or_insert(0) += n;
    }
}

/// The pages `op` faulted in itself, by its oracle `outcome`: a CPU
/// access up to the page that stopped it, a GUP up to the pages it took.
fn accessed(op: &Op, outcome: &Outcome, config: &mmdiff_core::Config) -> Accessed {
    let (p, range) = match op {
        Op::Read { p, range } | Op::Write { p, range, .. } | Op::Gup { p, range, .. } => {
            (*p, *range)
        }
        _ => return Accessed::new(),
    };
    let Some((start, end)) = config.abs_range(&range) else {
        return Accessed::new();
    };
    let reached = match outcome {
        Outcome::Signal { page, .. } => config.window_base(range.slot.0) + *page as u64,
        Outcome::Ok(Payload::Count(n)) if matches!(op, Op::Gup { .. }) => start + n,
        Outcome::Ok(_) => end,
        _ => start,
    };
    vec![(p, start, reached.clamp(start, end))]
}

/// The unified diff of two rendered views.
pub fn view_diff(oracle: &View, kernel: &View, window_pages: u32) -> String {
    let (a, b) = (oracle.render(window_pages), kernel.render(window_pages));
    similar::TextDiff::from_lines(&a, &b)
        .unified_diff()
        .context_radius(3)
        .header("oracle", "kernel")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use mmdiff_core::outcome::Errno;

    #[test]
    fn an_unreported_errno_agrees_with_any_error_only() {
        let unreported = KernelOutcome::ErrnoUnreported;
        assert!(agrees(&Outcome::Err(Errno::EFAULT), &unreported));
        assert!(agrees(&Outcome::Err(Errno::ENOMEM), &unreported));
        assert!(!agrees(&Outcome::count(0), &unreported));
        assert!(!agrees(&Outcome::count(2), &unreported));
        assert!(!agrees(&Outcome::OK, &unreported));
        assert!(!agrees(&Outcome::Blocked { page: 0 }, &unreported));
        let done = KernelOutcome::Done(Outcome::count(2));
        assert!(agrees(&Outcome::count(2), &done));
        assert!(!agrees(&Outcome::count(1), &done));
        let efault = KernelOutcome::Done(Outcome::Err(Errno::EFAULT));
        assert!(agrees(&Outcome::Err(Errno::EFAULT), &efault));
        assert!(!agrees(&Outcome::Err(Errno::EINVAL), &efault));
        assert!(!agrees(
            &Outcome::Err(Errno::EFAULT),
            &KernelOutcome::UnknownErrno(75)
        ));
        assert_eq!(
            kernel_outcome_text(&unreported),
            "failed (errno not reported by the interface; any error agrees)"
        );
    }
}
