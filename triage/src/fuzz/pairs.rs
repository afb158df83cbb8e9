//! Op-kind pairs: which kinds have followed which in the sequences run.
//! A cheap measure of how much of the op language's interplay a campaign
//! reached (43 kinds, 1,849 ordered pairs), shown live.

use mmdiff_core::op::OpKind;
use mmdiff_core::Op;

const KINDS: usize = OpKind::ALL.len();
/// Ordered pairs of op kinds.
pub const POSSIBLE: usize = KINDS * KINDS;

/// A set of ordered op-kind pairs, as a bitset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pairs(Vec<u64>);

impl Default for Pairs {
    fn default() -> Self {
        Pairs(vec![0; POSSIBLE.div_ceil(64)])
    }
}

fn index(kind: OpKind) -> usize {
    // OpKind::ALL lists the kinds in declaration order (tested below).
    kind as usize
}

impl Pairs {
    /// Adds the consecutive pairs of `ops`; true when any was new.
    pub fn add_sequence(&mut self, ops: &[Op]) -> bool {
        let mut new = false;
        for w in ops.windows(2) {
            let bit = index(w[0].kind()) * KINDS + index(w[1].kind());
            let (word, mask) = (bit / 64, 1u64 << (bit % 64));
            new |= self.0[word] & mask == 0;
            self.0[word] |= mask;
        }
        new
    }

    pub fn merge(&mut self, other: &Pairs) {
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a |= b;
        }
    }

    pub fn count(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mmdiff_core::op::ProcId;

    #[test]
    fn kinds_are_indexed_in_declaration_order() {
        for (i, k) in OpKind::ALL.iter().enumerate() {
            assert_eq!(index(*k), i, "{k:?}");
        }
    }

    #[test]
    fn pairs_are_ordered_and_counted_once() {
        let mut p = Pairs::default();
        let exit = Op::Exit { p: ProcId(1) };
        assert!(p.add_sequence(&[Op::Reclaim, exit.clone()]));
        assert!(!p.add_sequence(&[Op::Reclaim, exit.clone()]));
        assert!(p.add_sequence(&[exit.clone(), Op::Reclaim, Op::Reclaim]));
        assert_eq!(p.count(), 3);
        let mut q = Pairs::default();
        q.add_sequence(&[Op::CmaEvacuate, exit]);
        q.merge(&p);
        assert_eq!(q.count(), 4);
    }
}
