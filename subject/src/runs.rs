//! Run-length stores for what the kernel keeps per page but this model
//! can keep per run: folio contents ([`Contents`]), per-page folio flags
//! ([`PageBits`], `PageAnonExclusive`) and lists of pages ([`PageRuns`],
//! what a GUP handle or a preregistration holds).
//!
//! What this optimizes: a 2 MiB THP written with one value or with the
//! `index+K` pattern is one contents run instead of 512 words, a PMD-mapped
//! exclusive THP is one flag instead of 512, and a pin of a PMD-mapped THP
//! is one `(first page, count)` run instead of 512 page pointers. Memory
//! follows the number of folios and runs, not of pages.
//!
//! What they must preserve: each one reads, page by page, exactly as the
//! per-page vector it replaces (`FolioState::contents`,
//! `FolioState::anon_exclusive`, `HandleState::pages`): the canonical
//! state is built from the per-page view (`to_vec`), and every write has
//! the effect of the same per-page writes in order.

use mmdiff_core::op::Fill;
use mmdiff_core::state::PageRef;

// ---------------------------------------------------------------------
// Contents
// ---------------------------------------------------------------------

/// One run of contents: from page `start` up to the next run's start (or
/// the end), page `start + k` holds `first + k * step` (wrapping).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Seg {
    start: u32,
    first: u64,
    step: u64,
}

impl Seg {
    fn value_at(&self, page: u32) -> u64 {
        self.first
            .wrapping_add(((page - self.start) as u64).wrapping_mul(self.step))
    }
}

#[derive(Clone, Debug)]
enum SegsRepr {
    /// The whole folio is one run (always so for small folios): no heap.
    One(Seg),
    /// Two runs or more, by start; the first starts at 0.
    Many(Vec<Seg>),
}

/// A folio's contents, one value per page, as arithmetic runs: a page
/// written alone is a run of one; pages written with one value (`= V`) or
/// with the `index+K` pattern are one run of step 0 or 1; adjacent runs
/// that continue each other are merged.
#[derive(Clone, Debug)]
pub struct Contents {
    len: u32,
    repr: SegsRepr,
}

impl PartialEq for Contents {
    /// Equal values page by page, however the runs are cut.
    fn eq(&self, other: &Contents) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl Eq for Contents {}

impl Contents {
    /// `len` pages of zeros (a fresh folio).
    pub fn zeroed(len: u32) -> Contents {
        Contents::filled(len, 0, 0)
    }

    /// `len` pages, page `k` holding `first + k * step`.
    pub fn filled(len: u32, first: u64, step: u64) -> Contents {
        Contents {
            len,
            repr: SegsRepr::One(Seg {
                start: 0,
                first,
                step: if len > 1 { step } else { 0 },
            }),
        }
    }

    /// Pages in the folio.
    pub fn len(&self) -> u32 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Runs stored (a measure of the representation, for tests).
    pub fn run_count(&self) -> usize {
        self.segs().len()
    }

    fn segs(&self) -> &[Seg] {
        match &self.repr {
            SegsRepr::One(s) => std::slice::from_ref(s),
            SegsRepr::Many(v) => v,
        }
    }

    /// The end (exclusive) of run `k`.
    fn seg_end(segs: &[Seg], k: usize, len: u32) -> u32 {
        segs.get(k + 1).map_or(len, |s| s.start)
    }

    /// The index of the run holding `page`.
    fn seg_of(segs: &[Seg], page: u32) -> usize {
        segs.partition_point(|s| s.start <= page) - 1
    }

    /// The value of page `i` (panics beyond the folio, as indexing the
    /// per-page vector did).
    pub fn get(&self, i: usize) -> u64 {
        assert!(
            i < self.len as usize,
            "page {i} of a {}-page folio",
            self.len
        );
        let segs = self.segs();
        let page = i as u32;
        segs[Contents::seg_of(segs, page)].value_at(page)
    }

    /// Page `i` becomes `value`.
    pub fn set(&mut self, i: usize, value: u64) {
        self.fill(i as u32, 1, value, 0);
    }

