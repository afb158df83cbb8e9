//! `mmdiff zoo`: the bug-finding benchmark on the subject's planted
//! faults (see [`options::USAGE`]). Ground truth is `corpus/zoo/`: one
//! shortest repro per fault. For every fault, every engine and N seeded
//! trials it records the time to the first divergence (censored at the
//! budget) and minimizes what was found with the same minimizer `mmdiff
//! fuzz` promotes with, then writes a markdown table, a JSON document and
//! a survival plot. Trials run one after the other, engine by engine, on
//! one thread: their times compare.

pub mod bugs;
pub mod engine;
pub mod libfuzzer;
pub mod merge;
pub mod mmdiff_fuzz;
pub mod options;
pub mod plot;
pub mod proptest_engine;
pub mod report;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use crate::files;
use crate::fuzz::INTERRUPTED;
use crate::minimize;
use crate::planted;

use bugs::{Bug, Seeds};
use engine::{Engine, Run, TrialSetup};
use libfuzzer::LibFuzzer;
pub use options::{parse_options, Options, USAGE};
use report::{RunInfo, Trial};

/// The outcome of a whole run.
pub struct Results {
    pub bugs: Vec<Bug>,
    pub trials: Vec<Trial>,
    pub skipped: Vec<(Engine, String)>,
    pub seed_count: usize,
    pub excluded_seeds: Vec<(&'static str, Vec<String>)>,
    pub interrupted: bool,
}

pub fn command(argv: &[String], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let opts = match parse_options(argv) {
        Ok(o) => o,
        Err(e) => return crate::usage_error(err, &e, USAGE),
    };
    if planted::lookup("canary").is_none() {
        let _ = writeln!(
            err,
            "mmdiff zoo: this build has no planted faults; run it as\n  \
             cargo run --release --features planted -- zoo"
        );
        return 2;
    }
    // First Ctrl-C: finish the current trial, write what was measured.
    let _ = ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
    });
    let (opts, results) = match run_or_merge(opts, err) {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(err, "mmdiff zoo: {e}");
            return 1;
        }
    };
    let md = write_reports(&opts, &results, err);
    let _ = write!(out, "{md}");
    let missed: Vec<&Trial> = results
        .trials
        .iter()
        .filter(|t| {
            let bug = results.bugs.iter().find(|b| b.name == t.bug);
            !bug.is_some_and(|b| t.matches(b))
        })
        .collect();
    if opts.require_detection && (!missed.is_empty() || results.interrupted) {
        for t in &missed {
            let _ = writeln!(
                err,
                "mmdiff zoo: {} / {} seed {}: {}",
                t.bug,
                t.engine.title(),
                t.seed,
                describe(t)
            );
        }
        let _ = writeln!(
            err,
            "mmdiff zoo: {} of {} trials did not find their fault with its signature",
            missed.len(),
            results.trials.len()
        );
        return 1;
    }
    0
}

/// Runs the trials, or with `--merge` reads earlier ones; returns the
/// options that describe them.
fn run_or_merge(opts: Options, log: &mut dyn Write) -> Result<(Options, Results), String> {
    if opts.merge.is_empty() {
        let results = run(&opts, log)?;
        return Ok((opts, results));
    }
    fs::create_dir_all(&opts.out).map_err(|e| format!("{}: {e}", opts.out.display()))?;
    let files: Vec<&Path> = opts.merge.iter().map(PathBuf::as_path).collect();
    let m = merge::merge(&files, bugs::load(&opts.zoo)?)?;
    let mut engines: Vec<Engine> = m.results.trials.iter().map(|t| t.engine).collect();
    engines.sort();
    engines.dedup();
    let described = Options {
        trials: m.trials_per_cell,
        budget: std::time::Duration::from_secs(m.budget_seconds),
        first_seed: m.first_seed,
        engines,
        ..opts
    };
    Ok((described, m.results))
}

