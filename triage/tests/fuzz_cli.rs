//! `mmdiff fuzz` as a process: a bounded run, and Ctrl-C on an unbounded
//! one (the campaign stops after its current inputs, prints its summary
//! and exits as usual).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn mmdiff() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mmdiff"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

#[test]
fn a_bounded_campaign_reports_json() {
    let dir = mmdiff_triage::files::TempDir::new("fuzz-cli");
    let out = dir.path().to_str().expect("UTF-8 path");
    let o = mmdiff()
        .args([
            "fuzz", "--runs", "40", "--seed", "0x2a", "--jobs", "2", "--json",
        ])
        .args(["--quiet", "--no-promote", "--out", out])
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stdout}\n{stderr}");
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).expect("JSON");
    assert_eq!(v["seed"], 42);
    assert_eq!(v["jobs"], 2);
    assert_eq!(v["execs"], 40);
    assert_eq!(v["interrupted"], false);
    assert!(stderr.starts_with("seed: 42\n"), "{stderr}");
}

#[test]
fn ctrl_c_stops_cleanly() {
    let dir = mmdiff_triage::files::TempDir::new("fuzz-sigint");
    let out = dir.path().join("out");
    let mut child = mmdiff()
        .args([
            "fuzz",
            "--seed",
            "5",
            "--json",
            "--quiet",
            "--no-promote",
            "--out",
        ])
        .arg(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    std::thread::sleep(Duration::from_millis(1500));
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let start = Instant::now();
    while child.try_wait().expect("waits").is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "still running after SIGINT"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let o = child.wait_with_output().expect("output");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{stdout}");
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).expect("JSON");
    assert_eq!(v["interrupted"], true);
    assert!(v["execs"].as_u64().expect("a count") > 0);
    // No divergence, so nothing written at all (no stray temporaries).
    assert!(!out.exists());
}