    /// Pages `[at, at + n)` become `fill.value_at(page_base + k)` for page
    /// `at + k`: the `write ... = V` and `= index+K` patterns.
    pub fn fill_pattern(&mut self, at: u32, n: u32, fill: Fill, page_base: u64) {
        let step = match fill {
            Fill::Const(_) => 0,
            Fill::Index(_) => 1,
        };
        self.fill(at, n, fill.value_at(page_base), step);
    }

    /// Pages `[at, at + n)` become `first + k * step` for page `at + k`.
    pub fn fill(&mut self, at: u32, n: u32, first: u64, step: u64) {
        assert!(
            at as u64 + n as u64 <= self.len as u64,
            "pages {at}+{n} of a {}-page folio",
            self.len
        );
        if n == 0 {
            return;
        }
        if at == 0 && n == self.len {
            *self = Contents::filled(self.len, first, step);
            return;
        }
        let len = self.len;
        let mut v = match std::mem::replace(&mut self.repr, SegsRepr::Many(Vec::new())) {
            SegsRepr::One(s) => vec![s],
            SegsRepr::Many(v) => v,
        };
        let end = at + n;
        split_seg(&mut v, at);
        if end < len {
            split_seg(&mut v, end);
        }
        let a = v.partition_point(|s| s.start < at);
        let b = v.partition_point(|s| s.start < end);
        let step = if n > 1 { step } else { 0 };
        v.splice(
            a..b,
            std::iter::once(Seg {
                start: at,
                first,
                step,
            }),
        );
        // The new run and the pieces of the runs it cut may each continue
        // their neighbour: try the four boundaries around it, right to
        // left so that a merge never moves the runs still to be tried.
        for k in (a.saturating_sub(2)..=a + 1).rev() {
            merge_segs(&mut v, k, len);
        }
        self.repr = if v.len() == 1 {
            SegsRepr::One(v[0])
        } else {
            SegsRepr::Many(v)
        };
    }

    /// Pages `[at, at + n)` take the values of `src`'s pages
    /// `[from, from + n)` (a copy between folios: migration, COW).
    pub fn copy_from(&mut self, at: u32, src: &Contents, from: u32, n: u32) {
        assert!(
            from as u64 + n as u64 <= src.len as u64,
            "pages {from}+{n} of a {}-page folio",
            src.len
        );
        if at == 0 && from == 0 && n == self.len && n == src.len {
            self.repr = src.repr.clone();
            return;
        }
        src.for_each_run(from, n, |page, len, first, step| {
            self.fill(at + (page - from), len, first, step);
        });
    }

    /// A one-page folio holding page `i`'s value (a piece of a split).
    pub fn piece(&self, i: usize) -> Contents {
        Contents::filled(1, self.get(i), 0)
    }

    /// Calls `visit(page, len, first, step)` for each run clipped to
    /// `[at, at + n)`: pages `page + k` hold `first + k * step`.
    pub fn for_each_run(&self, at: u32, n: u32, mut visit: impl FnMut(u32, u32, u64, u64)) {
        let end = at + n;
        let segs = self.segs();
        if n == 0 {
            return;
        }
        let mut k = Contents::seg_of(segs, at);
        let mut page = at;
        while page < end {
            let s = segs[k];
            let stop = Contents::seg_end(segs, k, self.len).min(end);
            visit(page, stop - page, s.value_at(page), s.step);
            page = stop;
            k += 1;
        }
    }

    /// Appends the values of pages `[at, at + n)` to `out`.
    pub fn extend_values(&self, out: &mut Vec<u64>, at: u32, n: u32) {
        assert!(at as u64 + n as u64 <= self.len as u64);
        out.reserve(n as usize);
        self.for_each_run(at, n, |_, len, first, step| {
            out.extend((0..len as u64).map(|k| first.wrapping_add(k.wrapping_mul(step))));
        });
    }

    /// Every page's value, in order.
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        let segs = self.segs();
        (0..segs.len()).flat_map(move |k| {
            let s = segs[k];
            let end = Contents::seg_end(segs, k, self.len);
            (s.start..end).map(move |p| s.value_at(p))
        })
    }

    /// The per-page vector (`FolioState::contents`).
    pub fn to_vec(&self) -> Vec<u64> {
        let mut out = Vec::with_capacity(self.len as usize);
        self.extend_values(&mut out, 0, self.len);
        out
    }
}

