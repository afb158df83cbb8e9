//! A per-process radix page table, shaped like x86-64's: PGD, PUD, PMD and
//! PTE levels of 512 entries each, tables allocated on first use and freed
//! when their last entry goes (`free_pgtables`), and PMD leaves that map a
//! whole 2 MiB folio (present, huge zero, migration and device-private) as
//! one entry.
//!
//! What this optimizes over the oracle's one-map-record-per-page: a PMD
//! leaf is one record, so installing, zapping, protecting or copying a THP
//! is O(1) instead of O(512), and range walks skip empty subtrees.
//!
//! What it must preserve (oracle `pte.rs`): a PMD leaf reads, page by page,
//! exactly as the oracle's 512 `Level::Pmd` records do (page `i` of the
//! leaf is `first.advanced(i)`), and `pmd_none` holds exactly when no page
//! of the PMD block has an entry.
//!
//! The table also keeps, up to date on every change:
//! - the digest of its entries (one hash per hardware entry,
//!   `mmdiff_core::digest::entry_hash`);
//! - a reverse map from folio to the hardware entries naming it (the
//!   kernel's rmap: `anon_vma` / `i_mmap` walks), so "who maps this folio"
//!   does not scan the table. The oracle's `mappers` scans every entry;
//!   the answer must be the same set, in the same (address) order.

use std::collections::BTreeSet;

use mmdiff_core::digest::{entry_hash, Digest};
use mmdiff_core::op::ProcId;
use mmdiff_core::state::{Entry, FolioId};

const BITS: u32 = 9;
const FANOUT: usize = 1 << BITS;
const MASK: u64 = FANOUT as u64 - 1;
/// Pages mapped by one PMD entry.
pub const PMD_SPAN: u64 = FANOUT as u64;
const PUD_SPAN: u64 = PMD_SPAN << BITS;
const PGD_SPAN: u64 = PUD_SPAN << BITS;
/// Pages the table can address (36 bits of page number).
pub const LIMIT: u64 = PGD_SPAN << BITS;

/// Whether an entry is a PMD-level leaf.
pub fn is_leaf(e: &Entry) -> bool {
    e.is_pmd_leaf()
}

#[derive(Clone, Debug)]
struct PteTable {
    entries: Box<[Option<Entry>]>,
    used: u16,
}

#[derive(Clone, Debug)]
enum PmdSlot {
    None,
    Table(Box<PteTable>),
    /// The entry of the first page of the leaf.
    Leaf(Entry),
}

#[derive(Clone, Debug)]
struct PmdTable {
    slots: Vec<PmdSlot>,
    used: u16,
}

#[derive(Clone, Debug)]
struct PudTable {
    pmds: Vec<Option<Box<PmdTable>>>,
    used: u16,
}

/// One hardware entry met by a range walk: `len` pages from `page`, where
/// page `page + i` holds `entry.advanced(i)`. PTEs come one by one; a PMD
/// leaf comes as one run (clipped to the walked range).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Run {
    pub page: u64,
    pub len: u64,
    pub entry: Entry,
    pub leaf: bool,
}

/// A process's page table.
#[derive(Clone, Debug)]
pub struct PageTable {
    proc: ProcId,
    pgd: Vec<Option<Box<PudTable>>>,
    digest: Digest,
    /// `(folio, first page of the hardware entry)` for every entry that
    /// names a folio page (any kind).
    rmap: BTreeSet<(FolioId, u64)>,
}

fn idx(page: u64, shift: u32) -> usize {
    ((page >> shift) & MASK) as usize
}

impl PageTable {
    pub fn new(proc: ProcId) -> PageTable {
        PageTable {
            proc,
            pgd: (0..FANOUT).map(|_| None).collect(),
            digest: Digest::default(),
            rmap: BTreeSet::new(),
        }
    }

    /// Account an entry appearing at (hardware) page `at`.
    fn added(&mut self, at: u64, e: &Entry) {
        self.digest.add(entry_hash(self.proc, at, e));
        if let Some((folio, _)) = e.folio_page() {
            self.rmap.insert((folio, at));
        }
    }

