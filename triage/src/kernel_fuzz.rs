//! `mmdiff fuzz --engine kernel|qemu`: a campaign of the oracle against
//! the running Linux kernel, or against a qemu guest's kernel (one guest
//! per worker, and one more to minimize each new disagreement).
//!
//! Each worker draws op sequences with the swarm generator
//! ([`crate::gen`]) restricted to the kernel-expressible op kinds
//! ([`subset::EXPRESSIBLE_KINDS`], intersected with `--allow`/`--deny`),
//! each op drawn from the oracle's state after the previous one; a drawn op
//! the kernel engine cannot compare ([`subset::support_in`]: a CMA mapping,
//! a pinning GUP, a collapse of shmem) is drawn again and counted as
//! rejected by kind. Every sequence
//! runs through [`compare_on`]. This thread adds up what the workers report
//! and handles each disagreement with a new signature: saved raw
//! (`<out>/kernel/kernel-<kind>-<hash>.mms` and `.bin`,
//! [`crate::kernel_artifact`]), minimized ([`crate::kernel_minimize`]),
//! saved minimized (`.min.mms`) with the kernel's view in comments, and
//! printed; the counts are in [`crate::kernel_summary`]. Nothing is promoted into the
//! corpus: what the kernel does differently is a question for a person
//! (a model bug, or a known difference to document).
//!
//! Inputs depend on the seed only (worker `k` draws from
//! [`worker_seed`]`(seed, k)`); what the kernel answers may not (memory
//! pressure, khugepaged), which is why a disagreement is confirmed by the
//! minimizer before it is trusted.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use mmdiff_core::op::OpKind;
use mmdiff_core::rng::SplitMix64;
use mmdiff_core::run::Runner;
use mmdiff_core::{Config, Op};
use mmdiff_kernel::{compare_on, subset, Environment, ExecError, Options as Compare, Report};
use mmdiff_oracle::Oracle;

use crate::fuzz::display::Display;
use crate::fuzz::options::Options;
use crate::fuzz::worker::{sequence_length, worker_seed};
use crate::fuzz::INTERRUPTED;
use crate::gen::Generator;
use crate::kernel_artifact::save;
use crate::kernel_summary::rate;
pub use crate::kernel_summary::{found_line, Exec, KernelFound, KernelSummary};
use crate::kernel_target::{Opened, Target};

/// Draws of one op before the position is left out.
const DRAWS: usize = 8;
/// How often the campaign thread looks at the clock.
const TICK: Duration = Duration::from_millis(100);

/// The op kinds a kernel campaign draws: `allowed` ∩ the expressible ones.
pub fn kernel_kinds(allowed: &[OpKind]) -> Vec<OpKind> {
    subset::EXPRESSIBLE_KINDS
        .iter()
        .copied()
        .filter(|k| allowed.contains(k))
        .collect()
}

/// One generated sequence: the ops, and the draws rejected because the
/// kernel cannot express their arguments.
pub struct Generated {
    pub ops: Vec<Op>,
    pub rejected: BTreeMap<OpKind, u64>,
}

/// Draws a sequence of at most `max_ops` expressible ops, each from the
/// oracle's state after the previous one.
pub fn generate(
    rng: &mut SplitMix64,
    kinds: &[OpKind],
    max_ops: usize,
    env: &Environment,
    config: &Config,
) -> Generated {
    let mut gen = Generator::new(rng, kinds);
    let len = sequence_length(rng, max_ops);
    let mut out = Generated {
        ops: Vec::with_capacity(len),
        rejected: BTreeMap::new(),
    };
    let Ok(mut oracle) = Runner::<Oracle>::with_invariants(config, |_| Vec::new()) else {
        return out;
    };
    'sequence: for _ in 0..len {
        let mut drawn = None;
        for _ in 0..DRAWS {
            let op = gen.next_op(rng, oracle.state());
            let state = oracle.state();
            if subset::support_in(&op, None, env, state, config).is_ok() {
                drawn = Some(vec![op]);
                break;
            }
            let release = released_at_once(&op);
            if let Some(release) =
                release.filter(|r| subset::support_in(&op, Some(r), env, state, config).is_ok())
            {
                drawn = Some(vec![op, release]);
                break;
            }
            *out.rejected.entry(op.kind()).or_insert(0) += 1;
        }
        for op in drawn.into_iter().flatten() {
            // A panicking oracle ends the sequence (lockstep campaigns are
            // where the oracle's own bugs are found).
            if oracle.step(&op, None).is_err() {
                break 'sequence;
            }
            out.ops.push(op);
        }
    }
    out
}

