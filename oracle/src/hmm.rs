//! `hmm_range_fault()` (mm/hmm.c, v6.19): snapshot a range of a process's
//! page table into one `hmm_pfns[]` word per page, faulting in what the
//! caller asks for.
//!
//! The walk is the kernel's: `walk_page_range()` goes VMA by VMA (and over
//! the gaps between them), each VMA first passes `hmm_vma_walk_test()`, and
//! inside a VMA the range is cut at PMD boundaries (`hmm_vma_walk_pmd()`
//! gets one PMD's worth at a time). A fault (`hmm_vma_fault()`) faults every
//! page from the first one that needed it to the end of its PMD chunk, then
//! the walk restarts from that page (the kernel's internal `-EBUSY`); pages
//! before it keep the words already written. Before every walk
//! `mmu_interval_check_retry()` tests the caller's notifier snapshot.
//!
//! Model decisions (the reference is silent):
//! * Page tables above the PMD level are always present: a hole seen by the
//!   walk (`hmm_vma_walk_hole()`) is at most one PMD chunk. A PMD is none
//!   when its 512-page block holds no entry (`World::pmd_block_empty`).
//! * A fault that would sleep (`migration_entry_wait()` in the walk, or
//!   `handle_mm_fault()` sleeping on a folio lock or a migration entry)
//!   ends the op with `blocked` at the page it waits on; pages faulted
//!   before it stay faulted.
//! * The restart loop is bounded (16 restarts per PMD chunk of the range,
//!   plus 16): every fault path makes progress, so only a livelock reaches
//!   the bound, which also ends the op with `blocked` at the page the walk
//!   would restart from.
//! * A write fault on a uffd-wp protected entry is `EFAULT`: HMM faults
//!   without `FAULT_FLAG_ALLOW_RETRY`, so `handle_userfault()` returns
//!   `VM_FAULT_SIGBUS` instead of waiting for the handler.
//! * 6.19 takes no `dev_pagemap` references in HMM (reference §3.6): the
//!   walk never touches `pgmap_refs`.

use mmdiff_core::op::{DevId, HmmReq, NotifierId, PMD_PAGES};
use mmdiff_core::outcome::{Errno, HmmPfn, Outcome, Payload};
use mmdiff_core::state::{Entry, FolioId, Memory, PageRef, Target, VmaKind, VmaState};

use crate::fault::{FaultError, FaultKind};
use crate::world::World;

/// `hmm_pfn_to_map_order()` of a word produced from a PMD leaf.
const PMD_ORDER: u8 = 9;

/// Restarts allowed per PMD chunk of the range before the walk is declared
/// a livelock.
const RESTARTS_PER_CHUNK: usize = 16;

/// One `struct hmm_range`, in absolute pages of process `p`.
#[derive(Clone, Copy, Debug)]
pub struct HmmRange {
    pub p: usize,
    pub start: u64,
    pub end: u64,
    /// `default_flags`.
    pub default: HmmReq,
    /// Input words: pages `[a, b)` hold this request, all others 0
    /// (`pfn_flags_mask` = `REQ_FAULT|REQ_WRITE`).
    pub page_req: Option<(u64, u64, HmmReq)>,
    /// `dev_private_owner`.
    pub owner: Option<DevId>,
    /// The notifier snapshot `mmu_interval_check_retry()` tests.
    pub seq: Option<NotifierId>,
}

/// Why `hmm_range_fault()` did not return words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HmmError {
    /// The errno it returns (`EFAULT`, `EPERM`, `EBUSY`).
    Errno(Errno),
    /// It would sleep (or spin) at absolute page `page`.
    Blocked(u64),
}

/// A successful `hmm_range_fault()`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HmmWalk {
    /// One word per page of the range.
    pub words: Vec<HmmPfn>,
    /// Whether any fault was taken on the way (the walk restarted).
    pub faulted: bool,
}

/// What `hmm_pte_need_fault()` asks for (`HMM_NEED_FAULT`,
/// `HMM_NEED_WRITE_FAULT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
struct Need {
    fault: bool,
    write: bool,
}

impl Need {
    fn any(self) -> bool {
        self.fault || self.write
    }
    fn or(self, o: Need) -> Need {
        Need {
            fault: self.fault || o.fault,
            write: self.write || o.write,
        }
    }
}

