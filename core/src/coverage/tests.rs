use std::collections::BTreeSet;

use proptest::prelude::*;

use super::*;
use crate::op::ProcId;
use crate::state::{Entry, EntryRun, FolioId, Level, MigKind, ProcState, PteBits, SwapId, Target};
use crate::Config;

fn page(write: bool, folio: u64) -> Entry {
    Entry::Present {
        level: Level::Pte,
        target: Target::Folio {
            folio: FolioId(folio),
            page: 0,
        },
        bits: PteBits {
            write,
            ..PteBits::default()
        },
    }
}

fn devpriv(write: bool) -> Entry {
    Entry::DevicePrivate {
        level: Level::Pte,
        target: Target::Folio {
            folio: FolioId(9),
            page: 0,
        },
        write,
        soft_dirty: false,
        uffd_wp: false,
    }
}

fn swap(exclusive: bool) -> Entry {
    Entry::Swap {
        slot: SwapId(0),
        exclusive,
        soft_dirty: false,
        uffd_wp: false,
    }
}

fn run(start: u64, len: u32, entry: Entry) -> EntryRun {
    EntryRun { start, len, entry }
}

/// A state whose processes have the given ids and entry runs.
fn state(procs: &[(u8, Vec<EntryRun>)]) -> State {
    let mut s = State::empty(&Config::default());
    for (id, entries) in procs {
        s.procs.push(ProcState {
            id: ProcId(*id),
            has_pinned: false,
            vmas: Vec::new(),
            entries: entries.clone(),
        });
    }
    s
}

fn op(src: &str) -> Op {
    crate::text::parse(src).expect("parses").ops().remove(0)
}

/// The transitions one op records, as text.
fn recorded(o: &str, before: &State, after: &State) -> Vec<String> {
    let mut c = StateCoverage::new();
    c.record(&op(o), before, after);
    assert_eq!(c.ops(), 1);
    c.iter()
        .map(|(t, n)| {
            assert_eq!(n, 1, "{t}: each transition counts once per op");
            t.to_string()
        })
        .collect()
}

#[test]
fn class_names_are_short_distinct_and_cover_every_entry() {
    let names: Vec<String> = EntryClass::all().iter().map(|c| c.to_string()).collect();
    let distinct: BTreeSet<&String> = names.iter().collect();
    assert_eq!(distinct.len(), names.len(), "{names:?}");
    assert!(names.len() < 40, "the class set stays small: {names:?}");
    for n in [
        "none",
        "page-w",
        "page-r",
        "pmd-page-w",
        "zero-r",
        "pmd-hugezero-r",
        "io-w",
        "swap",
        "swap-excl",
        "migration-r",
        "migration-rx",
        "pmd-migration-w",
        "devpriv-w",
        "pmd-devpriv-r",
        "devexcl",
    ] {
        assert!(distinct.contains(&n.to_string()), "{n} missing: {names:?}");
    }
    let mig = Entry::Migration {
        level: Level::Pmd,
        target: Target::Folio {
            folio: FolioId(1),
            page: 0,
        },
        kind: MigKind::Write,
        young: true,
        dirty: true,
        soft_dirty: false,
        uffd_wp: false,
    };
    assert_eq!(EntryClass::of(&mig).to_string(), "pmd-migration-w");
    let zero = Entry::Present {
        level: Level::Pte,
        target: Target::Zero,
        bits: PteBits::default(),
    };
    assert_eq!(EntryClass::of(&zero).to_string(), "zero-r");
    // Every class `of` produces is one `all` lists.
    for e in [page(true, 0), devpriv(false), swap(true), mig, zero] {
        assert!(EntryClass::all().contains(&EntryClass::of(&e)));
    }
}

#[test]
fn fork_write_protects_device_private_entries_in_the_parent() {
    let before = state(&[(0, vec![run(0, 4, devpriv(true))])]);
    let after = state(&[
        (0, vec![run(0, 4, devpriv(false))]),
        (1, vec![run(0, 4, devpriv(false))]),
    ]);
    assert_eq!(
        recorded("fork p0 -> p1", &before, &after),
        ["fork: none -> devpriv-r", "fork: devpriv-w -> devpriv-r"]
    );
}

