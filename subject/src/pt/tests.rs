//! The radix table against a flat page map, the oracle's representation.

use std::collections::BTreeMap;

use mmdiff_core::digest::{entry_hash, Digest};
use mmdiff_core::state::{FolioId, Level, PteBits, SwapId, Target};

use super::*;

fn swap(n: u64) -> Entry {
    Entry::Swap {
        slot: SwapId(n),
        exclusive: n.is_multiple_of(2),
        soft_dirty: false,
        uffd_wp: false,
    }
}

fn leaf(folio: u64) -> Entry {
    Entry::Present {
        level: Level::Pmd,
        target: Target::Folio {
            folio: FolioId(folio),
            page: 0,
        },
        bits: PteBits::default(),
    }
}

/// A splitmix64 stream: the test is one seeded sequence.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n
    }
}

fn flat_digest(flat: &BTreeMap<u64, Entry>) -> Digest {
    let mut d = Digest::default();
    for (&p, e) in flat {
        if !is_leaf(e) || p % PMD_SPAN == 0 {
            d.add(entry_hash(ProcId(0), p, e));
        }
    }
    d
}

#[test]
fn random_changes_read_back_like_a_flat_map() {
    let mut rng = Rng(7);
    let mut pt = PageTable::new(ProcId(0));
    let mut flat: BTreeMap<u64, Entry> = BTreeMap::new();
    // Two PMD blocks far apart (different PUD and PGD slots) and one near.
    let bases = [0u64, 3 * PUD_SPAN + 5 * PMD_SPAN, PGD_SPAN + PMD_SPAN];
    for step in 0..4000u64 {
        let block = bases[rng.below(3) as usize];
        let page = block + rng.below(PMD_SPAN);
        let has_leaf = pt.leaf(block).is_some();
        match rng.below(5) {
            0 | 1 if !has_leaf => {
                let old = pt.set_pte(page, swap(step));
                assert_eq!(old, flat.insert(page, swap(step)));
            }
            2 if !has_leaf => assert_eq!(pt.clear_pte(page), flat.remove(&page)),
            3 if pt.block_empty(block) => {
                pt.set_leaf(block, leaf(step));
                for i in 0..PMD_SPAN {
                    flat.insert(block + i, leaf(step).advanced(i as u32));
                }
            }
            4 if has_leaf => {
                let first = pt.clear_leaf(page);
                assert_eq!(first, flat.get(&block).copied());
                for i in 0..PMD_SPAN {
                    flat.remove(&(block + i));
                }
            }
            _ => {}
        }
        let lo = block.saturating_sub(3);
        let hi = block + PMD_SPAN + 3;
        let expect: Vec<u64> = flat.range(lo..hi).map(|(&k, _)| k).collect();
        assert_eq!(pt.pages(lo, hi), expect, "step {step}");
        assert_eq!(pt.get(page), flat.get(&page).copied());
        assert_eq!(
            pt.block_empty(block),
            flat.range(block..block + PMD_SPAN).next().is_none()
        );
        assert_eq!(pt.digest(), flat_digest(&flat), "step {step}");
    }
}

#[test]
fn empty_tables_are_freed() {
    let mut pt = PageTable::new(ProcId(0));
    pt.set_pte(PGD_SPAN + 7, swap(1));
    pt.set_leaf(2 * PGD_SPAN, leaf(2));
    assert!(pt.pgd.iter().filter(|t| t.is_some()).count() == 2);
    pt.clear_pte(PGD_SPAN + 7);
    pt.clear_leaf(2 * PGD_SPAN + 100);
    assert!(pt.pgd.iter().all(|t| t.is_none()));
    assert_eq!(pt.digest(), Digest::default());
}

#[test]
fn a_leaf_is_one_run_clipped_to_the_range() {
    let mut pt = PageTable::new(ProcId(1));
    pt.set_leaf(PMD_SPAN, leaf(9));
    pt.set_pte(3 * PMD_SPAN, swap(4));
    let runs = pt.runs(PMD_SPAN + 10, 4 * PMD_SPAN);
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].page, PMD_SPAN + 10);
    assert_eq!(runs[0].len, PMD_SPAN - 10);
    assert_eq!(runs[0].entry, leaf(9).advanced(10));
    assert!(runs[0].leaf);
    assert_eq!((runs[1].page, runs[1].len), (3 * PMD_SPAN, 1));
}

#[test]
fn modify_changes_the_whole_leaf_and_keeps_the_digest() {
    let mut pt = PageTable::new(ProcId(0));
    pt.set_leaf(0, leaf(1));
    assert!(pt.modify(300, |e| *e = e.with_target(Target::Zero)));
    assert_eq!(pt.get(5).map(|e| e.folio_page()), Some(None));
    let mut d = Digest::default();
    d.add(entry_hash(ProcId(0), 0, &pt.leaf(0).unwrap_or(leaf(0))));
    assert_eq!(pt.digest(), d);
    assert!(!pt.modify(PMD_SPAN, |_| {}));
}
