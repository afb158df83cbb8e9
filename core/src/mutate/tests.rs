use std::collections::BTreeSet;

use super::*;
use crate::op::{PageRange, ProcId, SlotId, MAX_PAGE};
use crate::text;

/// Every kind [`mutate`] can report except [`Mutation::Nothing`].
fn every_kind() -> BTreeSet<Mutation> {
    use Tweak::*;
    let mut all: BTreeSet<Mutation> = [
        Mutation::Insert,
        Mutation::Delete,
        Mutation::Duplicate,
        Mutation::Swap,
        Mutation::Splice,
    ]
    .into();
    for t in [
        Shift, Grow, Shrink, SnapPmd, OnePage, Window, Id, Flag, Prot, Advice, Fill, Choice,
        Optional, Align,
    ] {
        all.insert(Mutation::Tweak(t));
    }
    all
}

fn random_ops(rng: &mut SplitMix64, max_bytes: u64) -> Vec<Op> {
    let mut buf = vec![0u8; rng.below(max_bytes + 1) as usize];
    rng.fill(&mut buf);
    bytes::decode(&buf)
}

fn check_valid(ops: &[Op], max_ops: usize) -> Result<(), String> {
    if ops.len() > max_ops.min(bytes::MAX_OPS) {
        return Err(format!("{} ops > max {max_ops}", ops.len()));
    }
    for (i, op) in ops.iter().enumerate() {
        op.validate().map_err(|e| format!("op {i} {op:?}: {e}"))?;
    }
    let data = bytes::encode(ops)?;
    if bytes::decode(&data) != ops {
        return Err("does not round-trip through the byte format".into());
    }
    Ok(())
}

#[test]
fn every_kind_occurs_and_every_result_is_valid_and_changed() {
    let mut rng = SplitMix64::new(0x5eed);
    let mut seen = BTreeSet::new();
    for trial in 0..20_000 {
        let mut ops = random_ops(&mut rng, 200);
        let donor = random_ops(&mut rng, 100);
        let max_ops = match trial % 4 {
            0 => 1 + rng.below(4) as usize,
            1 => bytes::MAX_OPS + 10,
            _ => 1 + rng.below(300) as usize,
        };
        ops.truncate(max_ops);
        let before = ops.clone();
        let m = mutate(&mut ops, &donor, &mut rng, max_ops);
        if let Err(e) = check_valid(&ops, max_ops) {
            panic!("trial {trial}: {m:?}: {e}\nbefore {before:?}\nafter {ops:?}");
        }
        assert_ne!(m, Mutation::Nothing, "trial {trial}");
        assert_ne!(ops, before, "trial {trial}: {m:?} changed nothing");
        seen.insert(m);
    }
    let missing: Vec<_> = every_kind().difference(&seen).copied().collect();
    assert!(missing.is_empty(), "never happened: {missing:?}");
}

#[test]
fn long_mutation_chains_stay_valid() {
    // Mutating a mutant, as a fuzzer does, for many generations.
    let mut rng = SplitMix64::new(3);
    let mut ops = Vec::new();
    let donor = random_ops(&mut rng, 300);
    for step in 0..5_000 {
        let m = mutate(&mut ops, &donor, &mut rng, 40);
        if let Err(e) = check_valid(&ops, 40) {
            panic!("step {step}: {m:?}: {e}");
        }
    }
}

#[test]
fn same_seed_same_result_other_seeds_differ() {
    let mut gen = SplitMix64::new(11);
    let mut differ = 0;
    for _ in 0..500 {
        let ops = random_ops(&mut gen, 120);
        let donor = random_ops(&mut gen, 60);
        let seed = gen.next_u64();
        let run = |seed: u64| {
            let mut v = ops.clone();
            let m = mutate(&mut v, &donor, &mut SplitMix64::new(seed), 64);
            (v, m)
        };
        assert_eq!(run(seed), run(seed));
        if run(seed) != run(seed ^ 1) {
            differ += 1;
        }
    }
    assert!(differ > 400, "only {differ} of 500 seeds mattered");
}

#[test]
fn limits_and_invalid_input() {
    let mut rng = SplitMix64::new(5);
    let bad = Op::Read {
        p: ProcId(0),
        range: PageRange::new(SlotId(0), 7, 7),
    };
    let good = Op::Read {
        p: ProcId(0),
        range: PageRange::new(SlotId(0), 0, 1),
    };
    // max_ops 0: nothing can be done and the sequence is emptied.
    let mut ops = vec![good.clone(), good.clone()];
    assert_eq!(mutate(&mut ops, &[], &mut rng, 0), Mutation::Nothing);
    assert!(ops.is_empty());
    // Invalid ops (in the input or the donor) never survive.
    for _ in 0..200 {
        let mut ops = vec![bad.clone(), good.clone(), bad.clone()];
        mutate(&mut ops, &[bad.clone(), good.clone()], &mut rng, 8);
        assert_eq!(check_valid(&ops, 8), Ok(()));
    }
    // A longer input is cut to max_ops.
    let mut ops = vec![good.clone(); 10];
    mutate(&mut ops, &[], &mut rng, 3);
    assert!(ops.len() <= 3);
}