/// The CPU's view of an entry (`pte_to_hmm_pfn_flags`,
/// `pmd_to_hmm_pfn_flags`): `HMM_PFN_VALID`, `HMM_PFN_WRITE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
struct CpuFlags {
    valid: bool,
    write: bool,
}

const NOT_VALID: CpuFlags = CpuFlags {
    valid: false,
    write: false,
};

/// Why a walk stopped early (the walk callbacks' return codes).
enum Stop {
    /// `-EBUSY` after a fault: restart the walk from this page.
    Restart(u64),
    Errno(Errno),
    /// Sleeping on a migration entry or folio lock at this page.
    Blocked(u64),
}

type Step = Result<(), Stop>;

/// A word carrying a page: `pfn | VALID [| WRITE] | order`.
fn valid_word(page: PageRef, cpu: CpuFlags, order: u8) -> HmmPfn {
    HmmPfn {
        valid: true,
        write: cpu.write,
        error: false,
        order,
        page: Some(page),
    }
}

/// `HMM_PFN_ERROR`.
const ERROR_WORD: HmmPfn = HmmPfn {
    valid: false,
    write: false,
    error: true,
    order: 0,
    page: None,
};

/// The page a present or device-private target names (`None` for raw I/O
/// pfns, which have no struct page).
fn target_page(t: Target) -> Option<PageRef> {
    match t {
        Target::Folio { folio, page } => Some(PageRef::Folio { folio, page }),
        Target::Zero => Some(PageRef::Zero),
        Target::HugeZero { page } => Some(PageRef::HugeZero { page }),
        Target::Io { .. } => None,
    }
}

/// `hmm_pte_need_fault()`: the request of a page is its input flags (under
/// the mask) or'ed with `default_flags`; without `REQ_FAULT` nothing is
/// faulted; `REQ_WRITE` on an entry that is not writable needs a write
/// fault; an entry that is not valid needs a fault.
fn pte_need_fault(req: HmmReq, cpu: CpuFlags) -> Need {
    match req {
        HmmReq::None => Need::default(),
        HmmReq::Write if !cpu.write => Need {
            fault: true,
            write: true,
        },
        _ if !cpu.valid => Need {
            fault: true,
            write: false,
        },
        _ => Need::default(),
    }
}

impl World {
    /// The `hmm-fault` op over absolute pages `[start, end)` of process `p`.
    /// `page_req` gives absolute pages `[a, b)` their own request.
    #[allow(clippy::too_many_arguments)]
    pub fn hmm_fault_op(
        &mut self,
        p: usize,
        start: u64,
        end: u64,
        req: HmmReq,
        page_req: Option<(u64, u64, HmmReq)>,
        owner: Option<DevId>,
        seq: Option<NotifierId>,
    ) -> Outcome {
        let range = HmmRange {
            p,
            start,
            end,
            default: req,
            page_req,
            owner,
            seq,
        };
        match self.hmm_range_fault(&range) {
            Ok(walk) => Outcome::Ok(Payload::Pfns(walk.words)),
            Err(e) => self.hmm_error_outcome(e),
        }
    }

    /// The outcome of an op that stopped with `e`.
    pub fn hmm_error_outcome(&self, e: HmmError) -> Outcome {
        match e {
            HmmError::Errno(errno) => Outcome::Err(errno),
            HmmError::Blocked(page) => Outcome::Blocked {
                page: self.cfg.window_of(page).1,
            },
        }
    }

    /// `hmm_range_fault()`: walk `[last, end)` until a walk completes;
    /// a fault restarts the walk at the page it started from, after
    /// `mmu_interval_check_retry()` (a stale snapshot: `EBUSY`).
    pub fn hmm_range_fault(&mut self, r: &HmmRange) -> Result<HmmWalk, HmmError> {
        let mut words = vec![HmmPfn::default(); (r.end - r.start) as usize];
        let mut last = r.start;
        let mut faulted = false;
        let chunks = r.end.div_ceil(PMD_PAGES as u64) - r.start / PMD_PAGES as u64;
        let max_rounds = RESTARTS_PER_CHUNK * (chunks as usize + 1);
        for _ in 0..max_rounds {
            if self.interval_check_retry(r.seq) {
                return Err(HmmError::Errno(Errno::EBUSY));
            }
            match self.hmm_walk_page_range(r, last, &mut words) {
                Ok(()) => return Ok(HmmWalk { words, faulted }),
                Err(Stop::Restart(at)) => {
                    last = at;
                    faulted = true;
                }
                Err(Stop::Errno(e)) => return Err(HmmError::Errno(e)),
                Err(Stop::Blocked(page)) => return Err(HmmError::Blocked(page)),
            }
        }
        Err(HmmError::Blocked(last))
    }

