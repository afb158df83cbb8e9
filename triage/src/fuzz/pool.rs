//! The sequences a campaign mutates: the corpus's scenarios, then every
//! sequence of the worker's own that reached something new (a state
//! transition or an op-kind pair no earlier input of the worker reached).
//! Coverage of the model's *state*, not of its code: the campaign needs no
//! instrumented build.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use mmdiff_core::op::OpKind;
use mmdiff_core::rng::SplitMix64;
use mmdiff_core::Op;

use crate::files::{self, Found};
use crate::input;

/// Most sequences a worker keeps besides the corpus's.
pub const MAX_FOUND: usize = 4096;

/// The mutation pool of one worker.
#[derive(Clone, Debug, Default)]
pub struct Pool {
    /// The corpus's scenarios; never evicted.
    seeds: Vec<Vec<Op>>,
    /// Sequences this worker found interesting, oldest first.
    found: Vec<Vec<Op>>,
}

/// The corpus's scenarios as op sequences, in path order, with only the
/// `allowed` op kinds kept. Scenarios with a `#! planted:` header are left
/// out: they are the known answers for planted faults, and a campaign
/// measured on those faults must find them itself. Unreadable files are
/// returned as messages, and skipped.
pub fn load_seeds(corpus: &Path, allowed: &[OpKind]) -> (Vec<Vec<Op>>, Vec<String>) {
    let mut seeds = Vec::new();
    let mut problems = Vec::new();
    for found in files::collect(&[corpus.to_path_buf()], files::is_scenario) {
        let path = match found {
            Found::File(p) => p,
            Found::Error(p, e) => {
                problems.push(format!("{}: {e}", p.display()));
                continue;
            }
        };
        match input::load(&path) {
            Ok(i) if i.header("planted").is_some() => {}
            Ok(i) => {
                let mut ops = i.scenario.ops();
                ops.retain(|op| allowed.contains(&op.kind()));
                if !ops.is_empty() {
                    seeds.push(ops);
                }
            }
            Err(e) => problems.push(e),
        }
    }
    (seeds, problems)
}

/// A campaign's corpus scenarios, read when a worker first needs them
/// (its first mutation, see [`super::worker`]), once for all workers: a
/// bug found before that never pays for reading the corpus.
#[derive(Debug)]
pub struct Seeds {
    /// `None`: no corpus.
    dir: Option<PathBuf>,
    allowed: Vec<OpKind>,
    loaded: OnceLock<(Vec<Vec<Op>>, Vec<String>)>,
}

impl Seeds {
    pub fn new(dir: Option<PathBuf>, allowed: &[OpKind]) -> Seeds {
        Seeds {
            dir,
            allowed: allowed.to_vec(),
            loaded: OnceLock::new(),
        }
    }

    /// The scenarios ([`load_seeds`]), read on the first call.
    pub fn get(&self) -> &[Vec<Op>] {
        &self
            .loaded
            .get_or_init(|| match &self.dir {
                Some(dir) => load_seeds(dir, &self.allowed),
                None => (Vec::new(), Vec::new()),
            })
            .0
    }

    /// What could not be read, if the corpus was read at all.
    pub fn problems(&self) -> &[String] {
        self.loaded.get().map_or(&[], |(_, p)| p)
    }
}

impl Pool {
    pub fn new(seeds: Vec<Vec<Op>>) -> Pool {
        Pool {
            seeds,
            found: Vec::new(),
        }
    }

    /// Adds corpus scenarios (never evicted).
    pub fn add_seeds(&mut self, seeds: &[Vec<Op>]) {
        self.seeds.extend_from_slice(seeds);
    }

    pub fn len(&self) -> usize {
        self.seeds.len() + self.found.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A sequence, uniformly; `None` when the pool is empty.
    pub fn pick(&self, rng: &mut SplitMix64) -> Option<&[Op]> {
        let n = self.len();
        if n == 0 {
            return None;
        }
        let i = rng.below(n as u64) as usize;
        Some(match i.checked_sub(self.seeds.len()) {
            None => &self.seeds[i],
            Some(j) => &self.found[j],
        })
    }

    /// Keeps `ops`; past [`MAX_FOUND`] a random earlier find makes room.
    pub fn add(&mut self, ops: Vec<Op>, rng: &mut SplitMix64) {
        if ops.is_empty() {
            return;
        }
        if self.found.len() < MAX_FOUND {
            self.found.push(ops);
        } else {
            let i = rng.below(MAX_FOUND as u64) as usize;
            self.found[i] = ops;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::TempDir;

    #[test]
    fn seeds_skip_planted_repros_and_disallowed_kinds() {
        let t = TempDir::new("pool");
        let w = |name: &str, text: &str| std::fs::write(t.path().join(name), text).unwrap();
        w("a.mms", "mmap p0 m0 anon rw pages=1\nfork p0 -> p1\n");
        w("b.mms", "#! planted: canary\nmmap p0 m0 anon rw pages=1\n");
        w("c.mms", "fork p0 -> p1\n");
        w("d.mms", "mmap p0 m0 nonsense\n");
        let (seeds, problems) = load_seeds(t.path(), &[OpKind::Mmap]);
        assert_eq!(seeds.len(), 1, "{seeds:?}");
        assert_eq!(seeds[0].len(), 1);
        assert_eq!(seeds[0][0].kind(), OpKind::Mmap);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("d.mms:1:"), "{problems:?}");
    }

    #[test]
    fn seeds_are_read_on_first_use() {
        let t = TempDir::new("pool-lazy");
        std::fs::write(t.path().join("a.mms"), "mmap p0 m0 anon rw pages=1\n").unwrap();
        std::fs::write(t.path().join("b.mms"), "mmap p0 m0 nonsense\n").unwrap();
        let seeds = Seeds::new(Some(t.path().to_path_buf()), &OpKind::ALL);
        assert!(seeds.problems().is_empty());
        assert_eq!(seeds.get().len(), 1);
        assert_eq!(seeds.problems().len(), 1, "{:?}", seeds.problems());
        assert!(Seeds::new(None, &OpKind::ALL).get().is_empty());
    }

    #[test]
    fn pick_covers_seeds_and_finds() {
        let mut rng = SplitMix64::new(1);
        let mut pool = Pool::new(vec![vec![Op::Reclaim]]);
        assert!(Pool::default().pick(&mut rng).is_none());
        pool.add(vec![Op::CmaEvacuate], &mut rng);
        pool.add(Vec::new(), &mut rng);
        assert_eq!(pool.len(), 2);
        let picks: Vec<Op> = (0..50)
            .map(|_| pool.pick(&mut rng).unwrap()[0].clone())
            .collect();
        assert!(picks.contains(&Op::Reclaim) && picks.contains(&Op::CmaEvacuate));
    }
}
