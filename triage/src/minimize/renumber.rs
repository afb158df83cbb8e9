//! Renumbering slots by first use: after reduction a repro may name `p2`,
//! `m5` and `h11` because the ops that used `p1`, `m0..m4` and `h0..h10`
//! are gone; renamed, it reads `p1`, `m0`, `h0`.
//!
//! Two things keep their meaning: `p0` is the process that exists before
//! the first op (every other process is forked from it), so it stays `p0`;
//! devices `dev0`/`dev1` are device-private and `dev2`/`dev3` coherent, so
//! each pair is renumbered within itself.

use mmdiff_core::ids::{for_each_id, IdKind};
use mmdiff_core::op::{DevId, Op};

/// More than any slot kind has (handles: 16).
const MAX_SLOTS: usize = 32;

/// `ops` with every kind of slot renumbered densely in order of first use.
pub fn by_first_use(ops: &[Op]) -> Vec<Op> {
    // new_id[kind][old] once assigned; next free id per kind and class.
    let mut new_id = [[None::<u8>; MAX_SLOTS]; IdKind::ALL.len()];
    let mut next = [0u8; IdKind::ALL.len()];
    let mut next_coherent = DevId::COUNT / 2;
    new_id[IdKind::Proc.index()][0] = Some(0);
    next[IdKind::Proc.index()] = 1;
    let mut out = ops.to_vec();
    for op in &mut out {
        for_each_id(op, |kind, id| {
            // Ids past the slot count never pass `Op::validate`; leave them.
            let Some(slot) = new_id[kind.index()].get_mut(usize::from(*id)) else {
                return;
            };
            let assigned = *slot.get_or_insert_with(|| {
                let counter = if kind == IdKind::Dev && DevId(*id).coherent() {
                    &mut next_coherent
                } else {
                    &mut next[kind.index()]
                };
                let n = *counter;
                *counter += 1;
                n
            });
            *id = assigned;
        });
    }
    out
}

/// `ops` with every use of slot `from` of `kind` renamed to `to`: a repro
/// that moved a mapping between windows (`mremap`) may work in one window
/// without the move, one that forked may not need the second process.
pub fn merge(ops: &[Op], kind: IdKind, from: u8, to: u8) -> Vec<Op> {
    let mut out = ops.to_vec();
    for op in &mut out {
        for_each_id(op, |k, id| {
            if k == kind && *id == from {
                *id = to;
            }
        });
    }
    out
}

/// The slots of `kind` that `ops` name, in order of first use.
pub fn used(ops: &[Op], kind: IdKind) -> Vec<u8> {
    let mut out = Vec::new();
    for op in ops {
        let mut op = op.clone();
        for_each_id(&mut op, |k, id| {
            if k == kind && !out.contains(id) {
                out.push(*id);
            }
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use mmdiff_core::text;

    fn renumber(src: &str) -> String {
        let ops = text::parse(src).expect("test scenario parses").ops();
        by_first_use(&ops)
            .iter()
            .map(|op| text::op_to_string(op) + "\n")
            .collect()
    }

    #[test]
    fn slots_are_renumbered_by_first_use() {
        assert_eq!(
            renumber(
                "fork p0 -> p3\n\
                 mmap p3 m5 anon rw pages=2\n\
                 gup p3 m5[0..2] pin -> h9\n\
                 mmap p0 m2 anon rw pages=1\n\
                 release h9\n"
            ),
            "fork p0 -> p1\n\
             mmap p1 m0 anon rw pages=2\n\
             gup p1 m0[0..2] pin -> h0\n\
             mmap p0 m1 anon rw pages=1\n\
             release h0\n"
        );
    }

    #[test]
    fn p0_stays_and_devices_keep_their_kind() {
        assert_eq!(
            renumber(
                "fork p0 -> p2\n\
                 migrate-to-dev dev3 p2 m1[0]\n\
                 migrate-to-dev dev1 p0 m1[0]\n"
            ),
            "fork p0 -> p1\n\
             migrate-to-dev dev2 p1 m0[0]\n\
             migrate-to-dev dev0 p0 m0[0]\n"
        );
    }

    #[test]
    fn windows_merge_into_one() {
        let ops =
            text::parse("mmap p0 m3 anon rw pages=1\nmremap p0 m3[0] -> m6[0]\nread p0 m6[0]\n")
                .expect("parses")
                .ops();
        assert_eq!(used(&ops, IdKind::Window), [3, 6]);
        assert_eq!(used(&ops, IdKind::Proc), [0]);
        let merged: Vec<String> = merge(&ops, IdKind::Window, 6, 3)
            .iter()
            .map(text::op_to_string)
            .collect();
        assert_eq!(
            merged,
            [
                "mmap p0 m3 anon rw pages=1",
                "mremap p0 m3[0] -> m3[0]",
                "read p0 m3[0]"
            ]
        );
    }

    #[test]
    fn renumbering_twice_changes_nothing() {
        let ops = text::parse("mmap p0 m4 anon rw pages=1\nfork p0 -> p3\nexit p3\n")
            .expect("parses")
            .ops();
        let once = by_first_use(&ops);
        assert_eq!(by_first_use(&once), once);
    }
}