    /// `mmu_interval_check_retry()`: true when an invalidation hit the
    /// notifier since its last `read-begin`. No notifier: never.
    fn interval_check_retry(&self, seq: Option<NotifierId>) -> bool {
        seq.and_then(|n| self.notifiers[n.index()].as_ref())
            .is_some_and(|n| n.stale)
    }

    /// The request of absolute page `page`: its input word under
    /// `pfn_flags_mask`, or'ed with `default_flags`.
    fn hmm_req_at(r: &HmmRange, page: u64) -> HmmReq {
        let input = match r.page_req {
            Some((a, b, req)) if a <= page && page < b => req,
            _ => HmmReq::None,
        };
        // None ⊂ Fault ⊂ Write as flag sets: the union is the larger.
        input.max(r.default)
    }

    /// `hmm_range_need_fault()` over `[s, e)` for entries whose CPU flags
    /// are `cpu`.
    fn hmm_range_need_fault(r: &HmmRange, s: u64, e: u64, cpu: CpuFlags) -> Need {
        (s..e).fold(Need::default(), |need, page| {
            need.or(pte_need_fault(World::hmm_req_at(r, page), cpu))
        })
    }

    /// Write the word of absolute page `page`.
    fn hmm_set(r: &HmmRange, words: &mut [HmmPfn], page: u64, w: HmmPfn) {
        words[(page - r.start) as usize] = w;
    }

    /// `hmm_pfns_fill()`: every word of `[s, e)` becomes `w`.
    fn hmm_fill(r: &HmmRange, words: &mut [HmmPfn], s: u64, e: u64, w: HmmPfn) {
        for page in s..e {
            World::hmm_set(r, words, page, w);
        }
    }

    /// `walk_page_range()` from `from` to the end of the range: gaps
    /// without a VMA go to `hmm_vma_walk_hole()` with no VMA, each VMA is
    /// tested (`hmm_vma_walk_test()`) and walked PMD chunk by PMD chunk.
    fn hmm_walk_page_range(&mut self, r: &HmmRange, from: u64, words: &mut [HmmPfn]) -> Step {
        let mut addr = from;
        while addr < r.end {
            let Some(vma) = self.vma_at(r.p, addr) else {
                let next = self.next_vma_start(r.p, addr).min(r.end);
                World::hmm_walk_no_vma(r, addr, next, words)?;
                addr = next;
                continue;
            };
            let next = vma.end.min(r.end);
            if World::hmm_vma_walk_test(r, &vma, addr, next, words)? {
                let mut a = addr;
                while a < next {
                    let chunk_end = (World::pmd_start(a) + PMD_PAGES as u64).min(next);
                    self.hmm_vma_walk_pmd(r, &vma, a, chunk_end, words)?;
                    a = chunk_end;
                }
            }
            addr = next;
        }
        Ok(())
    }

    /// First page of the first VMA starting after `page` (or the end of the
    /// address space).
    fn next_vma_start(&self, p: usize, page: u64) -> u64 {
        self.mm(p)
            .vmas
            .range(page..)
            .next()
            .map_or(u64::MAX, |(&s, _)| s)
    }

    /// `hmm_vma_walk_hole()` with `walk->vma == NULL`: a fault required
    /// there is `EFAULT`, otherwise the words are `ERROR`.
    fn hmm_walk_no_vma(r: &HmmRange, s: u64, e: u64, words: &mut [HmmPfn]) -> Step {
        if World::hmm_range_need_fault(r, s, e, NOT_VALID).any() {
            return Err(Stop::Errno(Errno::EFAULT));
        }
        World::hmm_fill(r, words, s, e, ERROR_WORD);
        Ok(())
    }

