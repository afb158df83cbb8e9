//! The inputs of `mmdiff bench`: scripted workloads, kept as scenario text
//! under `triage/bench-workloads/` so that a reader sees exactly what runs,
//! and generated op sequences for the lockstep throughput figure.
//!
//! A workload file names its machine size in a `#! config:` header
//! (`window_pages=`, `zone_pages=normal,movable,cma`, `device_pages=`,
//! `swap_slots=`, `iommu_chunk=`; anything not named keeps
//! [`Config::default`]). Expectations in a workload file may give an
//! outcome only: the bench checks outcomes on the raw models, without the
//! canonical state that facts need.

use mmdiff_core::expect::ExpectedOutcome;
use mmdiff_core::op::{OpKind, PageRange};
use mmdiff_core::outcome::{Payload, PfnRun};
use mmdiff_core::run::Runner;
use mmdiff_core::text::{self, Line};
use mmdiff_core::{Config, Op, Outcome};
use mmdiff_oracle::Oracle;

use crate::gen::Generator;
use mmdiff_core::rng::SplitMix64;

/// What a workload runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A scenario file's ops, on one model from a fresh start.
    Script(&'static str),
    /// [`SEQS`] generated sequences of [`SEQ_LEN`] ops, each from a fresh
    /// start.
    Sequences,
}

/// One benchmark workload.
#[derive(Clone, Copy, Debug)]
pub struct Workload {
    pub name: &'static str,
    /// What it does, in one line (the bench prints it as it starts).
    pub about: &'static str,
    pub kind: Kind,
    /// What `--quick` divides its page counts (scripts) or its number of
    /// sequences by.
    pub quick_factor: u32,
}

/// Every workload, in the order the bench runs them.
pub const WORKLOADS: &[Workload] = &[
    Workload {
        name: "thp1g-hmm-fault",
        about: "1 GiB MADV_HUGEPAGE anon region: write all, hmm-fault snapshot of all",
        kind: Kind::Script(include_str!("../../bench-workloads/thp1g-hmm-fault.mms")),
        quick_factor: 16,
    },
    Workload {
        name: "thp1g-pin-longterm",
        about: "1 GiB MADV_HUGEPAGE anon region: write all, gup pin longterm of all, release",
        kind: Kind::Script(include_str!(
            "../../bench-workloads/thp1g-pin-longterm.mms"
        )),
        quick_factor: 16,
    },
    Workload {
        name: "thp1g-migrate-dev",
        about: "1 GiB MADV_HUGEPAGE anon region: write all, migrate-to-dev dev0, migrate-to-sys",
        kind: Kind::Script(include_str!("../../bench-workloads/thp1g-migrate-dev.mms")),
        quick_factor: 16,
    },
    Workload {
        name: "fork-cow-4k",
        about: "64 MiB anon region of 4 KiB pages: write, fork, child rewrites all (COW), hmm-fault both",
        kind: Kind::Script(include_str!("../../bench-workloads/fork-cow-4k.mms")),
        quick_factor: 16,
    },
    Workload {
        name: "seq64",
        about: "10,000 swarm-generated 64-op sequences (fixed seed), default config",
        kind: Kind::Sequences,
        // 100 sequences: generating them dominates a quick run.
        quick_factor: 100,
    },
];

/// The workload called `name`.
pub fn find(name: &str) -> Option<&'static Workload> {
    WORKLOADS.iter().find(|w| w.name == name)
}

/// Seed of the generated sequences: fixed, so every run measures the same
/// inputs ("mmdiff" in ASCII).
pub const SEQ_SEED: u64 = 0x6d6d_6469_6666;
/// Ops per generated sequence.
pub const SEQ_LEN: usize = 64;
/// Generated sequences in a full run.
pub const SEQS: usize = 10_000;

/// A scripted workload ready to run: its machine, its ops and what each op
/// must return.
#[derive(Clone, Debug)]
pub struct Script {
    pub config: Config,
    pub ops: Vec<Op>,
    /// The outcome each op's line expects, if it gives one.
    pub expects: Vec<Option<ExpectedOutcome>>,
}

