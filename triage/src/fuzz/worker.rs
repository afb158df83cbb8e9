//! One worker of a campaign. Its inputs come from its own PRNG stream,
//! seeded by the campaign seed and the worker's index, and from its own
//! mutation pool, so worker `k` of seed `s` runs the same inputs on every
//! machine, whatever the other workers do. What the workers share is only
//! what is reported: counts, coverage, and divergences (each worker
//! reports a signature once; the campaign dedupes across workers).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use mmdiff_core::coverage::StateCoverage;
use mmdiff_core::lockstep::{run_lockstep_generated, Divergence, Driver};
use mmdiff_core::rng::SplitMix64;
use mmdiff_core::{bytes, mutate, Config, Model, Op, State};

use super::artifact::{next_input, Origin};
use super::options::{Mode, Options};
use super::pairs::Pairs;
use super::pool::Pool;
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

/// One in this many swarm-mode inputs is a mutation of a pool entry
/// (when the pool has any); the rest are generated from scratch.
const MUTATE_ONE_IN: u64 = 3;
/// A mutated input gets 1..=this many mutations.
const MAX_MUTATIONS: u64 = 4;
/// How often a worker publishes its pairs and coverage.
const SYNC_EVERY: Duration = Duration::from_millis(250);

/// One input's run.
struct Exec {
    ops: Vec<Op>,
    raw: Vec<u8>,
    divergence: Option<Box<Divergence>>,
}

pub struct Worker<'a> {
    index: usize,
    rng: SplitMix64,
    opts: &'a Options,
    pool: Pool,
    pairs: Pairs,
    coverage: StateCoverage,
    reported: BTreeSet<String>,
    execs: u64,
}

impl<'a> Worker<'a> {
    pub fn new(index: usize, opts: &'a Options, seeds: Vec<Vec<Op>>) -> Worker<'a> {
        Worker {
            index,
            rng: SplitMix64::new(worker_seed(opts.seed, index)),
            opts,
            pool: Pool::new(seeds),
            pairs: Pairs::default(),
            coverage: StateCoverage::new(),
            reported: BTreeSet::new(),
            execs: 0,
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
                let mutated = if self.rng.below(MUTATE_ONE_IN) == 0 {
                    self.mutated()
                } else {
                    None
                };
                match mutated {
                    Some(ops) => self.replay::<A, B>(ops),
                    None => self.generated::<A, B>(),
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
    /// and AFL run them.
    fn bytes<A: Model, B: Model>(&mut self) -> Exec {
        let raw = next_input(&mut self.rng);
        match mmdiff_harness::run_bytes_with::<A, B>(&raw) {
            Ok(()) => Exec {
                ops: bytes::decode(&raw),
                raw,
                divergence: None,
            },
            Err(f) => Exec {
                ops: f.ops,
                raw,
                divergence: Some(f.divergence),
            },
        }
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

    /// A fresh swarm sequence: 1..=max_ops ops, each drawn from the
    /// oracle's state after the previous one.
    fn generated<A: Model, B: Model>(&mut self) -> Exec {
        let gen = Generator::new(&mut self.rng, &self.opts.allowed);
        let len = sequence_length(&mut self.rng, self.opts.max_ops);
        let driver = Generated {
            gen,
            rng: &mut self.rng,
            coverage: &mut self.coverage,
        };
        let (ops, report) = run_lockstep_generated::<A, B>(&Config::default(), len, driver);
        Exec {
            ops,
            raw: Vec::new(),
            divergence: report.divergence,
        }
    }

    /// A fixed sequence, observed op by op like a generated one.
    fn replay<A: Model, B: Model>(&mut self, ops: Vec<Op>) -> Exec {
        let driver = Replayed {
            ops: &ops,
            next: 0,
            coverage: &mut self.coverage,
        };
        let (ran, report) = run_lockstep_generated::<A, B>(&Config::default(), ops.len(), driver);
        Exec {
            ops: ran,
            raw: Vec::new(),
            divergence: report.divergence,
        }
    }
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

/// The swarm generator as a lockstep driver, recording state coverage.
struct Generated<'r> {
    gen: Generator,
    rng: &'r mut SplitMix64,
    coverage: &'r mut StateCoverage,
}

impl Driver for Generated<'_> {
    fn next_op(&mut self, state: &State) -> Option<Op> {
        Some(self.gen.next_op(self.rng, state))
    }

    fn observe(&mut self, op: &Op, before: &State, after: &State) {
        self.coverage.record(op, before, after);
    }
}

/// A fixed sequence as a lockstep driver, recording state coverage.
struct Replayed<'r> {
    ops: &'r [Op],
    next: usize,
    coverage: &'r mut StateCoverage,
}

impl Driver for Replayed<'_> {
    fn next_op(&mut self, _state: &State) -> Option<Op> {
        let op = self.ops.get(self.next)?.clone();
        self.next += 1;
        Some(op)
    }

    fn observe(&mut self, op: &Op, before: &State, after: &State) {
        self.coverage.record(op, before, after);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