    /// `hmm_vma_walk_test()`: a VMA without `VM_IO|VM_PFNMAP` and with
    /// `VM_READ` is walked (`Ok(true)`); any other VMA is `EFAULT` if a fault
    /// is required in its part of the range, else `ERROR` and skipped.
    fn hmm_vma_walk_test(
        r: &HmmRange,
        vma: &VmaState,
        s: u64,
        e: u64,
        words: &mut [HmmPfn],
    ) -> Result<bool, Stop> {
        if vma.kind != VmaKind::Special && vma.prot.readable() {
            return Ok(true);
        }
        if World::hmm_range_need_fault(r, s, e, NOT_VALID).any() {
            return Err(Stop::Errno(Errno::EFAULT));
        }
        World::hmm_fill(r, words, s, e, ERROR_WORD);
        Ok(false)
    }

    /// `hmm_vma_walk_pmd()` for the chunk `[s, e)` of one PMD block inside
    /// one VMA.
    fn hmm_vma_walk_pmd(
        &mut self,
        r: &HmmRange,
        vma: &VmaState,
        s: u64,
        e: u64,
        words: &mut [HmmPfn],
    ) -> Step {
        if self.pmd_block_empty(r.p, s) {
            return self.hmm_vma_walk_hole(r, vma, s, e, words);
        }
        match self.pmd_leaf_at(r.p, s) {
            Some(Entry::Migration { .. }) => World::hmm_pmd_migration(r, s, e, words),
            Some(Entry::DevicePrivate {
                target: Target::Folio { folio, .. },
                write,
                ..
            }) => self.hmm_vma_handle_absent_pmd(r, vma, s, e, folio, write, words),
            Some(Entry::Present { bits, .. }) => {
                let cpu = CpuFlags {
                    valid: true,
                    write: bits.write,
                };
                self.hmm_vma_handle_pmd(r, vma, s, e, cpu, words)
            }
            Some(_) => unreachable!("PMD leaves are present, migration or device-private"),
            None => {
                for page in s..e {
                    self.hmm_vma_handle_pte(r, vma, page, e, words)?;
                }
                Ok(())
            }
        }
    }

    /// `hmm_vma_walk_hole()` inside a VMA (an empty PMD): the words are 0,
    /// or, if any page of the hole needs a fault, the whole hole is faulted.
    fn hmm_vma_walk_hole(
        &mut self,
        r: &HmmRange,
        vma: &VmaState,
        s: u64,
        e: u64,
        words: &mut [HmmPfn],
    ) -> Step {
        let need = World::hmm_range_need_fault(r, s, e, NOT_VALID);
        if need.any() {
            return self.hmm_vma_fault(r, vma, s, e, need);
        }
        World::hmm_fill(r, words, s, e, HmmPfn::default());
        Ok(())
    }

    /// A PMD migration entry (`pmd_is_migration_entry` in
    /// `hmm_vma_walk_pmd`): 0 for every page, or, when a fault is required,
    /// `pmd_migration_entry_wait()`: the walk sleeps until the migration
    /// ends (the op is blocked at the chunk's first page).
    fn hmm_pmd_migration(r: &HmmRange, s: u64, e: u64, words: &mut [HmmPfn]) -> Step {
        if World::hmm_range_need_fault(r, s, e, NOT_VALID).any() {
            return Err(Stop::Blocked(s));
        }
        World::hmm_fill(r, words, s, e, HmmPfn::default());
        Ok(())
    }

    /// Whether a device folio belongs to `dev_private_owner`
    /// (`page_pgmap(page)->owner == range->dev_private_owner`). No owner
    /// never matches: every pgmap has one.
    fn hmm_owned(&self, r: &HmmRange, folio: FolioId) -> bool {
        match (self.folio(folio).memory, r.owner) {
            (Memory::Device(d), Some(o)) => d == o,
            _ => false,
        }
    }

    /// `hmm_vma_handle_absent_pmd()` for a PMD device-private entry: owned
    /// by the caller, every page is reported `VALID [| WRITE]` with order 9
    /// and never faulted; another owner's is `ERROR` (not 0, unlike the PTE
    /// case) unless a fault is required, which faults the chunk
    /// (`do_huge_pmd_device_private` → `migrate_to_ram`).
    #[allow(clippy::too_many_arguments)]
    fn hmm_vma_handle_absent_pmd(
        &mut self,
        r: &HmmRange,
        vma: &VmaState,
        s: u64,
        e: u64,
        folio: FolioId,
        write: bool,
        words: &mut [HmmPfn],
    ) -> Step {
        if self.hmm_owned(r, folio) {
            let cpu = CpuFlags { valid: true, write };
            for page in s..e {
                let Some(Entry::DevicePrivate { target, .. }) = self.entry(r.p, page) else {
                    unreachable!("a PMD leaf covers its whole block");
                };
                let pr = target_page(target).expect("device-private entries map folios");
                World::hmm_set(r, words, page, valid_word(pr, cpu, PMD_ORDER));
            }
            return Ok(());
        }
        let need = World::hmm_range_need_fault(r, s, e, NOT_VALID);
        if need.any() {
            return self.hmm_vma_fault(r, vma, s, e, need);
        }
        World::hmm_fill(r, words, s, e, ERROR_WORD);
        Ok(())
    }