#[test]
fn align_makes_an_op_meet_another_ops_pages() {
    // A read somewhere else is aligned onto the pages of an mmap: same
    // process, same window, inside the mapping.
    let source = text::parse_op("mmap p2 m3 anon rw pages=7 at=100").unwrap();
    let mut rng = SplitMix64::new(1);
    let mut hits = 0;
    for _ in 0..100 {
        let mut op = text::parse_op("read p0 m0[5000..5001]").unwrap();
        tweak::align(&mut rng, &mut op, &source);
        // Either the process alone (an id) or the process and range.
        if let Op::Read { p, range } = op {
            assert_eq!(p, ProcId(2));
            if range.slot == SlotId(3) {
                assert!(100 <= range.start && range.end <= 107, "{range:?}");
                hits += 1;
            } else {
                assert_eq!(range, PageRange::new(SlotId(0), 5000, 5001));
            }
        }
    }
    assert!(hits > 30, "aligned only {hits} times of 100");
}

#[test]
fn encoded_mutation_fits_and_decodes() {
    let mut rng = SplitMix64::new(9);
    for _ in 0..2_000 {
        let mut data = vec![0u8; rng.below(400) as usize];
        rng.fill(&mut data);
        let max_len = rng.below(300) as usize;
        let (out, _) = mutate_encoded(&data, &[], &mut rng, max_len);
        assert!(out.len() <= max_len);
        let ops = bytes::decode(&out);
        assert_eq!(check_valid(&ops, bytes::MAX_OPS), Ok(()));
        // Nothing was cut in the middle of an op.
        assert_eq!(bytes::encode(&ops).unwrap(), out);
    }
}

#[test]
fn encode_within_keeps_the_longest_fitting_prefix() {
    let mut rng = SplitMix64::new(21);
    let ops = random_ops(&mut rng, 500);
    let full = bytes::encode(&ops).unwrap();
    assert_eq!(encode_within(&ops, usize::MAX), full);
    for max_len in [0, 1, 10, full.len() / 2, full.len()] {
        let cut = encode_within(&ops, max_len);
        assert!(cut.len() <= max_len && full.starts_with(&cut));
        let kept = bytes::decode(&cut).len();
        if kept < ops.len() {
            // The next op would not have fitted.
            let next = bytes::encode(&ops[..kept + 1]).unwrap();
            assert!(next.len() > max_len);
        }
    }
}

#[test]
fn crossover_splices_at_op_boundaries() {
    let mut rng = SplitMix64::new(4);
    for _ in 0..300 {
        let a = random_ops(&mut rng, 60);
        let b = random_ops(&mut rng, 60);
        let max_ops = 1 + rng.below(40) as usize;
        let c = crossover(&a, &b, &mut rng, max_ops);
        assert_eq!(check_valid(&c, max_ops), Ok(()));
        // Some prefix of `a` followed by some suffix of `b`, cut to size.
        let splice = |i: usize, j: usize| {
            let mut v: Vec<Op> = a[..i].iter().chain(&b[j..]).cloned().collect();
            v.truncate(max_ops);
            v
        };
        let found = (0..=a.len()).any(|i| (0..=b.len()).any(|j| splice(i, j) == c));
        assert!(found, "not a splice of a and b: {c:?}");
    }
}

#[test]
fn pmd_snaps_land_on_pmd_boundaries() {
    // Snapped ranges are PMD-aligned or straddle a PMD boundary, and stay
    // in the op domain, even at its top.
    let mut rng = SplitMix64::new(8);
    let mut aligned = 0;
    for trial in 0..3_000 {
        let s = if trial % 10 == 0 {
            MAX_PAGE - 1 - rng.below(600) as u32
        } else {
            rng.below(5000) as u32
        };
        let e = (s + 1 + rng.below(700) as u32).min(MAX_PAGE);
        let (ns, ne) = tweak::snap(&mut rng, s, e);
        assert!(ns < ne && ne <= MAX_PAGE, "{s}..{e} -> {ns}..{ne}");
        if ns % 512 == 0 && ne % 512 == 0 {
            aligned += 1;
        } else {
            let b = (ns / 512 + 1) * 512;
            assert!(
                ns < b && b < ne,
                "{ns}..{ne} neither aligned nor straddling"
            );
        }
    }
    assert!(aligned > 1000, "{aligned}");
}

#[test]
fn mutants_print_as_scenarios_that_parse_back() {
    // What the fuzzers find is printed as a scenario (`Failure`'s Display,
    // `mmdiff convert`): every mutant must survive print -> parse, and
    // printing is a fixpoint. Long chains reach odd values (u64 fills,
    // ranges at the domain's top) that hand-written scenarios lack.
    let mut rng = SplitMix64::new(77);
    let mut ops = Vec::new();
    let donor = random_ops(&mut rng, 400);
    for step in 0..3_000 {
        mutate(&mut ops, &donor, &mut rng, 24);
        let printed = text::print(&text::Scenario::from_ops(&ops));
        let parsed =
            text::parse(&printed).unwrap_or_else(|e| panic!("step {step}: {e}\n{printed}"));
        assert_eq!(parsed.ops(), ops, "step {step}:\n{printed}");
        assert_eq!(text::print(&parsed), printed, "step {step}");
    }
}