/// The `release` that makes a `gup` expressible as one call of the
/// kernel's GUP test interface, which takes and puts back the pages at
/// once ([`subset::support_in`]).
fn released_at_once(op: &Op) -> Option<Op> {
    match *op {
        Op::Gup { h, .. } => Some(Op::Release { h, dirty: false }),
        _ => None,
    }
}

/// What every part of a campaign reads.
struct Setup<'a> {
    opts: &'a Options,
    target: &'a Target,
    /// The kernel the campaign was set up with, for the first worker.
    first: Mutex<Option<Opened>>,
    env: &'a Environment,
    /// The oracle's config (the machine's memory and swap).
    config: Config,
    kinds: Vec<OpKind>,
    start: Instant,
}

/// Runs worker `k`'s inputs until `stop` or its share of `runs`.
fn work(k: usize, c: &Setup, runs: Option<u64>, stop: &AtomicBool, tx: &Sender<Exec>) {
    let (opts, env, config, kinds, start) = (c.opts, c.env, &c.config, &c.kinds, c.start);
    let mut rng = SplitMix64::new(worker_seed(opts.seed, k));
    let first = c.first.lock().ok().and_then(|mut f| f.take());
    let mut kernel = match first.map_or_else(|| c.target.open(), Ok) {
        Ok(kernel) => kernel,
        Err(e) => {
            let failed = Exec {
                worker: k,
                exec: 0,
                ops: Vec::new(),
                rejected: BTreeMap::new(),
                result: Err(e),
                after: start.elapsed(),
            };
            let _ = tx.send(failed);
            return;
        }
    };
    let mut exec = 0;
    while !stop.load(Ordering::Relaxed) && runs.is_none_or(|r| exec < r) {
        let g = generate(&mut rng, kinds, opts.max_ops, env, config);
        let result = compare_on(kernel.as_mut(), config, &g.ops, &Compare::default());
        // A guest that hung or went away is replaced; the input that did
        // it is saved by the campaign.
        let lost = matches!(result, Err(ExecError::Guest(_)));
        let result = result.map_err(|e| e.to_string());
        let e = Exec {
            worker: k,
            exec,
            ops: g.ops,
            rejected: g.rejected,
            result,
            after: start.elapsed(),
        };
        exec += 1;
        if tx.send(e).is_err() {
            break;
        }
        if lost && !stop.load(Ordering::Relaxed) {
            kernel = match c.target.open() {
                Ok(kernel) => kernel,
                Err(e) => {
                    let _ = tx.send(Exec {
                        worker: k,
                        exec,
                        ops: Vec::new(),
                        rejected: BTreeMap::new(),
                        result: Err(e),
                        after: start.elapsed(),
                    });
                    return;
                }
            };
        }
    }
}

/// The share of `runs` that worker `k` of `jobs` runs.
fn share(runs: Option<u64>, k: usize, jobs: usize) -> Option<u64> {
    runs.map(|r| r / jobs as u64 + u64::from((k as u64) < r % jobs as u64))
}

