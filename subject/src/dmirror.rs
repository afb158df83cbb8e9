//! The `lib/test_hmm.c` driver ("dmirror"): the READ, WRITE, SNAPSHOT,
//! EXCLUSIVE and CHECK_EXCLUSIVE ioctls (the migration ioctls live in
//! `dmirror_migrate`).
//!
//! A mirror is the device page table of one (device, process) pair
//! (`World::mirror_mut`): absolute page -> (page, tag). Its interval
//! notifier covers the whole address space and is modelled by
//! `World::invalidate`, which erases the mirror's entries of an
//! invalidated range (except for the device's own migrations). The device
//! reads and writes a page through its entry: the folio's contents (the
//! zero pages read 0).
//!
//! Model decisions (the reference is silent):
//! * Every ioctl first opens the mirror (`dmirror_fops_open`): a mirror
//!   that did not exist yet appears, empty.
//! * `dmirror_range_fault()`'s retry (`mmu_interval_read_retry()` on the
//!   mirror's notifier) is modelled as: a walk that took a fault is done
//!   again before its words are stored. Only faults change the page table
//!   during the call, and a fault never changes entries below the page the
//!   walk restarts from, so a repeated walk yields exactly the words the
//!   kernel stores after its own retry. `HMM_RANGE_DEFAULT_TIMEOUT` is a
//!   bound of 16 walks per chunk, then `EBUSY`.
//! * A device fault round that leaves the range no better (READ/WRITE loop)
//!   is bounded too: 64 rounds, then `blocked` at the first missing page.
//! * CHECK_EXCLUSIVE returns plain `ok` (its cpages and faults are 0).

use mmdiff_core::op::{DevId, Fill, HmmReq};
use mmdiff_core::outcome::{Errno, HmmPfn, Outcome, Payload};
use mmdiff_core::state::{Memory, MirrorTag, PageRef};

use crate::exclusive_range::RangeError;
use crate::hmm::{HmmError, HmmRange};
use crate::world::World;

/// Walks per chunk in `dmirror_range_fault()` before it gives up
/// (`HMM_RANGE_DEFAULT_TIMEOUT`).
const RANGE_FAULT_TRIES: usize = 16;

/// Device fault rounds one READ/WRITE may take.
const MAX_FAULT_ROUNDS: usize = 64;

// HMM_DMIRROR_PROT_* (lib/test_hmm_uapi.h).
const PROT_ERROR: u8 = 0xFF;
const PROT_NONE: u8 = 0x00;
const PROT_READ: u8 = 0x01;
const PROT_WRITE: u8 = 0x02;
const PROT_PMD: u8 = 0x04;
const PROT_ZERO: u8 = 0x10;
const PROT_DEV_PRIVATE_LOCAL: u8 = 0x20;
const PROT_DEV_PRIVATE_REMOTE: u8 = 0x30;
const PROT_DEV_COHERENT_LOCAL: u8 = 0x40;
const PROT_DEV_COHERENT_REMOTE: u8 = 0x50;

impl World {
    /// `HMM_DMIRROR_READ` over absolute pages `[start, end)`; `base` is the
    /// window-relative page of `start`.
    ///
    /// `dmirror_read()`: copy pages through the device page table; at the
    /// first page without an entry, fault the rest of the range in
    /// (`dmirror_fault`, one fault round) and go on from that page.
    pub fn dev_read(&mut self, d: DevId, p: usize, start: u64, end: u64, base: u64) -> Outcome {
        self.mirror_mut(d, p);
        let mut values = Vec::with_capacity((end - start) as usize);
        let mut faults = 0;
        loop {
            let from = start + values.len() as u64;
            let missing = self.dmirror_do_read(d, p, from, end, &mut values);
            let Some(at) = missing else { break };
            if faults as usize == MAX_FAULT_ROUNDS {
                return self.hmm_error_outcome(HmmError::Blocked(at));
            }
            if let Err(e) = self.dmirror_fault(d, p, at, end, false) {
                return self.hmm_error_outcome(e);
            }
            faults += 1;
        }
        Outcome::Ok(Payload::Dev {
            cpages: values.len() as u64,
            faults,
            data: Some((base, values)),
        })
    }