    /// `hmm_vma_handle_pmd()` for a present PMD leaf (a THP or the huge
    /// zero page): every page gets `pfn | cpu flags | order 9`, unless a
    /// page of the chunk needs a fault, which faults the whole chunk.
    fn hmm_vma_handle_pmd(
        &mut self,
        r: &HmmRange,
        vma: &VmaState,
        s: u64,
        e: u64,
        cpu: CpuFlags,
        words: &mut [HmmPfn],
    ) -> Step {
        let need = World::hmm_range_need_fault(r, s, e, cpu);
        if need.any() {
            return self.hmm_vma_fault(r, vma, s, e, need);
        }
        for page in s..e {
            let Some(Entry::Present { target, .. }) = self.entry(r.p, page) else {
                unreachable!("a PMD leaf covers its whole block");
            };
            let pr = target_page(target).expect("PMD leaves map folios or the huge zero page");
            World::hmm_set(r, words, page, valid_word(pr, cpu, PMD_ORDER));
        }
        Ok(())
    }

    /// `hmm_vma_handle_pte()` for page `page` of the chunk ending at `e`.
    fn hmm_vma_handle_pte(
        &mut self,
        r: &HmmRange,
        vma: &VmaState,
        page: u64,
        e: u64,
        words: &mut [HmmPfn],
    ) -> Step {
        let req = World::hmm_req_at(r, page);
        let entry = match self.entry(r.p, page) {
            // pte_none(): 0, or fault from here to the end of the chunk.
            None => {
                let need = pte_need_fault(req, NOT_VALID);
                if need.any() {
                    return self.hmm_vma_fault(r, vma, page, e, need);
                }
                World::hmm_set(r, words, page, HmmPfn::default());
                return Ok(());
            }
            Some(entry) => entry,
        };
        let (target, bits) = match entry {
            Entry::Present { target, bits, .. } => (target, bits),
            // Device-private pages of the caller are reported, never
            // faulted, even when REQ_WRITE asks for a read-only one.
            Entry::DevicePrivate {
                target: Target::Folio { folio, page: sub },
                write,
                ..
            } if self.hmm_owned(r, folio) => {
                let cpu = CpuFlags { valid: true, write };
                let pr = PageRef::Folio { folio, page: sub };
                World::hmm_set(r, words, page, valid_word(pr, cpu, 0));
                return Ok(());
            }
            // Other non-present entries: 0 unless a fault is required.
            other => {
                let need = pte_need_fault(req, NOT_VALID);
                if !need.any() {
                    World::hmm_set(r, words, page, HmmPfn::default());
                    return Ok(());
                }
                return match other {
                    // Swap-in, another device's migrate_to_ram, or giving
                    // a device-exclusive page back to the CPU.
                    Entry::Swap { .. }
                    | Entry::DevicePrivate { .. }
                    | Entry::DeviceExclusive { .. } => self.hmm_vma_fault(r, vma, page, e, need),
                    // migration_entry_wait(): sleeps until the folio is
                    // unlocked.
                    Entry::Migration { .. } => Err(Stop::Blocked(page)),
                    Entry::Present { .. } => unreachable!("handled above"),
                };
            }
        };
        let cpu = CpuFlags {
            valid: true,
            write: bits.write,
        };
        let need = pte_need_fault(req, cpu);
        if need.any() {
            return self.hmm_vma_fault(r, vma, page, e, need);
        }
        match target_page(target) {
            Some(pr) => World::hmm_set(r, words, page, valid_word(pr, cpu, 0)),
            // No struct page and not the zero page (vm_normal_page() is
            // NULL): EFAULT if the page was asked for, else ERROR.
            None => {
                if pte_need_fault(req, NOT_VALID).any() {
                    return Err(Stop::Errno(Errno::EFAULT));
                }
                World::hmm_set(r, words, page, ERROR_WORD);
            }
        }
        Ok(())
    }

