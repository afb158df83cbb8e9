//! What the oracle's integration tests share: a checked oracle that asserts
//! the invariants of the canonical state after every op, and lookups into
//! the raw state. Each test file uses what it needs.

#![allow(dead_code)]

use mmdiff_core::op::{MapKind, PageRange, ProcId, Prot, SlotId, Zone};
use mmdiff_core::state::{Entry, FolioState, State};
use mmdiff_core::{Config, Model, Op, Outcome, Payload};
use mmdiff_oracle::Oracle;

pub const P0: ProcId = ProcId(0);
pub const P1: ProcId = ProcId(1);
pub const M0: SlotId = SlotId(0);

/// The oracle, with the invariants of the canonical state checked after
/// every op: a test that exercises a path also checks every counter it
/// touches.
pub struct Checked(Oracle);

impl Model for Checked {
    fn new(config: &Config) -> Self {
        Checked(Oracle::new(config))
    }

    fn name(&self) -> &'static str {
        "oracle"
    }

    fn apply(&mut self, op: &Op) -> Outcome {
        let out = self.0.apply(op);
        let (canon, _) = mmdiff_core::canon::canonicalize(&self.0.raw_state());
        let broken = mmdiff_core::invariants::check(&canon);
        assert!(broken.is_empty(), "after {op:?}: {broken:#?}");
        out
    }

    fn raw_state(&self) -> State {
        self.0.raw_state()
    }
}

/// A fresh checked oracle with the default config.
pub fn oracle() -> Checked {
    Checked::new(&Config::default())
}

/// Pages `[start, end)` of window `m0`.
pub fn r(start: u32, end: u32) -> PageRange {
    PageRange::new(M0, start, end)
}

/// The absolute page number of page `page` of window `m0`.
pub fn abs(page: u32) -> u64 {
    Config::default().window_base(0) + page as u64
}

/// Applies `op` and asserts it returned plain `ok`.
pub fn apply_ok(o: &mut impl Model, op: Op) {
    assert_eq!(o.apply(&op), Outcome::OK, "{op:?}");
}

/// `mmap` of `pages` pages at page `at` of window `slot` in `p0`.
pub fn mmap_op(slot: SlotId, at: u32, pages: u32, kind: MapKind, prot: Prot, zone: Zone) -> Op {
    Op::Mmap {
        p: P0,
        slot,
        at,
        pages,
        kind,
        prot,
        zone,
        foff: 0,
    }
}

/// The values of a successful `read` / `dma-read`.
pub fn values(out: &Outcome) -> Vec<u64> {
    match out {
        Outcome::Ok(Payload::Data { values, .. }) => values.clone(),
        other => panic!("not data: {other:?}"),
    }
}

/// The entry of process `p` at page `page` of window `m0` (raw state).
pub fn entry(s: &State, p: ProcId, page: u32) -> Option<Entry> {
    let a = abs(page);
    let proc = s.procs.iter().find(|x| x.id == p)?;
    proc.entries
        .iter()
        .find(|run| run.start <= a && a < run.start + run.len as u64)
        .map(|run| run.entry.advanced((a - run.start) as u32))
}

/// The folio behind the entry of `p` at `page` (any entry kind that names
/// one).
pub fn folio_at(s: &State, p: ProcId, page: u32) -> &FolioState {
    match entry(s, p, page).and_then(|e| e.folio_page()) {
        Some((folio, _)) => &s.folios[&folio],
        None => panic!("no folio at {p} page {page}: {:?}", entry(s, p, page)),
    }
}