    /// `HMM_DMIRROR_WRITE`: `dmirror_write()`, like READ but through
    /// entries tagged WRITE only, faulting with `REQ_WRITE`. Page `start+i`
    /// gets `fill.value_at(base + i)`.
    pub fn dev_write(
        &mut self,
        d: DevId,
        p: usize,
        start: u64,
        end: u64,
        base: u64,
        fill: Fill,
    ) -> Outcome {
        self.mirror_mut(d, p);
        let mut cpages = 0;
        let mut faults = 0;
        loop {
            let missing = self.dmirror_do_write(d, p, start, start + cpages, end, base, fill);
            let at = match missing {
                Ok(()) => break,
                Err(at) => at,
            };
            cpages = at - start;
            if faults as usize == MAX_FAULT_ROUNDS {
                return self.hmm_error_outcome(HmmError::Blocked(at));
            }
            if let Err(e) = self.dmirror_fault(d, p, at, end, true) {
                return self.hmm_error_outcome(e);
            }
            faults += 1;
        }
        Outcome::Ok(Payload::Dev {
            cpages: end - start,
            faults,
            data: None,
        })
    }

    /// `HMM_DMIRROR_SNAPSHOT`: `dmirror_snapshot()`, a pure walk
    /// (`default_flags` 0, so nothing is faulted and nothing fails) in
    /// chunks of 32 pages, one `HMM_DMIRROR_PROT_*` byte per page. The
    /// temporary notifier of `dmirror_range_snapshot()` never fires: a
    /// walk without faults changes nothing.
    pub fn dev_snapshot(&mut self, d: DevId, p: usize, start: u64, end: u64) -> Outcome {
        self.mirror_mut(d, p);
        let mut bytes = Vec::with_capacity((end - start) as usize);
        let mut addr = start;
        while addr < end {
            let next = (addr + self.cfg.kernel.dmirror_chunk_pages()).min(end);
            let range = HmmRange {
                p,
                start: addr,
                end: next,
                default: HmmReq::None,
                page_req: None,
                owner: Some(d),
                seq: None,
            };
            match self.hmm_range_fault(&range) {
                Ok(walk) => bytes.extend(walk.words.iter().map(|w| self.dmirror_mkentry(d, w))),
                Err(e) => return self.hmm_error_outcome(e),
            }
            addr = next;
        }
        Outcome::Ok(Payload::Snapshot(bytes))
    }

    /// `HMM_DMIRROR_EXCLUSIVE`: `dmirror_exclusive()`. Page by page,
    /// `make_device_exclusive()` (the first failure is the ioctl's error;
    /// pages before it stay exclusive), `dmirror_atomic_map()` (the page
    /// with the ATOMIC tag), then `folio_unlock` and `folio_put`; before
    /// 6.15 by ranges ([`World::dmirror_exclusive_range`]). Then the range
    /// is read back through the device page table (`ENOENT` if an entry
    /// went missing).
    pub fn dev_exclusive(
        &mut self,
        d: DevId,
        p: usize,
        start: u64,
        end: u64,
        base: u64,
    ) -> Outcome {
        self.mirror_mut(d, p);
        let made = if self.cfg.kernel.device_exclusive_keeps_mapcount() {
            self.make_exclusive_pages(d, p, start, end)
        } else {
            self.dmirror_exclusive_range(d, p, start, end)
                .map_err(|e| match e {
                    RangeError::Busy => Outcome::Err(Errno::EBUSY),
                    RangeError::Blocked(page) => self.hmm_error_outcome(HmmError::Blocked(page)),
                })
        };
        if let Err(outcome) = made {
            return outcome;
        }
        let mut values = Vec::with_capacity((end - start) as usize);
        if self
            .dmirror_do_read(d, p, start, end, &mut values)
            .is_some()
        {
            return Outcome::Err(Errno::ENOENT);
        }
        Outcome::Ok(Payload::Dev {
            cpages: values.len() as u64,
            faults: 0,
            data: Some((base, values)),
        })
    }

