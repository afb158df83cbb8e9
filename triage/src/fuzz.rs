//! `mmdiff fuzz`: a differential campaign, the oracle against the subject
//! (`--engine kernel`: against the running kernel, [`crate::kernel_fuzz`]).
//!
//! Workers ([`worker`], `--jobs` threads) make inputs three ways: the
//! state-aware swarm generator ([`crate::gen`]: each op drawn from the
//! oracle's canonical state after the previous one, each sequence with a
//! random subset of op kinds and random weights), mutations of corpus
//! scenarios and of sequences that reached a new state transition or
//! op-kind pair ([`pool`]: structure-aware edits by
//! [`mmdiff_core::mutate`], or a prefix extended by the generator), or,
//! with `--gen bytes`, random bytes through the shared entry point
//! ([`mmdiff_harness::run_bytes`]). Generation comes first and mutations
//! get a fixed share of the work, measured in the state the ops walk, not
//! in inputs (see [`worker`]). Every input runs on both models in
//! lockstep with digest checks ([`Check::Digest`]: cheap per op, full
//! comparison at the end, an exact re-run when anything differs).
//!
//! This thread collects what the workers find: each divergence with a new
//! signature is saved raw ([`artifact`]), minimized and promoted into the
//! corpus ([`crate::promote`]) unless the corpus records it already, and
//! printed as one line with its path. The live display and the summary
//! are in [`display`].
//!
//! What runs is decided by the seed only: input `i` of worker `k` of seed
//! `s` is the same on every machine. The clock decides only when to show
//! progress and when the `--time` budget is spent; Ctrl-C stops the
//! workers after their current input, and every file is written
//! atomically, so the corpus stays consistent.
//!
//! [`Check::Digest`]: mmdiff_core::lockstep::Check::Digest

pub mod artifact;
pub mod display;
pub mod options;
pub mod pairs;
pub mod pool;
pub mod worker;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use mmdiff_core::{KernelVersion, Model};
use mmdiff_oracle::Oracle;
use mmdiff_subject::Subject;

pub use artifact::{fnv1a, next_input, save_artifact, Origin};
pub use display::{Found, Promotion, Summary};
pub use options::{parse_options, Mode, Options, USAGE};

use display::Display;
use worker::{Hit, Shared, Worker};

/// Set by the Ctrl-C handler of `mmdiff fuzz`: campaigns stop as if their
/// time were up, without minimizing what is still queued.
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// How often the campaign thread looks at the clock and the display.
const TICK: Duration = Duration::from_millis(100);

/// Runs a campaign: the oracle against the subject.
pub fn campaign(opts: &Options, out: &mut dyn Write, err: &mut dyn Write) -> Summary {
    campaign_with::<Oracle, Subject>(opts, out, err)
}

/// The share of `runs` that worker `k` of `jobs` runs.
fn share(runs: Option<u64>, k: usize, jobs: usize) -> Option<u64> {
    runs.map(|r| r / jobs as u64 + u64::from((k as u64) < r % jobs as u64))
}

