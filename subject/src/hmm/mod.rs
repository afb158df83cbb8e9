//! `hmm_range_fault()` (mm/hmm.c, v6.19): snapshot a range of a process's
//! page table into one `hmm_pfns[]` word per page, faulting in what the
//! caller asks for; and, as in seed 004 ("setup device page migration in
//! HMM pagewalk"), the collect step of `migrate_vma_setup()` done by the
//! same walk.
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
//! One walker, three modes (`Mode`): the plain snapshot of `hmm-fault`
//! and the dmirror driver, and the two passes of a migration setup
//! (`migrate.rs`): the `MIGRATE_VMA_FAULT` pass and the collect pass.
//! Files: `walk.rs` (`walk_page_range` and the VMA/PMD dispatch shared by
//! every mode), `snapshot.rs` (the 6.19 per-entry rules and faults),
//! `migrate.rs` (the collect rules of `migrate_vma_collect_*`).
//!
//! Model decisions (the reference is silent):
//! * Page tables above the PMD level are always present: a hole seen by the
//!   walk (`hmm_vma_walk_hole()`) is at most one PMD chunk. A PMD is none
//!   when its 512-page block holds no entry (`PageTable::block_empty`).
//!   (The collect pass keeps `walk_page_range()`'s hole at the highest
//!   empty level, as `migrate_vma_collect` does: see `migrate.rs`.)
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
//! * Seed 002 (the cached pgmap): a walk looks a device page's
//!   `dev_pagemap` up once and keeps the reference while it meets pages of
//!   the same device (`World::hmm_walk_pgmap`); every walk drops it at
//!   its one exit point in `World::hmm_walk_loop`. 6.19 (the oracle)
//!   takes no pgmap references in HMM (reference §3.6), so the net effect
//!   of every call on `pgmap_refs` must be zero.

use mmdiff_core::op::{DevId, HmmReq, NotifierId, PMD_PAGES};
use mmdiff_core::outcome::{Errno, HmmPfn, MigrateSrc, Outcome, Payload, PfnRuns};
use mmdiff_core::state::{FolioId, Memory, PageRef, Target};

use crate::migrate_device::Migration;
use crate::world::World;

mod migrate;
mod req;
mod snapshot;
mod walk;

use req::{first_need_fault, pte_need_fault, range_need_fault, req_at, CpuFlags, Need, NOT_VALID};

/// `hmm_pfn_to_map_order()` of a word produced from a PMD leaf.
const PMD_ORDER: u8 = 9;

const NR: u64 = PMD_PAGES as u64;

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
    /// It would wait for a folio lock its own caller holds (a migration
    /// setup faulting its own fault page): it never wakes up.
    Stuck,
}

/// A successful `hmm_range_fault()`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HmmWalk {
    /// One word per page of the range.
    pub words: Vec<HmmPfn>,
    /// Whether any fault was taken on the way (the walk restarted).
    pub faulted: bool,
}

/// Why a walk stopped early (the walk callbacks' return codes).
enum Stop {
    /// `-EBUSY` after a fault: restart the walk from this page.
    Restart(u64),
    Errno(Errno),
    /// Sleeping on a migration entry or folio lock at this page.
    Blocked(u64),
    /// Waiting for the caller's own fault page.
    Stuck,
}

type Step = Result<(), Stop>;

/// What a walk does with the entries it meets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// 6.19 `hmm_range_fault()`: words, faults per `hmm_pte_need_fault()`,
    /// a fault covers the rest of its chunk and the walk restarts at it.
    Snapshot,
    /// Seed 004's `MIGRATE_VMA_FAULT` pass: the snapshot rules with
    /// `REQ_FAULT`, but each not-valid page is faulted alone and the walk
    /// resumes after it (oracle `migrate_fault_in`).
    MigrateFault { fault_folio: Option<FolioId> },
    /// Seed 004's collect pass: the `migrate_vma_collect_*` rules, writing
    /// `migrate->src` in place (`hmm_pfns = args->src`).
    MigrateCollect,
}