    /// The 6.15+ loop of `dmirror_exclusive()`: `make_device_exclusive()`
    /// page by page, each mapped ATOMIC, unlocked and put; the first
    /// failure is the ioctl's (pages before it stay exclusive).
    fn make_exclusive_pages(
        &mut self,
        d: DevId,
        p: usize,
        start: u64,
        end: u64,
    ) -> Result<(), Outcome> {
        for page in start..end {
            match self.make_device_exclusive(p, page, d) {
                Ok((folio, sub)) => {
                    let target = PageRef::Folio { folio, page: sub };
                    self.mirror_mut(d, p)
                        .insert(page, (target, MirrorTag::Atomic));
                    self.folio_mut(folio).locked = false;
                    self.folio_put(folio, 1);
                }
                Err(Some(e)) => return Err(Outcome::Err(e)),
                Err(None) => return Err(self.hmm_error_outcome(HmmError::Blocked(page))),
            }
        }
        Ok(())
    }

    /// `HMM_DMIRROR_CHECK_EXCLUSIVE`: `dmirror_check_atomic()`, `EPERM`
    /// while any entry of the range is still tagged ATOMIC.
    pub fn dev_check_exclusive(&mut self, d: DevId, p: usize, start: u64, end: u64) -> Outcome {
        let mirror = self.mirror_mut(d, p);
        if mirror
            .runs_in(start, end)
            .any(|(_, r)| r.tag == MirrorTag::Atomic)
        {
            return Outcome::Err(Errno::EPERM);
        }
        Outcome::OK
    }

    /// `dmirror_do_read()` from `from`: append the value of every page up
    /// to the first one without an entry, which is returned.
    fn dmirror_do_read(
        &self,
        d: DevId,
        p: usize,
        from: u64,
        end: u64,
        values: &mut Vec<u64>,
    ) -> Option<u64> {
        let mirror = self.device(d).mirrors.get(&p);
        for page in from..end {
            let Some((target, _)) = mirror.and_then(|m| m.get(page)) else {
                return Some(page);
            };
            values.push(self.dmirror_page_value(target));
        }
        None
    }

    /// `dmirror_do_write()` from `from`: write every page up to the first
    /// one without a WRITE-tagged entry, which is returned.
    #[allow(clippy::too_many_arguments)]
    fn dmirror_do_write(
        &mut self,
        d: DevId,
        p: usize,
        start: u64,
        from: u64,
        end: u64,
        base: u64,
        fill: Fill,
    ) -> Result<(), u64> {
        for page in from..end {
            let entry = self.device(d).mirrors.get(&p).and_then(|m| m.get(page));
            let Some((target, MirrorTag::Write)) = entry else {
                return Err(page);
            };
            let value = fill.value_at(base + (page - start));
            match target {
                PageRef::Folio { folio, page: sub } => match self.folios.get_mut(&folio) {
                    Some(f) => f.contents.set(sub as usize, value),
                    None => debug_assert!(false, "device table entry of a freed folio"),
                },
                PageRef::Zero | PageRef::HugeZero { .. } => {
                    debug_assert!(false, "the zero page is never writable")
                }
            }
        }
        Ok(())
    }

    /// What the device reads through an entry (`memcpy_from_page`).
    fn dmirror_page_value(&self, target: PageRef) -> u64 {
        match target {
            PageRef::Folio { folio, page } => match self.folios.get(&folio) {
                Some(f) => f.contents.get(page as usize),
                None => {
                    debug_assert!(false, "device table entry of a freed folio");
                    0
                }
            },
            PageRef::Zero | PageRef::HugeZero { .. } => 0,
        }
    }