    /// Account an entry leaving (hardware) page `at`.
    fn removed(&mut self, at: u64, e: &Entry) {
        self.digest.remove(entry_hash(self.proc, at, e));
        if let Some((folio, _)) = e.folio_page() {
            self.rmap.remove(&(folio, at));
        }
    }

    /// First pages of the hardware entries naming `folio`, in address
    /// order.
    pub fn entries_of(&self, folio: FolioId) -> Vec<u64> {
        self.rmap
            .range((folio, 0)..=(folio, u64::MAX))
            .map(|&(_, at)| at)
            .collect()
    }

    /// The digest of every entry in the table.
    pub fn digest(&self) -> Digest {
        self.digest
    }

    fn pmd_slot(&self, page: u64) -> Option<&PmdSlot> {
        let pud = self.pgd.get(idx(page, 3 * BITS))?.as_ref()?;
        let pmd = pud.pmds[idx(page, 2 * BITS)].as_ref()?;
        Some(&pmd.slots[idx(page, BITS)])
    }

    /// The PMD slot of `page`, allocating the PUD and PMD tables.
    fn pmd_slot_alloc(&mut self, page: u64) -> &mut PmdSlot {
        assert!(page < LIMIT, "page {page} beyond the page table");
        let pud = self.pgd[idx(page, 3 * BITS)].get_or_insert_with(|| {
            Box::new(PudTable {
                pmds: (0..FANOUT).map(|_| None).collect(),
                used: 0,
            })
        });
        let slot = &mut pud.pmds[idx(page, 2 * BITS)];
        if slot.is_none() {
            pud.used += 1;
        }
        let pmd = slot.get_or_insert_with(|| {
            Box::new(PmdTable {
                slots: (0..FANOUT).map(|_| PmdSlot::None).collect(),
                used: 0,
            })
        });
        &mut pmd.slots[idx(page, BITS)]
    }

    /// Account a PMD slot going from none to used (or back), and free the
    /// PMD and PUD tables that became empty.
    fn pmd_slot_used(&mut self, page: u64, used: bool) {
        let g = idx(page, 3 * BITS);
        let Some(pud) = self.pgd[g].as_mut() else {
            return;
        };
        let u = idx(page, 2 * BITS);
        let Some(pmd) = pud.pmds[u].as_mut() else {
            return;
        };
        if used {
            pmd.used += 1;
            return;
        }
        pmd.used -= 1;
        if pmd.used == 0 {
            pud.pmds[u] = None;
            pud.used -= 1;
            if pud.used == 0 {
                self.pgd[g] = None;
            }
        }
    }

    /// The entry of `page` (a PMD leaf read page by page).
    pub fn get(&self, page: u64) -> Option<Entry> {
        match self.pmd_slot(page)? {
            PmdSlot::None => None,
            PmdSlot::Table(t) => t.entries[idx(page, 0)],
            PmdSlot::Leaf(first) => Some(first.advanced((page & MASK) as u32)),
        }
    }

    /// The PMD leaf covering `page`: the entry of its first page.
    pub fn leaf(&self, page: u64) -> Option<Entry> {
        match self.pmd_slot(page)? {
            PmdSlot::Leaf(first) => Some(*first),
            _ => None,
        }
    }

    /// `pmd_none()`: nothing in the PMD block of `page`.
    pub fn block_empty(&self, page: u64) -> bool {
        matches!(self.pmd_slot(page), None | Some(PmdSlot::None))
    }

