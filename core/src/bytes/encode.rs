//! The encoder half of the byte format: every function mirrors one
//! decoding function in the parent module, byte for byte.

use super::*;

/// The byte writer: every method mirrors one decoding function above.
pub(super) struct Enc<'a>(pub(super) &'a mut Vec<u8>);

/// How many bytes `int_in_range` reads for a range of width `delta`
/// (arbitrary 1.5.0 `int_in_range_impl`: bytes while `delta >> 8*i > 0`,
/// at most `size_of::<u64>()`).
fn bytes_for(delta: u64) -> usize {
    let mut n = 0;
    while n < 8 && (delta >> (8 * n)) > 0 {
        n += 1;
    }
    n
}

/// The encoding of an edge page or size, if `v` is one.
fn edge_index(v: u32) -> Option<u64> {
    let k = (v as u64 + 8) / PMD_PAGES as u64;
    let d = v as i64 - (k * PMD_PAGES as u64) as i64;
    if (1..=PMD_MULTIPLES).contains(&k) && (-8..=7).contains(&d) {
        Some((k - 1) * EDGE_SPREAD + (d + 8) as u64)
    } else {
        None
    }
}

impl Enc<'_> {
    /// Bytes that make `int_in_range(lo..=hi)` return `v`: the offset
    /// `v - lo` big-endian in exactly as many bytes as the decoder reads.
    /// The offset is at most the delta, so the decoder's modulo keeps it.
    pub(super) fn int(&mut self, lo: u64, hi: u64, v: u64) {
        debug_assert!(lo <= v && v <= hi);
        let n = bytes_for(hi - lo);
        let off = v - lo;
        for i in (0..n).rev() {
            self.0.push((off >> (8 * i)) as u8);
        }
    }
    pub(super) fn sel(&mut self, n: u64, v: u64) {
        self.int(0, n - 1, v)
    }
    pub(super) fn page(&mut self, v: u32) {
        let v64 = v as u64;
        if v64 < SMALL {
            self.pick(&CLASSES, 0);
            self.sel(SMALL, v64);
        } else if v.is_multiple_of(PMD_PAGES) && v64 / (PMD_PAGES as u64) < PMD_MULTIPLES {
            self.pick(&CLASSES, 1);
            self.sel(PMD_MULTIPLES, v64 / PMD_PAGES as u64);
        } else if let Some(e) = edge_index(v) {
            self.pick(&CLASSES, 2);
            self.sel(EDGES, e);
        } else if v64 < WINDOW {
            self.pick(&CLASSES, 3);
            self.sel(WINDOW, v64);
        } else {
            self.pick(&CLASSES, 4);
            self.sel(MAX_PAGE as u64, v64);
        }
    }
    pub(super) fn size(&mut self, n: u32) {
        let n64 = n as u64;
        if (1..=SMALL).contains(&n64) {
            self.pick(&CLASSES, 0);
            self.sel(SMALL, n64 - 1);
        } else if n.is_multiple_of(PMD_PAGES)
            && (1..=PMD_MULTIPLES).contains(&(n64 / PMD_PAGES as u64))
        {
            self.pick(&CLASSES, 1);
            self.sel(PMD_MULTIPLES, n64 / PMD_PAGES as u64 - 1);
        } else if let Some(e) = edge_index(n) {
            self.pick(&CLASSES, 2);
            self.sel(EDGES, e);
        } else if n64 <= WINDOW {
            self.pick(&CLASSES, 3);
            self.sel(WINDOW, n64 - 1);
        } else {
            self.pick(&CLASSES, 4);
            self.sel(MAX_PAGE as u64, n64 - 1);
        }
    }
    /// Validated spans have `start < end <= MAX_PAGE`, so the exact length
    /// decodes back to the exact end (no clamping happens).
    pub(super) fn span(&mut self, start: u32, end: u32) {
        self.page(start);
        self.size(end - start);
    }
    pub(super) fn range(&mut self, r: &PageRange) {
        self.pick(&SLOTS8, r.slot.0);
        self.span(r.start, r.end);
    }
    pub(super) fn at(&mut self, a: &PageAt) {
        self.pick(&SLOTS8, a.slot.0);
        self.page(a.page);
    }
    /// The first index of `table` holding `v` (validated ops only name
    /// slots that every table holds).
    pub(super) fn pick(&mut self, table: &[u8], v: u8) {
        let i = table.iter().position(|x| *x == v).unwrap_or(0);
        self.sel(table.len() as u64, i as u64);
    }
    pub(super) fn proc(&mut self, p: ProcId) {
        self.pick(&SLOTS4, p.0);
    }
    pub(super) fn flag(&mut self, b: bool) {
        self.sel(2, b as u64);
    }
    pub(super) fn prot(&mut self, p: Prot) {
        let i = PROT.iter().position(|x| *x == p).unwrap_or(0);
        self.sel(3, i as u64);
    }
    pub(super) fn zone(&mut self, z: Zone) {
        self.sel(3, z.index() as u64);
    }
    pub(super) fn fill(&mut self, f: Fill) {
        match f {
            Fill::Const(v) if v < 256 => {
                self.sel(4, 0);
                self.sel(256, v);
            }
            Fill::Index(k) if k < 256 => {
                self.sel(4, 1);
                self.sel(256, k);
            }
            Fill::Const(v) => {
                self.sel(4, 2);
                self.int(0, u64::MAX, v);
            }
            Fill::Index(k) => {
                self.sel(4, 3);
                self.int(0, u64::MAX, k);
            }
        }
    }
    pub(super) fn map_kind(&mut self, k: MapKind) {
        let v = match k {
            MapKind::Anon => 0,
            MapKind::AnonShared => 9,
            MapKind::FilePrivate(f) => 11 + f.0 as u64,
            MapKind::FileShared(f) => 15 + f.0 as u64,
            MapKind::Special => 19,
        };
        self.sel(MAP_KINDS, v);
    }
    pub(super) fn hmm_req(&mut self, r: HmmReq) {
        let i = HMM_REQS.iter().position(|x| *x == r).unwrap_or(0);
        self.sel(3, i as u64);
    }
    pub(super) fn gup_flags(&mut self, f: GupFlags) {
        let b = f.pin as u64
            | (f.write as u64) << 1
            | (f.longterm as u64) << 2
            | (f.fast as u64) << 3
            | (f.force as u64) << 4
            | (f.nofault as u64) << 5;
        self.sel(64, b);
    }
}