impl Script {
    /// Parses workload text and divides every page count and page number
    /// in it (config, ops, counts in expectations) by `factor`.
    pub fn load(src: &str, factor: u32) -> Result<Script, String> {
        let scenario = text::parse(src).map_err(|e| e.to_string())?;
        let mut config = Config::default();
        for (key, value) in &scenario.header {
            if key == "config" {
                config = Config::from_header(value)?;
            }
        }
        let mut ops = Vec::new();
        let mut expects = Vec::new();
        for line in &scenario.lines {
            let Line::Op { op, expect, .. } = line else {
                continue;
            };
            if expect.as_ref().is_some_and(|e| !e.facts.is_empty()) {
                return Err(format!(
                    "`{}`: workload expectations give an outcome only",
                    text::op_to_string(op)
                ));
            }
            ops.push(scale_op(op, factor)?);
            expects.push(
                expect
                    .as_ref()
                    .and_then(|e| e.outcome.as_ref())
                    .map(|o| scale_expected(o, factor))
                    .transpose()?,
            );
        }
        let config = scale_config(&config, factor)?;
        config.validate()?;
        Ok(Script {
            config,
            ops,
            expects,
        })
    }
}

/// The config of a workload scaled down by `factor`: windows exactly (they
/// must stay PMD multiples), pools rounded up.
pub fn scale_config(c: &Config, factor: u32) -> Result<Config, String> {
    let f = u64::from(factor.max(1));
    let mut s = c.clone();
    s.window_pages = exact(c.window_pages, factor)?;
    for z in &mut s.zone_pages {
        *z = z.div_ceil(f);
    }
    s.device_pages = c.device_pages.div_ceil(f);
    s.swap_slots = c.swap_slots.div_ceil(f);
    Ok(s)
}

/// `v / factor`, when that is exact.
fn exact(v: u32, factor: u32) -> Result<u32, String> {
    let factor = factor.max(1);
    if !v.is_multiple_of(factor) {
        return Err(format!(
            "{v} is not a multiple of the scale factor {factor}"
        ));
    }
    Ok(v / factor)
}

fn exact64(v: u64, factor: u32) -> Result<u64, String> {
    let factor = u64::from(factor.max(1));
    if !v.is_multiple_of(factor) {
        return Err(format!(
            "{v} is not a multiple of the scale factor {factor}"
        ));
    }
    Ok(v / factor)
}

/// `op` with every page number and page count divided by `factor`
/// (exactly, so the scaled workload keeps its shape: PMD alignment, which
/// pages are shared).
pub fn scale_op(op: &Op, factor: u32) -> Result<Op, String> {
    if factor <= 1 {
        return Ok(op.clone());
    }
    let context = |e: String| format!("`{}`: {e}", text::op_to_string(op));
    let d = |v: &mut u32| -> Result<(), String> {
        *v = exact(*v, factor)?;
        Ok(())
    };
    let r = |range: &mut PageRange| -> Result<(), String> {
        range.start = exact(range.start, factor)?;
        range.end = exact(range.end, factor)?;
        Ok(())
    };
    let mut scaled = op.clone();
    let range = scaled.range_mut().map_or(Ok(()), r);
    let result = range.and_then(|()| match &mut scaled {
        Op::Mmap {
            at, pages, foff, ..
        } => d(at).and_then(|()| d(pages)).and_then(|()| d(foff)),
        Op::HmmFault {
            page_req: Some((a, b, _)),
            ..
        } => d(a).and_then(|()| d(b)),
        Op::MigrateSetup {
            fault_page: Some(k),
            ..
        } => d(k),
        Op::Mremap { to, .. } => d(&mut to.page),
        Op::File { pages, .. } => d(pages),
        Op::DmaRead { start, end, .. } | Op::DmaWrite { start, end, .. } => {
            d(start).and_then(|()| d(end))
        }
        Op::SplitThp { at, .. } | Op::Lock { at, .. } => d(&mut at.page),
        Op::IommuTranslate { index, .. } => d(index),
        Op::MigrateAlloc {
            fail: Some((a, b)), ..
        } => d(a).and_then(|()| d(b)),
        _ => Ok(()),
    });
    result.map_err(context)?;
    scaled.validate().map_err(context)?;
    Ok(scaled)
}

