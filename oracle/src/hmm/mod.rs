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
            // The walk writes page by page, as the kernel does; only the
            // outcome is stored as runs.
            Ok(walk) => Outcome::Ok(Payload::Pfns(walk.words.into())),
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
mod tests;
