//! Canonical text of hand-picked ops, outcomes, facts and scenarios.

use crate::expect::{BitCheck, EntryBit, EntryKind, Expect, Fact, ProcPage};
use crate::op::{
    FileId, Fill, GupFlags, HandleId, MapKind, Op, PageAt, PageRange, ProcId, Prot, SlotId, Zone,
};
use crate::outcome::{Errno, Outcome, Payload, Signal};
use crate::state::{FolioId, PageRef};
use crate::text::*;

fn r(slot: u8, start: u32, end: u32) -> PageRange {
    PageRange::new(SlotId(slot), start, end)
}

#[test]
fn canonical_op_text() {
    let cases: Vec<(Op, &str)> = vec![
        (
            Op::Mmap {
                p: ProcId(0),
                slot: SlotId(0),
                at: 0,
                pages: 1024,
                kind: MapKind::Anon,
                prot: Prot::RW,
                zone: Zone::Normal,
                foff: 0,
            },
            "mmap p0 m0 anon rw pages=1024",
        ),
        (
            Op::Mmap {
                p: ProcId(1),
                slot: SlotId(7),
                at: 3,
                pages: 512,
                kind: MapKind::FilePrivate(FileId(2)),
                prot: Prot::R,
                zone: Zone::Cma,
                foff: 9,
            },
            "mmap p1 m7 file-private f2 r pages=512 at=3 off=9 zone=cma",
        ),
        (
            Op::Read {
                p: ProcId(0),
                range: r(0, 5, 6),
            },
            "read p0 m0[5]",
        ),
        (
            Op::Write {
                p: ProcId(2),
                range: r(1, 0, 512),
                fill: Fill::Index(0),
            },
            "write p2 m1[0..512] = index",
        ),
        (
            Op::Write {
                p: ProcId(0),
                range: r(0, 0, 2),
                fill: Fill::Index(u64::MAX),
            },
            "write p0 m0[0..2] = index+18446744073709551615",
        ),
        (
            Op::Gup {
                p: ProcId(0),
                range: r(0, 0, 4),
                h: HandleId(15),
                flags: GupFlags {
                    pin: true,
                    write: true,
                    longterm: true,
                    fast: false,
                    force: true,
                    nofault: true,
                },
            },
            "gup p0 m0[0..4] pin write longterm force nofault -> h15",
        ),
        (
            Op::Release {
                h: HandleId(1),
                dirty: true,
            },
            "release h1 dirty",
        ),
        (
            Op::DmaRead {
                h: HandleId(0),
                start: 2,
                end: 3,
            },
            "dma-read h0[2]",
        ),
        (
            Op::DmaWrite {
                h: HandleId(0),
                start: 0,
                end: 4,
                fill: Fill::Const(7),
            },
            "dma-write h0[0..4] = 7",
        ),
        (
            Op::Mremap {
                p: ProcId(0),
                range: r(0, 0, 512),
                to: PageAt {
                    slot: SlotId(1),
                    page: 3,
                },
            },
            "mremap p0 m0[0..512] -> m1[3]",
        ),
        (
            Op::Fork {
                p: ProcId(0),
                child: ProcId(1),
            },
            "fork p0 -> p1",
        ),
        (Op::FailAlloc { zone: Zone::Normal }, "fail-alloc normal"),
        (
            Op::IommuTranslate {
                i: crate::op::IommuId(3),
                index: 9,
            },
            "iommu-translate i3[9]",
        ),
        (Op::CmaEvacuate, "cma-evacuate"),
    ];
    for (op, text) in cases {
        assert_eq!(op_to_string(&op), text);
        assert_eq!(parse_op(text), Ok(op), "{text}");
    }
}

#[test]
fn lenient_input_forms() {
    let canonical = |s: &str| parse_op(s).map(|op| op_to_string(&op));
    assert_eq!(
        canonical("mmap p0 m0 anon rw zone=movable off=2 at=0x10 pages=5"),
        Ok("mmap p0 m0 anon rw pages=5 at=16 off=2 zone=movable".into())
    );
    assert_eq!(
        canonical("mmap p0 m0 anon rw pages=5 zone=normal at=0"),
        Ok("mmap p0 m0 anon rw pages=5".into())
    );
    assert_eq!(
        canonical("gup  p0\tm0[3..4] get nofault fast write -> h2"),
        Ok("gup p0 m0[3] get write fast nofault -> h2".into())
    );
    assert_eq!(canonical("dma-read h0[0..1]"), Ok("dma-read h0[0]".into()));
}

#[test]
fn outcome_text() {
    let data =
        |base, values: Vec<u64>| outcome_to_string(&Outcome::Ok(Payload::Data { base, values }));
    assert_eq!(data(0, vec![7, 7, 7]), "ok data=7");
    assert_eq!(data(10, vec![13, 14, 15]), "ok data=index+3");
    assert_eq!(data(10, vec![9, 10]), "ok data=index-1");
    assert_eq!(data(0, vec![]), "ok data=[]");
    assert_eq!(data(0, vec![0, 1, 2, 9, 9, 5]), "ok data=[3*index,2*9,5]");
    // A tie between a constant and an index run goes to the constant.
    assert_eq!(data(4, vec![4, 8]), "ok data=[4,8]");
    assert_eq!(outcome_to_string(&Outcome::OK), "ok");
    assert_eq!(outcome_to_string(&Outcome::count(3)), "ok 3");
    assert_eq!(outcome_to_string(&Outcome::Err(Errno::EFAULT)), "EFAULT");
    assert_eq!(
        outcome_to_string(&Outcome::Signal {
            sig: Signal::Segv,
            page: 4
        }),
        "SIGSEGV@4"
    );
    assert_eq!(
        outcome_to_string(&Outcome::Signal {
            sig: Signal::Oom,
            page: 0
        }),
        "OOM@0"
    );
    assert_eq!(
        outcome_to_string(&Outcome::Blocked { page: 2 }),
        "blocked@2"
    );
    assert_eq!(
        outcome_to_string(&Outcome::Ok(Payload::Translate {
            page: PageRef::Folio {
                folio: FolioId(2),
                page: 5
            },
            shift: 21
        })),
        "ok page=F2[5] shift=21"
    );
    assert_eq!(
        outcome_to_string(&Outcome::Ok(Payload::Translate {
            page: PageRef::HugeZero { page: 1 },
            shift: 12
        })),
        "ok page=hugezero[1] shift=12"
    );
}