    /// `dmirror_fault()`: `dmirror_range_fault()` over `[start, end)` in
    /// chunks of 32 pages; the first failing chunk's error is the result.
    fn dmirror_fault(
        &mut self,
        d: DevId,
        p: usize,
        start: u64,
        end: u64,
        write: bool,
    ) -> Result<(), HmmError> {
        let mut addr = start;
        while addr < end {
            let next = (addr + self.cfg.kernel.dmirror_chunk_pages()).min(end);
            self.dmirror_range_fault(d, p, addr, next, write)?;
            addr = next;
        }
        Ok(())
    }

    /// `dmirror_range_fault()`: `hmm_range_fault()` with
    /// `default_flags = REQ_FAULT [| REQ_WRITE]`, `pfn_flags_mask = 0`,
    /// owner = this device, retried until a walk's words are still valid
    /// (see the module notes), then `dmirror_do_fault()`.
    fn dmirror_range_fault(
        &mut self,
        d: DevId,
        p: usize,
        start: u64,
        end: u64,
        write: bool,
    ) -> Result<(), HmmError> {
        let range = HmmRange {
            p,
            start,
            end,
            default: if write { HmmReq::Write } else { HmmReq::Fault },
            page_req: None,
            owner: Some(d),
            seq: None,
        };
        for _ in 0..RANGE_FAULT_TRIES {
            let walk = self.hmm_range_fault(&range)?;
            if walk.faulted {
                continue;
            }
            return self.dmirror_do_fault(d, p, start, &walk.words, write);
        }
        Err(HmmError::Errno(Errno::EBUSY))
    }

    /// `dmirror_do_fault()`: store every page in the device page table,
    /// tagged WRITE when `HMM_PFN_WRITE` is set. A write fault that got a
    /// read-only page (an owned read-only device-private page: HMM never
    /// faults those) fails with `EFAULT` at that page; pages before it are
    /// stored. A device-private page of this device is stored as itself.
    fn dmirror_do_fault(
        &mut self,
        d: DevId,
        p: usize,
        start: u64,
        words: &[HmmPfn],
        write: bool,
    ) -> Result<(), HmmError> {
        for (i, w) in words.iter().enumerate() {
            // hmm_range_fault() succeeded with REQ_FAULT on every page:
            // every word is VALID (reference §6 item 21).
            let Some(target) = w.page.filter(|_| w.valid && !w.error) else {
                debug_assert!(false, "hmm_range_fault returned an invalid word");
                return Err(HmmError::Errno(Errno::EFAULT));
            };
            let tag = if w.write {
                MirrorTag::Write
            } else if write {
                return Err(HmmError::Errno(Errno::EFAULT));
            } else {
                MirrorTag::Read
            };
            self.mirror_mut(d, p)
                .insert(start + i as u64, (target, tag));
        }
        Ok(())
    }

    /// `dmirror_mkentry()`: the snapshot byte of one word. The page's type
    /// (device-private or coherent memory of this device or another, the
    /// zero page, anything else), then READ or WRITE, then PMD for order 9.
    /// `is_zero_pfn()` is only the 4 KiB zero page: the huge zero page's
    /// type is NONE (`0x05` read-only at PMD level).
    fn dmirror_mkentry(&self, d: DevId, w: &HmmPfn) -> u8 {
        if w.error {
            return PROT_ERROR;
        }
        if !w.valid {
            return PROT_NONE;
        }
        let ty = match w.page {
            Some(PageRef::Folio { folio, .. }) => match self.folio(folio).memory {
                Memory::Device(dev) => match (dev.coherent(), dev == d) {
                    (false, true) => PROT_DEV_PRIVATE_LOCAL,
                    (false, false) => PROT_DEV_PRIVATE_REMOTE,
                    (true, true) => PROT_DEV_COHERENT_LOCAL,
                    (true, false) => PROT_DEV_COHERENT_REMOTE,
                },
                Memory::Zone(_) => PROT_NONE,
            },
            Some(PageRef::Zero) => PROT_ZERO,
            Some(PageRef::HugeZero { .. }) | None => PROT_NONE,
        };
        let access = if w.write { PROT_WRITE } else { PROT_READ };
        let level = if w.order == 9 { PROT_PMD } else { 0 };
        ty | access | level
    }
}
