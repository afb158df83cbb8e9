use super::*;
use crate::canon::fixtures::{abs, folio, present, run, sample_state, vma};
use crate::op::{DevId, HandleId, ProcId, Prot, Zone};
use crate::outcome::{Errno, HmmPfn, Payload, Signal};
use crate::state::{Entry, EntryRun, FolioId, Level, ProcState, VmaKind};

// ------------------------------------------------------------ toy models

/// Planted bugs: what `Toy<BUG>` does differently once it has applied more
/// than [`AT`] ops (so from op index `AT` on).
const CLEAN: u8 = 0;
/// F0's contents are off: `state:folio.contents`.
const CONTENTS: u8 = 1;
/// p0's entry at m0[1] is not young: `state:entry.young`.
const YOUNG: u8 = 2;
/// The op returns another count: `outcome:count`.
const OUTCOME: u8 = 3;
/// The normal zone loses a free page: invariant `zone-accounting`.
const INVARIANT: u8 = 4;
/// `apply` panics.
const PANIC: u8 = 5;
/// p1 maps the two folios the other way round: every counter and every
/// content stays the same, so only the canonical state shows it, not the
/// digest.
const SHARING: u8 = 6;
/// Like [`SHARING`], at op `AT` only.
const SHARING_ONCE: u8 = 7;
/// `Model::digest` is wrong (the state is right).
const BAD_DIGEST: u8 = 8;
/// `exit` returns EINVAL instead of counting, from the start.
const EXIT_EINVAL: u8 = 9;

const AT: u64 = 3;

/// Counts ops into a folio. p0 and p1 each map two small anon folios
/// read-only at m0[0] and m0[1] (F0 then F1, shared by both); F0's
/// contents are the number of ops applied so far, and every op returns
/// that number. Its states pass every invariant.
struct Toy<const BUG: u8> {
    config: Config,
    n: u64,
}

impl<const BUG: u8> Toy<BUG> {
    fn buggy(&self) -> bool {
        self.n > AT
    }
}

impl<const BUG: u8> Model for Toy<BUG> {
    fn new(config: &Config) -> Self {
        Toy {
            config: config.clone(),
            n: 0,
        }
    }
    fn name(&self) -> &'static str {
        if BUG == CLEAN {
            "oracle"
        } else {
            "subject"
        }
    }
    fn apply(&mut self, op: &Op) -> Outcome {
        self.n += 1;
        if BUG == PANIC && self.buggy() {
            panic!("toy bug at op {}", self.n);
        }
        if BUG == EXIT_EINVAL && matches!(op, Op::Exit { .. }) {
            return Outcome::Err(Errno::EINVAL);
        }
        if BUG == OUTCOME && self.buggy() {
            return Outcome::count(self.n + 100);
        }
        Outcome::count(self.n)
    }
    fn raw_state(&self) -> State {
        // Raw folio ids unlike the canonical ones, so renaming matters.
        let (f0, f1) = (70, 9);
        let swapped = (BUG == SHARING && self.buggy()) || (BUG == SHARING_ONCE && self.n == AT + 1);
        let entries = |p1: bool| {
            let (x, y) = if p1 && swapped { (f1, f0) } else { (f0, f1) };
            let mut second = present(Level::Pte, y, 0, false);
            if BUG == YOUNG && self.buggy() && !p1 {
                if let Entry::Present { bits, .. } = &mut second {
                    bits.young = false;
                }
            }
            vec![
                run(abs(0, 0), 1, present(Level::Pte, x, 0, false)),
                run(abs(0, 1), 1, second),
            ]
        };
        let procs = (0..2)
            .map(|p| ProcState {
                id: ProcId(p),
                has_pinned: false,
                vmas: vec![vma(abs(0, 0), abs(0, 2), VmaKind::AnonPrivate, Prot::RW)],
                entries: entries(p == 1),
            })
            .collect();
        let mut folios = BTreeMap::new();
        for (id, contents) in [(f0, self.n), (f1, 0)] {
            let mut f = folio(id, 0);
            f.refcount = 2;
            f.mapcount = 2;
            f.contents = vec![contents];
            if BUG == CONTENTS && self.buggy() && id == f0 {
                f.contents = vec![contents + 1000];
            }
            folios.insert(f.id, f);
        }
        let mut zone_free = self.config.zone_pages;
        zone_free[Zone::Normal.index()] -= 2;
        if BUG == INVARIANT && self.buggy() {
            zone_free[Zone::Normal.index()] -= 1;
        }
        State {
            procs,
            folios,
            zone_free,
            ..State::empty(&self.config)
        }
    }
    fn digest(&self) -> digest::Digest {
        let mut d = digest::of_state(&self.raw_state());
        if BUG == BAD_DIGEST && self.buggy() {
            d.add(1);
        }
        d
    }
}

