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