    /// `hmm_vma_fault()`: a write fault needs `VM_WRITE` (`EPERM`); then
    /// `handle_mm_fault(FAULT_FLAG_REMOTE [| FAULT_FLAG_WRITE])` for every
    /// page of `[s, e)`; any fault error is `EFAULT` (a uffd-wp write fault
    /// included: no `FAULT_FLAG_ALLOW_RETRY`); a fault that sleeps blocks
    /// the op there; then the walk restarts at `s`.
    fn hmm_vma_fault(&mut self, r: &HmmRange, vma: &VmaState, s: u64, e: u64, need: Need) -> Step {
        let kind = if need.write {
            if !vma.prot.writable() {
                return Err(Stop::Errno(Errno::EPERM));
            }
            FaultKind::WRITE
        } else {
            FaultKind::READ
        };
        for page in s..e {
            match self.handle_fault(r.p, page, kind) {
                Ok(()) => {}
                Err(FaultError::Blocked) => return Err(Stop::Blocked(page)),
                // HMM faults never set FAULT_FLAG_ALLOW_RETRY: a uffd-wp
                // fault is VM_FAULT_SIGBUS.
                Err(FaultError::Bus | FaultError::Oom | FaultError::Userfault) => {
                    return Err(Stop::Errno(Errno::EFAULT))
                }
            }
        }
        Err(Stop::Restart(s))
    }
}

#[cfg(test)]
mod tests {
    //! Entries the op language cannot build yet without device migration
    //! (device-private, device-coherent and migration entries), installed
    //! directly with the page-table primitives.

    use super::*;
    use mmdiff_core::op::{MapKind, Op, PageRange, ProcId, Prot, SlotId, Zone};
    use mmdiff_core::state::{Level, MigKind, PteBits};
    use mmdiff_core::Config;

    const DEV0: DevId = DevId(0);
    const DEV1: DevId = DevId(1);
    const DEV2: DevId = DevId(2);
    const DEV3: DevId = DevId(3);

    fn r(start: u32, end: u32) -> PageRange {
        PageRange::new(SlotId(0), start, end)
    }

    fn abs(page: u32) -> u64 {
        Config::default().window_base(0) + page as u64
    }

    /// A world with an anon RW VMA of `pages` pages at page 0 of m0.
    fn world(pages: u32) -> World {
        let mut w = World::new(&Config::default());
        let out = w.apply(&Op::Mmap {
            p: ProcId(0),
            slot: SlotId(0),
            at: 0,
            pages,
            kind: MapKind::Anon,
            prot: Prot::RW,
            zone: Zone::Normal,
            foff: 0,
        });
        assert_eq!(out, Outcome::OK);
        w
    }

    /// A device folio of `d` (order 0 or 9) as `migrate_vma_pages` leaves
    /// it: anon, exclusive, unlocked, holding only its mapping's reference.
    fn device_folio(w: &mut World, d: DevId, order: u8, value: u64) -> FolioId {
        let f = w.alloc_device_folio(d, order).expect("device memory");
        let fs = w.folio_mut(f);
        fs.anon = true;
        fs.locked = false;
        fs.anon_exclusive.iter_mut().for_each(|x| *x = true);
        fs.contents.iter_mut().for_each(|c| *c = value);
        f
    }

    /// A device-private PTE of `d` at window page `page`.
    fn device_private_pte(w: &mut World, d: DevId, page: u32, write: bool, value: u64) -> FolioId {
        let f = device_folio(w, d, 0, value);
        w.set_pte(
            0,
            abs(page),
            Entry::DevicePrivate {
                level: Level::Pte,
                target: Target::Folio { folio: f, page: 0 },
                write,
                soft_dirty: false,
                uffd_wp: false,
            },
        );
        w.folio_put(f, 1);
        f
    }

    fn hmm(w: &mut World, start: u32, end: u32, req: HmmReq, owner: Option<DevId>) -> Outcome {
        w.apply(&Op::HmmFault {
            p: ProcId(0),
            range: r(start, end),
            req,
            page_req: None,
            owner,
            seq: None,
        })
    }

