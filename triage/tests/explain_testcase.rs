//! Reproducing a fuzzing-service report with the `mmdiff` binary: a
//! testcase downloaded from ClusterFuzz (OSS-Fuzz) or ClusterFuzzLite is a
//! file without an extension, named `clusterfuzz-testcase-minimized-
//! <target>-<id>`, holding the fuzzer's raw bytes. `explain`, `replay`,
//! `convert` and `minimize` read it as fuzz bytes; a `scenario_parser`
//! testcase gets that target's check instead.
//!
//! With `--features planted` the last test follows a report all the way:
//! the testcase diverges (a planted fault stands in for a bug), `explain`
//! shows it, and `triage` promotes its minimized scenario to a regression
//! that records where it came from.
//!
//!     cargo test -p mmdiff-triage --test explain_testcase
//!     cargo test -p mmdiff-triage --features planted --test explain_testcase

use std::path::Path;
use std::process::Command;

use mmdiff_core::{bytes, text};
use mmdiff_triage::files::TempDir;

fn mmdiff(args: &[&str], planted: Option<&str>) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mmdiff"));
    cmd.args(args)
        .env_remove("MMDIFF_PLANTED")
        .env("NO_COLOR", "1");
    if let Some(fault) = planted {
        cmd.env("MMDIFF_PLANTED", fault);
    }
    let out = cmd.output().expect("run mmdiff");
    let text = |b: Vec<u8>| String::from_utf8(b).expect("UTF-8 output");
    (
        out.status.code().unwrap_or(-1),
        text(out.stdout),
        text(out.stderr),
    )
}

/// Writes `src`'s ops as fuzz bytes, the way a fuzzer's input holds them.
fn write_testcase(path: &Path, src: &str) -> Vec<u8> {
    let ops = text::parse(src).expect("the scenario parses").ops();
    let data = bytes::encode(&ops).expect("fits the byte format");
    std::fs::write(path, &data).expect("write the testcase");
    data
}

const SCENARIO: &str = "\
mmap p0 m0 anon rw pages=2
write p0 m0[0..2] = 7
fork p0 -> p1
write p1 m0[1] = 9
read p0 m0[0..2]
";

#[test]
fn a_clusterfuzz_testcase_runs_as_fuzz_bytes() {
    let dir = TempDir::new("explain-testcase");
    let path = dir
        .path()
        .join("clusterfuzz-testcase-minimized-differential-5712345");
    write_testcase(&path, SCENARIO);
    let shown = path.display().to_string();

    let (code, out, err) = mmdiff(&["explain", &shown], None);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out,
        format!("{shown}: no divergence: the oracle and the subject agree on all 5 ops\n")
    );

    let (code, out, err) = mmdiff(&["replay", &shown], None);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(&format!("PASS {shown} (5 ops)")), "{out}");

    // The ops the fuzzer ran, as text: the same five.
    let (code, out, err) = mmdiff(&["convert", &shown], None);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        text::parse(&out).expect("convert prints a scenario").ops(),
        text::parse(SCENARIO).expect("parses").ops()
    );

    let (code, out, err) = mmdiff(&["minimize", &shown], None);
    assert_eq!(code, 1, "nothing to minimize without a divergence: {out}");
    assert!(err.contains("no divergence in 5 ops"), "{err}");
}

#[test]
fn the_name_decides_not_the_contents() {
    let dir = TempDir::new("explain-contents");
    // Bytes that are not UTF-8, text that reads as a scenario, nothing at
    // all: each is what a fuzzer may hand over, and each runs the ops the
    // shared decoder makes of it (every byte string decodes).
    for (name, data) in [
        (
            "clusterfuzz-testcase-differential_bytes-6543210987654321",
            &b"\xff\xfe\x80\x00\x09\x00\x00\x00\x00\x00\x00\x00\x01"[..],
        ),
        (
            "clusterfuzz-testcase-minimized-differential-1",
            b"mmap p0 m0 anon rw pages=1\nwrite p0 m0[0] = 1\n",
        ),
        ("crash-da39a3ee5e6b4b0d3255bfef95601890afd80709", b""),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, data).expect("write");
        let shown = path.display().to_string();
        let (code, out, err) = mmdiff(&["explain", &shown], None);
        assert_eq!(code, 0, "{name}: {out}{err}");
        let ops = bytes::decode(data).len();
        assert_eq!(
            out,
            format!("{shown}: no divergence: the oracle and the subject agree on all {ops} ops\n"),
            "{name}"
        );
    }
    // A scenario is a scenario only by its extension: the same text in a
    // .mms file is parsed, and runs its own two ops.
    let mms = dir.path().join("same.mms");
    std::fs::write(&mms, "mmap p0 m0 anon rw pages=1\nwrite p0 m0[0] = 1\n").expect("write");
    let (code, out, _) = mmdiff(&["explain", &mms.display().to_string()], None);
    assert_eq!(code, 0);
    assert!(out.ends_with("agree on all 2 ops\n"), "{out}");

    let (code, _, err) = mmdiff(&["explain", "no-such-testcase-1"], None);
    assert_eq!(code, 2, "an unreadable testcase is an error");
    assert!(err.contains("no-such-testcase-1: cannot read"), "{err}");
}

