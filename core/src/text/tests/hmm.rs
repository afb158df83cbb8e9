//! Canonical text of the HMM ops, their outcomes and the device facts;
//! their error messages; the size bound on parsed lists.

use crate::expect::{DataPattern, DataValue, ExpectedOutcome};
use crate::op::{
    DevId, Fill, HmmReq, MigrateDest, MigrateSelect, NotifierId, Op, PageRange, ProcId, SessionId,
    SlotId,
};
use crate::outcome::{HmmPfn, MigrateSrc, Outcome, Payload, PfnRuns};
use crate::state::{FolioId, PageRef};
use crate::text::*;

fn r(slot: u8, start: u32, end: u32) -> PageRange {
    PageRange::new(SlotId(slot), start, end)
}

fn f(folio: u64, page: u32) -> Option<PageRef> {
    Some(PageRef::Folio {
        folio: FolioId(folio),
        page,
    })
}

#[test]
fn canonical_hmm_op_text() {
    let (p0, d0) = (ProcId(0), DevId(0));
    let cases: Vec<(Op, &str)> = vec![
        (
            Op::HmmFault {
                p: p0,
                range: r(0, 0, 512),
                req: HmmReq::None,
                page_req: None,
                owner: None,
                seq: None,
            },
            "hmm-fault p0 m0[0..512]",
        ),
        (
            Op::HmmFault {
                p: p0,
                range: r(0, 0, 4),
                req: HmmReq::Write,
                page_req: Some((1, 3, HmmReq::None)),
                owner: Some(DevId(1)),
                seq: Some(NotifierId(2)),
            },
            "hmm-fault p0 m0[0..4] write req=1..3:none owner=dev1 seq=n2",
        ),
        (
            Op::HmmFault {
                p: p0,
                range: r(0, 3, 4),
                req: HmmReq::Fault,
                page_req: Some((3, 4, HmmReq::Write)),
                owner: None,
                seq: None,
            },
            "hmm-fault p0 m0[3] fault req=3..4:write",
        ),
        (
            Op::Notifier {
                n: NotifierId(0),
                p: ProcId(1),
                range: r(2, 0, 8),
            },
            "notifier n0 p1 m2[0..8]",
        ),
        (Op::ReadBegin { n: NotifierId(3) }, "read-begin n3"),
        (Op::ReadRetry { n: NotifierId(1) }, "read-retry n1"),
        (
            Op::MigrateSetup {
                s: SessionId(0),
                p: p0,
                range: r(0, 0, 512),
                select: MigrateSelect {
                    system: true,
                    compound: true,
                    ..MigrateSelect::default()
                },
                owner: Some(d0),
                fault_page: None,
            },
            "migrate-setup s0 p0 m0[0..512] select=system,compound owner=dev0",
        ),
        (
            Op::MigrateSetup {
                s: SessionId(3),
                p: p0,
                range: r(1, 4, 6),
                select: MigrateSelect::default(),
                owner: None,
                fault_page: Some(5),
            },
            "migrate-setup s3 p0 m1[4..6] select=none fault-page=5",
        ),
        (
            Op::MigrateSetup {
                s: SessionId(1),
                p: p0,
                range: r(0, 0, 1),
                select: MigrateSelect {
                    system: true,
                    private: true,
                    coherent: true,
                    compound: true,
                    fault: true,
                },
                owner: None,
                fault_page: None,
            },
            "migrate-setup s1 p0 m0[0] select=system,private,coherent,compound,fault",
        ),
        (
            Op::MigrateAlloc {
                s: SessionId(0),
                dest: MigrateDest::Device(DevId(2)),
                fail: None,
                split: false,
            },
            "migrate-alloc s0 dev2",
        ),
        (
            Op::MigrateAlloc {
                s: SessionId(0),
                dest: MigrateDest::System,
                fail: Some((2, 5)),
                split: true,
            },
            "migrate-alloc s0 sys fail=2..5 split",
        ),
        (Op::MigratePages { s: SessionId(2) }, "migrate-pages s2"),
        (
            Op::MigrateFinalize { s: SessionId(2) },
            "migrate-finalize s2",
        ),
        (
            Op::DevRead {
                d: d0,
                p: p0,
                range: r(0, 0, 16),
            },
            "dev-read dev0 p0 m0[0..16]",
        ),
        (
            Op::DevWrite {
                d: DevId(3),
                p: p0,
                range: r(0, 0, 16),
                fill: Fill::Index(0),
            },
            "dev-write dev3 p0 m0[0..16] = index",
        ),
        (
            Op::MigrateToDev {
                d: d0,
                p: p0,
                range: r(0, 0, 2),
            },
            "migrate-to-dev dev0 p0 m0[0..2]",
        ),
        (
            Op::MigrateToSys {
                d: d0,
                p: p0,
                range: r(0, 0, 2),
            },
            "migrate-to-sys dev0 p0 m0[0..2]",
        ),
        (
            Op::DevSnapshot {
                d: d0,
                p: p0,
                range: r(0, 0, 2),
            },
            "dev-snapshot dev0 p0 m0[0..2]",
        ),
        (
            Op::DevExclusive {
                d: d0,
                p: p0,
                range: r(0, 0, 2),
            },
            "dev-exclusive dev0 p0 m0[0..2]",
        ),
        (
            Op::DevCheckExclusive {
                d: d0,
                p: p0,
                range: r(0, 0, 2),
            },
            "dev-check-exclusive dev0 p0 m0[0..2]",
        ),
        (Op::DevRelease { d: DevId(1) }, "dev-release dev1"),
        (Op::DevFailAlloc { d: DevId(1) }, "dev-fail-alloc dev1"),
        (
            Op::DevClose {
                d: DevId(1),
                p: ProcId(3),
            },
            "dev-close dev1 p3",
        ),
    ];
    for (op, text) in cases {
        assert_eq!(op_to_string(&op), text);
        assert_eq!(parse_op(text), Ok(op), "{text}");
    }
}

