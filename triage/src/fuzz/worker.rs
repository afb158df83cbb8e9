//! One worker of a campaign. Its inputs come from its own PRNG stream,
//! seeded by the campaign seed and the worker's index, and from its own
//! mutation pool, so worker `k` of seed `s` runs the same inputs on every
//! machine, whatever the other workers do. What the workers share is only
//! what is reported: counts, coverage, and divergences (each worker
//! reports a signature once; the campaign dedupes across workers).
//!
//! A swarm-mode worker starts with [`WARM_UP`] generated sequences, then
//! splits its work between generation and mutation ([`MUTATION_WORK`]).
//! Work is counted with [`op_work`], from the states the ops leave, not
//! with a clock, so the split is the same on every machine; counting
//! inputs instead would let corpus scenarios that build THPs and
//! device-private ranges, each costing as much as dozens of generated
//! sequences, take most of the campaign's time.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use mmdiff_core::coverage::StateCoverage;
use mmdiff_core::lockstep::{run_lockstep_generated, Divergence, Driver};
use mmdiff_core::rng::SplitMix64;
use mmdiff_core::{bytes, mutate, Model, Op, State};

use super::artifact::{next_input, Origin};
use super::options::{Mode, Options};
use super::pairs::Pairs;
use super::pool::{Pool, Seeds};
use crate::gen::Generator;

/// What the workers publish while they run.
#[derive(Debug, Default)]
pub struct Shared {
    /// Set by the campaign (time budget, Ctrl-C): workers stop after their
    /// current input.
    pub stop: AtomicBool,
    pub execs: AtomicU64,
    pub ops: AtomicU64,
    pub pairs: Mutex<Pairs>,
    /// Each worker's state coverage so far, by worker index.
    pub coverage: Mutex<Vec<StateCoverage>>,
}

impl Shared {
    pub fn new(jobs: usize) -> Shared {
        Shared {
            coverage: Mutex::new(vec![StateCoverage::new(); jobs]),
            ..Shared::default()
        }
    }

    /// The union of the workers' state coverage.
    pub fn coverage(&self) -> StateCoverage {
        let mut all = StateCoverage::new();
        if let Ok(c) = self.coverage.lock() {
            for w in c.iter() {
                all.merge(w);
            }
        }
        all
    }
}

/// A divergence, as a worker reports it.
#[derive(Debug)]
pub struct Hit {
    pub origin: Origin,
    /// The input's ops (the divergent one and the ones before it matter).
    pub ops: Vec<Op>,
    /// The raw bytes (`--gen bytes`), else empty.
    pub raw: Vec<u8>,
    pub divergence: Box<Divergence>,
    /// Since the campaign started.
    pub after: Duration,
}

/// The seed of worker `index`: the campaign's own for worker 0, so that
/// `--jobs 1` and `--jobs N` share their first worker's inputs.
pub fn worker_seed(seed: u64, index: usize) -> u64 {
    if index == 0 {
        seed
    } else {
        SplitMix64::new(seed ^ (index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)).next_u64()
    }
}

/// The share of a swarm-mode worker's work (see [`op_work`]) that goes to
/// mutations of pool entries, as (numerator, denominator); fresh
/// generation gets the rest. A share of the *work*, not of the inputs:
/// corpus scenarios build THPs and device-private ranges of hundreds of
/// pages, and a mutation of one costs as much as dozens of generated
/// sequences, most of which map a few pages.
const MUTATION_WORK: (u64, u64) = (1, 4);
/// A worker's first inputs are all generated: early on nearly every
/// generated sequence reaches states no earlier one did, the bugs that
/// take two or three ops show up within a few dozen sequences, and the
/// corpus is not even read until the first mutation.
const WARM_UP: u64 = 64;
/// One in this many mutation inputs extends a pool entry instead: the
/// entry's first ops, then generated ones from the state they reached (see
/// [`Worker::extended`]).
const EXTEND_ONE_IN: u64 = 2;
/// A mutated input gets 1..=this many mutations.
const MAX_MUTATIONS: u64 = 4;
/// How often a worker publishes its pairs and coverage.
const SYNC_EVERY: Duration = Duration::from_millis(250);

/// One input's run.
struct Exec {
    ops: Vec<Op>,
    raw: Vec<u8>,
    divergence: Option<Box<Divergence>>,
    /// The [`op_work`] of the ops run (0 in bytes mode).
    work: u64,
}

/// The work the swarm-mode inputs of a worker did so far, by source.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Work {
    generated: u64,
    mutated: u64,
}

impl Work {
    /// True when the worker is past its [`WARM_UP`] and mutations had less
    /// than their [`MUTATION_WORK`] share.
    fn mutation_due(&self, execs: u64) -> bool {
        let (num, den) = MUTATION_WORK;
        execs >= WARM_UP && self.mutated * den < (self.mutated + self.generated) * num
    }
}