/// Make `at` the start of a run (a no-op when it is one already).
fn split_seg(v: &mut Vec<Seg>, at: u32) {
    let k = Contents::seg_of(v, at);
    let s = v[k];
    if s.start == at {
        return;
    }
    v.insert(
        k + 1,
        Seg {
            start: at,
            first: s.value_at(at),
            step: s.step,
        },
    );
}

/// Merge runs `k` and `k + 1` when the second continues the first: one
/// arithmetic progression covers both. A run of one page takes the step
/// of its neighbour (two single pages always make a progression).
fn merge_segs(v: &mut Vec<Seg>, k: usize, len: u32) -> bool {
    if k + 1 >= v.len() {
        return false;
    }
    let (x, y) = (v[k], v[k + 1]);
    let a = y.start - x.start;
    let b = Contents::seg_end(v, k + 1, len) - y.start;
    let step = match (a > 1, b > 1) {
        (true, true) if x.step == y.step => x.step,
        (true, true) => return false,
        (true, false) => x.step,
        (false, true) => y.step,
        (false, false) => y.first.wrapping_sub(x.first),
    };
    if x.first.wrapping_add((a as u64).wrapping_mul(step)) != y.first {
        return false;
    }
    v[k].step = step;
    v.remove(k + 1);
    true
}

// ---------------------------------------------------------------------
// PageBits
// ---------------------------------------------------------------------

#[derive(Clone, Debug)]
enum BitsRepr {
    /// Every page has the same flag (always so for small folios).
    All(bool),
    /// One bit per page; bits beyond the folio are 0.
    Words(Box<[u64]>),
}

/// One flag per page of a folio (`PageAnonExclusive`): a single flag while
/// all pages agree (a PMD-mapped THP), a bitmap otherwise.
#[derive(Clone, Debug)]
pub struct PageBits {
    len: u32,
    repr: BitsRepr,
}

impl PartialEq for PageBits {
    fn eq(&self, other: &PageBits) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl Eq for PageBits {}

impl PageBits {
    pub fn new(len: u32, value: bool) -> PageBits {
        PageBits {
            len,
            repr: BitsRepr::All(value),
        }
    }

    pub fn len(&self) -> u32 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether one flag stands for every page (for tests).
    pub fn is_uniform(&self) -> bool {
        matches!(self.repr, BitsRepr::All(_))
    }

    /// The flag of page `i` (panics beyond the folio).
    pub fn get(&self, i: usize) -> bool {
        assert!(
            i < self.len as usize,
            "page {i} of a {}-page folio",
            self.len
        );
        match &self.repr {
            BitsRepr::All(v) => *v,
            BitsRepr::Words(w) => w[i / 64] >> (i % 64) & 1 == 1,
        }
    }

    /// Page `i`'s flag becomes `value`.
    pub fn set(&mut self, i: usize, value: bool) {
        assert!(
            i < self.len as usize,
            "page {i} of a {}-page folio",
            self.len
        );
        if let BitsRepr::All(v) = self.repr {
            if v == value {
                return;
            }
            if self.len == 1 {
                // A small folio: its one page is all of them.
                self.repr = BitsRepr::All(value);
                return;
            }
            self.repr = BitsRepr::Words(self.words_of(v));
        }
        let BitsRepr::Words(w) = &mut self.repr else {
            unreachable!()
        };
        if value {
            w[i / 64] |= 1 << (i % 64);
        } else {
            w[i / 64] &= !(1 << (i % 64));
        }
        // Back to one flag once every page agrees again.
        let tail = self.len as usize % 64;
        let last_full = if tail == 0 {
            u64::MAX
        } else {
            (1u64 << tail) - 1
        };
        let (last, body) = w.split_last().expect("a folio has pages");
        if *last == 0 && body.iter().all(|&x| x == 0) {
            self.repr = BitsRepr::All(false);
        } else if *last == last_full && body.iter().all(|&x| x == u64::MAX) {
            self.repr = BitsRepr::All(true);
        }
    }

    /// Every page's flag becomes `value`.
    pub fn set_all(&mut self, value: bool) {
        self.repr = BitsRepr::All(value);
    }

