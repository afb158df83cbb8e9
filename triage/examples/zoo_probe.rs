// Temporary probe: hit rates and costs per attempt of each input source.
use std::time::Instant;

use mmdiff_core::lockstep::{run_lockstep, run_lockstep_generated, Check};
use mmdiff_core::op::OpKind;
use mmdiff_core::rng::SplitMix64;
use mmdiff_core::{mutate, Config, Op, State};
use mmdiff_oracle::Oracle;
use mmdiff_subject::Subject;
use mmdiff_triage::fuzz::pool;
use mmdiff_triage::fuzz::worker::sequence_length;
use mmdiff_triage::gen::Generator;
use mmdiff_triage::state_machine::{OracleMachine, MAX_OPS};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config as PC, RngAlgorithm, TestRng, TestRunner};
use proptest_state_machine::ReferenceStateMachine;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bug = args[1].clone();
    let n: usize = args[2].parse().unwrap();
    let seeds_dir = format!("/tmp/zoo-before/seeds/{bug}/text");
    let which = args.get(3).cloned().unwrap_or("all".into());
    let max_ops: usize = args.get(4).map_or(32, |s| s.parse().unwrap());
    let name: &'static str = Box::leak(bug.clone().into_boxed_str());
    mmdiff_triage::planted::with_active(Some(name), || {
        let config = Config::default();
        if which == "all" || which == "gen" {
            let mut rng = SplitMix64::new(1);
            let (mut hits, mut ops_total, mut first) = (0, 0, None);
            let t = Instant::now();
            for i in 0..n {
                let mut gen = Generator::new(&mut rng, &OpKind::ALL);
                let len = sequence_length(&mut rng, max_ops);
                let r = &mut rng;
                let (ops, rep) = run_lockstep_generated::<Oracle, Subject>(&config, len, |s: &State| {
                    Some(gen.next_op(r, s))
                });
                ops_total += ops.len();
                if rep.divergence.is_some() {
                    hits += 1;
                    first.get_or_insert(i);
                }
            }
            let el = t.elapsed().as_secs_f64();
            println!(
                "{bug} gen: {hits}/{n} hit, first {first:?}, {:.1} ops/seq, {:.1} us/seq, {:.1} us/op",
                ops_total as f64 / n as f64,
                el * 1e6 / n as f64,
                el * 1e6 / ops_total as f64
            );
        }
        if which == "all" || which == "mut" {
            let t0 = Instant::now();
            let (seeds, _) = pool::load_seeds(std::path::Path::new(&seeds_dir), &OpKind::ALL);
            println!("load_seeds {:.2} ms", t0.elapsed().as_secs_f64() * 1e3);
            let mut rng = SplitMix64::new(2);
            let (mut hits, mut ops_total, mut first) = (0, 0, None);
            let t = Instant::now();
            for i in 0..n {
                let mut ops = seeds[rng.below(seeds.len() as u64) as usize].clone();
                let donor = seeds[rng.below(seeds.len() as u64) as usize].clone();
                let k = 1 + rng.below(4);
                for _ in 0..k {
                    mutate::mutate(&mut ops, &donor, &mut rng, max_ops);
                }
                ops.truncate(max_ops);
                ops_total += ops.len();
                let mut it = ops.clone().into_iter();
                let (_, rep) = run_lockstep_generated::<Oracle, Subject>(&config, ops.len(), |_: &State| it.next());
                if rep.divergence.is_some() {
                    hits += 1;
                    first.get_or_insert(i);
                }
            }
            let el = t.elapsed().as_secs_f64();
            println!(
                "{bug} mut: {hits}/{n} hit, first {first:?}, {:.1} ops/seq, {:.1} us/seq, seeds {} avg {:.1} ops",
                ops_total as f64 / n as f64,
                el * 1e6 / n as f64,
                seeds.len(),
                seeds.iter().map(Vec::len).sum::<usize>() as f64 / seeds.len() as f64
            );
        }
        if which == "all" || which == "prop" {
            let strategy = OracleMachine::sequential_strategy(1..MAX_OPS);
            let mut runner = TestRunner::new_with_rng(
                PC::default(),
                TestRng::from_seed(RngAlgorithm::ChaCha, &[7u8; 32]),
            );
            let (mut hits, mut ops_total, mut first, mut gen_t, mut run_t) = (0, 0, None, 0.0, 0.0);
            for i in 0..n {
                let t = Instant::now();
                let tree = strategy.new_tree(&mut runner).unwrap();
                let (_, ops, _): (_, Vec<Op>, _) = tree.current();
                gen_t += t.elapsed().as_secs_f64();
                let t = Instant::now();
                let rep = run_lockstep::<Oracle, Subject>(&config, &ops, Check::Digest);
                run_t += t.elapsed().as_secs_f64();
                let reached = rep.divergence.as_ref().map_or(ops.len(), |d| d.index + 1);
                ops_total += reached;
                if rep.divergence.is_some() {
                    hits += 1;
                    first.get_or_insert(i);
                }
            }
            println!(
                "{bug} prop: {hits}/{n} hit, first {first:?}, {:.1} ops/case, gen {:.1} us/case, run {:.1} us/case",
                ops_total as f64 / n as f64,
                gen_t * 1e6 / n as f64,
                run_t * 1e6 / n as f64
            );
        }
    });
}