/// Mirrors `decode_op`; `op` has passed `validate`.
pub(super) fn encode_op(e: &mut Enc, op: &Op) {
    let kind = op.kind();
    let k = OpKind::ALL.iter().position(|x| *x == kind).unwrap_or(0);
    e.sel(OpKind::ALL.len() as u64, k as u64);
    match op {
        Op::Mmap {
            p,
            slot,
            at,
            pages,
            kind,
            prot,
            zone,
            foff,
        } => {
            e.proc(*p);
            e.pick(&SLOTS8, slot.0);
            e.page(*at);
            e.size(*pages);
            e.map_kind(*kind);
            e.prot(*prot);
            e.zone(*zone);
            e.page(*foff);
        }
        Op::Munmap { p, range } | Op::Read { p, range } => {
            e.proc(*p);
            e.range(range);
        }
        Op::Mprotect { p, range, prot } => {
            e.proc(*p);
            e.range(range);
            e.prot(*prot);
        }
        Op::Madvise { p, range, advice } => {
            e.proc(*p);
            e.range(range);
            let a = Advice::ALL.iter().position(|x| x == advice).unwrap_or(0);
            e.sel(Advice::ALL.len() as u64, a as u64);
        }
        Op::Mremap { p, range, to } => {
            e.proc(*p);
            e.range(range);
            e.at(to);
        }
        Op::Fork { p, child } => {
            e.proc(*p);
            e.proc(*child);
        }
        Op::Exit { p } | Op::ClearSoftDirty { p } => e.proc(*p),
        Op::File { f, fs, pages } => {
            e.pick(&SLOTS4, f.0);
            let i = FS.iter().position(|x| x == fs).unwrap_or(0);
            e.sel(2, i as u64);
            e.size(*pages);
        }
        Op::Write { p, range, fill } => {
            e.proc(*p);
            e.range(range);
            e.fill(*fill);
        }
        Op::UffdWp { p, range, on } => {
            e.proc(*p);
            e.range(range);
            e.flag(*on);
        }
        Op::Gup { p, range, h, flags } => {
            e.proc(*p);
            e.range(range);
            e.pick(&SLOTS16, h.0);
            e.gup_flags(*flags);
        }
        Op::Release { h, dirty } => {
            e.pick(&SLOTS16, h.0);
            e.flag(*dirty);
        }
        Op::DmaRead { h, start, end } => {
            e.pick(&SLOTS16, h.0);
            e.span(*start, *end);
        }
        Op::DmaWrite {
            h,
            start,
            end,
            fill,
        } => {
            e.pick(&SLOTS16, h.0);
            e.span(*start, *end);
            e.fill(*fill);
        }
        Op::Reclaim | Op::CmaEvacuate => {}
        Op::SplitThp { p, at } => {
            e.proc(*p);
            e.at(at);
        }
        Op::Lock { x, p, at } => {
            e.pick(&SLOTS4, x.0);
            e.proc(*p);
            e.at(at);
        }
        Op::Unlock { x } => e.pick(&SLOTS4, x.0),
        Op::FailAlloc { zone } => e.zone(*zone),
        Op::IommuPrereg { i, p, range } => {
            e.pick(&SLOTS4, i.0);
            e.proc(*p);
            e.range(range);
        }
        Op::IommuTranslate { i, index } => {
            e.pick(&SLOTS4, i.0);
            e.page(*index);
        }
        Op::IommuUnreg { i } => e.pick(&SLOTS4, i.0),
        Op::HmmFault {
            p,
            range,
            req,
            page_req,
            owner,
            seq,
        } => {
            e.proc(*p);
            e.range(range);
            e.hmm_req(*req);
            e.flag(page_req.is_some());
            if let Some((a, b, k)) = page_req {
                e.span(*a, *b);
                e.hmm_req(*k);
            }
            e.flag(owner.is_some());
            if let Some(d) = owner {
                e.pick(&SLOTS4, d.0);
            }
            e.flag(seq.is_some());
            if let Some(n) = seq {
                e.pick(&SLOTS4, n.0);
            }
        }
        Op::Notifier { n, p, range } => {
            e.pick(&SLOTS4, n.0);
            e.proc(*p);
            e.range(range);
        }
        Op::ReadBegin { n } | Op::ReadRetry { n } => e.pick(&SLOTS4, n.0),
        Op::MigrateSetup {
            s,
            p,
            range,
            select,
            owner,
            fault_page,
        } => {
            e.pick(&SLOTS4, s.0);
            e.proc(*p);
            e.range(range);
            let b = select.system as u64
                | (select.private as u64) << 1
                | (select.coherent as u64) << 2
                | (select.compound as u64) << 3
                | (select.fault as u64) << 4;
            e.sel(32, b);
            e.flag(owner.is_some());
            if let Some(d) = owner {
                e.pick(&SLOTS4, d.0);
            }
            e.flag(fault_page.is_some());
            if let Some(fp) = fault_page {
                e.page(*fp);
            }
        }
        Op::MigrateAlloc {
            s,
            dest,
            fail,
            split,
        } => {
            e.pick(&SLOTS4, s.0);
            e.pick(
                &DESTS,
                match dest {
                    MigrateDest::Device(d) => d.0,
                    MigrateDest::System => DevId::COUNT,
                },
            );
            e.flag(fail.is_some());
            if let Some((a, b)) = fail {
                e.span(*a, *b);
            }
            e.flag(*split);
        }
        Op::MigratePages { s } | Op::MigrateFinalize { s } => e.pick(&SLOTS4, s.0),
        Op::DevWrite { d, p, range, fill } => {
            e.pick(&SLOTS4, d.0);
            e.proc(*p);
            e.range(range);
            e.fill(*fill);
        }
        Op::DevRead { d, p, range }
        | Op::MigrateToDev { d, p, range }
        | Op::MigrateToSys { d, p, range }
        | Op::DevSnapshot { d, p, range }
        | Op::DevExclusive { d, p, range }
        | Op::DevCheckExclusive { d, p, range } => {
            e.pick(&SLOTS4, d.0);
            e.proc(*p);
            e.range(range);
        }
        Op::DevRelease { d } | Op::DevFailAlloc { d } => e.pick(&SLOTS4, d.0),
        Op::DevClose { d, p } => {
            e.pick(&SLOTS4, d.0);
            e.proc(*p);
        }
    }
}
