//! The raw form of a divergence a campaign found: the ops up to the
//! divergent one as a scenario with provenance headers, and the same ops
//! as fuzz bytes, both written atomically.

use std::path::{Path, PathBuf};

use mmdiff_core::lockstep::Divergence;
use mmdiff_core::rng::SplitMix64;
use mmdiff_core::text::{self, Line, Scenario};
use mmdiff_core::{bytes, KernelVersion, Op};

use crate::{files, profile};

/// Shortest and longest random input of `--gen bytes`.
pub const MIN_LEN: usize = 16;
pub const MAX_LEN: usize = 2048;

/// The next input of a byte campaign: a length in `MIN_LEN..=MAX_LEN`,
/// then that many random bytes.
pub fn next_input(rng: &mut SplitMix64) -> Vec<u8> {
    let len = MIN_LEN + rng.below((MAX_LEN - MIN_LEN + 1) as u64) as usize;
    let mut buf = vec![0; len];
    rng.fill(&mut buf);
    buf
}

/// FNV-1a, 64 bits: names artifacts by their contents.
pub fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Where an input came from, for its provenance header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Origin {
    pub seed: u64,
    /// The campaign's profile (`--kernel`).
    pub kernel: KernelVersion,
    pub worker: usize,
    /// The input's index among the worker's inputs (0-based).
    pub exec: u64,
}

/// The scenario saved for a divergence: the ops up to and including the
/// divergent one, with provenance headers (and the profile, when it is not
/// the baseline: `#! config: kernel=V`) and a comment on that line.
pub fn artifact_scenario(ops: &[Op], d: &Divergence, origin: Origin) -> Scenario {
    let index = d.op.as_ref().map(|_| d.index);
    let keep = index.map_or(0, |i| i + 1).min(ops.len());
    let mut s = Scenario::from_ops(&ops[..keep]);
    let input = if origin.worker == 0 {
        format!("#{} of the campaign", origin.exec)
    } else {
        format!("#{} of worker {}", origin.exec, origin.worker)
    };
    s.header = vec![
        (
            "found-by".into(),
            format!(
                "mmdiff fuzz --seed {}{}",
                origin.seed,
                profile::flag(origin.kernel)
            ),
        ),
        ("input".into(), input),
        ("failure".into(), d.to_string()),
        ("signature".into(), d.signature.clone()),
    ];
    if let Some(planted) = crate::planted::active() {
        s.header.push(("planted".into(), planted.into()));
    }
    profile::record(&mut s.header, origin.kernel);
    if let Some(Line::Op { comment, .. }) = index.and_then(|i| s.lines.get_mut(i)) {
        *comment = Some(format!(" <- {}", d.blame()));
    }
    s
}

/// Writes `<kind>-<hash>.mms` and `.bin` (the bytes of the same ops) into
/// `dir`, atomically; returns the scenario's path. `<kind>` is
/// [`mmdiff_core::lockstep::DivergenceKind::name`].
pub fn save_artifact(
    dir: &Path,
    ops: &[Op],
    raw: &[u8],
    d: &Divergence,
    origin: Origin,
) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let scenario = artifact_scenario(ops, d, origin);
    // The bytes of exactly the ops in the scenario; the raw input when they
    // cannot be encoded (they always can: every op is valid).
    let data = bytes::encode(&scenario.ops()).unwrap_or_else(|_| raw.to_vec());
    let stem = format!("{}-{:016x}", d.kind.name(), fnv1a(&data));
    files::write_atomic(&dir.join(format!("{stem}.bin")), &data)?;
    let mms = dir.join(format!("{stem}.mms"));
    files::write_atomic(&mms, text::print(&scenario).as_bytes())?;
    Ok(mms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_depend_on_the_seed_only() {
        let mut a = SplitMix64::new(7);
        let mut b = SplitMix64::new(7);
        for _ in 0..20 {
            let x = next_input(&mut a);
            assert!((MIN_LEN..=MAX_LEN).contains(&x.len()));
            assert_eq!(x, next_input(&mut b));
        }
        assert_ne!(
            next_input(&mut SplitMix64::new(1)),
            next_input(&mut SplitMix64::new(2))
        );
    }
}