/// A model whose constructor panics.
struct NoStart;

impl Model for NoStart {
    fn new(_: &Config) -> Self {
        panic!("cannot start")
    }
    fn name(&self) -> &'static str {
        "nostart"
    }
    fn apply(&mut self, _: &Op) -> Outcome {
        Outcome::OK
    }
    fn raw_state(&self) -> State {
        unreachable!()
    }
}

use std::collections::BTreeMap;

/// Six ops; op `AT` (= 3) is the only `cma-evacuate`, so a signature
/// naming it names the right op.
fn ops() -> Vec<Op> {
    vec![
        Op::Reclaim,
        Op::Reclaim,
        Op::Reclaim,
        Op::CmaEvacuate,
        Op::Reclaim,
        Op::Reclaim,
    ]
}

/// Full, Digest and Locate mode reports of `Toy<CLEAN>` against `B`.
fn both<B: Model>(ops: &[Op]) -> [LockstepReport; 3] {
    let c = Config::default();
    [
        run_lockstep::<Toy<CLEAN>, B>(&c, ops, Check::Full),
        run_lockstep::<Toy<CLEAN>, B>(&c, ops, Check::Digest),
        run_lockstep::<Toy<CLEAN>, B>(&c, ops, Check::Locate),
    ]
}

/// Runs `Toy<CLEAN>` against `B` in both modes, asserts both find the same
/// divergence at `index`, and returns it.
#[track_caller]
fn diverges<B: Model>(index: usize, signature: &str) -> Divergence {
    let [full, digest, locate] = both::<B>(&ops());
    let d = full.divergence.clone().expect("Full mode finds the bug");
    assert_eq!(d.index, index, "{}", d.explain());
    assert_eq!(d.signature, signature, "{}", d.explain());
    assert_eq!(full.ops_run, index + 1);
    assert_eq!(d.models, ["oracle", "subject"]);
    assert_eq!(digest, full, "Digest mode reports what Full mode does");
    assert_eq!(locate, full, "Locate mode reports what Full mode does");
    *d
}

// ----------------------------------------------------------------- tests

#[test]
fn the_toy_is_consistent() {
    for n in 0..6 {
        let t = Toy::<CLEAN> {
            config: Config::default(),
            n,
        };
        let (state, _) = canon::canonicalize(&t.raw_state());
        assert_eq!(invariants::check(&state), vec![]);
    }
}

#[test]
fn identical_models_never_diverge() {
    for r in both::<Toy<CLEAN>>(&ops()) {
        assert_eq!(r.divergence, None);
        assert!(r.passed());
        assert_eq!(r.ops_run, 6);
    }
    for r in both::<Toy<CLEAN>>(&[]) {
        assert_eq!(
            r,
            LockstepReport {
                ops_run: 0,
                divergence: None
            }
        );
    }
}

#[test]
fn bugs_after_the_last_op_are_not_reached() {
    // Three ops leave n == AT: no bug shows yet.
    for r in both::<Toy<CONTENTS>>(&ops()[..3]) {
        assert!(r.passed(), "{:?}", r.divergence.map(|d| d.explain()));
    }
}

