//! State coverage: which entry-kind transitions a model went through.
//!
//! Line coverage says which code ran; it cannot say whether a fork ever
//! met a writable device-private entry, or whether a migration entry ever
//! turned back into a read-only page. This module records exactly that:
//! after each op, the page-table entries of the state before and after are
//! compared, and every change of [`EntryClass`] (`page-w -> migration-w`,
//! `devpriv-w -> devpriv-r`) is counted as a [`Transition`] of that op's
//! kind.
//!
//! **Counting.** A count is a number of *ops*: each distinct transition
//! counts at most once per recorded op, however many pages, runs or
//! processes it touched. So `fork: devpriv-w -> devpriv-r  3` means three
//! forks write-protected at least one device-private entry.
//!
//! A process that appears (a fork child) has its entries come from
//! `none`; one that disappears (exit) sends them to `none`.
//!
//! [`StateCoverage::record`] costs one merge pass over the two states' entry
//! runs (see `diff`): cheap enough to call after every op of a fuzzing
//! campaign on the canonical state the harness computes anyway.

mod class;
mod diff;
mod report;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

pub use class::{EntryClass, Transition};
pub use diff::{class_changes, run_changes};
pub use report::{json_string, render_table};

use crate::op::{Op, OpKind};
use crate::state::State;

/// Transition counts (ops that exercised each transition) and the number
/// of ops recorded. Deterministic: iteration is in [`Transition`] order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StateCoverage {
    counts: BTreeMap<Transition, u64>,
    ops: u64,
}

impl StateCoverage {
    pub fn new() -> StateCoverage {
        StateCoverage::default()
    }

    /// Records `op`, which took the model from `before` to `after`.
    pub fn record(&mut self, op: &Op, before: &State, after: &State) {
        self.record_kind(op.kind(), before, after);
    }

    /// [`StateCoverage::record`] for a caller that has only the op's kind.
    pub fn record_kind(&mut self, op: OpKind, before: &State, after: &State) {
        self.ops += 1;
        // Distinct (from, to) pairs of this op: a handful at most, so a
        // vector with a linear membership test beats any set.
        let mut seen: Vec<(EntryClass, EntryClass)> = Vec::new();
        class_changes(before, after, |from, to| {
            if !seen.contains(&(from, to)) {
                seen.push((from, to));
            }
        });
        for (from, to) in seen {
            *self.counts.entry(Transition { op, from, to }).or_insert(0) += 1;
        }
    }

    /// Adds `other`'s counts and ops to these.
    pub fn merge(&mut self, other: &StateCoverage) {
        for (t, n) in &other.counts {
            let c = self.counts.entry(*t).or_insert(0);
            *c = c.saturating_add(*n);
        }
        self.ops = self.ops.saturating_add(other.ops);
    }

    /// Number of distinct transitions seen.
    pub fn len(&self) -> usize {
        self.counts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// Number of ops recorded (with or without a transition).
    pub fn ops(&self) -> u64 {
        self.ops
    }

    /// How many recorded ops exercised `t` (0 if none).
    pub fn count(&self, t: &Transition) -> u64 {
        self.counts.get(t).copied().unwrap_or(0)
    }

    /// Every transition seen, with its count, in [`Transition`] order.
    pub fn iter(&self) -> impl Iterator<Item = (&Transition, u64)> + '_ {
        self.counts.iter().map(|(t, n)| (t, *n))
    }

    /// Transitions seen here and not in `other`, in order: what one model
    /// reached and the other did not.
    pub fn only_here<'a>(
        &'a self,
        other: &'a StateCoverage,
    ) -> impl Iterator<Item = &'a Transition> + 'a {
        self.counts.keys().filter(|t| !other.counts.contains_key(t))
    }

    /// `{"fork: devpriv-w -> devpriv-r": 3, ...}` in [`Transition`] order,
    /// on one line.
    pub fn to_json(&self) -> String {
        let mut o = String::from("{");
        for (i, (t, n)) in self.counts.iter().enumerate() {
            if i > 0 {
                o.push_str(", ");
            }
            o.push_str(&json_string(&t.to_string()));
            o.push_str(": ");
            o.push_str(&n.to_string());
        }
        o.push('}');
        o
    }
}