    fn words(out: Outcome) -> Vec<HmmPfn> {
        match out {
            Outcome::Ok(Payload::Pfns(w)) => w,
            other => panic!("not pfn words: {other:?}"),
        }
    }

    fn snapshot(w: &mut World, d: DevId, start: u32, end: u32) -> Vec<u8> {
        match w.apply(&Op::DevSnapshot {
            d,
            p: ProcId(0),
            range: r(start, end),
        }) {
            Outcome::Ok(Payload::Snapshot(b)) => b,
            other => panic!("snapshot failed: {other:?}"),
        }
    }

    fn valid(folio: FolioId, page: u32, write: bool, order: u8) -> HmmPfn {
        valid_word(
            PageRef::Folio { folio, page },
            CpuFlags { valid: true, write },
            order,
        )
    }

    /// Device-private pages of the caller are reported and never faulted,
    /// even with REQ_WRITE on a read-only one (reference §7 16(d)); another
    /// device's (or no owner's) are 0 in a pure walk. HMM takes no pgmap
    /// references.
    #[test]
    fn owned_device_private_pte() {
        let mut w = world(4);
        let rw = device_private_pte(&mut w, DEV0, 0, true, 11);
        let ro = device_private_pte(&mut w, DEV0, 1, false, 12);
        let refs = w.device(DEV0).pgmap_refs;
        let before = w.mm(0).ptes.clone();

        let got = words(hmm(&mut w, 0, 2, HmmReq::Write, Some(DEV0)));
        assert_eq!(got, vec![valid(rw, 0, true, 0), valid(ro, 0, false, 0)]);
        assert_eq!(w.mm(0).ptes, before);
        assert_eq!(w.device(DEV0).pgmap_refs, refs);

        for owner in [Some(DEV1), None] {
            let got = words(hmm(&mut w, 0, 2, HmmReq::None, owner));
            assert_eq!(got, vec![HmmPfn::default(); 2]);
        }
        assert_eq!(snapshot(&mut w, DEV0, 0, 3), vec![0x22, 0x21, 0x00]);
        assert_eq!(snapshot(&mut w, DEV1, 0, 3), vec![0x00, 0x00, 0x00]);
    }

    /// The device reads its own device-private pages through entries that
    /// point at the device page; a device write needs a writable one
    /// (`dmirror_do_fault` fails a read-only page with EFAULT).
    #[test]
    fn dmirror_on_owned_device_private() {
        let mut w = world(4);
        let rw = device_private_pte(&mut w, DEV0, 0, true, 11);
        let ro = device_private_pte(&mut w, DEV0, 1, false, 12);
        let out = w.apply(&Op::DevRead {
            d: DEV0,
            p: ProcId(0),
            range: r(0, 2),
        });
        assert_eq!(
            out,
            Outcome::Ok(Payload::Dev {
                cpages: 2,
                faults: 1,
                data: Some((0, vec![11, 12])),
            })
        );
        let m = w.device(DEV0).mirrors[&0].clone();
        use mmdiff_core::state::MirrorTag;
        assert_eq!(
            m[&abs(0)],
            (PageRef::Folio { folio: rw, page: 0 }, MirrorTag::Write)
        );
        assert_eq!(
            m[&abs(1)],
            (PageRef::Folio { folio: ro, page: 0 }, MirrorTag::Read)
        );
        let out = w.apply(&Op::DevWrite {
            d: DEV0,
            p: ProcId(0),
            range: r(0, 2),
            fill: mmdiff_core::op::Fill::Const(5),
        });
        assert_eq!(out, Outcome::Err(Errno::EFAULT));
        // The writable page was written before the fault round.
        assert_eq!(w.folio(rw).contents[0], 5);
        assert_eq!(w.folio(ro).contents[0], 12);
    }

