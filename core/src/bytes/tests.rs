use super::*;
use crate::strategies::arb_ops;
use proptest::prelude::*;

fn all_valid(ops: &[Op]) -> Result<(), String> {
    for (i, op) in ops.iter().enumerate() {
        op.validate().map_err(|e| format!("op {i} {op:?}: {e}"))?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    /// (a) Totality: any bytes decode to valid ops, without panicking.
    #[test]
    fn decode_is_total_and_valid(data in prop::collection::vec(any::<u8>(), 0..4096)) {
        let ops = decode(&data);
        prop_assert!(ops.len() <= MAX_OPS);
        prop_assert_eq!(all_valid(&ops), Ok(()));
        // Every op consumes at least its kind byte.
        prop_assert!(ops.len() <= data.len());
        // (c) Determinism.
        prop_assert_eq!(decode(&data), ops.clone());
        // Decoded ops are encodable, and the encoding is a fixpoint.
        let bytes = encode(&ops).map_err(TestCaseError::fail)?;
        prop_assert_eq!(decode(&bytes), ops);
    }

    /// (b) Round trip from ops.
    #[test]
    fn encode_then_decode_is_identity(ops in arb_ops(40)) {
        let bytes = encode(&ops).map_err(TestCaseError::fail)?;
        prop_assert_eq!(decode(&bytes), ops);
    }

    /// The encoder's model of `int_in_range` is arbitrary's: same value,
    /// same number of bytes consumed.
    #[test]
    fn enc_int_mirrors_int_in_range(lo in any::<u64>(), a in any::<u64>(), b in any::<u64>(), tail in any::<u8>()) {
        let (lo, hi) = if a < b { (lo.min(a), b) } else { (lo.min(b), a) };
        let v = lo + (a ^ b) % (hi - lo).saturating_add(1).max(1);
        let v = if hi - lo == u64::MAX { a } else { v };
        let mut out = Vec::new();
        Enc(&mut out).int(lo, hi, v);
        let written = out.len();
        out.push(tail);
        let mut u = Unstructured::new(&out);
        prop_assert_eq!(u.int_in_range(lo..=hi).ok(), Some(v));
        prop_assert_eq!(u.len(), 1, "consumed {} of {} bytes", out.len() - u.len(), written);
    }
}

/// (b') Full-length sequences round-trip, and longer ones are refused.
#[test]
fn max_ops_round_trip_and_limit() {
    let ops: Vec<Op> = (0..MAX_OPS)
        .map(|i| Op::Write {
            p: ProcId((i % 4) as u8),
            range: PageRange::new(SlotId((i % 8) as u8), i as u32, MAX_PAGE),
            fill: Fill::Index(u64::MAX - i as u64),
        })
        .collect();
    let bytes = encode(&ops).expect("encodable");
    assert_eq!(decode(&bytes), ops);
    let mut more = ops.clone();
    more.push(Op::Reclaim);
    assert!(encode(&more).is_err());
}

/// (d) However long the input, at most MAX_OPS ops come out.
#[test]
fn max_ops_bound() {
    // Kind 16 (reclaim) is one byte per op: the most ops per byte.
    let data = vec![16u8; 10 * MAX_OPS];
    let ops = decode(&data);
    assert_eq!(ops.len(), MAX_OPS);
    assert!(ops.iter().all(|op| *op == Op::Reclaim));
    let data: Vec<u8> = (0..100_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    assert!(decode(&data).len() <= MAX_OPS);
}

#[test]
fn invalid_ops_are_refused() {
    let bad = Op::Munmap {
        p: ProcId(0),
        range: PageRange::new(SlotId(0), 5, 5),
    };
    assert!(encode(&[Op::Reclaim, bad]).is_err());
    assert!(encode(&[Op::Exit { p: ProcId(4) }]).is_err());
}

#[test]
fn empty_and_truncated_inputs() {
    assert_eq!(decode(&[]), Vec::<Op>::new());
    // A lone mmap kind byte: every field reads its range start.
    assert_eq!(
        decode(&[0]),
        vec![Op::Mmap {
            p: ProcId(0),
            slot: SlotId(0),
            at: 0,
            pages: 1,
            kind: MapKind::Anon,
            prot: Prot::None,
            zone: Zone::Normal,
            foff: 0,
        }]
    );
    // A full-width page truncated after one of its three bytes.
    assert_eq!(
        decode(&[23, 5, 7, 0x0f]),
        vec![Op::IommuTranslate {
            i: IommuId(1),
            index: 0x0f,
        }]
    );
}

/// (e) Golden byte strings: these pin the layout documented at the top of
/// bytes.rs. If one fails, the byte format changed and every stored byte
/// corpus decodes differently.
#[test]
fn golden_layout() {
    let data = [
        // mmap p1 (table index 5) m2 (index 10) at=class0 5, pages=class1 (1+1)*512,
        // kind 16 = file-shared f1, rw, movable, foff=class3 0x0101
        0, 5, 10, 0, 5, 3, 1, 16, 2, 1, 6, 0x01, 0x01, //
        // write p0 m0 start=class2 edge(17) = 2*512+1-8 = 1017, len=class0 1+3, fill Index(7)
        9, 0, 0, 4, 17, 0, 3, 1, 7, //
        // gup p3 (index 7) m7 (index 15) start=class4 0x0fffff, len=class3 1+0x0100
        // (clamped to MAX_PAGE), h15 (index 31), flags pin|longterm|fast
        12, 7, 15, 7, 0x0f, 0xff, 0xff, 6, 0x01, 0x00, 31, 0b001101, //
        // reclaim, via 16 + 43 (the kind byte is taken modulo 43)
        59, //
        // dma-write h2 (index 17) start=class0 (via class byte 9 = 1 mod 8) 0,
        // len=class0 1+0, fill Const(u64) 0x0102030405060708
        15, 17, 9, 0, 0, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8,
    ];
    let expected = vec![
        Op::Mmap {
            p: ProcId(1),
            slot: SlotId(2),
            at: 5,
            pages: 1024,
            kind: MapKind::FileShared(FileId(1)),
            prot: Prot::RW,
            zone: Zone::Movable,
            foff: 257,
        },
        Op::Write {
            p: ProcId(0),
            range: PageRange::new(SlotId(0), 1017, 1021),
            fill: Fill::Index(7),
        },
        Op::Gup {
            p: ProcId(3),
            range: PageRange::new(SlotId(7), 0x0fffff, MAX_PAGE),
            h: HandleId(15),
            flags: GupFlags {
                pin: true,
                write: false,
                longterm: true,
                fast: true,
                force: false,
                nofault: false,
            },
        },
        Op::Reclaim,
        Op::DmaWrite {
            h: HandleId(2),
            start: 0,
            end: 1,
            fill: Fill::Const(0x0102030405060708),
        },
    ];
    assert_eq!(decode(&data), expected);
    // The encoder picks the cheapest class, so it differs from the golden
    // bytes where those use a non-canonical class (the clamped gup length,
    // the reclaim kind byte, the class byte 9) but decodes to the same ops.
    let canonical = encode(&expected).expect("encodable");
    assert_eq!(decode(&canonical), expected);
    assert_eq!(
        canonical[..13],
        [0, 5, 10, 0, 5, 3, 1, 16, 2, 1, 6, 0x01, 0x01],
        "mmap encodes to the golden bytes"
    );
    assert_eq!(
        &canonical[13..22],
        &[9, 0, 0, 4, 17, 0, 3, 1, 7],
        "write encodes to the golden bytes"
    );
}

/// Every page and size class is reachable and encodes canonically.
#[test]
fn page_and_size_classes_round_trip() {
    let mut pages: Vec<u32> = (0..5000).collect();
    pages.extend([MAX_PAGE - 1, MAX_PAGE - 512, 65_536, 4103, 2055, 2056, 503]);
    for p in pages {
        let mut out = Vec::new();
        Enc(&mut out).page(p);
        assert_eq!(
            page(&mut Unstructured::new(&out)),
            p,
            "page {p} via {out:?}"
        );
        if p > 0 {
            let mut out = Vec::new();
            Enc(&mut out).size(p);
            assert_eq!(
                size(&mut Unstructured::new(&out)),
                p,
                "size {p} via {out:?}"
            );
        }
    }
    let mut out = Vec::new();
    Enc(&mut out).size(MAX_PAGE);
    assert_eq!(size(&mut Unstructured::new(&out)), MAX_PAGE);
    // Edges are one class byte plus one value byte.
    for v in [504u32, 511, 513, 519, 1023, 1025, 2048, 2055] {
        let mut out = Vec::new();
        Enc(&mut out).page(v);
        assert_eq!(out.len(), 2, "page {v}: {out:?}");
    }
}

/// Golden byte strings of the HMM op layouts (kinds 25..=42).
#[test]
fn golden_hmm_layout() {
    use crate::op::{DevId, HmmReq, MigrateDest, MigrateSelect, NotifierId, SessionId};
    let data = [
        // hmm-fault p0 m0 start=class0 0 len=class0 1+3, req write,
        // page-req yes: start=class0 1 len=class0 1+1, fault;
        // owner yes: dev index 5 = dev1; seq yes: index 6 = n2
        25, 0, 0, 0, 0, 0, 3, 2, 1, 0, 1, 0, 1, 1, 1, 5, 1, 6, //
        // migrate-setup s3 (index 7) p0 m0 start=class0 0
        // len=class1 (1+0)*512, select 9 = system|compound, owner no,
        // fault-page yes: class0 5
        29, 7, 0, 0, 0, 0, 3, 0, 9, 0, 1, 0, 5, //
        // migrate-alloc s0 dest index 6 = sys, fail yes: start=class0 2
        // len=class0 1+0, split
        30, 0, 6, 1, 0, 2, 0, 0, 1, //
        // migrate-alloc s1 (index 5) dest index 4 = dev2, fail no, no split
        30, 5, 4, 0, 0, //
        // dev-write dev0 p2 (index 6) m1 (index 7) start=class0 3
        // len=class0 1+0, fill Index(1)
        34, 0, 6, 7, 0, 3, 0, 0, 1, 1, //
        // read-retry n3 (index 7); dev-close dev3 (index 7) p1 (index 5)
        28, 7, 42, 7, 5,
    ];
    let expected = vec![
        Op::HmmFault {
            p: ProcId(0),
            range: PageRange::new(SlotId(0), 0, 4),
            req: HmmReq::Write,
            page_req: Some((1, 3, HmmReq::Fault)),
            owner: Some(DevId(1)),
            seq: Some(NotifierId(2)),
        },
        Op::MigrateSetup {
            s: SessionId(3),
            p: ProcId(0),
            range: PageRange::new(SlotId(0), 0, 512),
            select: MigrateSelect {
                system: true,
                compound: true,
                ..MigrateSelect::default()
            },
            owner: None,
            fault_page: Some(5),
        },
        Op::MigrateAlloc {
            s: SessionId(0),
            dest: MigrateDest::System,
            fail: Some((2, 3)),
            split: true,
        },
        Op::MigrateAlloc {
            s: SessionId(1),
            dest: MigrateDest::Device(DevId(2)),
            fail: None,
            split: false,
        },
        Op::DevWrite {
            d: DevId(0),
            p: ProcId(2),
            range: PageRange::new(SlotId(1), 3, 4),
            fill: Fill::Index(1),
        },
        Op::ReadRetry { n: NotifierId(3) },
        Op::DevClose {
            d: DevId(3),
            p: ProcId(1),
        },
    ];
    assert_eq!(decode(&data), expected);
    // Every byte above is already the encoder's canonical choice.
    assert_eq!(encode(&expected).expect("encodable"), data.to_vec());
    // Non-canonical table indices decode the same: m0 via slot index 1,
    // sys via dest index 7.
    let mut alt = data;
    alt[21] = 1;
    alt[33] = 7;
    assert_eq!(decode(&alt), expected);
}

/// The kind byte reaches every kind, in `OpKind::ALL` order.
#[test]
fn kind_byte_covers_every_kind() {
    for (i, kind) in OpKind::ALL.iter().enumerate() {
        let ops = decode(&[i as u8]);
        assert_eq!(ops.len(), 1);
        assert_eq!(ops[0].kind(), *kind, "kind byte {i}");
        assert_eq!(decode(&[(i + OpKind::ALL.len()) as u8])[0].kind(), *kind);
    }
}