/// What running an op cost, deterministically (no clock): one, plus the
/// size of the state it left in pages of live folios, entry runs, swap
/// slots and page-cache entries. Both models hash that state after every
/// op and the reference side also canonicalizes it, so an op's time grows
/// with it: an input that builds a THP costs hundreds of times one that
/// maps a page.
pub fn op_work(after: &State) -> u64 {
    let folios: u64 = after.folios.values().map(|f| f.nr_pages()).sum();
    let entries: usize = after.procs.iter().map(|p| p.entries.len()).sum();
    let cached: usize = after.objects.iter().map(|o| o.cache.len()).sum();
    1 + folios + (entries + after.swap.len() + cached) as u64
}

pub struct Worker<'a> {
    index: usize,
    rng: SplitMix64,
    opts: &'a Options,
    /// The corpus; copied into the pool at the first mutation.
    seeds: Option<&'a Seeds>,
    pool: Pool,
    pairs: Pairs,
    coverage: StateCoverage,
    reported: BTreeSet<String>,
    execs: u64,
    work: Work,
}

impl<'a> Worker<'a> {
    pub fn new(index: usize, opts: &'a Options, seeds: &'a Seeds) -> Worker<'a> {
        Worker {
            index,
            rng: SplitMix64::new(worker_seed(opts.seed, index)),
            opts,
            seeds: Some(seeds),
            pool: Pool::default(),
            pairs: Pairs::default(),
            coverage: StateCoverage::new(),
            reported: BTreeSet::new(),
            execs: 0,
            work: Work::default(),
        }
    }

    /// Runs inputs until `shared.stop` or `runs` inputs, reporting each
    /// new signature on `hits`.
    pub fn run<A: Model, B: Model>(
        mut self,
        runs: Option<u64>,
        shared: &Shared,
        hits: &Sender<Hit>,
        start: Instant,
    ) {
        let mut last_sync = Instant::now();
        while !shared.stop.load(Ordering::Relaxed) && runs.is_none_or(|r| self.execs < r) {
            let exec = self.execs;
            let e = self.next::<A, B>();
            self.execs += 1;
            let ran = match &e.divergence {
                Some(d) => d.op.as_ref().map_or(0, |_| d.index as u64 + 1),
                None => e.ops.len() as u64,
            };
            shared.execs.fetch_add(1, Ordering::Relaxed);
            shared.ops.fetch_add(ran, Ordering::Relaxed);
            if let Some(divergence) = e.divergence {
                if self.reported.insert(divergence.signature.clone()) {
                    let hit = Hit {
                        origin: Origin {
                            seed: self.opts.seed,
                            kernel: self.opts.config.kernel,
                            worker: self.index,
                            exec,
                        },
                        ops: e.ops,
                        raw: e.raw,
                        divergence,
                        after: start.elapsed(),
                    };
                    // The campaign stopped listening: it is shutting down.
                    if hits.send(hit).is_err() {
                        break;
                    }
                }
            }
            if last_sync.elapsed() >= SYNC_EVERY {
                self.publish(shared);
                last_sync = Instant::now();
            }
        }
        self.publish(shared);
    }

    fn publish(&self, shared: &Shared) {
        if let Ok(mut p) = shared.pairs.lock() {
            p.merge(&self.pairs);
        }
        if let Ok(mut c) = shared.coverage.lock() {
            if let Some(mine) = c.get_mut(self.index) {
                mine.clone_from(&self.coverage);
            }
        }
    }

    /// Makes and runs the next input; a sequence that reached a new state
    /// transition or op-kind pair (and did not diverge) joins the pool.
    fn next<A: Model, B: Model>(&mut self) -> Exec {
        let transitions = self.coverage.len();
        let e = match self.opts.mode {
            Mode::Bytes => self.bytes::<A, B>(),
            Mode::Swarm => {
                let mutation = if self.work.mutation_due(self.execs) {
                    self.mutation()
                } else {
                    None
                };
                match mutation {
                    Some(Mutation::Fixed(ops)) => {
                        let e = self.replay::<A, B>(ops);
                        self.work.mutated += e.work;
                        e
                    }
                    Some(Mutation::Extended(prefix)) => {
                        let e = self.generated::<A, B>(&prefix);
                        self.work.mutated += e.work;
                        e
                    }
                    None => {
                        let e = self.generated::<A, B>(&[]);
                        self.work.generated += e.work;
                        e
                    }
                }
            }
        };
        let new_pairs = self.pairs.add_sequence(&e.ops);
        if e.divergence.is_none() && (new_pairs || self.coverage.len() > transitions) {
            self.pool.add(e.ops.clone(), &mut self.rng);
        }
        e
    }

    /// Random bytes through the shared entry point, exactly as cargo fuzz
    /// and AFL run them (on the campaign's profile).
    fn bytes<A: Model, B: Model>(&mut self) -> Exec {
        let raw = next_input(&mut self.rng);
        match mmdiff_harness::run_bytes_on::<A, B>(&self.opts.config, &raw) {
            Ok(()) => Exec {
                ops: bytes::decode(&raw),
                raw,
                divergence: None,
                work: 0,
            },
            Err(f) => Exec {
                ops: f.ops,
                raw,
                divergence: Some(f.divergence),
                work: 0,
            },
        }
    }

    /// The next mutation input: one in [`EXTEND_ONE_IN`] the first ops of
    /// a pool entry to extend, the others a mutated pool entry; `None` when
    /// the pool is empty or nothing is left.
    fn mutation(&mut self) -> Option<Mutation> {
        if let Some(seeds) = self.seeds.take() {
            self.pool.add_seeds(seeds.get());
        }
        if self.rng.below(EXTEND_ONE_IN) != 0 {
            return self.mutated().map(Mutation::Fixed);
        }
        let entry = self.pool.pick(&mut self.rng)?;
        let keep = 1 + self.rng.below(entry.len() as u64) as usize;
        let allowed = &self.opts.allowed;
        let mut prefix: Vec<Op> = entry[..keep]
            .iter()
            .filter(|op| allowed.contains(&op.kind()))
            .cloned()
            .collect();
        prefix.truncate(self.opts.max_ops.saturating_sub(1));
        Some(Mutation::Extended(prefix))
    }

    /// A pool entry with 1..=[`MAX_MUTATIONS`] structure-aware mutations,
    /// only allowed kinds kept; `None` when the pool is empty or nothing
    /// is left.
    fn mutated(&mut self) -> Option<Vec<Op>> {
        let mut ops = self.pool.pick(&mut self.rng)?.to_vec();
        let donor = self.pool.pick(&mut self.rng)?.to_vec();
        let n = 1 + self.rng.below(MAX_MUTATIONS);
        for _ in 0..n {
            mutate::mutate(&mut ops, &donor, &mut self.rng, self.opts.max_ops);
        }
        let allowed = &self.opts.allowed;
        ops.retain(|op| allowed.contains(&op.kind()));
        ops.truncate(self.opts.max_ops);
        (!ops.is_empty()).then_some(ops)
    }

    /// A swarm sequence: `prefix`, then up to `max_ops` ops in all (1 at
    /// least), each drawn from the oracle's state after the previous one
    /// and aimed at the prefix's last ranges first.
    fn generated<A: Model, B: Model>(&mut self, prefix: &[Op]) -> Exec {
        let mut gen = Generator::new(&mut self.rng, &self.opts.allowed);
        gen.follow(prefix);
        let room = self.opts.max_ops.saturating_sub(prefix.len()).max(1);
        let len = prefix.len() + sequence_length(&mut self.rng, room);
        let mut work = 0;
        let driver = Generated {
            prefix,
            gen,
            rng: &mut self.rng,
            coverage: &mut self.coverage,
            work: &mut work,
        };
        let (ops, report) = run_lockstep_generated::<A, B>(&self.opts.config, len, driver);
        Exec {
            ops,
            raw: Vec::new(),
            divergence: report.divergence,
            work,
        }
    }

    /// A fixed sequence, observed op by op like a generated one.
    fn replay<A: Model, B: Model>(&mut self, ops: Vec<Op>) -> Exec {
        let mut work = 0;
        let driver = Replayed {
            ops: &ops,
            next: 0,
            coverage: &mut self.coverage,
            work: &mut work,
        };
        let (ran, report) = run_lockstep_generated::<A, B>(&self.opts.config, ops.len(), driver);
        Exec {
            ops: ran,
            raw: Vec::new(),
            divergence: report.divergence,
            work,
        }
    }
}

