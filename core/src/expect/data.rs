//! Expected data payloads as run patterns.
//!
//! A data payload holds one value per page, value `j` belonging to page
//! `base + j`. Its text form compresses runs of equal values (`3*7`) and
//! runs of the "index" pattern (`index+5`: page number plus 5), so an
//! expectation like `data=index` holds for a read of any length at any base.

/// The value one run of pages holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DataValue {
    /// Every page holds this value.
    Const(u64),
    /// Page `n` holds `n + k` (wrapping): text `index`, `index+K`, `index-K`.
    Index(u64),
}

impl DataValue {
    /// The value this run puts at page number `page`.
    pub fn value_at(self, page: u64) -> u64 {
        match self {
            DataValue::Const(v) => v,
            DataValue::Index(k) => page.wrapping_add(k),
        }
    }
}

/// `count` consecutive pages holding `value`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DataRun {
    pub count: u64,
    pub value: DataValue,
}

/// An expected data payload.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum DataPattern {
    /// `data=<value>`: one run over however many pages there are (at least one).
    Uniform(DataValue),
    /// `data=[<run>,...]`: runs in order, covering exactly the payload
    /// (`data=[]` is the empty payload).
    Runs(Vec<DataRun>),
}

impl DataPattern {
    /// The canonical compression of `values` (value `j` at page `base + j`).
    ///
    /// Deterministic greedy choice at each position `j`: `l_const` counts
    /// values equal to `values[j]`, `l_index` counts values that go up by one
    /// per page; the index run wins only when strictly longer, so single
    /// values stay constants. One run overall prints bare.
    pub fn from_values(base: u64, values: &[u64]) -> DataPattern {
        let mut runs = Vec::new();
        let mut j = 0;
        while let Some(&first) = values.get(j) {
            let rest = &values[j..];
            let l_const = rest.iter().take_while(|&&v| v == first).count();
            let l_index = rest
                .iter()
                .zip(0u64..)
                .take_while(|&(&v, t)| v == first.wrapping_add(t))
                .count();
            let page = base.wrapping_add(j as u64);
            let (len, value) = if l_index > l_const {
                (l_index, DataValue::Index(first.wrapping_sub(page)))
            } else {
                (l_const, DataValue::Const(first))
            };
            runs.push(DataRun {
                count: len as u64,
                value,
            });
            j += len;
        }
        match runs.as_slice() {
            [only] => DataPattern::Uniform(only.value),
            _ => DataPattern::Runs(runs),
        }
    }

    /// Whether the payload `values` (value `j` at page `base + j`) fits.
    pub fn matches(&self, base: u64, values: &[u64]) -> bool {
        self.first_mismatch(base, values).is_none()
    }

    /// The index of the first value that does not fit, `values.len()` when
    /// the payload is too short or too long, `None` when it matches.
    pub fn first_mismatch(&self, base: u64, values: &[u64]) -> Option<usize> {
        let page_of = |j: usize| base.wrapping_add(j as u64);
        match self {
            DataPattern::Uniform(value) => {
                if values.is_empty() {
                    return Some(0);
                }
                values
                    .iter()
                    .enumerate()
                    .position(|(j, &v)| v != value.value_at(page_of(j)))
            }
            DataPattern::Runs(runs) => {
                let mut j = 0usize;
                for run in runs {
                    for _ in 0..run.count {
                        match values.get(j) {
                            Some(&v) if v == run.value.value_at(page_of(j)) => j += 1,
                            _ => return Some(j),
                        }
                    }
                }
                (j != values.len()).then_some(j)
            }
        }
    }

    /// The value the pattern expects at payload position `j` (page
    /// `base + j`), if it says anything about that position.
    pub fn expected_at(&self, base: u64, j: usize) -> Option<u64> {
        let page = base.wrapping_add(j as u64);
        match self {
            DataPattern::Uniform(value) => Some(value.value_at(page)),
            DataPattern::Runs(runs) => {
                let mut remaining = j as u64;
                for run in runs {
                    if remaining < run.count {
                        return Some(run.value.value_at(page));
                    }
                    remaining -= run.count;
                }
                None
            }
        }
    }
}
