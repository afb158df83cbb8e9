//! Sequence reduction, independent of what the items are: delta debugging
//! (Zeller and Hildebrandt, TSE 2002), a one-item-deletion fixpoint, and
//! item-by-item replacement by simpler variants.
//!
//! The test says whether a candidate still fails *the same way* and, if it
//! does, how many leading items the failure needs (a divergence at op `k`
//! makes everything after `k` irrelevant); every accepted candidate is cut
//! to that prefix. Results of tests are cached, so no candidate is run
//! twice. Everything is deterministic: the same items and the same test
//! give the same result and the same number of tests.

use std::collections::HashMap;
use std::hash::Hash;

/// What a reducer reports after every test: the phase, the current length
/// and the tests run so far.
pub type Progress<'a> = &'a mut dyn FnMut(&'static str, usize, u64);

pub struct Reducer<'p, T, F> {
    test: F,
    cache: HashMap<Vec<T>, Option<usize>>,
    tests: u64,
    phase: &'static str,
    progress: Progress<'p>,
}

impl<'p, T, F> Reducer<'p, T, F>
where
    T: Clone + Eq + Hash,
    F: FnMut(&[T]) -> Option<usize>,
{
    /// `test(items)`: `Some(k)` when `items` still fail the same way and
    /// only the first `k` of them are needed, `None` otherwise.
    pub fn new(test: F, progress: Progress<'p>) -> Self {
        Reducer {
            test,
            cache: HashMap::new(),
            tests: 0,
            phase: "",
            progress,
        }
    }

    /// Tests actually run (cache hits not counted).
    pub fn tests(&self) -> u64 {
        self.tests
    }

    pub fn set_phase(&mut self, phase: &'static str) {
        self.phase = phase;
    }

    /// The candidate cut to the prefix its failure needs, or `None` when it
    /// does not fail the same way.
    pub fn check(&mut self, candidate: &[T]) -> Option<Vec<T>> {
        let keep = match self.cache.get(candidate) {
            Some(&k) => k,
            None => {
                let k = (self.test)(candidate);
                self.tests += 1;
                (self.progress)(self.phase, candidate.len(), self.tests);
                self.cache.insert(candidate.to_vec(), k);
                k
            }
        };
        keep.map(|k| candidate[..k.min(candidate.len())].to_vec())
    }

    /// ddmin on complements: remove one of `n` chunks while the failure
    /// stays; double `n` when no chunk can go, until chunks are single
    /// items. Removing a chunk keeps the failure far more often than
    /// keeping one alone does, because later ops depend on earlier ones
    /// (a write needs its mmap), so only complements are tried.
    pub fn ddmin(&mut self, mut items: Vec<T>) -> Vec<T> {
        let mut n = 2usize;
        while items.len() >= 2 {
            let len = items.len();
            let n_now = n.min(len);
            let mut reduced = false;
            // Later chunks first: the failing op is last, and ops right
            // before it are likelier to matter than early ones.
            for i in (0..n_now).rev() {
                let (lo, hi) = (i * len / n_now, (i + 1) * len / n_now);
                let candidate: Vec<T> = items[..lo].iter().chain(&items[hi..]).cloned().collect();
                if let Some(kept) = self.check(&candidate) {
                    items = kept;
                    n = (n_now - 1).max(2);
                    reduced = true;
                    break;
                }
            }
            if !reduced {
                if n_now >= len {
                    break;
                }
                n = (2 * n_now).min(len);
            }
        }
        items
    }

    /// Removes single items, last to first, until no single removal keeps
    /// the failure: the result is 1-minimal.
    pub fn delete_each(&mut self, mut items: Vec<T>) -> Vec<T> {
        loop {
            let mut changed = false;
            let mut i = items.len();
            while i > 0 {
                i -= 1;
                if i >= items.len() {
                    continue;
                }
                let mut candidate = items.clone();
                candidate.remove(i);
                if let Some(kept) = self.check(&candidate) {
                    items = kept;
                    changed = true;
                }
            }
            if !changed {
                return items;
            }
        }
    }

    /// Removes one item while making another one stronger, until no such
    /// trade keeps the failure: reaches repros that need one op fewer but
    /// one op of them doing more. Each accepted trade removes an item, so
    /// this ends.
    pub fn trade(&mut self, mut items: Vec<T>, stronger: impl Fn(&T) -> Vec<T>) -> Vec<T> {
        'again: loop {
            for gone in (0..items.len()).rev() {
                for k in 0..items.len() {
                    if k == gone {
                        continue;
                    }
                    for variant in stronger(&items[k]) {
                        let mut candidate = items.clone();
                        candidate[k] = variant;
                        candidate.remove(gone);
                        if let Some(kept) = self.check(&candidate) {
                            items = kept;
                            continue 'again;
                        }
                    }
                }
            }
            return items;
        }
    }

    /// Replaces each item by the first of its `simpler` variants that keeps
    /// the failure, repeatedly, until none does. `simpler` must only offer
    /// variants strictly smaller in some well-founded order, so this ends.
    pub fn replace_each(&mut self, mut items: Vec<T>, simpler: impl Fn(&T) -> Vec<T>) -> Vec<T> {
        let mut i = 0;
        while i < items.len() {
            let mut replaced = false;
            for variant in simpler(&items[i]) {
                let mut candidate = items.clone();
                candidate[i] = variant;
                if let Some(kept) = self.check(&candidate) {
                    items = kept;
                    replaced = true;
                    break;
                }
            }
            if !replaced {
                i += 1;
            }
        }
        items
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fails when every needed item occurs in order; only up to the last
    /// needed item matters (like a divergence at that op).
    fn needs(needed: &[u32]) -> impl FnMut(&[u32]) -> Option<usize> + '_ {
        move |items: &[u32]| {
            let mut at = 0;
            for (i, x) in items.iter().enumerate() {
                if Some(x) == needed.get(at) {
                    at += 1;
                    if at == needed.len() {
                        return Some(i + 1);
                    }
                }
            }
            None
        }
    }

    fn quiet() -> impl FnMut(&'static str, usize, u64) {
        |_, _, _| {}
    }

    #[test]
    fn ddmin_then_deletion_finds_the_needed_items() {
        let items: Vec<u32> = (0..1000).collect();
        let needed = [3, 500, 501, 998];
        let mut p = quiet();
        let mut r = Reducer::new(needs(&needed), &mut p);
        let out = r.ddmin(items);
        let out = r.delete_each(out);
        assert_eq!(out, needed);
        assert!(r.tests() < 200, "{} tests", r.tests());
    }

    #[test]
    fn the_prefix_after_the_failure_is_dropped_at_once() {
        let items: Vec<u32> = (0..100).collect();
        let needed = [1, 2];
        let mut p = quiet();
        let mut r = Reducer::new(needs(&needed), &mut p);
        let kept = r.check(&items).expect("fails");
        assert_eq!(kept, [0, 1, 2]);
    }

    #[test]
    fn deletion_alone_reaches_one_minimal() {
        let needed = [7, 3, 9];
        let items = vec![1, 7, 2, 3, 3, 8, 9, 9];
        let mut p = quiet();
        let mut r = Reducer::new(needs(&needed), &mut p);
        let out = r.delete_each(items);
        assert_eq!(out, needed);
        // 1-minimal: no single deletion keeps the failure.
        for i in 0..out.len() {
            let mut c = out.clone();
            c.remove(i);
            assert!(r.check(&c).is_none());
        }
    }

    #[test]
    fn replacement_takes_the_first_variant_that_keeps_failing() {
        // Fails while the sum is at least 10; variants count down.
        let test = |items: &[u32]| (items.iter().sum::<u32>() >= 10).then_some(items.len());
        let mut p = quiet();
        let mut r = Reducer::new(test, &mut p);
        let out = r.replace_each(vec![6, 6, 6], |&x| {
            if x > 0 {
                vec![0, x / 2, x - 1]
            } else {
                vec![]
            }
        });
        assert_eq!(out.iter().sum::<u32>(), 10);
        assert_eq!(out, [0, 4, 6]);
    }

    #[test]
    fn trading_removes_an_item_that_a_stronger_one_makes_unneeded() {
        // Fails with a 2 and a 10, or with a 20 alone; 10 grows to 20.
        let test = |items: &[u32]| {
            ((items.contains(&2) && items.contains(&10)) || items.contains(&20))
                .then_some(items.len())
        };
        let mut p = quiet();
        let mut r = Reducer::new(test, &mut p);
        assert_eq!(r.delete_each(vec![2, 10]), [2, 10]);
        assert_eq!(
            r.trade(vec![2, 10], |&x| if x == 10 { vec![20] } else { vec![] }),
            [20]
        );
    }

    #[test]
    fn cached_candidates_are_not_run_again() {
        let mut runs = 0;
        let test = |items: &[u32]| {
            runs += 1;
            (items.contains(&5)).then_some(items.len())
        };
        let mut p = quiet();
        let mut r = Reducer::new(test, &mut p);
        r.check(&[1, 5]);
        r.check(&[1, 5]);
        assert_eq!(r.tests(), 1);
        drop(r);
        assert_eq!(runs, 1);
    }
}