/// `range->hmm_pfns`: where the walks of one call write, kept across the
/// `-EBUSY` restarts.
enum Pfns<'a> {
    Words(&'a mut [HmmPfn]),
    /// The words of the `hmm-fault` outcome, as runs: a PMD leaf is one
    /// run, not 512 words. Writes land as in a zero-filled array of the
    /// range (`PfnRuns::overwrite`); a walk writes in address order from
    /// where it starts, so each write appends or cuts the tail.
    Runs(&'a mut PfnRuns),
    Migrate(&'a mut Migration),
}

impl Pfns<'_> {
    fn reborrow(&mut self) -> Pfns<'_> {
        match self {
            Pfns::Words(w) => Pfns::Words(w),
            Pfns::Runs(r) => Pfns::Runs(r),
            Pfns::Migrate(m) => Pfns::Migrate(m),
        }
    }
}

/// `struct hmm_vma_walk`: the state of ONE `walk_page_range()` call. A new
/// one starts every walk (after each `-EBUSY` restart too), with no pgmap
/// reference held.
struct HmmVmaWalk<'a> {
    r: &'a HmmRange,
    mode: Mode,
    pfns: Pfns<'a>,
    /// Seed 002: the device whose `dev_pagemap` reference this walk holds
    /// (`hmm_vma_walk->pgmap`), taken by `World::hmm_walk_pgmap` and
    /// dropped by `World::hmm_walk_put_pgmap`.
    pgmap: Option<DevId>,
}