/// What a mutation runs.
enum Mutation {
    /// A mutated pool entry.
    Fixed(Vec<Op>),
    /// The first ops of a pool entry, to extend with generated ones.
    Extended(Vec<Op>),
}

/// A sequence length in `1..=max`: a size class first (up to 8, 16, ...,
/// `max` ops, each class equally likely), then a length within it. Most
/// sequences are short, which keeps executions fast and repros small;
/// every class still gets its share, so long interplays are tried too.
pub fn sequence_length(rng: &mut SplitMix64, max: usize) -> usize {
    let max = max.max(1);
    let mut classes = vec![];
    let mut c = 8;
    while c < max {
        classes.push(c);
        c *= 2;
    }
    classes.push(max);
    let cap = classes[rng.below(classes.len() as u64) as usize];
    1 + rng.below(cap as u64) as usize
}

/// A fixed prefix, then the swarm generator, as a lockstep driver,
/// recording state coverage and work.
struct Generated<'r> {
    prefix: &'r [Op],
    gen: Generator,
    rng: &'r mut SplitMix64,
    coverage: &'r mut StateCoverage,
    work: &'r mut u64,
}

impl Driver for Generated<'_> {
    fn next_op(&mut self, state: &State) -> Option<Op> {
        if let Some((op, rest)) = self.prefix.split_first() {
            self.prefix = rest;
            return Some(op.clone());
        }
        Some(self.gen.next_op(self.rng, state))
    }

    fn observe(&mut self, op: &Op, before: &State, after: &State) {
        self.coverage.record(op, before, after);
        *self.work += op_work(after);
    }
}