    /// Install or replace the PTE of `page`; returns the old one. The PMD
    /// block must not hold a leaf.
    pub fn set_pte(&mut self, page: u64, e: Entry) -> Option<Entry> {
        let slot = self.pmd_slot_alloc(page);
        let mut new_table = false;
        if matches!(slot, PmdSlot::None) {
            *slot = PmdSlot::Table(Box::new(PteTable {
                entries: vec![None; FANOUT].into_boxed_slice(),
                used: 0,
            }));
            new_table = true;
        }
        let PmdSlot::Table(t) = slot else {
            panic!("set_pte at page {page} inside a PMD leaf");
        };
        let old = t.entries[idx(page, 0)].replace(e);
        if old.is_none() {
            t.used += 1;
        }
        if new_table {
            self.pmd_slot_used(page, true);
        }
        if let Some(o) = &old {
            self.removed(page, o);
        }
        self.added(page, &e);
        old
    }

    /// Remove the PTE of `page`, freeing tables that become empty.
    pub fn clear_pte(&mut self, page: u64) -> Option<Entry> {
        let g = idx(page, 3 * BITS);
        let pmd = self
            .pgd
            .get_mut(g)?
            .as_mut()?
            .pmds
            .get_mut(idx(page, 2 * BITS))?
            .as_mut()?;
        let slot = &mut pmd.slots[idx(page, BITS)];
        let PmdSlot::Table(t) = slot else {
            return None;
        };
        let old = t.entries[idx(page, 0)].take()?;
        t.used -= 1;
        if t.used == 0 {
            *slot = PmdSlot::None;
            self.pmd_slot_used(page, false);
        }
        self.removed(page, &old);
        Some(old)
    }

    /// Install a PMD leaf at PMD-aligned `start` in an empty PMD slot.
    pub fn set_leaf(&mut self, start: u64, first: Entry) {
        debug_assert_eq!(start % PMD_SPAN, 0);
        let slot = self.pmd_slot_alloc(start);
        assert!(
            matches!(slot, PmdSlot::None),
            "set_leaf at page {start} over existing entries"
        );
        *slot = PmdSlot::Leaf(first);
        self.pmd_slot_used(start, true);
        self.added(start, &first);
    }

    /// Remove the PMD leaf covering `page`; returns its first page's entry.
    pub fn clear_leaf(&mut self, page: u64) -> Option<Entry> {
        let start = page - page % PMD_SPAN;
        let first = self.leaf(start)?;
        if let Some(slot) = self.pmd_slot_mut(start) {
            *slot = PmdSlot::None;
        }
        self.pmd_slot_used(start, false);
        self.removed(start, &first);
        Some(first)
    }

    fn pmd_slot_mut(&mut self, page: u64) -> Option<&mut PmdSlot> {
        let pud = self.pgd.get_mut(idx(page, 3 * BITS))?.as_mut()?;
        let pmd = pud.pmds[idx(page, 2 * BITS)].as_mut()?;
        Some(&mut pmd.slots[idx(page, BITS)])
    }

    /// Change the hardware entry covering `page` in place: the PTE, or the
    /// whole PMD leaf (`change` then sees the leaf's first page). Returns
    /// false when there is no entry.
    pub fn modify(&mut self, page: u64, change: impl FnOnce(&mut Entry)) -> bool {
        let Some(slot) = self.pmd_slot_mut(page) else {
            return false;
        };
        let (at, e) = match slot {
            PmdSlot::None => return false,
            PmdSlot::Leaf(first) => (page - page % PMD_SPAN, first),
            PmdSlot::Table(t) => match t.entries[idx(page, 0)].as_mut() {
                Some(e) => (page, e),
                None => return false,
            },
        };
        let before = *e;
        change(e);
        let after = *e;
        if before != after {
            self.removed(at, &before);
            self.added(at, &after);
        }
        true
    }

    /// Every hardware entry overlapping `[start, end)`, in address order,
    /// skipping empty subtrees; leaves clipped to the range.
    pub fn runs(&self, start: u64, end: u64) -> Vec<Run> {
        let mut out = Vec::new();
        self.walk(start, end, |run| out.push(run));
        out
    }

    /// Call `visit` for every hardware entry overlapping `[start, end)`.
    pub fn walk(&self, start: u64, end: u64, mut visit: impl FnMut(Run)) {
        self.try_walk(start, end, |run| {
            visit(run);
            true
        });
    }