/// An expected outcome with its page counts divided by `factor`.
fn scale_expected(e: &ExpectedOutcome, factor: u32) -> Result<ExpectedOutcome, String> {
    if factor <= 1 {
        return Ok(e.clone());
    }
    Ok(match e {
        ExpectedOutcome::Exact(Outcome::Ok(Payload::Count(n))) => {
            ExpectedOutcome::Exact(Outcome::count(exact64(*n, factor)?))
        }
        ExpectedOutcome::Exact(Outcome::Ok(Payload::Dev {
            cpages,
            faults,
            data: None,
        })) => ExpectedOutcome::Exact(Outcome::Ok(Payload::Dev {
            cpages: exact64(*cpages, factor)?,
            faults: *faults,
            data: None,
        })),
        ExpectedOutcome::Dev {
            cpages,
            faults,
            data,
        } => ExpectedOutcome::Dev {
            cpages: exact64(*cpages, factor)?,
            faults: *faults,
            data: data.clone(),
        },
        other => other.clone(),
    })
}

/// Whether one op of a scripted workload did what the workload needs:
/// the outcome its line expects, or else any success; an `hmm-fault`
/// must also report every page valid (a snapshot of holes measures a
/// different walk).
pub fn check_outcome(
    op: &Op,
    expected: Option<&ExpectedOutcome>,
    outcome: &Outcome,
) -> Result<(), String> {
    let fail = |why: &str| {
        // A million-page payload would drown the message.
        let mut got = text::outcome_to_string(outcome);
        if let Some((cut, _)) = got.char_indices().nth(200) {
            got.truncate(cut);
            got.push_str("...");
        }
        Err(format!(
            "`{}` returned `{got}`: {why}",
            text::op_to_string(op)
        ))
    };
    match expected {
        Some(e) if !e.matches(outcome) => {
            return fail(&format!(
                "expected `{}`",
                text::expected_outcome_to_string(e)
            ))
        }
        None if !matches!(outcome, Outcome::Ok(_)) => return fail("expected success"),
        _ => {}
    }
    if let (Op::HmmFault { range, .. }, Outcome::Ok(Payload::Pfns(words))) = (op, outcome) {
        // A run shares its flags: checking each run's first word is
        // checking every page, at a cost per run.
        let valid = |r: &PfnRun| r.first.valid && !r.first.error;
        if words.len() != u64::from(range.len()) || !words.runs().iter().all(valid) {
            return fail("expected a valid word for every page");
        }
    }
    Ok(())
}

/// Generated sequences, all of one length, for [`Config::default`].
#[derive(Clone, Debug)]
pub struct Sequences {
    pub config: Config,
    pub seqs: Vec<Vec<Op>>,
    /// Sequences dropped because the oracle panicked while generating
    /// them (the generator needs the state after every op).
    pub skipped: usize,
}