#[test]
fn state_difference_in_a_folio() {
    let d = diverges::<Toy<CONTENTS>>(3, "cma-evacuate/state:folio.contents");
    assert_eq!(d.kind, DivergenceKind::State);
    assert_eq!(d.op, Some(Op::CmaEvacuate));
    assert_eq!(
        d.outcomes,
        [Some(Outcome::count(4)), Some(Outcome::count(4))]
    );
    let [Some(a), Some(b)] = &d.states else {
        panic!("both states")
    };
    assert_eq!(a.folios[&FolioId(0)].contents, vec![4]);
    assert_eq!(b.folios[&FolioId(0)].contents, vec![1004]);
    assert!(
        d.diff.starts_with("--- oracle\n+++ subject\n@@ "),
        "{}",
        d.diff
    );
    let minus: Vec<&str> = d.diff.lines().filter(|l| l.starts_with('-')).collect();
    let plus: Vec<&str> = d.diff.lines().filter(|l| l.starts_with('+')).collect();
    assert_eq!(
        minus,
        [
            "--- oracle",
            "-F0 order=0 normal ref=2 map=2 lru anon swapbacked data=4"
        ]
    );
    assert_eq!(
        plus,
        [
            "+++ subject",
            "+F0 order=0 normal ref=2 map=2 lru anon swapbacked data=1004"
        ]
    );
    let e = d.explain();
    assert!(
        e.starts_with("op #3 `cma-evacuate`: oracle and subject states differ\n"),
        "{e}"
    );
    assert!(
        e.contains("signature: cma-evacuate/state:folio.contents\n"),
        "{e}"
    );
    assert!(e.contains("  oracle   ok 4\n  subject  ok 4\n"), "{e}");
    assert!(e.contains(&d.diff), "{e}");
}

#[test]
fn state_difference_in_an_entry() {
    let d = diverges::<Toy<YOUNG>>(3, "cma-evacuate/state:entry.young");
    assert_eq!(d.kind, DivergenceKind::State);
    assert!(
        d.diff.contains("\n-    m0[1..2)         pte F1[0] a sd\n"),
        "{}",
        d.diff
    );
    assert!(
        d.diff.contains("\n+    m0[1..2)         pte F1[0] sd\n"),
        "{}",
        d.diff
    );
}

#[test]
fn outcome_difference() {
    let d = diverges::<Toy<OUTCOME>>(3, "cma-evacuate/outcome:count");
    assert_eq!(d.kind, DivergenceKind::Outcome);
    assert_eq!(
        d.outcomes,
        [Some(Outcome::count(4)), Some(Outcome::count(104))]
    );
    // The states agree: no diff.
    assert_eq!(d.diff, "");
    let e = d.explain();
    assert!(e.contains("  oracle   ok 4\n  subject  ok 104\n"), "{e}");
    assert!(e.contains("(the canonical states are equal)"), "{e}");
}

#[test]
fn outcome_difference_from_the_first_op() {
    let ops = [Op::Reclaim, Op::Exit { p: ProcId(1) }];
    for r in both::<Toy<EXIT_EINVAL>>(&ops) {
        let d = r.divergence.expect("diverges");
        assert_eq!(d.index, 1);
        assert_eq!(d.signature, "exit/outcome:count-vs-EINVAL");
    }
}

