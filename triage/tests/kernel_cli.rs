//! `mmdiff replay --engine kernel` and `mmdiff fuzz --engine kernel` as
//! processes: the oracle against the running kernel. On a machine where
//! the kernel engine cannot run, each command must refuse with exit 2 and
//! say why; that is what these tests check there.

use std::process::{Command, Output};

fn mmdiff(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mmdiff"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .expect("mmdiff runs")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// True (after checking the refusal) when the kernel engine cannot run
/// here.
fn refused(o: &Output) -> bool {
    if mmdiff_kernel::probe().unsupported.is_none() {
        return false;
    }
    let (_, err) = text(o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("the kernel engine cannot run here"), "{err}");
    true
}

/// The number before ` observations` in a PASS line.
fn observations(line: &str) -> u64 {
    let before = line
        .split(" observations")
        .next()
        .expect("a PASS line names its observations");
    before
        .rsplit(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in `{line}`"))
}

#[test]
fn conformance_scenarios_pass_on_the_kernel_with_observation_counts() {
    let files = [
        "../corpus/conformance/cow_after_fork.mms",
        "../corpus/conformance/mremap_move_multiple_vmas.mms",
        "../corpus/conformance/thp_collapse_checks_each_vma.mms",
    ];
    let mut args = vec!["replay", "--engine", "kernel"];
    args.extend(files);
    let o = mmdiff(&args);
    if refused(&o) {
        return;
    }
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    // The machine's facts come first.
    assert!(out.starts_with("kernel "), "{out}");
    let passes: Vec<&str> = out.lines().filter(|l| l.starts_with("PASS ")).collect();
    assert_eq!(passes.len(), 3, "{out}");
    for (line, file) in passes.iter().zip(files) {
        assert!(line.starts_with(&format!("PASS {file} (")), "{line}");
        assert!(observations(line) > 0, "{line}");
    }
    // uffd-wp is not driven by the kernel engine: skipped, by kind.
    assert!(passes[1].contains("skipped uffd-wp×2"), "{}", passes[1]);
    assert!(
        out.contains("kernel engine: 3 files: 3 agree, 0 disagree, 0 failed;"),
        "{out}"
    );
    assert!(
        out.contains("  skipped uffd-wp×2: userfaultfd write-protect"),
        "{out}"
    );
}

#[test]
fn ops_the_kernel_cannot_run_are_reported_skipped_by_kind() {
    let dir = mmdiff_triage::files::TempDir::new("kernel-cli-skip");
    let path = dir.path().join("skips.mms");
    std::fs::write(
        &path,
        "mmap p0 m0 anon rw pages=2\nwrite p0 m0[0..2] = 7\nreclaim\n\
         gup p0 m0[0..2] pin longterm -> h0\ngup p0 m0[0..2] get fast -> h1\n\
         dma-read h1[0..2]\nread p0 m0[0..2]\n",
    )
    .expect("scenario written");
    let p = path.to_str().expect("UTF-8 path");
    let o = mmdiff(&["replay", "--engine", "kernel", p]);
    if refused(&o) {
        return;
    }
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    let line = out
        .lines()
        .find(|l| l.starts_with("PASS "))
        .unwrap_or_else(|| panic!("no PASS line:\n{out}"));
    assert!(line.contains("5/7 ops"), "{line}");
    assert!(line.contains("skipped gup×1 reclaim×1"), "{line}");
    assert!(observations(line) > 0, "{line}");
    assert!(out.contains("2 skipped;"), "{out}");
    assert!(
        out.contains("  skipped gup×1: long-term pins need the kernel's GUP test interface"),
        "{out}"
    );
    assert!(out.contains("  skipped reclaim×1: global reclaim"), "{out}");
}

#[test]
fn a_short_kernel_campaign_agrees_and_reports_json() {
    let dir = mmdiff_triage::files::TempDir::new("kernel-cli-fuzz");
    let out_dir = dir.path().to_str().expect("UTF-8 path");
    let o = mmdiff(&[
        "fuzz", "--engine", "kernel", "--runs", "30", "--seed", "1", "--json", "--quiet", "--out",
        out_dir,
    ]);
    if refused(&o) {
        return;
    }
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON object");
    assert_eq!(v["engine"], "kernel");
    assert_eq!(v["seed"], 1);
    assert_eq!(v["execs"], 30);
    assert_eq!(v["disagreements"].as_array().map(Vec::len), Some(0), "{v}");
    assert_eq!(v["errors"].as_array().map(Vec::len), Some(0), "{v}");
    assert!(v["observations"].as_u64().is_some_and(|n| n > 0), "{v}");
    assert!(v["ops"].as_u64().is_some_and(|n| n > 30), "{v}");
    assert!(
        v["skipped"].is_object() && v["rejected_draws"].is_object(),
        "{v}"
    );
    // The facts and the summary for people go to stderr.
    assert!(err.starts_with("kernel "), "{err}");
    assert!(err.contains("kernel fuzz ("), "{err}");
}

#[test]
fn engine_usage_errors_exit_2() {
    for args in [
        &["replay", "--engine", "guest", "../corpus/conformance"][..],
        &[
            "replay",
            "--engine",
            "kernel",
            "--model",
            "oracle",
            "../corpus/conformance",
        ],
        &[
            "fuzz", "--engine", "kernel", "--gen", "bytes", "--runs", "1",
        ],
        &[
            "fuzz", "--engine", "kernel", "--allow", "reclaim", "--runs", "1",
        ],
    ] {
        let o = mmdiff(args);
        let (out, err) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {out}\n{err}");
        assert!(err.contains("usage: mmdiff"), "{args:?}: {err}");
    }
}
