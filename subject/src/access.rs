//! CPU loads and stores: the `read` and `write` ops.
//!
//! An access that finds a usable entry completes (the hardware sets the
//! accessed bit, and the dirty bit for a store); otherwise it faults and
//! tries again.
//!
//! Fast path: once one page of a present PMD leaf has been accessed, the
//! rest of the leaf inside the same VMA is accessed in one step. The
//! oracle rule it preserves (oracle `cpu_access`, page by page): each of
//! those pages would find the same present leaf, already young (and dirty
//! and writable for a store), and complete without a fault, so only the
//! values move.

use mmdiff_core::op::{Fill, PageRange};
use mmdiff_core::outcome::{Outcome, Payload, Signal};
use mmdiff_core::state::{Entry, Target};

use crate::fault::{FaultError, FaultKind, MAX_FAULTS};
use crate::world::World;

/// Why an access stopped.
enum Stop {
    Signal(Signal),
    Blocked,
}

impl Stop {
    fn outcome(self, page: u32) -> Outcome {
        match self {
            Stop::Signal(sig) => Outcome::Signal { sig, page },
            Stop::Blocked => Outcome::Blocked { page },
        }
    }
}

impl World {
    pub fn cpu_read(&mut self, p: usize, range: &PageRange) -> Outcome {
        let base = self.cfg.window_base(range.slot.0);
        let mut values = Vec::with_capacity(range.len() as usize);
        let mut rel = range.start;
        while rel < range.end {
            let page = base + rel as u64;
            if let Err(stop) = self.cpu_access(p, page, false) {
                return stop.outcome(rel);
            }
            let n = self.leaf_batch(p, page, base + range.end as u64, false);
            match self.entry(p, page) {
                Some(Entry::Present {
                    target: Target::Folio { folio, page: sub },
                    ..
                }) if n > 1 => {
                    self.folio(folio)
                        .contents
                        .extend_values(&mut values, sub, n as u32);
                }
                _ => values.push(self.page_value(p, page)),
            }
            rel += n as u32;
        }
        Outcome::Ok(Payload::Data {
            base: range.start as u64,
            values,
        })
    }

    pub fn cpu_write(&mut self, p: usize, range: &PageRange, fill: Fill) -> Outcome {
        let base = self.cfg.window_base(range.slot.0);
        let mut rel = range.start;
        while rel < range.end {
            let page = base + rel as u64;
            if let Err(stop) = self.cpu_access(p, page, true) {
                return stop.outcome(rel);
            }
            let n = self.leaf_batch(p, page, base + range.end as u64, true);
            match self.entry(p, page) {
                Some(Entry::Present {
                    target: Target::Folio { folio, page: sub },
                    ..
                }) if n > 1 => {
                    // Page `rel + i` gets `fill.value_at(rel + i)`: one
                    // contents run for the batch (a constant or the index
                    // pattern). Oracle rule preserved (`cpu_write`, page
                    // by page): the folio reads as after those stores.
                    self.folio_mut(folio)
                        .contents
                        .fill_pattern(sub, n as u32, fill, rel as u64);
                }
                _ => self.set_page_value(p, page, fill.value_at(rel as u64)),
            }
            rel += n as u32;
        }
        #[cfg(feature = "planted")]
        if planted!(Canary) && range.start <= 1 && 1 < range.end {
            self.set_page_value(p, base + 1, fill.value_at(1).wrapping_add(1));
        }
        Outcome::OK
    }

    /// How many pages from `page` (just accessed) up to `end` the access
    /// covers in one step: the rest of a present folio PMD leaf inside the
    /// same VMA, or just `page`.
    fn leaf_batch(&self, p: usize, page: u64, end: u64, write: bool) -> u64 {
        let Some(leaf @ Entry::Present { bits, .. }) = self.mm(p).pt.leaf(page) else {
            return 1;
        };
        if leaf.folio_page().is_none() || (write && !bits.write) {
            return 1;
        }
        let Some(vma) = self.vma_at(p, page) else {
            return 1;
        };
        let leaf_end = World::pmd_start(page) + World::pmd_pages();
        end.min(leaf_end).min(vma.end) - page
    }

    /// One access: `SIGSEGV` without a VMA allowing it (`access_error`),
    /// otherwise fault until the entry allows it.
    fn cpu_access(&mut self, p: usize, page: u64, write: bool) -> Result<(), Stop> {
        let Some(vma) = self.vma_at(p, page) else {
            return Err(Stop::Signal(Signal::Segv));
        };
        if !vma.prot.readable() || (write && !vma.prot.writable()) {
            return Err(Stop::Signal(Signal::Segv));
        }
        for _ in 0..MAX_FAULTS {
            if let Some(Entry::Present { bits, .. }) = self.entry(p, page) {
                if !write || bits.write {
                    self.update_bits(p, page, |b| {
                        b.young = true;
                        b.dirty |= write;
                    });
                    return Ok(());
                }
            }
            let kind = if write {
                FaultKind::WRITE
            } else {
                FaultKind::READ
            };
            self.handle_fault(p, page, kind).map_err(|e| match e {
                FaultError::Bus => Stop::Signal(Signal::Bus),
                FaultError::Oom => Stop::Signal(Signal::Oom),
                // A CPU fault may retry: userfaultfd waits for its handler.
                FaultError::Blocked | FaultError::Userfault => Stop::Blocked,
            })?;
        }
        Err(Stop::Blocked)
    }

    /// The value at a mapped page (the zero pages read 0).
    pub fn page_value(&self, p: usize, page: u64) -> u64 {
        match self.entry(p, page) {
            Some(Entry::Present { target, .. }) => self.target_value(&target),
            _ => 0,
        }
    }

    pub fn target_value(&self, target: &Target) -> u64 {
        match *target {
            Target::Folio { folio, page } => self.folio(folio).contents.get(page as usize),
            Target::Zero | Target::HugeZero { .. } => 0,
            Target::Io { obj, page } => self
                .objects
                .get(&obj)
                .and_then(|o| o.backing.get(&(page as u64)).copied())
                .unwrap_or(0),
        }
    }

    fn set_page_value(&mut self, p: usize, page: u64, value: u64) {
        match self.entry(p, page) {
            Some(Entry::Present {
                target: Target::Folio { folio, page: sub },
                ..
            }) => self.folio_mut(folio).contents.set(sub as usize, value),
            Some(Entry::Present {
                target: Target::Io { obj, page: idx },
                ..
            }) => {
                if let Some(o) = self.objects.get_mut(&obj) {
                    o.backing.insert(idx as u64, value);
                }
            }
            _ => debug_assert!(false, "store to a page that is not writable"),
        }
    }
}