/// Runs every trial; lines for people go to `log`.
pub fn run(opts: &Options, log: &mut dyn Write) -> Result<Results, String> {
    let bugs = select(bugs::load(&opts.zoo)?, opts.bugs.as_deref())?;
    let seeds = bugs::seeds(&opts.corpus);
    for p in &seeds.problems {
        let _ = writeln!(log, "zoo: seed skipped: {p}");
    }
    fs::create_dir_all(&opts.out).map_err(|e| format!("{}: {e}", opts.out.display()))?;
    let mut results = Results {
        bugs: bugs.clone(),
        trials: Vec::new(),
        skipped: Vec::new(),
        seed_count: seeds.scenarios.len(),
        excluded_seeds: Vec::new(),
        interrupted: false,
    };
    let libfuzzer = prepare_libfuzzer(opts, &mut results.skipped, log);
    let _ = writeln!(
        log,
        "zoo: {} bugs x {} engines x {} trials, {} s each",
        bugs.len(),
        opts.engines.len() - results.skipped.len(),
        opts.trials,
        opts.budget.as_secs()
    );
    for bug in &bugs {
        let seed_dir = opts.out.join("seeds").join(bug.name);
        let (kept, excluded) = seeds.without_repros_of(bug);
        write_seeds(&kept, &seed_dir)?;
        results.excluded_seeds.push((bug.name, excluded));
        for &engine in &opts.engines {
            if results.skipped.iter().any(|(e, _)| *e == engine) {
                continue;
            }
            for k in 0..opts.trials {
                if INTERRUPTED.load(Ordering::Relaxed) {
                    results.interrupted = true;
                    return Ok(results);
                }
                let seed = opts.first_seed + k as u64;
                let work = opts
                    .out
                    .join("trials")
                    .join(bug.name)
                    .join(format!("{}-{seed}", engine.key()));
                let _ = fs::remove_dir_all(&work);
                fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
                let setup = TrialSetup {
                    bug,
                    seed,
                    budget: opts.budget,
                    text_seeds: seed_dir.join("text"),
                    byte_seeds: seed_dir.join("bytes"),
                    work,
                };
                let trial = planted::with_active(Some(bug.name), || {
                    let run = match engine {
                        Engine::Fuzz => mmdiff_fuzz::run(&setup),
                        Engine::Proptest => proptest_engine::run(&setup),
                        Engine::CargoFuzz => match &libfuzzer {
                            Some(l) => l.run(&setup),
                            None => Run::Failed("cargo fuzz was not built".into()),
                        },
                    };
                    judge(bug, engine, seed, run, &setup.work)
                });
                let _ = writeln!(
                    log,
                    "zoo: {:<36} {:<22} seed {seed:<3} {}",
                    bug.name,
                    engine.title(),
                    describe(&trial)
                );
                results.trials.push(trial);
            }
        }
        // After every bug, so that a long run stopped halfway keeps what
        // it measured.
        write_reports(opts, &results, log);
    }
    Ok(results)
}

/// The bugs named in `only` (all when `None`), in the zoo's order.
fn select(bugs: Vec<Bug>, only: Option<&[String]>) -> Result<Vec<Bug>, String> {
    let Some(only) = only else { return Ok(bugs) };
    for name in only {
        if !bugs.iter().any(|b| b.name == name) {
            let known: Vec<&str> = bugs.iter().map(|b| b.name).collect();
            return Err(format!(
                "--bugs: no zoo repro for `{name}` (known: {})",
                known.join(", ")
            ));
        }
    }
    Ok(bugs
        .into_iter()
        .filter(|b| only.iter().any(|n| n == b.name))
        .collect())
}

fn write_seeds(seeds: &Seeds, dir: &Path) -> Result<(), String> {
    let _ = fs::remove_dir_all(dir);
    seeds.write(&dir.join("text"), false)?;
    seeds.write(&dir.join("bytes"), true)?;
    Ok(())
}