/// Runs a campaign: `A` (the reference side) against `B`. With `--json`
/// the summary object is the only thing on `out`; lines for people go to
/// `err`.
pub fn campaign_with<A: Model, B: Model>(
    opts: &Options,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Summary {
    let mut summary = Summary {
        seed: opts.seed,
        kernel: opts.config.kernel,
        jobs: opts.jobs,
        ..Summary::default()
    };
    // With --json, `out` holds the summary object alone; the lines for
    // people and the status go to `err`.
    let (json_out, log, mut status): (
        Option<&mut dyn Write>,
        &mut dyn Write,
        Option<&mut dyn Write>,
    ) = if opts.json {
        (Some(out), err, None)
    } else {
        (None, out, Some(err))
    };
    let _ = writeln!(log, "{}", display::seed_line(opts.seed, opts.config.kernel));
    // Read by the first worker that mutates, on the campaign's clock.
    let seeds = pool::Seeds::new(
        opts.corpus.clone().filter(|_| opts.mode == Mode::Swarm),
        &opts.allowed,
    );
    let shared = Shared::new(opts.jobs);
    let (tx, rx) = mpsc::channel::<Hit>();
    let start = Instant::now();
    let planted = crate::planted::active();
    let mut display = Display::new(opts.progress);
    let mut signatures = BTreeSet::new();
    std::thread::scope(|scope| {
        for k in 0..opts.jobs {
            let (tx, seeds, shared) = (tx.clone(), &seeds, &shared);
            let runs = share(opts.runs, k, opts.jobs);
            scope.spawn(move || {
                crate::planted::with_active(planted, || {
                    Worker::new(k, opts, seeds).run::<A, B>(runs, shared, &tx, start);
                })
            });
        }
        drop(tx);
        loop {
            match rx.recv_timeout(TICK) {
                Ok(hit) => {
                    let done = opts.stop_on_divergence && !summary.found.is_empty();
                    if !done && signatures.insert(hit.divergence.signature.clone()) {
                        if opts.stop_on_divergence {
                            shared.stop.store(true, Ordering::Relaxed);
                        }
                        let f = found(opts, hit, &display, log);
                        summary.found.push(f);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            let elapsed = start.elapsed();
            if opts.time.is_some_and(|t| elapsed >= t) || INTERRUPTED.load(Ordering::Relaxed) {
                shared.stop.store(true, Ordering::Relaxed);
            }
            let line = status_line(&shared, signatures.len(), elapsed);
            display.update(status_sink(&mut status, log), line, elapsed);
        }
    });
    summary.problems.extend(seeds.problems().iter().cloned());
    summary.seconds = start.elapsed().as_secs_f64();
    summary.execs = shared.execs.load(Ordering::Relaxed);
    summary.ops = shared.ops.load(Ordering::Relaxed);
    summary.pairs = shared.pairs.lock().map_or(0, |p| p.count());
    summary.coverage = shared.coverage();
    summary.interrupted = INTERRUPTED.load(Ordering::Relaxed);
    let line = status_line(&shared, signatures.len(), start.elapsed());
    display.finish(status_sink(&mut status, log), line);
    display::report(log, &summary);
    if let Some(out) = json_out {
        let _ = writeln!(out, "{}", display::json(&summary));
    }
    summary
}

/// Where status lines go: stderr, or the log when that is stderr already.
fn status_sink<'a>(
    status: &'a mut Option<&mut dyn Write>,
    log: &'a mut dyn Write,
) -> &'a mut dyn Write {
    match status {
        Some(s) => &mut **s,
        None => log,
    }
}

fn status_line(shared: &Shared, signatures: usize, elapsed: Duration) -> String {
    display::status(
        shared.execs.load(Ordering::Relaxed),
        shared.ops.load(Ordering::Relaxed),
        shared.pairs.lock().map_or(0, |p| p.count()),
        shared.coverage().len(),
        signatures,
        elapsed,
    )
}

/// A new signature: saved raw, announced, then minimized and promoted
/// (unless the campaign was interrupted, or promotion is off).
fn found(opts: &Options, hit: Hit, display: &Display, log: &mut dyn Write) -> Found {
    let d = &hit.divergence;
    let artifact = save_artifact(&opts.out, &hit.ops, &hit.raw, d, hit.origin);
    let seconds = hit.after.as_secs_f64();
    let raw = match &artifact {
        Ok(p) => p.display().to_string(),
        Err(e) => format!("cannot save in {}: {e}", opts.out.display()),
    };
    display.println(
        log,
        &format!(
            "new divergence {} after {seconds:.1}s: {d}\n  raw: {raw}",
            d.signature
        ),
    );
    let promotion = match (&artifact, &opts.corpus) {
        _ if !opts.promote => Promotion::NotPromoted("--no-promote".into()),
        _ if INTERRUPTED.load(Ordering::Relaxed) => Promotion::NotPromoted("interrupted".into()),
        (Err(_), _) => Promotion::NotPromoted("the raw input was not saved".into()),
        (_, None) => Promotion::NotPromoted("no corpus".into()),
        (Ok(path), Some(corpus)) => promote(path, corpus, opts.config.kernel),
    };
    let f = Found {
        signature: d.signature.clone(),
        description: d.to_string(),
        worker: hit.origin.worker,
        exec: hit.origin.exec,
        seconds,
        artifact: artifact.ok(),
        promotion,
    };
    display.println(log, &format!("  {}", display::found_line(&f)));
    f
}

/// Minimizes the raw artifact at `path` on profile `kernel` (which its
/// header records too) and promotes it into `corpus`.
fn promote(path: &Path, corpus: &Path, kernel: KernelVersion) -> Promotion {
    let paths = [path.to_path_buf()];
    let report = crate::promote::triage(&paths, corpus, false, kernel, &mut std::io::sink());
    if let Some(e) = report.errors.first() {
        return Promotion::NotPromoted(e.clone());
    }
    match report.signatures.into_values().next() {
        Some((crate::promote::Verdict::New(p), ops, _, _)) => Promotion::New { path: p, ops },
        Some((crate::promote::Verdict::Known(p), _, _, _)) => Promotion::Known(p),
        None => Promotion::NotPromoted(
            report
                .skipped
                .first()
                .cloned()
                .unwrap_or_else(|| "the minimizer found nothing".into()),
        ),
    }
}

/// `mmdiff fuzz ...`; returns the exit code.
pub fn command(argv: &[String], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let corpus_exists = Path::new(options::DEFAULT_CORPUS).is_dir();
    let opts = match parse_options(argv, corpus_exists) {
        Ok(o) => o,
        Err(e) => return crate::usage_error(err, &e, USAGE),
    };
    if let Err(e) = crate::planted::check_env() {
        let _ = writeln!(err, "mmdiff fuzz: {e}");
        return 2;
    }
    // First Ctrl-C: stop after the current inputs, report, exit as usual.
    // Second: exit at once (every file is written atomically).
    let _ = ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
    });
    if opts.engine.is_kernel() {
        return crate::kernel_fuzz::command(&opts, out, err);
    }
    i32::from(!campaign(&opts, out, err).found.is_empty())
}

#[cfg(test)]
mod tests;
