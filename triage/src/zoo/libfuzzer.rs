//! The `cargo fuzz` engine: the structure-aware libFuzzer target
//! `differential`, built once with the planted faults (`-s none
//! --no-trace-compares`, as the smoke run builds it, into a target
//! directory of its own so the unplanted build stays as it is), run per
//! trial with `-seed`, `-max_total_time` and the op dictionary on a fresh
//! corpus plus the byte-encoded seeds. A trial detects its bug when the
//! fuzzer stops on an mmdiff divergence and writes the crashing input;
//! its time is wall time from start to exit (process start and seed
//! loading included).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::input;
use crate::planted;

use super::engine::{Run, TrialSetup};

/// The libFuzzer target the engine runs.
const TARGET: &str = "differential";
/// How long past its budget a fuzzer may take to exit before it is killed.
const GRACE: Duration = Duration::from_secs(30);

/// A built fuzzer binary and its dictionary.
pub struct LibFuzzer {
    pub binary: PathBuf,
    pub dict: Option<PathBuf>,
}

/// Why the engine cannot run here, if it cannot: `cargo fuzz` missing, or
/// no `fuzz/` crate.
pub fn unavailable(fuzz_dir: &Path) -> Option<String> {
    if !fuzz_dir.join("Cargo.toml").is_file() {
        return Some(format!("{}: no cargo-fuzz crate", fuzz_dir.display()));
    }
    let probe = Command::new("cargo")
        .args(["fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    match probe {
        Ok(s) if s.success() => None,
        _ => Some("cargo-fuzz is not installed (cargo install cargo-fuzz)".into()),
    }
}

/// Builds the target with the planted faults; the build's output goes to
/// `log`.
pub fn build(fuzz_dir: &Path, log: &Path) -> Result<LibFuzzer, String> {
    // Absolute: cargo runs in the crate and would resolve a relative
    // target directory from there.
    let fuzz_dir = &fuzz_dir
        .canonicalize()
        .map_err(|e| format!("{}: {e}", fuzz_dir.display()))?;
    let target_dir = fuzz_dir.join("target").join("planted");
    let log_file = fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let err_file = log_file
        .try_clone()
        .map_err(|e| format!("{}: {e}", log.display()))?;
    let status = Command::new("cargo")
        .current_dir(fuzz_dir)
        .args(["fuzz", "build", "-s", "none", "--no-trace-compares"])
        .args(["--features", "planted", "--target-dir"])
        .arg(&target_dir)
        .arg(TARGET)
        .stdout(log_file)
        .stderr(err_file)
        .status()
        .map_err(|e| format!("cargo fuzz build: {e}"))?;
    if !status.success() {
        return Err(format!(
            "cargo fuzz build failed ({status}); see {}",
            log.display()
        ));
    }
    let binary = fs::read_dir(&target_dir)
        .map_err(|e| format!("{}: {e}", target_dir.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("release").join(TARGET))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            format!(
                "{}: no {TARGET} binary after the build",
                target_dir.display()
            )
        })?;
    let dict = Some(fuzz_dir.join("differential.dict")).filter(|d| d.is_file());
    Ok(LibFuzzer { binary, dict })
}

impl LibFuzzer {
    pub fn run(&self, setup: &TrialSetup) -> Run {
        match self.try_run(setup) {
            Ok(run) => run,
            Err(e) => Run::Failed(e),
        }
    }

    fn try_run(&self, setup: &TrialSetup) -> Result<Run, String> {
        let corpus = setup.work.join("corpus");
        let artifacts = setup.work.join("artifacts");
        for d in [&corpus, &artifacts] {
            fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
        }
        let log_path = setup.work.join("libfuzzer.log");
        let log =
            fs::File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
        let log_err = log
            .try_clone()
            .map_err(|e| format!("{}: {e}", log_path.display()))?;
        let budget = setup.budget.as_secs().max(1);
        let mut cmd = Command::new(&self.binary);
        // libFuzzer's -seed is 32 bits, and 0 means "pick one".
        cmd.arg(format!("-seed={}", (setup.seed % u64::from(u32::MAX)) + 1))
            .arg(format!("-max_total_time={budget}"))
            .arg(format!("-artifact_prefix={}/", artifacts.display()))
            .arg("-timeout=30");
        if let Some(dict) = &self.dict {
            cmd.arg(format!("-dict={}", dict.display()));
        }
        cmd.arg(&corpus)
            .arg(&setup.byte_seeds)
            .env(planted::ENV, setup.bug.name)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err);
        let start = Instant::now();
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("{}: {e}", self.binary.display()))?;
        let status = loop {
            if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
                break status;
            }
            if start.elapsed() > setup.budget + GRACE {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "the fuzzer did not stop {}s after its budget; see {}",
                    GRACE.as_secs(),
                    log_path.display()
                ));
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let seconds = start.elapsed().as_secs_f64();
        let crash = first_crash(&artifacts)?;
        let log_text = fs::read_to_string(&log_path).unwrap_or_default();
        match crash {
            Some(path) if log_text.contains("mmdiff divergence") => Ok(Run::Found {
                seconds,
                input: input::load(&path)?,
            }),
            Some(path) => Err(format!(
                "the fuzzer stopped on something else than a divergence ({}); see {}",
                path.display(),
                log_path.display()
            )),
            None if status.success() => Ok(Run::Missed),
            None => Err(format!(
                "the fuzzer exited with {status} without a crash file; see {}",
                log_path.display()
            )),
        }
    }
}

/// The first `crash-*` file libFuzzer wrote, if any.
fn first_crash(artifacts: &Path) -> Result<Option<PathBuf>, String> {
    let mut crashes: Vec<PathBuf> = fs::read_dir(artifacts)
        .map_err(|e| format!("{}: {e}", artifacts.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("crash-"))
        })
        .collect();
    crashes.sort();
    Ok(crashes.into_iter().next())
}
