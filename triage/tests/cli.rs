//! The `mmdiff` binary end to end: exit codes and output lines.

use mmdiff_triage::files::TempDir;

mod support;
use support::mmdiff;

#[test]
fn replay_reports_and_exits_1_on_failure() {
    let t = TempDir::new("cli-replay");
    std::fs::write(
        t.path().join("good.mms"),
        "mmap p0 m0 anon rw pages=2\nwrite p0 m0[0..2] = index\nread p0 m0[0..2] => ok data=index\n",
    )
    .unwrap();
    std::fs::write(
        t.path().join("bad.mms"),
        "mmap p0 m0 anon rw pages=2\nread p0 m0[0..2] => ok data=7\n",
    )
    .unwrap();
    let dir = t.path().display().to_string();
    let (code, out, _) = mmdiff(&["replay", &dir]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(out.lines().last(), Some("1 passed, 1 failed"), "{out}");
    assert!(
        out.contains(&format!("FAIL {dir}/bad.mms: op #1 `read p0 m0[0..2]`: ")),
        "{out}"
    );
    assert!(
        out.contains(&format!("PASS {dir}/good.mms (3 ops)")),
        "{out}"
    );

    let good = format!("{dir}/good.mms");
    let (code, out, _) = mmdiff(&["replay", "--quiet", &good]);
    assert_eq!((code, out.as_str()), (0, "1 passed, 0 failed\n"));
}

#[test]
fn help_and_usage_errors() {
    let (code, out, _) = mmdiff(&["help"]);
    assert_eq!(code, 0);
    assert!(out.contains("replay") && out.contains("fuzz") && out.contains("convert"));
    assert_eq!(mmdiff(&[]).0, 2);
    assert_eq!(mmdiff(&["replay"]).0, 2);
    assert_eq!(mmdiff(&["fuzz", "--seed", "x"]).0, 2);
}

#[test]
fn fuzz_smoke_prints_the_seed_and_a_summary() {
    let t = TempDir::new("cli-fuzz");
    let out_dir = t.path().join("artifacts").display().to_string();
    let (code, out, _) = mmdiff(&[
        "fuzz", "--runs", "10", "--seed", "0xabc", "--out", &out_dir, "--quiet",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("seed: 2748\n"), "{out}");
    assert!(out.contains("fuzz: 10 execs"), "{out}");
}

#[cfg(not(feature = "planted"))]
#[test]
fn zoo_says_how_to_get_the_planted_faults() {
    let (code, _, err) = mmdiff(&["zoo", "--trials", "1"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("no planted faults") && err.contains("--features planted -- zoo"),
        "{err}"
    );
    let (code, _, err) = mmdiff(&["zoo", "--engines", "afl"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("unknown engine `afl`"), "{err}");
}
