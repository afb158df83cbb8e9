//! The files a kernel campaign writes for a disagreement: the ops up to the
//! divergent one as a scenario, with provenance headers and the kernel's
//! answer in comments, and the same ops as fuzz bytes.

use std::path::{Path, PathBuf};

use mmdiff_core::text::{self, Line, Scenario};
use mmdiff_core::{bytes, Op};
use mmdiff_kernel::Report;

use crate::files;
use crate::fuzz::fnv1a;

/// The scenario of a disagreement: the ops up to the divergent one, with
/// provenance and the divergence's report (both outcomes, the diff of the
/// views) as comments after that op.
pub fn disagreement_scenario(
    ops: &[Op],
    report: &Report,
    provenance: &[(String, String)],
) -> Scenario {
    let d = report.divergence.as_ref();
    let keep = d.and_then(|d| d.index).map_or(0, |i| i + 1).min(ops.len());
    let mut s = Scenario::from_ops(&ops[..keep]);
    s.header = provenance.to_vec();
    if let Some(d) = d {
        let rendered = d.render();
        let mut lines = rendered.lines();
        let first = lines.next().unwrap_or_default().to_string();
        s.header.push(("failure".into(), first));
        s.header.push(("signature".into(), d.signature()));
        s.lines
            .push(Line::Comment(" the kernel disagrees here:".into()));
        s.lines
            .extend(lines.map(|l| Line::Comment(format!(" {}", l.trim_start()))));
        s.lines.push(Line::Comment(" the kernel's view:".into()));
        s.lines.extend(
            d.kernel_view
                .render(report.config.window_pages)
                .lines()
                .map(|l| Line::Comment(format!(" {l}"))),
        );
    }
    s
}

/// Writes `kernel-<kind>-<hash><suffix>.mms` (and, for the raw form, the
/// `.bin` of the same ops) into `dir`, atomically; returns the scenario's
/// path.
pub fn save(
    dir: &Path,
    ops: &[Op],
    report: &Report,
    provenance: &[(String, String)],
    suffix: &str,
) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let scenario = disagreement_scenario(ops, report, provenance);
    let data = bytes::encode(&scenario.ops()).ok();
    let kind = match report.divergence.as_ref().map(|d| d.kind) {
        Some(mmdiff_kernel::DivergenceKind::Outcome) => "outcome",
        _ => "state",
    };
    let hash = fnv1a(
        &data
            .clone()
            .unwrap_or_else(|| text::print(&scenario).into_bytes()),
    );
    let stem = format!("kernel-{kind}-{hash:016x}{suffix}");
    if let (Some(data), "") = (&data, suffix) {
        files::write_atomic(&dir.join(format!("{stem}.bin")), data)?;
    }
    let mms = dir.join(format!("{stem}.mms"));
    files::write_atomic(&mms, text::print(&scenario).as_bytes())?;
    Ok(mms)
}

/// Writes the whole input on which the engine itself failed (a guest
/// that hung or went away) as `engine-error-<hash>.mms` into `dir`, the
/// error in its header: replaying it reproduces the failure.
pub fn save_engine_error(
    dir: &Path,
    ops: &[Op],
    error: &str,
    provenance: &[(String, String)],
) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let mut scenario = Scenario::from_ops(ops);
    scenario.header = provenance.to_vec();
    scenario
        .header
        .push(("engine-error".into(), error.to_string()));
    let printed = text::print(&scenario);
    let path = dir.join(format!(
        "engine-error-{:016x}.mms",
        fnv1a(printed.as_bytes())
    ));
    files::write_atomic(&path, printed.as_bytes())?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mmdiff_core::outcome::Outcome;
    use mmdiff_kernel::view::View;
    use mmdiff_kernel::{DivergenceKind, KernelDivergence, KernelOutcome};

    fn report(ops: &[Op]) -> Report {
        Report {
            config: mmdiff_core::Config::default(),
            ops_total: ops.len(),
            ops_run: 2,
            skipped: Default::default(),
            stopped_before: None,
            ended: None,
            observations: 3,
            explained: Default::default(),
            divergence: Some(Box::new(KernelDivergence {
                index: Some(1),
                op: ops.get(1).cloned(),
                kind: DivergenceKind::Outcome,
                oracle_outcome: Some(Outcome::OK),
                kernel_outcome: Some(KernelOutcome::UnknownErrno(75)),
                oracle_view: View::default(),
                kernel_view: View::default(),
                diff: String::new(),
            })),
        }
    }

    #[test]
    fn a_disagreement_is_saved_up_to_its_op_with_the_kernels_answer() {
        let ops = text::parse("mmap p0 m0 anon rw pages=1\nwrite p0 m0[0] = 1\nread p0 m0[0]\n")
            .unwrap()
            .ops();
        let r = report(&ops);
        let provenance = vec![("found-by".to_string(), "a test".to_string())];
        let s = disagreement_scenario(&ops, &r, &provenance);
        assert_eq!(s.ops(), ops[..2].to_vec(), "cut after the divergent op");
        let keys: Vec<&str> = s.header.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["found-by", "failure", "signature"]);
        assert_eq!(s.header[2].1, "write/kernel-outcome");
        let printed = text::print(&s);
        assert!(printed.contains("# oracle: ok"), "{printed}");
        assert!(printed.contains("# kernel: errno 75"), "{printed}");
        assert_eq!(text::parse(&printed).unwrap().ops(), ops[..2].to_vec());

        let dir = files::TempDir::new("kernel-artifact");
        let raw = save(dir.path(), &ops, &r, &provenance, "").unwrap();
        assert!(
            raw.with_extension("bin").is_file(),
            "the raw form has bytes"
        );
        let min = save(dir.path(), &ops, &r, &provenance, ".min").unwrap();
        let name = min.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with("kernel-outcome-") && name.ends_with(".min.mms"),
            "{name}"
        );
        assert_eq!(std::fs::read_to_string(&min).unwrap(), printed);
    }

    #[test]
    fn an_engine_error_keeps_the_whole_input_and_the_error() {
        let dir = crate::files::TempDir::new("engine-error");
        let ops = text::parse("mmap p0 m0 anon rw pages=2\nwrite p0 m0[0..2] = 1\n")
            .expect("parses")
            .ops();
        let provenance = vec![("found-by".to_string(), "test".to_string())];
        let path = save_engine_error(dir.path(), &ops, "guest: channel: hangs", &provenance)
            .expect("saved");
        let back = text::parse(&std::fs::read_to_string(&path).expect("read")).expect("parses");
        assert_eq!(back.ops(), ops);
        assert!(back.header.contains(&(
            "engine-error".to_string(),
            "guest: channel: hangs".to_string()
        )));
        assert!(path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("engine-error-")));
    }
}
