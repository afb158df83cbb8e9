//! `hmm_pfns[]` as maximal runs.
//!
//! An `hmm-fault` over a PMD-mapped THP region returns 512 words per folio
//! that differ only in the page, which advances by one per word; over a
//! 1 GiB region a word per page costs megabytes in both models, while the
//! runs are a few hundred. [`PfnRuns`] stores `(first, count)` runs whose
//! `i`-th word is `first` with its page advanced by `i` (see
//! [`advanced`]), always maximal: a word that continues the last run
//! extends it. The maximal runs of a word sequence are unique, so the
//! derived equality and hash are those of the word sequences, whatever
//! pushes built them.

use crate::outcome::HmmPfn;
use crate::state::PageRef;

/// `word` with its page advanced by `n`: the `n`-th word of a run that
/// starts with `word`. Folio and huge-zero pages advance; the zero page
/// and a missing page repeat, so a run of them is `n` identical words.
///
/// Wrapping (modulo 2^32, as [`crate::state::Target::advanced`]): raw
/// page indexes are the models' business, a broken model must not make
/// the harness overflow-panic, and a PMD leaf's words built here must be
/// the words the model would build page by page with `Target::advanced`.
pub fn advanced(word: &HmmPfn, n: u64) -> HmmPfn {
    HmmPfn {
        page: word.page.map(|p| p.advanced(n)),
        ..*word
    }
}

/// Whether a run starting with `word` is `count` copies of it.
fn repeats(word: &HmmPfn) -> bool {
    matches!(word.page, None | Some(PageRef::Zero))
}

/// One run: `count` (at least 1) words from `first` on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PfnRun {
    pub first: HmmPfn,
    pub count: u64,
}

impl PfnRun {
    /// The word after the last one: what the next run must differ from.
    fn next_word(&self) -> HmmPfn {
        advanced(&self.first, self.count)
    }
}

/// A sequence of `hmm_pfns[]` words as maximal runs (module docs).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PfnRuns {
    /// Maximal, none empty: `runs[k + 1].first != runs[k].next_word()`.
    runs: Vec<PfnRun>,
    /// Words in all: the sum of the counts.
    len: u64,
}

impl PfnRuns {
    pub fn new() -> PfnRuns {
        PfnRuns::default()
    }

    /// Words (pages) in the sequence.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The maximal runs, in order.
    pub fn runs(&self) -> &[PfnRun] {
        &self.runs
    }

    /// Every word, in order.
    pub fn iter(&self) -> Words<'_> {
        Words {
            runs: &self.runs,
            offset: 0,
            left: self.len,
        }
    }

    /// Every word, expanded (tests and small lists).
    pub fn to_vec(&self) -> Vec<HmmPfn> {
        self.iter().collect()
    }

    /// Word `i`, by a scan over the runs.
    pub fn get(&self, i: u64) -> Option<HmmPfn> {
        let mut at = 0;
        for r in &self.runs {
            if i < at + r.count {
                return Some(advanced(&r.first, i - at));
            }
            at += r.count;
        }
        None
    }

    pub fn push(&mut self, word: HmmPfn) {
        self.push_run(word, 1);
    }

    /// Appends the `n` words of a run starting with `first`.
    pub fn push_run(&mut self, first: HmmPfn, n: u64) {
        if n == 0 {
            return;
        }
        self.len += n;
        if let Some(last) = self.runs.last_mut() {
            if last.next_word() == first {
                last.count += n;
                return;
            }
        }
        self.runs.push(PfnRun { first, count: n });
    }

    /// Appends `n` copies of `word` (a page that advances gives `n` runs).
    pub fn push_repeated(&mut self, word: HmmPfn, n: u64) {
        if repeats(&word) {
            self.push_run(word, n);
        } else {
            for _ in 0..n {
                self.push(word);
            }
        }
    }

    /// Appends `other`'s words.
    pub fn append(&mut self, other: PfnRuns) {
        for r in other.runs {
            self.push_run(r.first, r.count);
        }
    }

    /// Keeps the first `len` words.
    pub fn truncate(&mut self, len: u64) {
        drop(self.split_off(len));
    }

    /// Keeps the first `at` words and returns the rest. Scans runs from the
    /// end, so cutting near the end (a walk restarting at a page it just
    /// wrote) is cheap.
    pub fn split_off(&mut self, at: u64) -> PfnRuns {
        let mut tail = Vec::new();
        while self.len > at {
            let Some(last) = self.runs.pop() else { break };
            let start = self.len - last.count;
            self.len = start;
            if start < at {
                let keep = at - start;
                self.runs.push(PfnRun {
                    first: last.first,
                    count: keep,
                });
                self.len = at;
                tail.push(PfnRun {
                    first: advanced(&last.first, keep),
                    count: last.count - keep,
                });
            } else {
                tail.push(last);
            }
        }
        tail.reverse();
        let len = tail.iter().map(|r| r.count).sum();
        // A cut inside a maximal sequence leaves both sides maximal.
        PfnRuns { runs: tail, len }
    }

    /// Words `[at, at + n)` become the run of `n` words starting with
    /// `first`, as writes into a zero-filled array would: words between the
    /// end and `at` become 0, words after `at + n` stay.
    pub fn overwrite(&mut self, at: u64, first: HmmPfn, n: u64) {
        let end = at.saturating_add(n);
        let tail = if end < self.len {
            self.split_off(end)
        } else {
            PfnRuns::new()
        };
        self.truncate(at);
        self.push_run(HmmPfn::default(), at.saturating_sub(self.len));
        self.push_run(first, n);
        self.append(tail);
    }

    /// The runs with every page mapped by `f`, merged again where the
    /// mapped runs continue each other. `f` must commute with advancing
    /// (`f(p + i) == f(p) + i`, as renaming or forgetting a folio id
    /// does), so run `k` maps to a run; two runs of different folios that
    /// `f` sends to one may then continue each other.
    pub fn map_pages(&self, f: impl Fn(PageRef) -> PageRef) -> PfnRuns {
        let mut out = PfnRuns::new();
        for r in &self.runs {
            let first = HmmPfn {
                page: r.first.page.map(&f),
                ..r.first
            };
            out.push_run(first, r.count);
        }
        out
    }
}