#[test]
fn a_scenario_parser_testcase_gets_the_parser_check() {
    let dir = TempDir::new("explain-parser");
    let artifacts = dir.path().join("artifacts").join("scenario_parser");
    std::fs::create_dir_all(&artifacts).expect("mkdir");
    for path in [
        dir.path()
            .join("clusterfuzz-testcase-minimized-scenario_parser-4242"),
        artifacts.join("crash-0123456789abcdef"),
    ] {
        std::fs::write(&path, SCENARIO).expect("write");
        let shown = path.display().to_string();
        let (code, out, err) = mmdiff(&["explain", &shown], None);
        assert_eq!(code, 0, "{out}{err}");
        assert!(
            out.starts_with(&format!(
                "{shown} (scenario_parser testcase, {} bytes)\n",
                SCENARIO.len()
            )),
            "{out}"
        );
        assert!(
            out.contains("the parser's contract holds: 5 ops parse"),
            "{out}"
        );

        // Not ops: the commands that run ops say so instead of running the
        // text's bytes.
        let (code, _, err) = mmdiff(&["minimize", &shown], None);
        assert_eq!(code, 1);
        assert!(
            err.contains("scenario_parser testcase is text for the parser")
                && err.contains(&format!("mmdiff explain {shown}")),
            "{err}"
        );
    }
    let refused = dir.path().join("clusterfuzz-testcase-scenario_parser-77");
    std::fs::write(&refused, "fork p0 ->\n").expect("write");
    let (code, out, _) = mmdiff(&["explain", &refused.display().to_string()], None);
    assert_eq!(code, 0, "a parse error is an answer, not a failure: {out}");
    assert!(
        out.contains("refused, as the parser may: line 1, column 11: expected"),
        "{out}"
    );
}

/// The README's path from a report to a regression, on a testcase that
/// diverges: the canary planted fault (a CPU write to page 1 of a
/// window stores the value plus one) stands in for a bug, behind a few
/// ops that have nothing to do with it (they write no page 1).
#[cfg(feature = "planted")]
#[test]
fn from_a_clusterfuzz_testcase_to_a_regression() {
    let dir = TempDir::new("explain-report");
    let corpus = dir.path().join("corpus");
    let testcase = dir
        .path()
        .join("clusterfuzz-testcase-minimized-differential-5712345");
    write_testcase(
        &testcase,
        "mmap p0 m1 anon rw pages=4\nwrite p0 m1[0] = 3\nfork p0 -> p1\n\
         mmap p0 m0 anon rw pages=2\nread p1 m1[0..4]\nwrite p0 m0[1] = 0\nread p0 m0[0..2]\n",
    );
    let shown = testcase.display().to_string();

    let (code, out, err) = mmdiff(&["explain", &shown], Some("canary"));
    assert_eq!(code, 1, "{out}{err}");
    for want in [
        format!("{shown} (7 ops, fuzz bytes)\n"),
        "signature: write/state:folio.contents\n".to_string(),
        "> #5    write p0 m0[1] = 0".to_string(),
        "... 1 ops after, not run".to_string(),
    ] {
        assert!(out.contains(&want), "missing {want:?} in:\n{out}");
    }

    let corpus_arg = corpus.display().to_string();
    let (code, out, err) = mmdiff(&["triage", &shown, "--corpus", &corpus_arg], Some("canary"));
    assert_eq!(code, 0, "{out}{err}");
    let promoted = corpus.join("regressions/write-state-folio-contents.mms");
    assert!(
        out.starts_with(&format!(
            "new    write/state:folio.contents  {} (2 ops, from {shown}; 1 artifact)",
            promoted.display()
        )),
        "{out}"
    );
    let src = std::fs::read_to_string(&promoted).expect("the regression is written");
    for want in [
        "#! signature: write/state:folio.contents\n".to_string(),
        format!("#! minimized-from: {shown}\n"),
        "#! planted: canary\n".to_string(),
    ] {
        assert!(src.contains(&want), "missing {want:?} in:\n{src}");
    }
    assert_eq!(
        text::parse(&src).expect("the regression parses").ops(),
        text::parse("mmap p0 m0 anon rw pages=2\nwrite p0 m0[1] = 0\n")
            .expect("parses")
            .ops()
    );

    // The regression fails while the bug is there and passes without it.
    let regression = promoted.display().to_string();
    let (code, out, _) = mmdiff(&["replay", &regression], Some("canary"));
    assert_eq!(code, 1, "{out}");
    let (code, out, _) = mmdiff(&["replay", &regression], None);
    assert_eq!(code, 0, "{out}");

    // The same report again is known.
    let (code, out, _) = mmdiff(&["triage", &shown, "--corpus", &corpus_arg], Some("canary"));
    assert_eq!(code, 0);
    assert!(
        out.starts_with("known  write/state:folio.contents"),
        "{out}"
    );
}