#[test]
fn lenient_hmm_input_forms() {
    let canonical = |s: &str| parse_op(s).map(|op| op_to_string(&op));
    assert_eq!(
        canonical("hmm-fault p0 m0[0..4] seq=n1 owner=dev0 req=0..2:fault write"),
        Ok("hmm-fault p0 m0[0..4] write req=0..2:fault owner=dev0 seq=n1".into())
    );
    assert_eq!(
        canonical("migrate-setup s0 p0 m0[0] fault-page=0 select=compound,system"),
        Ok("migrate-setup s0 p0 m0[0] select=system,compound fault-page=0".into())
    );
    assert_eq!(
        canonical("migrate-alloc s0 dev0 split fail=0..1"),
        Ok("migrate-alloc s0 dev0 fail=0..1 split".into())
    );
}

#[test]
fn hmm_op_errors() {
    let err = |s: &str| parse_op(s).expect_err(s);
    let e = err("dev-read dev4 p0 m0[0]");
    assert_eq!(
        (e.column, e.expected.as_str(), e.found.as_str()),
        (10, "a device dev0..dev3", "`dev4`")
    );
    let e = err("migrate-setup s0 p0 m0[0..4]");
    assert_eq!(e.expected, "`select=<list>`");
    let e = err("migrate-setup s0 p0 m0[0..4] select=system,bogus");
    assert_eq!((e.column, e.found.as_str()), (44, "`bogus`"));
    let e = err("migrate-setup s0 p0 m0[0..4] select=system,system");
    assert_eq!(e.expected, "each selection flag at most once");
    let e = err("hmm-fault p0 m0[0] fault write");
    assert_eq!(e.expected, "each hmm-fault option at most once");
    let e = err("hmm-fault p0 m0[0] req=3..1:fault");
    assert_eq!(e.expected, "a range end greater than 3");
    let e = err("hmm-fault p0 m0[0] req=1..3:read");
    assert!(e.expected.starts_with("a request kind"), "{e}");
    let e = err("migrate-alloc s0 dev");
    assert_eq!(e.expected, "`sys` or a device dev0..dev3");
    let e = err("read-begin n4");
    assert_eq!(e.expected, "a notifier slot n0..n3");
    let e = err("migrate-pages s9");
    assert_eq!(e.expected, "a migration session s0..s3");
}