impl From<Vec<HmmPfn>> for PfnRuns {
    fn from(words: Vec<HmmPfn>) -> PfnRuns {
        words.into_iter().collect()
    }
}

impl From<&[HmmPfn]> for PfnRuns {
    fn from(words: &[HmmPfn]) -> PfnRuns {
        words.iter().copied().collect()
    }
}

impl FromIterator<HmmPfn> for PfnRuns {
    fn from_iter<I: IntoIterator<Item = HmmPfn>>(iter: I) -> PfnRuns {
        let mut out = PfnRuns::new();
        out.extend(iter);
        out
    }
}

impl Extend<HmmPfn> for PfnRuns {
    fn extend<I: IntoIterator<Item = HmmPfn>>(&mut self, iter: I) {
        iter.into_iter().for_each(|w| self.push(w));
    }
}

impl<'a> IntoIterator for &'a PfnRuns {
    type Item = HmmPfn;
    type IntoIter = Words<'a>;
    fn into_iter(self) -> Words<'a> {
        self.iter()
    }
}

/// The words of a [`PfnRuns`], expanded one by one.
#[derive(Clone, Debug)]
pub struct Words<'a> {
    /// The runs not yet finished; the first is at `offset`.
    runs: &'a [PfnRun],
    offset: u64,
    /// Words left.
    left: u64,
}

impl Iterator for Words<'_> {
    type Item = HmmPfn;

    fn next(&mut self) -> Option<HmmPfn> {
        let (r, rest) = self.runs.split_first()?;
        let w = advanced(&r.first, self.offset);
        self.offset += 1;
        self.left -= 1;
        if self.offset == r.count {
            self.runs = rest;
            self.offset = 0;
        }
        Some(w)
    }

    /// Skips whole runs at once: text rendering jumps over long runs.
    fn nth(&mut self, mut n: usize) -> Option<HmmPfn> {
        while let Some(r) = self.runs.first() {
            let in_run = r.count - self.offset;
            match u64::try_from(n) {
                Ok(k) if k < in_run => {
                    self.offset += k;
                    self.left -= k;
                    return self.next();
                }
                _ => {
                    n -= usize::try_from(in_run).unwrap_or(usize::MAX).min(n);
                    self.left -= in_run;
                    self.runs = &self.runs[1..];
                    self.offset = 0;
                }
            }
        }
        None
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match usize::try_from(self.left) {
            Ok(n) => (n, Some(n)),
            Err(_) => (usize::MAX, None),
        }
    }
}

#[cfg(test)]
mod tests;