    /// No entry anywhere in `[start, end)`.
    pub fn range_empty(&self, start: u64, end: u64) -> bool {
        let mut empty = true;
        self.try_walk(start, end, |_| {
            empty = false;
            false
        });
        empty
    }

    /// Like `walk`, stopping when `visit` returns false.
    fn try_walk(&self, start: u64, end: u64, mut visit: impl FnMut(Run) -> bool) {
        let end = end.min(LIMIT);
        let mut page = start;
        while page < end {
            let g = idx(page, 3 * BITS);
            let Some(pud) = self.pgd[g].as_ref() else {
                page = (page / PGD_SPAN + 1) * PGD_SPAN;
                continue;
            };
            let Some(pmd) = pud.pmds[idx(page, 2 * BITS)].as_ref() else {
                page = (page / PUD_SPAN + 1) * PUD_SPAN;
                continue;
            };
            let block = page - page % PMD_SPAN;
            let block_end = (block + PMD_SPAN).min(end);
            match &pmd.slots[idx(page, BITS)] {
                PmdSlot::None => {}
                PmdSlot::Leaf(first) => {
                    let run = Run {
                        page,
                        len: block_end - page,
                        entry: first.advanced((page - block) as u32),
                        leaf: true,
                    };
                    if !visit(run) {
                        return;
                    }
                }
                PmdSlot::Table(t) => {
                    for p in page..block_end {
                        if let Some(e) = t.entries[idx(p, 0)] {
                            let run = Run {
                                page: p,
                                len: 1,
                                entry: e,
                                leaf: false,
                            };
                            if !visit(run) {
                                return;
                            }
                        }
                    }
                }
            }
            page = block + PMD_SPAN;
        }
    }

    /// Every page in `[start, end)` that has an entry.
    pub fn pages(&self, start: u64, end: u64) -> Vec<u64> {
        let mut out = Vec::new();
        self.walk(start, end, |r| out.extend(r.page..r.page + r.len));
        out
    }

    /// The pages in `[start, end)` a per-page loop must visit when it acts
    /// on a PMD leaf at the leaf's first page and skips the leaf's other
    /// pages: a leaf wholly inside the range contributes its first page
    /// only; a leaf cut by the range, every page of it in the range (the
    /// loop splits it); a PTE, its page.
    pub fn pages_leaf_once(&self, start: u64, end: u64) -> Vec<u64> {
        let mut out = Vec::new();
        self.walk(start, end, |r| {
            if r.leaf && r.page.is_multiple_of(PMD_SPAN) && r.len == PMD_SPAN {
                out.push(r.page);
            } else {
                out.extend(r.page..r.page + r.len);
            }
        });
        out
    }

    /// Every hardware entry: `(first page, entry, is a leaf)`.
    pub fn entries(&self) -> Vec<Run> {
        self.runs(0, LIMIT)
    }

    /// Replace the PMD leaf covering `page` by a full PTE table holding
    /// `pte_of(first.advanced(i))` for page `i` (`__split_huge_pmd` of a
    /// non-present leaf, or the raw part of a present one).
    pub fn split_leaf(&mut self, page: u64, pte_of: impl Fn(Entry) -> Entry) {
        let start = page - page % PMD_SPAN;
        let Some(first) = self.clear_leaf(start) else {
            return;
        };
        for i in 0..PMD_SPAN {
            self.set_pte(start + i, pte_of(first.advanced(i as u32)));
        }
    }

    /// The hardware entries naming `folio` (any kind), in address order,
    /// from the reverse map: a leaf as one run of 512 from its first page.
    pub fn runs_of(&self, folio: FolioId) -> Vec<Run> {
        self.entries_of(folio)
            .into_iter()
            .filter_map(|at| {
                let leaf = self.leaf(at).is_some();
                Some(Run {
                    page: at,
                    len: if leaf { PMD_SPAN } else { 1 },
                    entry: self.get(at)?,
                    leaf,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