    /// A device-private PMD: the owner sees 512 words of order 9; anyone
    /// else sees ERROR, not 0 (reference §7 16(e)).
    #[test]
    fn device_private_pmd() {
        let mut w = world(1024);
        let f = device_folio(&mut w, DEV1, 9, 3);
        w.set_pmd_entry(
            0,
            abs(512),
            Entry::DevicePrivate {
                level: Level::Pmd,
                target: Target::Folio { folio: f, page: 0 },
                write: true,
                soft_dirty: false,
                uffd_wp: false,
            },
        );
        w.folio_put(f, 1);

        // Pages 510 and 511 (an empty PMD) are write-faulted in.
        let got = words(hmm(&mut w, 510, 1024, HmmReq::Write, Some(DEV1)));
        assert!(got[0].valid && got[0].write && got[0].order == 0);
        assert_eq!(got[2], valid(f, 0, true, 9));
        assert_eq!(got[513], valid(f, 511, true, 9));
        assert_eq!(w.folio(f).refcount, 1);

        let got = words(hmm(&mut w, 512, 516, HmmReq::None, Some(DEV0)));
        assert_eq!(got, vec![ERROR_WORD; 4]);
        let snap = snapshot(&mut w, DEV1, 512, 1024);
        assert!(snap.iter().all(|&b| b == 0x26), "{:x?}", &snap[..4]);
        let snap = snapshot(&mut w, DEV0, 510, 514);
        assert_eq!(snap, vec![0x02, 0x02, 0xFF, 0xFF]);
    }

    /// Device-coherent pages are mapped by present PTEs: reported like any
    /// page, whoever asks; the snapshot tells local from remote.
    #[test]
    fn device_coherent_pte() {
        let mut w = world(2);
        let f = device_folio(&mut w, DEV2, 0, 8);
        let bits = PteBits {
            write: true,
            dirty: true,
            young: true,
            ..PteBits::default()
        };
        w.set_pte(
            0,
            abs(0),
            crate::pte::pte(Target::Folio { folio: f, page: 0 }, bits),
        );
        w.folio_put(f, 1);
        let got = words(hmm(&mut w, 0, 1, HmmReq::Write, Some(DEV3)));
        assert_eq!(got, vec![valid(f, 0, true, 0)]);
        assert_eq!(snapshot(&mut w, DEV2, 0, 1), vec![0x42]);
        assert_eq!(snapshot(&mut w, DEV3, 0, 1), vec![0x52]);
    }

    /// A migration entry is 0 in a pure walk; a fault request waits for
    /// the migration: blocked at that page, nothing changed. A PMD
    /// migration entry blocks at the start of the walked chunk.
    #[test]
    fn migration_entries_block_fault_requests() {
        let mut w = world(1024);
        let mig = |level, folio| Entry::Migration {
            level,
            target: Target::Folio { folio, page: 0 },
            kind: MigKind::Write,
            young: true,
            dirty: true,
            soft_dirty: false,
            uffd_wp: false,
        };
        let small = w.alloc_folio(Zone::Normal, 0).expect("memory");
        w.folio_mut(small).locked = true;
        w.set_pte(0, abs(3), mig(Level::Pte, small));
        let huge = w.alloc_folio(Zone::Normal, 9).expect("memory");
        w.folio_mut(huge).locked = true;
        w.set_pmd_entry(0, abs(512), mig(Level::Pmd, huge));

        assert_eq!(
            words(hmm(&mut w, 2, 4, HmmReq::None, None)),
            vec![HmmPfn::default(); 2]
        );
        assert_eq!(snapshot(&mut w, DEV0, 511, 513), vec![0x00, 0x00]);
        let before = w.mm(0).ptes.clone();
        // The page table of [0, 512) exists: page 0 needs a fault, so the
        // fault round covers [0, 8); pages 0..3 get the zero page, then
        // the fault of page 3 sleeps on the migration entry.
        assert_eq!(
            hmm(&mut w, 0, 8, HmmReq::Fault, None),
            Outcome::Blocked { page: 3 }
        );
        for page in 0..3 {
            assert!(matches!(
                w.entry(0, abs(page)),
                Some(Entry::Present {
                    target: Target::Zero,
                    ..
                })
            ));
        }
        assert_eq!(w.entry(0, abs(3)), before.get(&abs(3)).copied());
        assert_eq!(w.entry(0, abs(4)), None);
        // With page 3 valid-requested only, the walk itself waits there.
        let out = w.apply(&Op::HmmFault {
            p: ProcId(0),
            range: r(3, 8),
            req: HmmReq::None,
            page_req: Some((3, 4, HmmReq::Fault)),
            owner: None,
            seq: None,
        });
        assert_eq!(out, Outcome::Blocked { page: 3 });
        let w2 = &mut w;
        assert_eq!(
            hmm(w2, 600, 700, HmmReq::Fault, None),
            Outcome::Blocked { page: 600 }
        );
    }
}