/// Builds the libFuzzer target when it is asked for and can be; records
/// why not otherwise.
fn prepare_libfuzzer(
    opts: &Options,
    skipped: &mut Vec<(Engine, String)>,
    log: &mut dyn Write,
) -> Option<LibFuzzer> {
    if !opts.engines.contains(&Engine::CargoFuzz) {
        return None;
    }
    if let Some(why) = libfuzzer::unavailable(&opts.fuzz_dir) {
        let _ = writeln!(log, "zoo: cargo fuzz skipped: {why}");
        skipped.push((Engine::CargoFuzz, why));
        return None;
    }
    let build_log = opts.out.join("cargo-fuzz-build.log");
    let _ = writeln!(
        log,
        "zoo: building the libFuzzer target with the planted faults (log: {})",
        build_log.display()
    );
    match libfuzzer::build(&opts.fuzz_dir, &build_log) {
        Ok(l) => Some(l),
        Err(why) => {
            let _ = writeln!(log, "zoo: cargo fuzz skipped: {why}");
            skipped.push((Engine::CargoFuzz, why));
            None
        }
    }
}

/// Minimizes what a trial found (with its bug on) into its record; the
/// minimized scenario goes to `work/minimized.mms`.
fn judge(bug: &Bug, engine: Engine, seed: u64, run: Run, work: &Path) -> Trial {
    let mut trial = Trial {
        bug: bug.name,
        engine,
        seed,
        seconds: None,
        found_ops: None,
        minimized: None,
        error: None,
    };
    match run {
        Run::Missed => {}
        Run::Failed(why) => trial.error = Some(why),
        Run::Found { seconds, input } => {
            trial.seconds = Some(seconds);
            trial.found_ops = Some(input.scenario.ops().len());
            match minimize::minimize(&input, &mut |_, _, _| {}) {
                Ok(m) => {
                    let path = work.join("minimized.mms");
                    let text = mmdiff_core::text::print(&m.scenario);
                    if let Err(e) = files::write_atomic(&path, text.as_bytes()) {
                        trial.error = Some(format!("{}: {e}", path.display()));
                    }
                    trial.minimized = Some((m.signature().to_string(), m.ops_after));
                }
                Err(e) => trial.error = Some(format!("minimizing the find: {e}")),
            }
        }
    }
    trial
}

/// `found in S s, N ops -> M ops SIGNATURE`, `missed`, or the error.
fn describe(t: &Trial) -> String {
    match (&t.seconds, &t.minimized, &t.error) {
        (_, _, Some(e)) => format!("error: {e}"),
        (Some(s), Some((sig, ops)), None) => format!(
            "found in {s:.3} s, {} ops -> {ops} ops {sig}",
            t.found_ops.unwrap_or(0)
        ),
        _ => "missed".into(),
    }
}

/// Writes zoo.md, zoo.json and zoo.svg into the output directory;
/// returns the markdown.
fn write_reports(opts: &Options, results: &Results, log: &mut dyn Write) -> String {
    // Engines that could not run are named in the header, not as columns
    // of misses.
    let engines: Vec<Engine> = opts
        .engines
        .iter()
        .copied()
        .filter(|e| !results.skipped.iter().any(|(s, _)| s == e))
        .collect();
    let info = RunInfo {
        trials: opts.trials,
        budget_seconds: opts.budget.as_secs(),
        first_seed: opts.first_seed,
        engines: &engines,
        skipped: &results.skipped,
        seed_count: results.seed_count,
        excluded_seeds: &results.excluded_seeds,
    };
    let measured: Vec<Bug> = results
        .bugs
        .iter()
        .filter(|b| results.trials.iter().any(|t| t.bug == b.name))
        .cloned()
        .collect();
    let md = report::markdown(&info, &measured, &results.trials);
    let json = report::json(&info, &measured, &results.trials);
    let svg = plot::svg(&engines, &results.trials, opts.budget.as_secs_f64());
    let mut outputs = vec![
        ("zoo.md", md.clone().into_bytes()),
        ("zoo.json", json.into_bytes()),
    ];
    match svg {
        Ok(svg) => outputs.push(("zoo.svg", svg.into_bytes())),
        Err(e) => {
            let _ = writeln!(log, "zoo: the plot failed: {e}");
        }
    }
    for (name, data) in outputs {
        let path = opts.out.join(name);
        if let Err(e) = files::write_atomic(&path, &data) {
            let _ = writeln!(log, "zoo: {}: {e}", path.display());
        }
    }
    md
}

#[cfg(test)]
mod tests;
