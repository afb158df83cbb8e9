//! The class changes between two states, found run by run.
//!
//! Entries are kept as sorted runs whose pages all have one class
//! ([`EntryClass::of`] ignores what advances along a run), so comparing
//! two states needs one merge pass over the two run lists of each process:
//! the cost is the number of runs, never the number of pages (a 1 GiB THP
//! region is one run).

use crate::state::{EntryRun, ProcState, State};

use super::class::EntryClass;

/// Calls `emit(from, to)` for every stretch of pages of any process whose
/// entry class differs between `before` and `after` (possibly several
/// times for the same pair). A process only in `before` (it exited) goes
/// to `none`; one only in `after` (a fork child) comes from `none`.
pub fn class_changes(before: &State, after: &State, mut emit: impl FnMut(EntryClass, EntryClass)) {
    // At most four processes: a linear search per process is cheaper than
    // anything cleverer, and does not depend on the lists being sorted.
    for a in &after.procs {
        let b = find(&before.procs, a);
        run_changes(b.map_or(&[][..], |p| &p.entries[..]), &a.entries, &mut emit);
    }
    for b in &before.procs {
        if find(&after.procs, b).is_none() {
            run_changes(&b.entries, &[], &mut emit);
        }
    }
}

fn find<'a>(procs: &'a [ProcState], like: &ProcState) -> Option<&'a ProcState> {
    procs.iter().find(|p| p.id == like.id)
}

/// One side of the merge: a cursor into a sorted run list.
struct Side<'a> {
    runs: &'a [EntryRun],
    next: usize,
}

impl Side<'_> {
    /// The class at page `pos` and the first page after `pos` where it may
    /// change (`u64::MAX` past the last run). Skips runs that end at or
    /// before `pos`, so the cursor only moves forward.
    fn at(&mut self, pos: u64) -> (EntryClass, u64) {
        while let Some(r) = self.runs.get(self.next) {
            // Saturating: a broken model's run near the top of the address
            // space must not make the harness overflow-panic; such a run
            // just ends early.
            let end = r.start.saturating_add(u64::from(r.len));
            if end <= pos {
                self.next += 1;
                continue;
            }
            return if r.start <= pos {
                (EntryClass::of(&r.entry), end)
            } else {
                (EntryClass::None, r.start)
            };
        }
        (EntryClass::None, u64::MAX)
    }
}

/// The merge pass over one process's runs. Each iteration covers the
/// stretch up to the nearest run boundary of either side, so it runs at
/// most `before.len() + after.len()` times (twice that counting holes).
/// Runs that overlap or are out of order (never in a canonical state) are
/// partly skipped rather than looped on.
pub fn run_changes(
    before: &[EntryRun],
    after: &[EntryRun],
    emit: &mut impl FnMut(EntryClass, EntryClass),
) {
    let mut b = Side {
        runs: before,
        next: 0,
    };
    let mut a = Side {
        runs: after,
        next: 0,
    };
    let mut pos = 0u64;
    loop {
        let (from, b_end) = b.at(pos);
        let (to, a_end) = a.at(pos);
        if from != to {
            emit(from, to);
        }
        let end = b_end.min(a_end);
        // Both sides exhausted (or a saturated run reaching the top): done.
        // `end > pos` always holds, as `at` returns ends past `pos`; the
        // check is a guard against ever looping on a malformed list.
        if end == u64::MAX || end <= pos {
            return;
        }
        pos = end;
    }
}