#[test]
fn hmm_outcome_text() {
    let text = |o: Outcome| outcome_to_string(&o);
    // A PMD-mapped THP: 512 words in one run.
    let thp: Vec<HmmPfn> = (0..512)
        .map(|i| HmmPfn {
            valid: true,
            write: true,
            error: false,
            order: 9,
            page: f(0, i),
        })
        .collect();
    assert_eq!(
        text(Outcome::Ok(Payload::Pfns(thp.clone().into()))),
        "ok pfns=[512*vw/9:F0[0..]]"
    );
    let mut words = thp;
    words.extend([HmmPfn::default(); 3]);
    words.extend(
        [HmmPfn {
            error: true,
            ..HmmPfn::default()
        }; 2],
    );
    words.push(HmmPfn {
        valid: true,
        page: Some(PageRef::Zero),
        ..HmmPfn::default()
    });
    words.push(HmmPfn {
        valid: true,
        page: f(3, 5),
        ..HmmPfn::default()
    });
    let t = text(Outcome::Ok(Payload::Pfns(words.clone().into())));
    assert_eq!(t, "ok pfns=[512*vw/9:F0[0..],3*0,2*err,v:zero,v:F3[5]]");
    assert_eq!(
        parse_outcome(&t),
        Ok(ExpectedOutcome::Exact(Outcome::Ok(Payload::Pfns(
            words.into()
        ))))
    );
    assert_eq!(
        text(Outcome::Ok(Payload::Pfns(vec![].into()))),
        "ok pfns=[]"
    );

    let mut src: Vec<MigrateSrc> = (0..4)
        .map(|i| MigrateSrc {
            page: f(1, i),
            migrate: true,
            write: true,
            compound: false,
        })
        .collect();
    src.push(MigrateSrc {
        migrate: true,
        ..MigrateSrc::default()
    });
    src.extend([MigrateSrc::default(); 2]);
    src.push(MigrateSrc {
        page: f(2, 0),
        compound: true,
        ..MigrateSrc::default()
    });
    let t = text(Outcome::Ok(Payload::Migrate { cpages: 5, src }));
    assert_eq!(t, "ok cpages=5 src=[4*mw:F1[0..],m,2*-,c:F2[0]]");

    assert_eq!(
        text(Outcome::Ok(Payload::Dev {
            cpages: 4,
            faults: 1,
            data: None
        })),
        "ok cpages=4 faults=1"
    );
    let dev = Outcome::Ok(Payload::Dev {
        cpages: 4,
        faults: 0,
        data: Some((8, vec![8, 9, 10, 11])),
    });
    assert_eq!(text(dev.clone()), "ok cpages=4 faults=0 data=index");
    let parsed = parse_outcome("ok cpages=4 faults=0 data=index").expect("parses");
    assert_eq!(
        parsed,
        ExpectedOutcome::Dev {
            cpages: 4,
            faults: 0,
            data: DataPattern::Uniform(DataValue::Index(0)),
        }
    );
    assert!(parsed.matches(&dev));
    assert!(!parsed.matches(&Outcome::Ok(Payload::Dev {
        cpages: 4,
        faults: 1,
        data: Some((8, vec![8, 9, 10, 11])),
    })));
    assert!(!parsed.matches(&Outcome::Ok(Payload::Dev {
        cpages: 4,
        faults: 0,
        data: None,
    })));

    assert_eq!(
        text(Outcome::Ok(Payload::Snapshot(vec![0x22; 1024]))),
        "ok snapshot=[1024*22]"
    );
    let t = text(Outcome::Ok(Payload::Snapshot(vec![
        0, 0, 0x11, 0x11, 0x11, 0xff,
    ])));
    assert_eq!(t, "ok snapshot=[2*00,3*11,ff]");
    assert_eq!(
        parse_outcome(&t),
        Ok(ExpectedOutcome::Exact(Outcome::Ok(Payload::Snapshot(
            vec![0, 0, 0x11, 0x11, 0x11, 0xff]
        ))))
    );
    assert_eq!(text(Outcome::Stuck), "stuck");
    assert_eq!(
        parse_outcome("stuck"),
        Ok(ExpectedOutcome::Exact(Outcome::Stuck))
    );
}