/// `count` sequences of `len` ops from the swarm generator of `mmdiff
/// fuzz` with `seed`, each op drawn from the oracle's canonical state after
/// the previous one (as the campaign draws them).
pub fn generate(seed: u64, count: usize, len: usize) -> Result<Sequences, String> {
    let config = Config::default();
    let mut rng = SplitMix64::new(seed);
    let mut seqs = Vec::with_capacity(count);
    let mut skipped = 0;
    // Invariants play no part in what the generator draws; skipping them
    // only makes generation faster.
    let no_invariants: mmdiff_core::run::InvariantCheck = |_| Vec::new();
    while seqs.len() < count {
        if skipped > count {
            return Err(format!(
                "the oracle panicked while generating {skipped} sequences"
            ));
        }
        let mut gen = Generator::spread(&mut rng, &OpKind::ALL);
        let mut runner = Runner::<Oracle>::with_invariants(&config, no_invariants)
            .map_err(|f| format!("the oracle does not start: {f}"))?;
        let mut ops = Vec::with_capacity(len);
        for _ in 0..len {
            let op = gen.next_op(&mut rng, runner.state());
            if runner.step(&op, None).is_err() {
                break;
            }
            ops.push(op);
        }
        if ops.len() == len {
            seqs.push(ops);
        } else {
            skipped += 1;
        }
    }
    Ok(Sequences {
        config,
        seqs,
        skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_script_parses_at_full_and_quick_size() {
        for w in WORKLOADS {
            let Kind::Script(src) = w.kind else { continue };
            for factor in [1, w.quick_factor] {
                let s = Script::load(src, factor).unwrap_or_else(|e| panic!("{}: {e}", w.name));
                assert!(!s.ops.is_empty(), "{}", w.name);
                assert_eq!(s.ops.len(), s.expects.len());
                for op in &s.ops {
                    assert!(op.validate().is_ok(), "{}: {op:?}", w.name);
                }
            }
        }
    }

    #[test]
    fn the_thp_workloads_cover_one_gib() {
        for name in ["thp1g-hmm-fault", "thp1g-pin-longterm", "thp1g-migrate-dev"] {
            let Some(Workload {
                kind: Kind::Script(src),
                ..
            }) = find(name)
            else {
                panic!("{name} missing")
            };
            let s = Script::load(src, 1).unwrap();
            assert!(s.config.window_pages >= 262_144, "{name}");
            assert!(
                s.ops
                    .iter()
                    .any(|op| matches!(op, Op::Mmap { pages: 262_144, .. })),
                "{name}"
            );
        }
    }

    #[test]
    fn config_headers_scale() {
        let c = Config::from_header("window_pages=4096 zone_pages=1,2,3 device_pages=7").unwrap();
        let s = scale_config(&c, 8).unwrap();
        assert_eq!(
            (s.window_pages, s.zone_pages, s.device_pages),
            (512, [1, 1, 1], 1)
        );
        assert!(scale_config(&c, 3).is_err());
    }

    #[test]
    fn scaling_keeps_the_shape_or_refuses() {
        let op = text::parse_op("write p0 m0[512..1024] = index").unwrap();
        assert_eq!(
            text::op_to_string(&scale_op(&op, 16).unwrap()),
            "write p0 m0[32..64] = index"
        );
        let odd = text::parse_op("read p0 m0[3..1024]").unwrap();
        assert!(scale_op(&odd, 16).is_err());
        let e = text::parse_outcome("ok cpages=1024 faults=0 data=index").unwrap();
        let s = scale_expected(&e, 16).unwrap();
        assert_eq!(
            text::expected_outcome_to_string(&s),
            "ok cpages=64 faults=0 data=index"
        );
    }

    #[test]
    fn outcome_checks() {
        let op = text::parse_op("gup p0 m0[0..4] pin -> h0").unwrap();
        assert!(check_outcome(&op, None, &Outcome::count(4)).is_ok());
        assert!(check_outcome(&op, None, &Outcome::Err(mmdiff_core::Errno::EFAULT)).is_err());
        let e = ExpectedOutcome::Exact(Outcome::count(4));
        assert!(check_outcome(&op, Some(&e), &Outcome::count(3)).is_err());
        let hmm = text::parse_op("hmm-fault p0 m0[0..2]").unwrap();
        let word = mmdiff_core::outcome::HmmPfn {
            valid: true,
            ..Default::default()
        };
        let ok = Outcome::Ok(Payload::Pfns(vec![word; 2].into()));
        assert!(check_outcome(&hmm, None, &ok).is_ok());
        let hole = Outcome::Ok(Payload::Pfns(vec![word, Default::default()].into()));
        assert!(check_outcome(&hmm, None, &hole).is_err());
    }

    #[test]
    fn sequences_are_deterministic_and_full_length() {
        let a = generate(SEQ_SEED, 3, 8).unwrap();
        let b = generate(SEQ_SEED, 3, 8).unwrap();
        assert_eq!(a.seqs, b.seqs);
        assert_eq!(a.seqs.len(), 3);
        assert!(a.seqs.iter().all(|s| s.len() == 8));
        assert_ne!(a.seqs, generate(SEQ_SEED + 1, 3, 8).unwrap().seqs);
    }
}