impl HmmVmaWalk<'_> {
    fn mig(&mut self) -> &mut Migration {
        match &mut self.pfns {
            Pfns::Migrate(m) => m,
            Pfns::Words(_) | Pfns::Runs(_) => {
                unreachable!("only the collect pass has a migration")
            }
        }
    }

    /// Write the word of absolute page `page`.
    fn set(&mut self, page: u64, w: HmmPfn) {
        let i = page - self.r.start;
        match &mut self.pfns {
            Pfns::Words(words) => words[i as usize] = w,
            Pfns::Runs(runs) => runs.overwrite(i, w, 1),
            Pfns::Migrate(_) => unreachable!("the collect pass writes no HMM words"),
        }
    }

    /// `hmm_pfns_fill()`: every word of `[s, e)` becomes `w`.
    fn fill(&mut self, s: u64, e: u64, w: HmmPfn) {
        let (a, b) = (s - self.r.start, e - self.r.start);
        match &mut self.pfns {
            Pfns::Words(words) => words[a as usize..b as usize].fill(w),
            // The filled words carry no page (0 or ERROR), so they are one
            // run; a word with a page would advance and is written alone.
            Pfns::Runs(runs) if w.page.is_none() => runs.overwrite(a, w, b - a),
            Pfns::Runs(_) => (s..e).for_each(|page| self.set(page, w)),
            Pfns::Migrate(_) => unreachable!("the collect pass writes no HMM words"),
        }
    }

    /// Words `[s, e)` are the run from `first`: page `i` of it is `first`
    /// with its page advanced by `i` (`mmdiff_core::runs::advanced`, which
    /// advances as `Target::advanced` does).
    fn fill_run(&mut self, s: u64, e: u64, first: HmmPfn) {
        let (a, b) = (s - self.r.start, e - self.r.start);
        match &mut self.pfns {
            Pfns::Words(words) => {
                for (i, word) in words[a as usize..b as usize].iter_mut().enumerate() {
                    *word = mmdiff_core::runs::advanced(&first, i as u64);
                }
            }
            Pfns::Runs(runs) => runs.overwrite(a, first, b - a),
            Pfns::Migrate(_) => unreachable!("the collect pass writes no HMM words"),
        }
    }

    /// Write `src[]` of absolute page `page` (entries not written stay 0:
    /// `migrate_vma_setup()` zeroed them, `migrate_vma_collect_skip()`).
    fn set_src(&mut self, page: u64, e: MigrateSrc) {
        let i = (page - self.r.start) as usize;
        self.mig().src[i] = e;
    }
}

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
        let mut runs = PfnRuns::new();
        match self.hmm_walk_loop(&range, Mode::Snapshot, Pfns::Runs(&mut runs)) {
            Ok(_) => {
                // A completed walk wrote every page; words never written
                // are 0, as in the zero-filled array of hmm_range_fault().
                let n = range.end - range.start;
                runs.push_run(HmmPfn::default(), n.saturating_sub(runs.len()));
                Outcome::Ok(Payload::Pfns(runs))
            }
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
            HmmError::Stuck => Outcome::Stuck,
        }
    }

    /// `hmm_range_fault()`: walk `[last, end)` until a walk completes;
    /// a fault restarts the walk at the page it started from, after
    /// `mmu_interval_check_retry()` (a stale snapshot: `EBUSY`).
    pub fn hmm_range_fault(&mut self, r: &HmmRange) -> Result<HmmWalk, HmmError> {
        let mut words = vec![HmmPfn::default(); (r.end - r.start) as usize];
        let faulted = self.hmm_walk_loop(r, Mode::Snapshot, Pfns::Words(&mut words))?;
        Ok(HmmWalk { words, faulted })
    }

    /// The loop of `hmm_range_fault()` in any mode: returns whether a walk
    /// restarted after a fault.
    fn hmm_walk_loop(
        &mut self,
        r: &HmmRange,
        mode: Mode,
        mut pfns: Pfns<'_>,
    ) -> Result<bool, HmmError> {
        let mut last = r.start;
        let mut faulted = false;
        let max_rounds = match mode {
            Mode::Snapshot => {
                let chunks = r.end.div_ceil(NR) - r.start / NR;
                RESTARTS_PER_CHUNK * (chunks as usize + 1)
            }
            // Every restart resumes after the page it faulted: at most one
            // walk per page, plus the last one.
            Mode::MigrateFault { .. } | Mode::MigrateCollect => (r.end - r.start) as usize + 1,
        };
        for _ in 0..max_rounds {
            if self.interval_check_retry(r.seq) {
                return Err(HmmError::Errno(Errno::EBUSY));
            }
            let mut walk = HmmVmaWalk {
                r,
                mode,
                pfns: pfns.reborrow(),
                pgmap: None,
            };
            let res = self.hmm_walk_page_range(&mut walk, last);
            // Seed 002: the ONE exit point of every walk. Whatever ended it
            // (completion, an errno, a sleep, or the -EBUSY restart after a
            // fault: the next round starts a new walk with no reference),
            // the cached dev_pagemap reference is dropped here, before the
            // result is looked at.
            self.hmm_walk_put_pgmap(&mut walk);
            match res {
                Ok(()) => return Ok(faulted),
                Err(Stop::Restart(at)) => {
                    last = at;
                    faulted = true;
                }
                Err(Stop::Errno(e)) => return Err(HmmError::Errno(e)),
                Err(Stop::Blocked(page)) => return Err(HmmError::Blocked(page)),
                Err(Stop::Stuck) => return Err(HmmError::Stuck),
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

    /// Seed 002: the pgmap of the device page `folio` through the walk's
    /// cache (`hmm_vma_walk->pgmap`): the reference already held is reused
    /// when the page belongs to the same device; meeting another device's
    /// page drops it and takes that device's. Returns the page's device
    /// (`None` for system memory, which has no pgmap).
    fn hmm_walk_pgmap(&mut self, w: &mut HmmVmaWalk, folio: FolioId) -> Option<DevId> {
        let Memory::Device(d) = self.folio(folio).memory else {
            return None;
        };
        if w.pgmap != Some(d) {
            self.hmm_walk_put_pgmap(w);
            self.get_dev_pagemap(d);
            w.pgmap = Some(d);
        }
        Some(d)
    }

    /// Seed 002: drop the reference a walk holds, if any.
    fn hmm_walk_put_pgmap(&mut self, w: &mut HmmVmaWalk) {
        if let Some(d) = w.pgmap.take() {
            self.put_dev_pagemap(d);
        }
    }

    /// `get_dev_pagemap()`: a live reference on the device's pgmap. Never
    /// fails here: a device page that is still mapped keeps its pgmap live,
    /// and 6.19 (the oracle) has no failure in HMM to agree with.
    fn get_dev_pagemap(&mut self, d: DevId) {
        self.device_mut(d).pgmap_refs += 1;
    }

    /// `put_dev_pagemap()`.
    fn put_dev_pagemap(&mut self, d: DevId) {
        self.device_mut(d).pgmap_refs -= 1;
    }

    /// Whether a device folio belongs to `dev_private_owner`
    /// (`page_pgmap(page)->owner == range->dev_private_owner`, the pgmap
    /// looked up through the walk's cache). No owner never matches: every
    /// pgmap has one.
    fn hmm_owned(&mut self, w: &mut HmmVmaWalk, folio: FolioId) -> bool {
        let owner = w.r.owner;
        let pgmap = self.hmm_walk_pgmap(w, folio);
        // No owner check: every device's private page is "ours".
        #[cfg(feature = "planted")]
        if planted!(HmmForeignDevicePrivateValid) {
            return pgmap.is_some();
        }
        matches!((pgmap, owner), (Some(d), Some(o)) if d == o)
    }
}