#[test]
fn invariant_violation() {
    let d = diverges::<Toy<INVARIANT>>(3, "cma-evacuate/invariant:zone-accounting@subject");
    match &d.kind {
        DivergenceKind::Invariant { model, violations } => {
            assert_eq!(*model, "subject");
            assert_eq!(violations[0].invariant, invariants::ZONE_ACCOUNTING);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        d.diff.contains("\n+zone normal free=16381/16384\n"),
        "{}",
        d.diff
    );
    assert!(d.explain().contains("subject invariant zone-accounting: "));
}

#[test]
fn panic_is_a_divergence_of_the_panicking_model() {
    let d = diverges::<Toy<PANIC>>(3, "cma-evacuate/panic@subject");
    match &d.kind {
        DivergenceKind::Panic { model, report } => {
            assert_eq!(*model, "subject");
            assert_eq!(report.stage, Stage::Apply);
            assert_eq!(report.message, "toy bug at op 4");
            assert!(report
                .location
                .as_deref()
                .is_some_and(|l| l.contains("lockstep")));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(d.outcomes, [Some(Outcome::count(4)), None]);
    assert!(d.states[0].is_some() && d.states[1].is_none());
    assert_eq!(d.diff, "");
    let e = d.explain();
    assert!(
        e.contains("subject panicked in apply: toy bug at op 4"),
        "{e}"
    );
    assert!(e.contains("  subject  (no outcome: panicked)\n"), "{e}");
}

#[test]
fn panic_in_new_is_a_divergence_before_the_first_op() {
    let c = Config::default();
    for check in [Check::Full, Check::Digest] {
        let r = run_lockstep::<Toy<CLEAN>, NoStart>(&c, &ops(), check);
        assert_eq!(r.ops_run, 0);
        let d = r.divergence.expect("diverges");
        assert_eq!((d.index, d.op.clone()), (0, None));
        assert_eq!(d.models, ["oracle", "NoStart"]);
        assert_eq!(d.signature, "new/panic@NoStart");
        assert!(d
            .to_string()
            .starts_with("before the first op: NoStart panicked in new: cannot start"));
    }
}

/// A sharing difference with equal counters: invisible to the digest, so
/// Digest mode sees it only in the final states, and its Full re-run
/// still names the op where it started.
#[test]
fn digest_invisible_difference_is_found_at_the_end_and_located() {
    let d = diverges::<Toy<SHARING>>(3, "cma-evacuate/state:entry.target");
    assert!(d.diff.contains("pte F1[0]"), "{}", d.diff);
    let c = Config::default();
    let sharing = Toy::<SHARING> {
        config: c.clone(),
        n: AT + 1,
    };
    let clean = Toy::<CLEAN> {
        config: c,
        n: AT + 1,
    };
    assert_eq!(sharing.digest(), clean.digest(), "the digest cannot see it");
}

/// The documented limit of Digest mode: a difference the digest cannot
/// see and that is gone by the end of the run.
#[test]
fn digest_mode_misses_a_transient_invisible_difference() {
    let [full, digest, locate] = both::<Toy<SHARING_ONCE>>(&ops());
    let d = full.divergence.expect("Full mode sees it");
    assert_eq!(
        (d.index, d.signature.as_str()),
        (3, "cma-evacuate/state:entry.target")
    );
    assert!(digest.passed());
    assert!(locate.passed());
}

#[test]
fn a_wrong_model_digest_is_reported_by_digest_mode() {
    let [full, digest, locate] = both::<Toy<BAD_DIGEST>>(&ops());
    assert_eq!(
        locate, digest,
        "an op that shows nothing in full is re-run in full"
    );
    assert!(full.passed(), "Full mode never calls Model::digest");
    let d = digest.divergence.expect("Digest mode sees it");
    assert_eq!(d.index, 3);
    assert_eq!(d.signature, "cma-evacuate/invariant:digest-agrees@subject");
    assert_eq!(digest.ops_run, 4);
    assert_eq!(d.states[0], d.states[1]);
}

#[test]
fn expectations_are_checked_on_a() {
    let src = "reclaim\nreclaim => ok 2\nreclaim => ok 5\nreclaim => ok 7\n";
    let scenario = text::parse(src).expect("parses");
    let c = Config::default();
    for check in [Check::Full, Check::Digest] {
        let r = run_lockstep_lines::<Toy<CLEAN>, Toy<CLEAN>>(&c, &scenario.lines, check);
        assert_eq!(r.ops_run, 3, "{check:?}");
        let d = r.divergence.expect("the expectation fails");
        assert_eq!(d.index, 2);
        assert_eq!(d.signature, "reclaim/expect@oracle");
        match &d.kind {
            DivergenceKind::Expectation { model, mismatches } => {
                assert_eq!(*model, "oracle");
                assert_eq!(mismatches.len(), 1);
                assert!(mismatches[0].contains("ok 5"), "{mismatches:?}");
            }
            other => panic!("{other:?}"),
        }
    }
    // A model difference at the same op wins over the expectation.
    let src = "reclaim\nreclaim\nreclaim\ncma-evacuate => ok 9\n";
    let scenario = text::parse(src).expect("parses");
    for check in [Check::Full, Check::Digest] {
        let r = run_lockstep_lines::<Toy<CLEAN>, Toy<OUTCOME>>(&c, &scenario.lines, check);
        let d = r.divergence.expect("diverges");
        assert_eq!(d.signature, "cma-evacuate/outcome:count");
    }
    // Passing expectations pass.
    let ok = text::parse("reclaim => ok 1\nreclaim => ok 2\n").expect("parses");
    for check in [Check::Full, Check::Digest] {
        let r = run_lockstep_lines::<Toy<CLEAN>, Toy<CLEAN>>(&c, &ok.lines, check);
        assert!(r.passed());
        assert_eq!(r.ops_run, 2);
    }
}

/// Draws the ops of [`ops`] one by one, checking the generator sees A's
/// canonical state (F0 counts the ops so far).
fn generated<B: Model>(max: usize) -> (Vec<Op>, LockstepReport) {
    let ops = ops();
    let mut drawn = 0;
    run_lockstep_generated::<Toy<CLEAN>, B>(&Config::default(), max, |state: &State| {
        assert_eq!(state.folios[&FolioId(0)].contents, vec![drawn as u64]);
        let op = ops.get(drawn).cloned();
        drawn += 1;
        op
    })
}

#[test]
fn generated_sequences_find_what_full_mode_finds() {
    let (drawn, r) = generated::<Toy<CLEAN>>(100);
    assert_eq!(drawn, ops());
    assert_eq!(
        r,
        LockstepReport {
            ops_run: 6,
            divergence: None
        }
    );
    let (drawn, r) = generated::<Toy<CLEAN>>(2);
    assert_eq!((drawn.len(), r.ops_run, r.divergence), (2, 2, None));
    fn same<B: Model>(signature: &str) {
        let (drawn, r) = generated::<B>(100);
        // Drawing stops at the divergent op.
        assert_eq!(drawn, ops()[..=3]);
        let [_, digest, _] = both::<B>(&ops());
        assert_eq!(r, digest, "{signature}");
        assert_eq!(
            r.divergence.map(|d| d.signature),
            Some(signature.to_string())
        );
    }
    same::<Toy<CONTENTS>>("cma-evacuate/state:folio.contents");
    same::<Toy<OUTCOME>>("cma-evacuate/outcome:count");
    same::<Toy<INVARIANT>>("cma-evacuate/invariant:zone-accounting@subject");
    same::<Toy<PANIC>>("cma-evacuate/panic@subject");
    same::<Toy<BAD_DIGEST>>("cma-evacuate/invariant:digest-agrees@subject");
    // Seen only in the final states: drawing went on to the end.
    let (drawn, r) = generated::<Toy<SHARING>>(100);
    assert_eq!(drawn, ops());
    let d = r.divergence.expect("diverges");
    assert_eq!(
        (d.index, d.signature.as_str()),
        (3, "cma-evacuate/state:entry.target")
    );
    let (drawn, r) =
        run_lockstep_generated::<Toy<CLEAN>, NoStart>(&Config::default(), 9, |_: &State| {
            Some(Op::Reclaim)
        });
    assert!(drawn.is_empty());
    assert_eq!(
        r.divergence.map(|d| d.signature).as_deref(),
        Some("new/panic@NoStart")
    );
}

/// Records what a driver observes: (op, F0 contents before, after).
type Seen = Vec<(Op, Vec<u64>, Vec<u64>)>;

struct Observer<'a> {
    ops: Vec<Op>,
    seen: &'a mut Seen,
}

impl Driver for Observer<'_> {
    fn next_op(&mut self, _state: &State) -> Option<Op> {
        let next = self.ops.get(self.seen.len()).cloned();
        next
    }

    fn observe(&mut self, op: &Op, before: &State, after: &State) {
        let f0 = |s: &State| s.folios[&FolioId(0)].contents.clone();
        self.seen.push((op.clone(), f0(before), f0(after)));
    }
}

#[test]
fn drivers_observe_each_agreed_op_with_the_states_around_it() {
    let mut seen = Seen::new();
    let observer = Observer {
        ops: ops(),
        seen: &mut seen,
    };
    let (drawn, r) =
        run_lockstep_generated::<Toy<CLEAN>, Toy<CLEAN>>(&Config::default(), 100, observer);
    assert!(r.passed());
    assert_eq!(drawn, ops());
    let expected: Seen = ops()
        .into_iter()
        .enumerate()
        .map(|(i, op)| (op, vec![i as u64], vec![i as u64 + 1]))
        .collect();
    assert_eq!(seen, expected);
    // The divergent op (index 3) is not observed: the models disagree on it.
    let mut seen = Seen::new();
    let observer = Observer {
        ops: ops(),
        seen: &mut seen,
    };
    let (_, r) =
        run_lockstep_generated::<Toy<CLEAN>, Toy<OUTCOME>>(&Config::default(), 100, observer);
    assert!(!r.passed());
    assert_eq!(seen.len(), 3);
}

// ------------------------------------------------------------ field paths

#[test]
fn outcome_paths() {
    let path = |a: Outcome, b: Outcome| outcome_path(&a, &b);
    assert_eq!(path(Outcome::count(1), Outcome::count(1)), None);
    assert_eq!(
        path(Outcome::count(1), Outcome::count(2)).as_deref(),
        Some("count")
    );
    assert_eq!(
        path(Outcome::count(1), Outcome::Err(Errno::EFAULT)).as_deref(),
        Some("count-vs-EFAULT")
    );
    assert_eq!(
        path(Outcome::Err(Errno::ENOMEM), Outcome::Err(Errno::EFAULT)).as_deref(),
        Some("ENOMEM-vs-EFAULT")
    );
    let data = |base, values: Vec<u64>| Outcome::Ok(Payload::Data { base, values });
    assert_eq!(
        path(data(0, vec![1, 2]), data(0, vec![1, 3])).as_deref(),
        Some("data")
    );
    assert_eq!(
        path(data(0, vec![1]), data(0, vec![1, 3])).as_deref(),
        Some("data.len")
    );
    assert_eq!(
        path(data(1, vec![1]), data(0, vec![2])).as_deref(),
        Some("data.base")
    );
    let sig = |page| Outcome::Signal {
        sig: Signal::Segv,
        page,
    };
    assert_eq!(path(sig(1), sig(2)).as_deref(), Some("SIGSEGV.page"));
    assert_eq!(
        path(Outcome::Blocked { page: 1 }, Outcome::Blocked { page: 3 }).as_deref(),
        Some("blocked.page")
    );
    let w = HmmPfn {
        valid: true,
        write: true,
        ..HmmPfn::default()
    };
    let pfns = |v: Vec<HmmPfn>| Outcome::Ok(Payload::Pfns(v.into()));
    let ro = HmmPfn { write: false, ..w };
    assert_eq!(
        path(pfns(vec![w, w]), pfns(vec![w, ro])).as_deref(),
        Some("pfns.write")
    );
    assert_eq!(
        path(pfns(vec![w]), pfns(vec![w, w])).as_deref(),
        Some("pfns.len")
    );
}

/// A change to a state.
type Mutation = Box<dyn Fn(&mut State)>;

#[test]
fn state_paths() {
    let base = sample_state();
    let path = |f: &dyn Fn(&mut State)| {
        let mut s = base.clone();
        f(&mut s);
        state_path(&base, &s)
    };
    assert_eq!(state_path(&base, &base), None);
    let cases: Vec<(&str, Mutation)> = vec![
        (
            "folio.refcount",
            Box::new(|s| s.folios.get_mut(&FolioId(3)).unwrap().refcount += 1),
        ),
        (
            "folio.locked",
            Box::new(|s| s.folios.get_mut(&FolioId(3)).unwrap().locked ^= true),
        ),
        (
            "folio.extra",
            Box::new(|s| {
                let mut f = folio(99, 0);
                f.refcount = 1;
                s.folios.insert(f.id, f);
            }),
        ),
        (
            "proc.has-pinned",
            Box::new(|s| s.procs[0].has_pinned ^= true),
        ),
        ("vma.prot", Box::new(|s| s.procs[0].vmas[0].prot = Prot::R)),
        (
            "vma.missing",
            Box::new(|s| {
                s.procs[0].vmas.pop();
            }),
        ),
        (
            "entry.missing",
            Box::new(|s| {
                s.procs[0].entries.pop();
            }),
        ),
        (
            "entry.soft-dirty",
            Box::new(|s| {
                let r: &mut EntryRun = &mut s.procs[0].entries[0];
                if let Entry::Present { bits, .. } = &mut r.entry {
                    bits.soft_dirty ^= true;
                }
            }),
        ),
        ("zone.free", Box::new(|s| s.zone_free[0] -= 1)),
        (
            "handle.missing",
            Box::new(|s| {
                s.handles.retain(|h| h.id != HandleId(1));
            }),
        ),
        ("handle.base", Box::new(|s| s.handles[0].base += 1)),
        ("lock.missing", Box::new(|s| s.locks.clear())),
        ("iommu.pageshift", Box::new(|s| s.iommu[0].pageshift += 1)),
        (
            "swap.count",
            Box::new(|s| {
                s.swap.values_mut().next().unwrap().count += 1;
            }),
        ),
        (
            "object.backing",
            Box::new(|s| {
                s.objects[0].backing.insert(100, 1);
            }),
        ),
        (
            "proc.extra",
            Box::new(|s| {
                s.procs.push(ProcState {
                    id: ProcId(3),
                    has_pinned: false,
                    vmas: vec![],
                    entries: vec![],
                })
            }),
        ),
    ];
    for (want, f) in &cases {
        assert_eq!(path(f.as_ref()).as_deref(), Some(*want), "{want}");
    }
    // Two cuts of the same entries are the same entries.
    let mut recut = base.clone();
    let first = recut.procs[0].entries[0];
    if first.len > 1
        && matches!(
            first.entry,
            Entry::Present {
                level: Level::Pte,
                ..
            }
        )
    {
        recut.procs[0].entries[0].len = 1;
        recut.procs[0].entries.insert(
            1,
            EntryRun {
                start: first.start + 1,
                len: first.len - 1,
                entry: first.entry.advanced(1),
            },
        );
        assert_eq!(state_path(&base, &recut).as_deref(), Some("order"));
    }
}

#[test]
fn hmm_state_paths() {
    let base = crate::canon::fixtures::hmm_state();
    let (base, _) = canon::canonicalize(&base);
    let path = |f: &dyn Fn(&mut State)| {
        let mut s = base.clone();
        f(&mut s);
        state_path(&base, &s)
    };
    assert_eq!(
        path(&|s| s.devices[0].pgmap_refs += 1).as_deref(),
        Some("device.pgmap-refs")
    );
    assert_eq!(
        path(&|s| {
            let d = s.devices.iter_mut().find(|d| d.id == DevId(0)).unwrap();
            d.mirrors[0].entries.pop();
        })
        .as_deref(),
        Some("mirror-entry.missing")
    );
    assert_eq!(
        path(&|s| s.sessions[0].cpages += 1).as_deref(),
        Some("session.cpages")
    );
    assert_eq!(
        path(&|s| s.notifiers[0].stale ^= true).as_deref(),
        Some("notifier.stale")
    );
}

#[test]
fn signatures_ignore_ids_and_values() {
    // The same bug on other data gives the same signature.
    let mut a = sample_state();
    let mut b = a.clone();
    b.folios.get_mut(&FolioId(1)).unwrap().dirty ^= true;
    let s1 = state_path(&a, &b);
    a.folios.get_mut(&FolioId(3)).unwrap().contents = vec![7];
    b = a.clone();
    b.folios.get_mut(&FolioId(3)).unwrap().dirty ^= true;
    assert_eq!(s1, state_path(&a, &b));
    assert_eq!(s1.as_deref(), Some("folio.dirty"));
}