#[test]
fn a_split_run_counts_once_and_unchanged_pages_not_at_all() {
    // Pages 3..5 of a writable run become read-only: the run splits in
    // three in `after`, one change.
    let before = state(&[(0, vec![run(0, 10, page(true, 0))])]);
    let after = state(&[(
        0,
        vec![
            run(0, 3, page(true, 0)),
            run(3, 2, page(false, 0)),
            run(5, 5, page(true, 0)),
        ],
    )]);
    assert_eq!(
        recorded("mprotect p0 m0[3..5] r", &before, &after),
        ["mprotect: page-w -> page-r"]
    );
    // A new folio in the same class is no transition.
    let other = state(&[(0, vec![run(0, 10, page(true, 7))])]);
    assert!(recorded("write p0 m0[0] = 1", &before, &other).is_empty());
}

#[test]
fn holes_on_either_side_are_none() {
    // before: [0,4) page-w; after: [2,6) swap. Pages 0..2 go to none,
    // 2..4 from page-w to swap, 4..6 from none to swap.
    let before = state(&[(0, vec![run(0, 4, page(true, 0))])]);
    let after = state(&[(0, vec![run(2, 4, swap(true))])]);
    assert_eq!(
        recorded("reclaim", &before, &after),
        [
            "reclaim: none -> swap-excl",
            "reclaim: page-w -> none",
            "reclaim: page-w -> swap-excl",
        ]
    );
}

#[test]
fn an_exiting_process_sends_its_entries_to_none() {
    let before = state(&[
        (0, vec![run(0, 1, page(true, 0))]),
        (2, vec![run(5, 1, swap(false)), run(9, 1, devpriv(true))]),
    ]);
    let after = state(&[(0, vec![run(0, 1, page(true, 0))])]);
    assert_eq!(
        recorded("exit p2", &before, &after),
        ["exit: swap -> none", "exit: devpriv-w -> none"]
    );
}

#[test]
fn counts_are_ops_and_merge_adds_them() {
    let before = state(&[(0, vec![run(0, 1, page(true, 0))]), (1, vec![])]);
    // Two processes each lose a page in the same op: still one op.
    let after = state(&[(0, vec![]), (1, vec![])]);
    let both = state(&[
        (0, vec![run(0, 1, page(true, 0))]),
        (1, vec![run(0, 1, page(true, 1))]),
    ]);
    let mut c = StateCoverage::new();
    c.record(&op("reclaim"), &both, &after);
    c.record(&op("reclaim"), &before, &after);
    c.record(&op("read p0 m0[0]"), &after, &after);
    let t = Transition {
        op: OpKind::Reclaim,
        from: EntryClass::of(&page(true, 0)),
        to: EntryClass::None,
    };
    assert_eq!((c.count(&t), c.len(), c.ops()), (2, 1, 3));
    let mut d = StateCoverage::new();
    d.record(&op("munmap p0 m0[0]"), &before, &after);
    d.merge(&c);
    assert_eq!((d.count(&t), d.len(), d.ops()), (2, 2, 4));
    assert_eq!(
        d.iter()
            .map(|(t, n)| format!("{t} {n}"))
            .collect::<Vec<_>>(),
        ["munmap: page-w -> none 1", "reclaim: page-w -> none 2"]
    );
    assert_eq!(
        d.only_here(&c).map(|t| t.to_string()).collect::<Vec<_>>(),
        ["munmap: page-w -> none"]
    );
    assert_eq!(c.only_here(&d).count(), 0);
}