/// A 1 GiB THP-backed `hmm-fault`: 512 PMD-mapped folios, 262144 words,
/// prints as 512 text runs and parses back into 512 runs without
/// expanding them.
#[test]
fn a_1g_thp_pfns_list_round_trips_as_runs() {
    let mut words = PfnRuns::new();
    for folio in 0..512u64 {
        words.push_run(
            HmmPfn {
                valid: true,
                write: folio % 2 == 0,
                error: false,
                order: 9,
                page: f(folio, 0),
            },
            512,
        );
    }
    assert_eq!(words.len(), 262_144);
    assert_eq!(words.runs().len(), 512);
    let o = Outcome::Ok(Payload::Pfns(words));
    let t = outcome_to_string(&o);
    assert!(t.starts_with("ok pfns=[512*vw/9:F0[0..],512*v/9:F1[0..],512*vw/9:F2[0..],"));
    assert!(t.ends_with(",512*v/9:F511[0..]]"), "{}", &t[t.len() - 40..]);
    assert_eq!(t.matches('*').count(), 512);
    let parsed = parse_outcome(&t).expect("parses");
    match &parsed {
        ExpectedOutcome::Exact(Outcome::Ok(Payload::Pfns(p))) => {
            assert_eq!(p.runs().len(), 512);
            assert_eq!(p.len(), 262_144);
        }
        other => panic!("not a pfns list: {other:?}"),
    }
    assert_eq!(parsed, ExpectedOutcome::Exact(o.clone()));
    assert!(parsed.matches(&o));
    assert_eq!(outcome_to_string(&o), t);
}

/// The text's runs are not always [`PfnRuns`]'s: an identical folio word
/// repeated is one text run of many `PfnRuns` runs, and the greedy text
/// may cut a `PfnRuns` run in two.
#[test]
fn pfns_text_runs_are_the_texts_own() {
    let w = |page| HmmPfn {
        valid: true,
        page: f(0, page),
        ..HmmPfn::default()
    };
    let words = vec![w(5), w(5), w(6), w(7)];
    let runs = PfnRuns::from(words.clone());
    assert_eq!(runs.runs().len(), 2);
    let t = outcome_to_string(&Outcome::Ok(Payload::Pfns(runs.clone())));
    assert_eq!(t, "ok pfns=[2*v:F0[5],2*v:F0[6..]]");
    assert_eq!(
        parse_outcome(&t),
        Ok(ExpectedOutcome::Exact(Outcome::Ok(Payload::Pfns(runs))))
    );
    let t = outcome_to_string(&Outcome::Ok(Payload::Pfns(vec![w(5); 3].into())));
    assert_eq!(t, "ok pfns=[3*v:F0[5]]");
    assert_eq!(
        parse_outcome(&t),
        Ok(ExpectedOutcome::Exact(Outcome::Ok(Payload::Pfns(
            vec![w(5); 3].into()
        ))))
    );
}