    /// The bitmap of `len` pages all set to `v`.
    fn words_of(&self, v: bool) -> Box<[u64]> {
        let n = (self.len as usize).div_ceil(64);
        let mut w = vec![if v { u64::MAX } else { 0 }; n].into_boxed_slice();
        let tail = self.len as usize % 64;
        if v && tail != 0 {
            w[n - 1] = (1u64 << tail) - 1;
        }
        w
    }

    /// A one-page flag holding page `i`'s (a piece of a split).
    pub fn piece(&self, i: usize) -> PageBits {
        PageBits::new(1, self.get(i))
    }

    pub fn iter(&self) -> impl Iterator<Item = bool> + '_ {
        (0..self.len as usize).map(|i| self.get(i))
    }

    /// The per-page vector (`FolioState::anon_exclusive`).
    pub fn to_vec(&self) -> Vec<bool> {
        self.iter().collect()
    }
}

// ---------------------------------------------------------------------
// PageRuns
// ---------------------------------------------------------------------

/// `len` consecutive pages from `first` (page `k` is
/// `first.advanced(k)`), starting at index `at` of the list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRun {
    pub at: u64,
    pub first: PageRef,
    pub len: u64,
}

impl PageRun {
    /// The page after the last one: where a continuing run would start.
    fn next_page(&self) -> PageRef {
        self.first.advanced(self.len)
    }
}

/// A list of pages as maximal runs of consecutive pages of one folio (or
/// of the huge zero folio, or repeated zero pages).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageRuns {
    /// Maximal: no run starts with the page that would continue the one
    /// before it; none is empty.
    runs: Vec<PageRun>,
    len: u64,
}

impl PageRuns {
    pub fn new() -> PageRuns {
        PageRuns::default()
    }

    /// Pages in the list.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn runs(&self) -> &[PageRun] {
        &self.runs
    }

    pub fn push(&mut self, r: PageRef) {
        self.push_run(r, 1);
    }

    /// Appends `n` pages from `first`.
    pub fn push_run(&mut self, first: PageRef, n: u64) {
        if n == 0 {
            return;
        }
        match self.runs.last_mut() {
            Some(last) if last.next_page() == first => last.len += n,
            _ => self.runs.push(PageRun {
                at: self.len,
                first,
                len: n,
            }),
        }
        self.len += n;
    }

    /// Appends every page of `other`.
    pub fn append(&mut self, other: PageRuns) {
        for r in other.runs {
            self.push_run(r.first, r.len);
        }
    }

    /// Page `i` of the list.
    pub fn get(&self, i: u64) -> Option<PageRef> {
        if i >= self.len {
            return None;
        }
        let k = self.runs.partition_point(|r| r.at <= i) - 1;
        let r = self.runs[k];
        Some(r.first.advanced(i - r.at))
    }

    /// The runs clipped to list indexes `[start, end)`.
    pub fn runs_in(&self, start: u64, end: u64) -> impl Iterator<Item = PageRun> + '_ {
        let end = end.min(self.len).max(start);
        let k = self.runs.partition_point(|r| r.at + r.len <= start);
        self.runs[k..]
            .iter()
            .take_while(move |r| r.at < end)
            .map(move |r| {
                let s = r.at.max(start);
                let e = (r.at + r.len).min(end);
                PageRun {
                    at: s,
                    first: r.first.advanced(s - r.at),
                    len: e - s,
                }
            })
            .filter(|r| r.len > 0)
    }

    /// Every page, in order.
    pub fn iter(&self) -> impl Iterator<Item = PageRef> + '_ {
        self.runs
            .iter()
            .flat_map(|r| (0..r.len).map(move |k| r.first.advanced(k)))
    }

    /// The per-page vector (`HandleState::pages`, `PreregState::pages`).
    pub fn to_vec(&self) -> Vec<PageRef> {
        self.iter().collect()
    }
}

impl FromIterator<PageRef> for PageRuns {
    fn from_iter<I: IntoIterator<Item = PageRef>>(iter: I) -> PageRuns {
        let mut out = PageRuns::new();
        iter.into_iter().for_each(|r| out.push(r));
        out
    }
}

#[cfg(test)]
mod tests;