/// A fixed sequence as a lockstep driver, recording state coverage and
/// work.
struct Replayed<'r> {
    ops: &'r [Op],
    next: usize,
    coverage: &'r mut StateCoverage,
    work: &'r mut u64,
}

impl Driver for Replayed<'_> {
    fn next_op(&mut self, _state: &State) -> Option<Op> {
        let op = self.ops.get(self.next)?.clone();
        self.next += 1;
        Some(op)
    }

    fn observe(&mut self, op: &Op, before: &State, after: &State) {
        self.coverage.record(op, before, after);
        *self.work += op_work(after);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mmdiff_core::Config;

    #[test]
    fn worker_seeds_differ_and_worker_0_keeps_the_campaign_seed() {
        assert_eq!(worker_seed(42, 0), 42);
        let seeds: BTreeSet<u64> = (0..8).map(|k| worker_seed(42, k)).collect();
        assert_eq!(seeds.len(), 8);
    }

    #[test]
    fn lengths_stay_in_range_and_favour_short_sequences() {
        let mut rng = SplitMix64::new(3);
        let lens: Vec<usize> = (0..4000).map(|_| sequence_length(&mut rng, 64)).collect();
        assert!(lens.iter().all(|&l| (1..=64).contains(&l)));
        let short = lens.iter().filter(|&&l| l <= 8).count();
        let long = lens.iter().filter(|&&l| l > 32).count();
        assert!(short > lens.len() / 3, "{short}");
        assert!(long > lens.len() / 20, "{long}");
        assert_eq!(sequence_length(&mut rng, 1), 1);
    }

    #[test]
    fn mutations_wait_for_the_warm_up_then_get_their_share_of_the_work() {
        let fresh = Work::default();
        assert!(!fresh.mutation_due(WARM_UP));
        let w = Work {
            generated: 300,
            mutated: 0,
        };
        assert!(!w.mutation_due(WARM_UP - 1));
        assert!(w.mutation_due(WARM_UP));
        let (num, den) = MUTATION_WORK;
        let at_share = Work {
            generated: 100 * (den - num),
            mutated: 100 * num,
        };
        assert!(!at_share.mutation_due(WARM_UP));
        let under = Work {
            generated: at_share.generated + 1,
            ..at_share
        };
        assert!(under.mutation_due(WARM_UP));
    }

    #[test]
    fn work_grows_with_the_state_the_ops_leave() {
        use mmdiff_core::run::Runner;
        use mmdiff_oracle::Oracle;
        let config = Config::default();
        assert_eq!(op_work(&State::empty(&config)), 1);
        let mut runner = Runner::<Oracle>::new(&config).expect("oracle starts");
        let mut work = |src: &str| {
            let op = mmdiff_core::text::parse_op(src).expect("parses");
            runner.step(&op, None).expect("no panic");
            op_work(runner.state())
        };
        let mapped = work("mmap p0 m0 anon rw pages=512");
        let one = work("write p0 m0[0] = 1");
        let all = work("write p0 m0[0..512] = 1");
        assert!(mapped < one && one < all, "{mapped} {one} {all}");
        assert!(all > 512, "{all}");
    }

    #[test]
    fn an_extension_replays_its_prefix_then_generates() {
        let prefix: Vec<Op> = ["mmap p0 m0 anon rw pages=4", "write p0 m0[1] = 7"]
            .iter()
            .map(|s| mmdiff_core::text::parse_op(s).expect("parses"))
            .collect();
        let mut rng = SplitMix64::new(5);
        let mut coverage = StateCoverage::new();
        let mut work = 0;
        let driver = Generated {
            prefix: &prefix,
            gen: Generator::new(&mut rng, &mmdiff_core::op::OpKind::ALL),
            rng: &mut rng,
            coverage: &mut coverage,
            work: &mut work,
        };
        type O = mmdiff_oracle::Oracle;
        let (ops, report) =
            run_lockstep_generated::<O, O>(&Config::default(), prefix.len() + 6, driver);
        assert!(report.divergence.is_none());
        assert_eq!(ops.len(), prefix.len() + 6);
        assert_eq!(ops[..2], prefix[..]);
        assert!(work > ops.len() as u64, "{work}");
        assert!(!coverage.is_empty());
    }
}