#[test]
fn table_is_aligned_with_dashes_and_a_summary() {
    let before = state(&[(0, vec![run(0, 4, devpriv(true))])]);
    let forked = state(&[
        (0, vec![run(0, 4, devpriv(false))]),
        (1, vec![run(0, 4, devpriv(false))]),
    ]);
    let mut oracle = StateCoverage::new();
    oracle.record(&op("fork p0 -> p1"), &before, &forked);
    let mut subject = StateCoverage::new();
    subject.record(&op("reclaim"), &before, &state(&[(0, vec![])]));
    let table = render_table(&[("oracle", &oracle), ("subject", &subject)]);
    assert_eq!(
        table,
        "\
transition                    oracle  subject
fork: none -> devpriv-r            1        -
fork: devpriv-w -> devpriv-r       1        -
reclaim: devpriv-w -> none         -        1
distinct transitions: oracle 2 (1 ops), subject 1 (1 ops)
"
    );
    assert_eq!(
        render_table(&[]),
        "transition\ndistinct transitions:\n",
        "no columns still renders"
    );
}

#[test]
fn json_is_an_object_of_counts_with_escaped_keys() {
    let before = state(&[(0, vec![run(0, 4, devpriv(true))])]);
    let after = state(&[(0, vec![run(0, 4, devpriv(false))])]);
    let mut c = StateCoverage::new();
    assert_eq!(c.to_json(), "{}");
    c.record(&op("fork p0 -> p1"), &before, &after);
    c.record(&op("fork p0 -> p1"), &before, &after);
    c.record(&op("reclaim"), &before, &state(&[]));
    assert_eq!(
        c.to_json(),
        r#"{"fork: devpriv-w -> devpriv-r": 2, "reclaim: devpriv-w -> none": 1}"#
    );
    assert_eq!(json_string("a\"b\\c\nd\u{1}é"), r#""a\"b\\c\nd\u0001é""#);
}

#[test]
fn malformed_runs_neither_panic_nor_loop() {
    let top = u64::MAX - 1;
    let before = state(&[(
        0,
        vec![
            run(top, 10, page(true, 0)),
            run(5, 3, swap(false)),
            run(0, 0, swap(true)),
        ],
    )]);
    let after = state(&[(0, vec![run(6, 100, page(true, 0)), run(0, 200, swap(true))])]);
    let mut c = StateCoverage::new();
    c.record(&op("reclaim"), &before, &after);
    c.record(&op("reclaim"), &after, &before);
    assert_eq!(c.ops(), 2);
}

/// Page-by-page classes of a run list over `[0, width)`.
fn per_page(runs: &[EntryRun], width: u64) -> Vec<EntryClass> {
    let mut v = vec![EntryClass::None; width as usize];
    for r in runs {
        for p in r.start..r.start + u64::from(r.len) {
            v[p as usize] = EntryClass::of(&r.entry);
        }
    }
    v
}

/// Sorted, disjoint runs over `[0, 64)` with classes from a small set.
fn runs_strategy() -> impl Strategy<Value = Vec<EntryRun>> {
    prop::collection::vec((0u64..4, 1u32..8, 0usize..4), 0..10).prop_map(|parts| {
        let entries = [page(true, 0), page(false, 0), swap(true), devpriv(true)];
        let mut out = Vec::new();
        let mut pos = 0u64;
        for (gap, len, e) in parts {
            let start = pos + gap;
            if start + u64::from(len) > 64 {
                break;
            }
            out.push(run(start, len, entries[e]));
            pos = start + u64::from(len);
        }
        out
    })
}

proptest! {
    /// The merge pass finds exactly the class pairs a page-by-page
    /// comparison finds.
    #[test]
    fn merge_pass_matches_page_by_page(before in runs_strategy(), after in runs_strategy()) {
        let mut fast = BTreeSet::new();
        run_changes(&before, &after, &mut |f, t| {
            fast.insert((f, t));
        });
        let slow: BTreeSet<(EntryClass, EntryClass)> = per_page(&before, 64)
            .into_iter()
            .zip(per_page(&after, 64))
            .filter(|(f, t)| f != t)
            .collect();
        prop_assert_eq!(fast, slow);
    }
}