#[test]
fn fact_text() {
    let text =
        "ok data=index ; entry p0 m0[3] page write !dirty pmd ; entry p1 m2[0] swap exclusive \
                ; folio p0 m0[3] ref=1025 map=-1 pinned !locked order=9 zone=movable \
                ; !same p0 m0[3] p1 m0[3] ; zone cma free=4096 ; vma p0 m0[3] start=0 end=1024 \
                prot=rw kind=anon hugepage !dontfork ; vma p2 m1[0] none ; !has-pinned p0 \
                ; swap used=0 ; folios count=2";
    let expect = parse_expect(text).expect("parses");
    assert_eq!(expect.to_string(), text);
    assert_eq!(expect.facts.len(), 10);
    assert_eq!(
        expect.facts[0],
        Fact::Entry {
            at: ProcPage {
                p: ProcId(0),
                at: PageAt {
                    slot: SlotId(0),
                    page: 3
                }
            },
            kind: EntryKind::Page,
            bits: vec![
                BitCheck {
                    bit: EntryBit::Write,
                    set: true
                },
                BitCheck {
                    bit: EntryBit::Dirty,
                    set: false
                },
                BitCheck {
                    bit: EntryBit::Pmd,
                    set: true
                },
            ],
        }
    );
    assert_eq!(parse_expect("").map(|e| e.is_empty()), Ok(true));
    assert_eq!(
        parse_expect("entry p0 m0[0] none").map(|e| e.outcome),
        Ok(None)
    );
}

#[test]
fn aligned_expectations_and_comments_round_trip() {
    let text = "\
#! found-by: fuzz campaign, seed 7
#! first-divergence: 3
#! fixed-by:
# setup
mmap p0 m0 anon rw pages=1024

write p0 m0[0..1024] = index           # fill
read p0 m0[0..512]                     => ok data=index
gup p0 m0[0] pin write longterm -> h0  => ok 1 ; folio p0 m0[0] ref=1025 pinned   # why
dma-read h0[0]                         =>
#! not a header here
release h0 dirty=> ok#tight
";
    let scenario = parse(text).expect("parses");
    assert_eq!(scenario.header.len(), 3);
    assert_eq!(scenario.header[2], ("fixed-by".to_string(), String::new()));
    assert_eq!(scenario.lines[0], Line::Comment(" setup".into()));
    assert_eq!(scenario.lines[1 + 1], Line::Blank);
    assert_eq!(
        scenario.lines[7],
        Line::Comment("! not a header here".into())
    );
    match &scenario.lines[5] {
        Line::Op {
            pad,
            comment,
            comment_pad,
            expect: Some(e),
            ..
        } => {
            assert_eq!(*pad, 2);
            assert_eq!(comment.as_deref(), Some(" why"));
            assert_eq!(*comment_pad, 3);
            assert_eq!(e.facts.len(), 1);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(print(&scenario), text);
}

#[test]
fn printer_output_always_parses() {
    let scenario = Scenario {
        header: vec![("a:b\nc".into(), "x\ny".into())],
        lines: vec![
            Line::Comment("two\nlines".into()),
            Line::Op {
                op: Op::Reclaim,
                expect: Some(Expect::default()),
                pad: 0,
                comment: Some("c\r".into()),
                comment_pad: 0,
            },
        ],
    };
    let text = print(&scenario);
    assert_eq!(text, "#! a_b_c: x y\n#two lines\nreclaim=>#c \n");
    assert!(parse(&text).is_ok());

    // Found by the robustness properties: a `\r` inside a comment is kept
    // (only a final one, a CRLF ending, is dropped), and an indented `#!`
    // first line stays a comment.
    for text in ["#mmap\rmmap\n", " #!\n", "read p0 m0[0] # a\rb\n"] {
        let scenario = parse(text).expect(text);
        assert_eq!(print(&scenario), text);
    }
    assert_eq!(
        parse("# crlf\r\n"),
        Ok(Scenario {
            header: vec![],
            lines: vec![Line::Comment(" crlf".into())]
        })
    );

    // A first comment that looks like a header line is indented.
    let scenario = Scenario {
        header: vec![("k".into(), "v".into())],
        lines: vec![
            Line::Comment("! x: y".into()),
            Line::Comment("! z: w".into()),
        ],
    };
    let text = print(&scenario);
    assert_eq!(text, "#! k: v\n #! x: y\n#! z: w\n");
    assert_eq!(parse(&text), Ok(scenario));
}

// -------------------------------------------------------------- errors

/// The example at the top of the `text` module documentation is real.
#[test]
fn module_doc_example_parses() {
    let example = "\
#! found-by: fuzz seed 7
# a comment line
mmap p0 m0 anon rw pages=1024
write p0 m0[0..1024] = index
read p0 m0[0..512]     => ok data=index ; entry p0 m0[3] page write dirty
gup p0 m0[0] pin write longterm -> h0  => ok 1 ; folio p0 m0[0] ref=1025 pinned  # why
";
    let scenario = parse(example).expect("parses");
    assert_eq!(scenario.ops().len(), 4);
    assert_eq!(print(&scenario), example);
}