/// Runs a kernel campaign on `target`, starting with `first` (a kernel
/// of `target`, whose environment configures the oracle). With `--json`
/// the summary object is the only thing on `out`; lines for people go to
/// `err`.
pub fn campaign(
    opts: &Options,
    target: &Target,
    first: Opened,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> KernelSummary {
    let env = &first.env().clone();
    let setup = Setup {
        opts,
        target,
        first: Mutex::new(Some(first)),
        env,
        config: env.oracle_config(&Config::default()),
        kinds: kernel_kinds(&opts.allowed)
            .into_iter()
            .filter(|&k| subset::kind_available(k, env))
            .collect(),
        start: Instant::now(),
    };
    let kinds = &setup.kinds;
    let mut summary = KernelSummary {
        engine: target.engine_name(),
        kernel: env.kernel_release.clone(),
        seed: opts.seed,
        jobs: opts.jobs,
        ..KernelSummary::default()
    };
    let (json_out, log): (Option<&mut dyn Write>, &mut dyn Write) = if opts.json {
        (Some(out), err)
    } else {
        (None, out)
    };
    let _ = write!(log, "{env}");
    let _ = writeln!(
        log,
        "seed: {}; op kinds: {}",
        opts.seed,
        kinds
            .iter()
            .map(|k| k.keyword())
            .collect::<Vec<_>>()
            .join(",")
    );
    let mut display = Display::new(opts.progress && !opts.json);
    let stop = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel::<Exec>();
    let start = setup.start;
    let mut signatures = BTreeSet::new();
    std::thread::scope(|scope| {
        for k in 0..opts.jobs {
            let (tx, setup, stop) = (tx.clone(), &setup, &stop);
            let runs = share(opts.runs, k, opts.jobs);
            scope.spawn(move || work(k, setup, runs, stop, &tx));
        }
        drop(tx);
        loop {
            match rx.recv_timeout(TICK) {
                Ok(e) => {
                    summary.add(&e);
                    let done = opts.stop_on_divergence && !summary.found.is_empty();
                    let new = match &e.result {
                        Ok(r) => r
                            .divergence
                            .as_ref()
                            .map(|d| d.signature())
                            .filter(|s| !done && signatures.insert(s.clone())),
                        Err(error) => {
                            engine_error(&setup, &e, error, &display, log);
                            None
                        }
                    };
                    if let (Some(signature), Ok(report)) = (new, &e.result) {
                        if opts.stop_on_divergence {
                            stop.store(true, Ordering::Relaxed);
                        }
                        let f = found(&setup, &e, report, signature, &display, log);
                        summary.found.push(f);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            let elapsed = start.elapsed();
            if opts.time.is_some_and(|t| elapsed >= t) || INTERRUPTED.load(Ordering::Relaxed) {
                stop.store(true, Ordering::Relaxed);
            }
            display.update(&mut std::io::stderr(), status(&summary, elapsed), elapsed);
        }
    });
    summary.seconds = start.elapsed().as_secs_f64();
    summary.interrupted = INTERRUPTED.load(Ordering::Relaxed);
    display.finish(&mut std::io::stderr(), status(&summary, start.elapsed()));
    for l in summary.lines() {
        let _ = writeln!(log, "{l}");
    }
    if let Some(out) = json_out {
        let _ = writeln!(out, "{}", summary.json());
    }
    summary
}

fn status(s: &KernelSummary, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64();
    format!(
        "[{:>5}s] kernel execs {} ({}/s)  ops {}  observations {}  disagreements {}",
        elapsed.as_secs(),
        s.execs,
        rate(s.execs, secs),
        s.ops,
        s.observations,
        s.found.len()
    )
}

/// The header of a file a campaign writes for input `e`: the command
/// that finds it again, which input it was, and the kernel.
fn provenance(c: &Setup, e: &Exec) -> Vec<(String, String)> {
    vec![
        (
            "found-by".to_string(),
            format!(
                "mmdiff fuzz --engine {} --seed {}",
                c.target.engine_name(),
                c.opts.seed
            ),
        ),
        (
            "input".to_string(),
            format!("#{} of worker {}", e.exec, e.worker),
        ),
        ("kernel".to_string(), c.env.kernel_release.clone()),
    ]
}

/// The engine failed on an input: the input is saved with the error and
/// the failure printed (the campaign goes on with a new guest).
fn engine_error(c: &Setup, e: &Exec, error: &str, display: &Display, log: &mut dyn Write) {
    if e.ops.is_empty() {
        return;
    }
    let engine = c.target.engine_name();
    let provenance = provenance(c, e);
    let saved = crate::kernel_artifact::save_engine_error(
        &c.opts.out.join(engine),
        &e.ops,
        error,
        &provenance,
    );
    display.println(
        log,
        &format!(
            "engine error on input #{} of worker {}: {error}\n  input: {}",
            e.exec,
            e.worker,
            saved.map_or_else(
                |err| format!("not saved: {err}"),
                |p| p.display().to_string()
            )
        ),
    );
}

/// A new disagreement: saved raw, minimized, saved minimized, printed.
fn found(
    c: &Setup,
    e: &Exec,
    report: &Report,
    signature: String,
    display: &Display,
    log: &mut dyn Write,
) -> KernelFound {
    let (opts, config) = (c.opts, &c.config);
    let engine = c.target.engine_name();
    let dir = opts.out.join(engine);
    let failure = report
        .divergence
        .as_ref()
        .map(|d| d.render().lines().next().unwrap_or_default().to_string())
        .unwrap_or_default();
    let provenance = provenance(c, e);
    let raw = save(&dir, &e.ops, report, &provenance, "").map_err(|err| err.to_string());
    let seconds = e.after.as_secs_f64();
    display.println(
        log,
        &format!(
            "new disagreement {signature} after {seconds:.1}s: {failure}\n  raw: {}",
            raw.as_ref().map_or_else(
                |err| format!("not saved: {err}"),
                |p| p.display().to_string()
            )
        ),
    );
    let minimized = if INTERRUPTED.load(Ordering::Relaxed) {
        Err("interrupted".to_string())
    } else {
        let mut quiet = |_: &'static str, _: usize, _: u64| {};
        let minimized = c.target.open().and_then(|mut kernel| {
            crate::kernel_minimize::minimize(
                kernel.as_mut(),
                config,
                &e.ops,
                &signature,
                &mut quiet,
            )
        });
        minimized.and_then(|m| {
            let path = save(&dir, &m.ops, &m.report, &provenance, ".min")
                .map_err(|err| format!("cannot save: {err}"))?;
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            display.println(
                log,
                &format!(
                    "  minimized to {} ops in {} kernel runs: {}\n{text}",
                    m.ops.len(),
                    m.tests,
                    path.display()
                ),
            );
            Ok((path, m.ops.len()))
        })
    };
    KernelFound {
        signature,
        failure,
        worker: e.worker,
        exec: e.exec,
        seconds,
        raw: raw.ok(),
        minimized,
    }
}

/// `mmdiff fuzz --engine kernel|qemu ...`; returns the exit code: 0 when
/// the two agreed on everything, 1 on a disagreement or an engine error, 2
/// when the engine cannot run here or `--kernel` names another kernel.
pub fn command(opts: &Options, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let target = match Target::for_engine(opts.engine) {
        Ok(t) => t,
        Err(e) => {
            let _ = writeln!(err, "mmdiff fuzz: {e}");
            return 2;
        }
    };
    let first = match target.open() {
        Ok(k) => k,
        Err(e) => {
            let _ = writeln!(err, "mmdiff fuzz: {e}");
            return 2;
        }
    };
    let checked = crate::kernel_target::check_kernel_option(opts.kernel, opts.engine, first.env());
    if let Err(e) = checked {
        let _ = writeln!(err, "mmdiff fuzz: {e}");
        return 2;
    }
    let s = campaign(opts, &target, first, out, err);
    i32::from(!s.found.is_empty() || !s.errors.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_the_expressible_ones_allowed() {
        let all = kernel_kinds(&OpKind::ALL);
        assert_eq!(all, subset::EXPRESSIBLE_KINDS.to_vec());
        assert_eq!(
            kernel_kinds(&[OpKind::Reclaim, OpKind::Write, OpKind::Mmap]),
            vec![OpKind::Mmap, OpKind::Write]
        );
    }

    #[test]
    fn generated_ops_are_expressible_and_depend_on_the_seed() {
        let env = Environment {
            mem_pages: 1 << 20,
            ..Environment::default()
        };
        let config = env.oracle_config(&Config::default());
        let kinds = kernel_kinds(&OpKind::ALL);
        let run = |seed| {
            let mut rng = SplitMix64::new(seed);
            (0..20)
                .map(|_| generate(&mut rng, &kinds, 32, &env, &config))
                .collect::<Vec<_>>()
        };
        let a = run(7);
        let ops: Vec<&Op> = a.iter().flat_map(|g| &g.ops).collect();
        assert!(ops.len() > 50, "{}", ops.len());
        assert!(ops.iter().all(|op| subset::support(op, &env).is_ok()));
        // Every rejected draw is of an expressible kind, with arguments
        // (or a state) the kernel engine cannot compare.
        assert!(a
            .iter()
            .flat_map(|g| g.rejected.keys())
            .all(|k| kinds.contains(k)));
        assert!(ops.iter().all(|op| kinds.contains(&op.kind())));
        let rejected: u64 = a.iter().flat_map(|g| g.rejected.values()).sum();
        assert!(rejected > 0, "some draws need a pinning GUP or a CMA zone");
        let b = run(7);
        assert!(a.iter().zip(&b).all(|(x, y)| x.ops == y.ops));
        assert!(run(8).iter().zip(&a).any(|(x, y)| x.ops != y.ops));
    }

    #[test]
    fn one_shot_gups_come_with_their_release() {
        let env = Environment {
            mem_pages: 1 << 20,
            gup_test: true,
            ..Environment::default()
        };
        let config = env.oracle_config(&Config::default());
        let kinds = kernel_kinds(&[OpKind::Mmap, OpKind::Write, OpKind::Gup, OpKind::Release]);
        let mut rng = SplitMix64::new(11);
        let seqs: Vec<Vec<Op>> = (0..40)
            .map(|_| generate(&mut rng, &kinds, 32, &env, &config).ops)
            .collect();
        let mut one_shot = 0;
        for ops in &seqs {
            for (i, op) in ops.iter().enumerate() {
                let Op::Gup { flags, .. } = op else { continue };
                // vmsplice's get and gup_test's long-term pin set are
                // held across ops; every other gup is one call.
                let held =
                    (flags.fast && !flags.pin && !flags.write && !flags.force && !flags.nofault)
                        || (flags.pin && flags.longterm);
                if !held {
                    assert_eq!(ops.get(i + 1), released_at_once(op).as_ref(), "{ops:?}");
                    one_shot += 1;
                }
            }
        }
        assert!(one_shot > 5, "{one_shot} one-shot gups");
    }
}