/// The greedy list text as it was over a slice of words, before `pfns`
/// became runs: the printed text must not have changed.
fn slice_pfns_text(items: &[HmmPfn]) -> String {
    let adv = |p: &PageRef, k: u32| match *p {
        PageRef::Folio { folio, page } => page
            .checked_add(k)
            .map(|page| PageRef::Folio { folio, page }),
        PageRef::HugeZero { page } => page.checked_add(k).map(|page| PageRef::HugeZero { page }),
        PageRef::Zero => None,
    };
    let head = |w: &HmmPfn| {
        let mut s = String::new();
        if w.valid {
            s.push('v');
        }
        if w.write {
            s.push('w');
        }
        if w.error {
            s.push_str("err");
        }
        if s.is_empty() {
            s.push('0');
        }
        if w.order != 0 {
            s.push_str(&format!("/{}", w.order));
        }
        s
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i < items.len() {
        let first = items[i];
        let same = items[i..].iter().take_while(|x| **x == first).count();
        let n_adv = match first.page {
            Some(p) if adv(&p, 1).is_some() => items[i..]
                .iter()
                .zip(0u32..)
                .take_while(|(x, k)| {
                    adv(&p, *k).is_some_and(|q| {
                        **x == HmmPfn {
                            page: Some(q),
                            ..first
                        }
                    })
                })
                .count(),
            _ => 0,
        };
        let (n, advancing) = if n_adv > same {
            (n_adv, true)
        } else {
            (same, false)
        };
        let mut s = if n > 1 {
            format!("{n}*")
        } else {
            String::new()
        };
        s.push_str(&head(&first));
        if let Some(p) = first.page {
            s.push(':');
            s.push_str(&page_ref_to_string(&p).replace(']', if advancing { "..]" } else { "]" }));
        }
        out.push(s);
        i += n;
    }
    format!("[{}]", out.join(","))
}

proptest::proptest! {
    #[test]
    fn pfns_text_is_the_slice_text(words in super::strategies::arb_pfns()) {
        let runs = PfnRuns::from(words.clone());
        proptest::prop_assert_eq!(pfns_text(&runs), slice_pfns_text(&words));
    }
}

#[test]
fn hmm_outcome_errors_and_bounds() {
    let err = |s: &str| parse_outcome(s).expect_err(s);
    assert_eq!(err("ok pfns=[0*v]").expected, "a positive run length");
    assert!(err("ok pfns=[2000000*0]").expected.starts_with("at most"));
    // The bound is on the total, not per run.
    assert!(err("ok snapshot=[600000*00,600000*00]")
        .expected
        .starts_with("at most"));
    assert!(err("ok pfns=[x]").expected.starts_with("an hmm pfn word"));
    assert_eq!(
        err("ok snapshot=[2*0]").expected,
        "a byte as two hex digits"
    );
    assert!(err("ok src=[q]").expected.starts_with("a count"));
    assert!(err("ok cpages=1 src=[q]")
        .expected
        .starts_with("a src entry"));
    assert_eq!(err("ok cpages=1").expected, "`src=[...]` or `faults=<n>`");
    assert_eq!(err("ok cpages=1 faults=0 x").expected, "`data=...`");
    // An advancing run must not overflow the page number.
    assert!(err("ok pfns=[3*v:F0[4294967294..]]")
        .expected
        .contains("fit 32 bits"));
    assert!(parse_outcome("ok pfns=[2*v:F0[4294967294..]]").is_ok());
    assert!(parse_outcome("ok pfns=[1048576*0]").is_ok());
}

#[test]
fn hmm_fact_text() {
    let text = "entry p0 m0[0] migration write !exclusive young pmd \
                ; entry p0 m0[1] devpriv write !soft-dirty ; entry p0 m0[2] devexcl uffd-wp \
                ; folio p0 m0[0] dev=dev1 ref=1 ; device dev0 free=1536 refs=512 !released \
                fail-alloc ; mirror dev0 p0 m0[3] write same-as p0 m0[3] \
                ; mirror dev1 p1 m0[3] none ; session s0 setup cpages=3 ; session s1 none \
                ; notifier n0 stale ; notifier n3 none ; notifier n1 fresh";
    let expect = parse_expect(text).expect("parses");
    assert_eq!(expect.to_string(), text);
    assert_eq!(expect.facts.len(), 12);
    let err = |s: &str| parse_expect(s).expect_err(s);
    assert!(err("entry p0 m0[0] devexcl exclusive")
        .expected
        .starts_with("a bit of a `devexcl` entry (write, soft-dirty, uffd-wp)"));
    assert!(err("entry p0 m0[0] devpriv exclusive")
        .expected
        .starts_with("a bit of a `devpriv` entry (write, soft-dirty, uffd-wp, pmd)"));
    assert!(err("mirror dev0 p0 m0[0] none same-as p0 m0[0]")
        .expected
        .starts_with("the end of the fact"));
    assert!(err("session s0 none cpages=1")
        .expected
        .starts_with("the end of the fact"));
    assert!(err("device dev0 free=1 free=2")
        .expected
        .starts_with("each key"));
    assert!(err("notifier n0 busy")
        .expected
        .starts_with("a notifier state"));
}
