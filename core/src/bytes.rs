//! The byte decoder: the one function that turns fuzzer bytes into ops, and
//! its inverse.
//!
//! Every byte string decodes to a valid op sequence (each op passes
//! [`Op::validate`]) of at most [`MAX_OPS`] ops, and every valid sequence of
//! at most [`MAX_OPS`] ops encodes to bytes that decode back to it. libFuzzer,
//! AFL, proptest, the campaign and triage all go through [`decode`], so the
//! layout below is a file format: byte corpora depend on it. Change it only
//! together with the golden tests (`bytes/tests.rs`), and expect every
//! stored byte corpus to decode differently afterwards.
//!
//! # Primitive
//!
//! Everything is read with `arbitrary::Unstructured::int_in_range::<u64>`
//! (arbitrary pinned at 1.5.0). `sel(n)` below means `int_in_range(0..=n-1)`:
//! it reads as many bytes as the range's delta `n-1` needs (1 byte for
//! `n <= 256`, 2 for `n <= 65536`, 3 for `n <= 2^24`, 8 for a full `u64`),
//! big-endian, and takes the result modulo `n`. When the input runs out in the
//! middle of a value, the bytes read so far are used (none: the value is 0),
//! so a truncated op still decodes to a valid op.
//!
//! # Fields
//!
//! | field  | encoding |
//! |--------|----------|
//! | `proc` `file` `lock` `iommu` `dev` `notifier` `session` | `sel(8)` into `[0,0,0,0,0,1,2,3]` (dev0 is device-private) |
//! | `slot` | `sel(16)` into `[0,0,0,0,0,0,0,1,1,1,2,3,4,5,6,7]` |
//! | `handle` | `sel(32)` into `[12×0, 5×1, 2×2, 3, 4, .., 15]` |
//! | `bool` | `sel(2)` (odd byte = true) |
//! | `prot` | `sel(3)`: none, r, rw |
//! | `zone` | `sel(3)`: normal, movable, cma |
//! | `advice` | `sel(8)` in [`Advice::ALL`] order: dontneed, free, hugepage, nohugepage, collapse, pageout, dontfork, dofork |
//! | `fs` | `sel(2)`: tmpfs, ext4 |
//! | `kind` | `sel(20)`: 0..=8 anon, 9..=10 anon-shared, 11+f file-private f, 15+f file-shared f, 19 special |
//! | `flags` | `sel(64)`: bit 0 pin, 1 write, 2 longterm, 3 fast, 4 force, 5 nofault |
//! | `req` | `sel(3)`: none, fault, write |
//! | `select` | `sel(32)`: bit 0 system, 1 private, 2 coherent, 3 compound, 4 fault |
//! | `dest` | `sel(8)` into `[0,0,0,1,2,3,4,4]`: 0..=3 `dev<k>`, 4 `sys` |
//! | `opt(X)` | `bool`; when true, then `X` (`None` when false) |
//! | `P` page (`0..MAX_PAGE`) | class `sel(8)` into `[0,0,0,1,2,2,3,4]`, then 0: `sel(32)`; 1: `512*sel(4)`; 2: edge `e(sel(64))`; 3: `sel(2048)` (2 bytes); 4: `sel(MAX_PAGE)` (3 bytes) |
//! | `N` size (`1..=MAX_PAGE`) | class as for `P`, then 0: `1+sel(32)`; 1: `512*(1+sel(4))`; 2: edge `e(sel(64))`; 3: `1+sel(2048)`; 4: `1+sel(MAX_PAGE)` |
//! | `R` range | `slot`, start `P`, length `N`; end = min(start+length, MAX_PAGE) |
//! | `A` page-at | `slot`, `P` |
//! | `FILL` | class `sel(4)`, then 0: `Const(sel(256))`; 1: `Index(sel(256))`; 2: `Const(u64)` (8 bytes); 3: `Index(u64)` (8 bytes) |
//!
//! The edge function `e(v) = (v/16 + 1)*512 + v%16 - 8` lands within
//! `-8..=7` pages of the PMD boundaries 512, 1024, 1536, 2048 (504..=2055). The classes
//! put random bytes mostly onto the places where behaviour changes in the
//! default 2048-page window. The slot tables (a slot-id field reads an
//! index into a table that repeats the first slots) and the kind weights do
//! the same for ids: random bytes mostly meet what earlier ops created. The
//! encoder writes the first table index holding the wanted value.
//!
//! # Ops
//!
//! Each op is a kind `sel(43)` in [`OpKind::ALL`] order, then its fields:
//!
//! | kind | fields |
//! |------|--------|
//! | 0 mmap | proc, slot, at `P`, pages `N`, kind, prot, zone, foff `P` |
//! | 1 munmap | proc, `R` |
//! | 2 mprotect | proc, `R`, prot |
//! | 3 madvise | proc, `R`, advice |
//! | 4 mremap | proc, `R`, to `A` |
//! | 5 fork | proc, child proc |
//! | 6 exit | proc |
//! | 7 file | file, fs, pages `N` |
//! | 8 read | proc, `R` |
//! | 9 write | proc, `R`, `FILL` |
//! | 10 clear-soft-dirty | proc |
//! | 11 uffd-wp | proc, `R`, on bool |
//! | 12 gup | proc, `R`, handle, flags |
//! | 13 release | handle, dirty bool |
//! | 14 dma-read | handle, start `P`, length `N` (end clamped like `R`) |
//! | 15 dma-write | handle, start `P`, length `N`, `FILL` |
//! | 16 reclaim | — |
//! | 17 split-thp | proc, `A` |
//! | 18 lock | lock, proc, `A` |
//! | 19 unlock | lock |
//! | 20 cma-evacuate | — |
//! | 21 fail-alloc | zone |
//! | 22 iommu-prereg | iommu, proc, `R` |
//! | 23 iommu-translate | iommu, index `P` |
//! | 24 iommu-unreg | iommu |
//! | 25 hmm-fault | proc, `R`, req, page-req `opt(`start `P`, length `N` (end clamped like `R`), req`)`, owner `opt(dev)`, seq `opt(notifier)` |
//! | 26 notifier | notifier, proc, `R` |
//! | 27 read-begin | notifier |
//! | 28 read-retry | notifier |
//! | 29 migrate-setup | session, proc, `R`, select, owner `opt(dev)`, fault-page `opt(P)` |
//! | 30 migrate-alloc | session, dest, fail `opt(`start `P`, length `N``)`, split bool |
//! | 31 migrate-pages | session |
//! | 32 migrate-finalize | session |
//! | 33 dev-read | dev, proc, `R` |
//! | 34 dev-write | dev, proc, `R`, `FILL` |
//! | 35 migrate-to-dev | dev, proc, `R` |
//! | 36 migrate-to-sys | dev, proc, `R` |
//! | 37 dev-snapshot | dev, proc, `R` |
//! | 38 dev-exclusive | dev, proc, `R` |
//! | 39 dev-check-exclusive | dev, proc, `R` |
//! | 40 dev-release | dev |
//! | 41 dev-fail-alloc | dev |
//! | 42 dev-close | dev, proc |
//!
//! Decoding stops when the input is exhausted or [`MAX_OPS`] ops were
//! decoded; bytes after the [`MAX_OPS`]-th op are ignored.

use arbitrary::Unstructured;

use crate::op::{
    Advice, DevId, FileId, Fill, FsKind, GupFlags, HandleId, HmmReq, IommuId, LockId, MapKind,
    MigrateDest, MigrateSelect, NotifierId, Op, OpKind, PageAt, PageRange, ProcId, Prot, SessionId,
    SlotId, Zone, MAX_PAGE, PMD_PAGES,
};

/// The most ops one byte string decodes to: keeps every fuzz input cheap.
pub const MAX_OPS: usize = 256;

/// Page and size classes (0 small, 1 PMD multiple, 2 PMD edge, 3 window,
/// 4 full range), weighted toward small numbers: small ranges inside a
/// window are the ones most likely to meet an earlier mapping.
const CLASSES: [u8; 8] = [0, 0, 0, 1, 2, 2, 3, 4];
const SMALL: u64 = 32;
const PMD_MULTIPLES: u64 = 4;
const EDGES: u64 = 64;
const EDGE_SPREAD: u64 = 16;
const WINDOW: u64 = 2048;
const PROT: [Prot; 3] = [Prot::None, Prot::R, Prot::RW];
const FS: [FsKind; 2] = [FsKind::Tmpfs, FsKind::Ext4];
const MAP_KINDS: u64 = 20;
/// Slot tables: random bytes mostly name the first slots of each kind, so
/// that ops meet what earlier ops created (`p0` exists from the start; a
/// `gup` and a later `release` must name the same handle) and random
/// sequences are coherent more often. Every slot stays reachable.
const SLOTS4: [u8; 8] = [0, 0, 0, 0, 0, 1, 2, 3];
const SLOTS8: [u8; 16] = [0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 3, 4, 5, 6, 7];
/// `migrate-alloc` destinations: 0..=3 device `dev<k>`, 4 system memory;
/// dev0 (a private device, the selftests' usual target) most often.
const DESTS: [u8; 8] = [0, 0, 0, 1, 2, 3, 4, 4];
const HMM_REQS: [HmmReq; 3] = [HmmReq::None, HmmReq::Fault, HmmReq::Write];
const SLOTS16: [u8; 32] = [
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
    14, 15,
];

/// Decode bytes into a valid op sequence of at most [`MAX_OPS`] ops.
pub fn decode(data: &[u8]) -> Vec<Op> {
    let mut u = Unstructured::new(data);
    let mut ops = Vec::new();
    while !u.is_empty() && ops.len() < MAX_OPS {
        ops.push(decode_op(&mut u));
    }
    ops
}

/// Encode a valid op sequence so that [`decode`] returns it exactly.
pub fn encode(ops: &[Op]) -> Result<Vec<u8>, String> {
    if ops.len() > MAX_OPS {
        return Err(format!(
            "{} ops exceed the byte format's limit of {MAX_OPS}",
            ops.len()
        ));
    }
    let mut out = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        op.validate().map_err(|e| format!("op {i}: {e}"))?;
        encode_op(&mut Enc(&mut out), op);
    }
    Ok(out)
}

// ---------------------------------------------------------------- decoding

/// `int_in_range(lo..=hi)`. It only fails on an empty range (never here);
/// falling back to `lo` keeps the decoder total without `unwrap`.
fn int(u: &mut Unstructured, lo: u64, hi: u64) -> u64 {
    u.int_in_range(lo..=hi).unwrap_or(lo)
}

fn sel(u: &mut Unstructured, n: u64) -> u64 {
    int(u, 0, n - 1)
}

/// `sel(n)` for `n <= 256`, as a `u8` (the modulo keeps it in range).
fn sel8(u: &mut Unstructured, n: u8) -> u8 {
    (sel(u, n as u64) % n as u64) as u8
}

fn edge(v: u64) -> u32 {
    // v < 64: (1..=4)*512 + (-8..=7), never negative, never above 2055.
    ((v / EDGE_SPREAD + 1) * PMD_PAGES as u64 + v % EDGE_SPREAD - 8) as u32
}

fn page(u: &mut Unstructured) -> u32 {
    let v = match pick(u, &CLASSES) {
        0 => sel(u, SMALL),
        1 => sel(u, PMD_MULTIPLES) * PMD_PAGES as u64,
        2 => edge(sel(u, EDGES)) as u64,
        3 => sel(u, WINDOW),
        _ => sel(u, MAX_PAGE as u64),
    };
    // Every class is below MAX_PAGE; the min is belt and braces.
    v.min(MAX_PAGE as u64 - 1) as u32
}

fn size(u: &mut Unstructured) -> u32 {
    let v = match pick(u, &CLASSES) {
        0 => 1 + sel(u, SMALL),
        1 => (1 + sel(u, PMD_MULTIPLES)) * PMD_PAGES as u64,
        2 => edge(sel(u, EDGES)) as u64,
        3 => 1 + sel(u, WINDOW),
        _ => 1 + sel(u, MAX_PAGE as u64),
    };
    v.clamp(1, MAX_PAGE as u64) as u32
}

/// A start page and a length: always non-empty, the end saturates at MAX_PAGE.
fn span(u: &mut Unstructured) -> (u32, u32) {
    let start = page(u);
    let len = size(u);
    (start, start.saturating_add(len).min(MAX_PAGE))
}

fn range(u: &mut Unstructured) -> PageRange {
    let slot = slot(u);
    let (start, end) = span(u);
    PageRange { slot, start, end }
}

fn at(u: &mut Unstructured) -> PageAt {
    let slot = slot(u);
    PageAt {
        slot,
        page: page(u),
    }
}

/// `table[sel(table.len())]`.
fn pick(u: &mut Unstructured, table: &[u8]) -> u8 {
    table[sel(u, table.len() as u64) as usize % table.len()]
}

fn slot(u: &mut Unstructured) -> SlotId {
    SlotId(pick(u, &SLOTS8))
}

fn proc(u: &mut Unstructured) -> ProcId {
    ProcId(pick(u, &SLOTS4))
}

fn flag(u: &mut Unstructured) -> bool {
    sel(u, 2) == 1
}

fn prot(u: &mut Unstructured) -> Prot {
    PROT[sel8(u, 3) as usize]
}

fn zone(u: &mut Unstructured) -> Zone {
    Zone::ALL[sel8(u, 3) as usize]
}

fn fill(u: &mut Unstructured) -> Fill {
    match sel(u, 4) {
        0 => Fill::Const(sel(u, 256)),
        1 => Fill::Index(sel(u, 256)),
        2 => Fill::Const(int(u, 0, u64::MAX)),
        _ => Fill::Index(int(u, 0, u64::MAX)),
    }
}

fn map_kind(u: &mut Unstructured) -> MapKind {
    match sel8(u, MAP_KINDS as u8) {
        0..=8 => MapKind::Anon,
        9..=10 => MapKind::AnonShared,
        k @ 11..=14 => MapKind::FilePrivate(FileId(k - 11)),
        k @ 15..=18 => MapKind::FileShared(FileId(k - 15)),
        _ => MapKind::Special,
    }
}

fn gup_flags(u: &mut Unstructured) -> GupFlags {
    let b = sel(u, 64);
    GupFlags {
        pin: b & 1 != 0,
        write: b & 2 != 0,
        longterm: b & 4 != 0,
        fast: b & 8 != 0,
        force: b & 16 != 0,
        nofault: b & 32 != 0,
    }
}

fn decode_op(u: &mut Unstructured) -> Op {
    let kind = OpKind::ALL[sel(u, OpKind::ALL.len() as u64) as usize % OpKind::ALL.len()];
    match kind {
        OpKind::Mmap => {
            let p = proc(u);
            let slot = slot(u);
            let at = page(u);
            let pages = size(u);
            let kind = map_kind(u);
            let prot = prot(u);
            let zone = zone(u);
            let foff = page(u);
            Op::Mmap {
                p,
                slot,
                at,
                pages,
                kind,
                prot,
                zone,
                foff,
            }
        }
        OpKind::Munmap => Op::Munmap {
            p: proc(u),
            range: range(u),
        },
        OpKind::Mprotect => Op::Mprotect {
            p: proc(u),
            range: range(u),
            prot: prot(u),
        },
        OpKind::Madvise => Op::Madvise {
            p: proc(u),
            range: range(u),
            advice: Advice::ALL[sel8(u, Advice::ALL.len() as u8) as usize],
        },
        OpKind::Mremap => Op::Mremap {
            p: proc(u),
            range: range(u),
            to: at(u),
        },
        OpKind::Fork => Op::Fork {
            p: proc(u),
            child: proc(u),
        },
        OpKind::Exit => Op::Exit { p: proc(u) },
        OpKind::File => Op::File {
            f: FileId(pick(u, &SLOTS4)),
            fs: FS[sel8(u, 2) as usize],
            pages: size(u),
        },
        OpKind::Read => Op::Read {
            p: proc(u),
            range: range(u),
        },
        OpKind::Write => Op::Write {
            p: proc(u),
            range: range(u),
            fill: fill(u),
        },
        OpKind::ClearSoftDirty => Op::ClearSoftDirty { p: proc(u) },
        OpKind::UffdWp => Op::UffdWp {
            p: proc(u),
            range: range(u),
            on: flag(u),
        },
        OpKind::Gup => Op::Gup {
            p: proc(u),
            range: range(u),
            h: HandleId(pick(u, &SLOTS16)),
            flags: gup_flags(u),
        },
        OpKind::Release => Op::Release {
            h: HandleId(pick(u, &SLOTS16)),
            dirty: flag(u),
        },
        OpKind::DmaRead => {
            let h = HandleId(pick(u, &SLOTS16));
            let (start, end) = span(u);
            Op::DmaRead { h, start, end }
        }
        OpKind::DmaWrite => {
            let h = HandleId(pick(u, &SLOTS16));
            let (start, end) = span(u);
            Op::DmaWrite {
                h,
                start,
                end,
                fill: fill(u),
            }
        }
        OpKind::Reclaim => Op::Reclaim,
        OpKind::SplitThp => Op::SplitThp {
            p: proc(u),
            at: at(u),
        },
        OpKind::Lock => Op::Lock {
            x: LockId(pick(u, &SLOTS4)),
            p: proc(u),
            at: at(u),
        },
        OpKind::Unlock => Op::Unlock {
            x: LockId(pick(u, &SLOTS4)),
        },
        OpKind::CmaEvacuate => Op::CmaEvacuate,
        OpKind::FailAlloc => Op::FailAlloc { zone: zone(u) },
        OpKind::IommuPrereg => Op::IommuPrereg {
            i: IommuId(pick(u, &SLOTS4)),
            p: proc(u),
            range: range(u),
        },
        OpKind::IommuTranslate => Op::IommuTranslate {
            i: IommuId(pick(u, &SLOTS4)),
            index: page(u),
        },
        OpKind::IommuUnreg => Op::IommuUnreg {
            i: IommuId(pick(u, &SLOTS4)),
        },
        OpKind::HmmFault => {
            let p = proc(u);
            let range = range(u);
            let req = hmm_req(u);
            let page_req = flag(u).then(|| {
                let (a, b) = span(u);
                (a, b, hmm_req(u))
            });
            let owner = flag(u).then(|| dev(u));
            let seq = flag(u).then(|| NotifierId(pick(u, &SLOTS4)));
            Op::HmmFault {
                p,
                range,
                req,
                page_req,
                owner,
                seq,
            }
        }
        OpKind::Notifier => Op::Notifier {
            n: NotifierId(pick(u, &SLOTS4)),
            p: proc(u),
            range: range(u),
        },
        OpKind::ReadBegin => Op::ReadBegin {
            n: NotifierId(pick(u, &SLOTS4)),
        },
        OpKind::ReadRetry => Op::ReadRetry {
            n: NotifierId(pick(u, &SLOTS4)),
        },
        OpKind::MigrateSetup => {
            let s = session(u);
            let p = proc(u);
            let range = range(u);
            let select = select(u);
            let owner = flag(u).then(|| dev(u));
            let fault_page = flag(u).then(|| page(u));
            Op::MigrateSetup {
                s,
                p,
                range,
                select,
                owner,
                fault_page,
            }
        }
        OpKind::MigrateAlloc => {
            let s = session(u);
            let dest = match pick(u, &DESTS) {
                d if d < DevId::COUNT => MigrateDest::Device(DevId(d)),
                _ => MigrateDest::System,
            };
            let fail = flag(u).then(|| span(u));
            let split = flag(u);
            Op::MigrateAlloc {
                s,
                dest,
                fail,
                split,
            }
        }
        OpKind::MigratePages => Op::MigratePages { s: session(u) },
        OpKind::MigrateFinalize => Op::MigrateFinalize { s: session(u) },
        OpKind::DevRead => {
            let (d, p, range) = dev_proc_range(u);
            Op::DevRead { d, p, range }
        }
        OpKind::DevWrite => {
            let (d, p, range) = dev_proc_range(u);
            Op::DevWrite {
                d,
                p,
                range,
                fill: fill(u),
            }
        }
        OpKind::MigrateToDev => {
            let (d, p, range) = dev_proc_range(u);
            Op::MigrateToDev { d, p, range }
        }
        OpKind::MigrateToSys => {
            let (d, p, range) = dev_proc_range(u);
            Op::MigrateToSys { d, p, range }
        }
        OpKind::DevSnapshot => {
            let (d, p, range) = dev_proc_range(u);
            Op::DevSnapshot { d, p, range }
        }
        OpKind::DevExclusive => {
            let (d, p, range) = dev_proc_range(u);
            Op::DevExclusive { d, p, range }
        }
        OpKind::DevCheckExclusive => {
            let (d, p, range) = dev_proc_range(u);
            Op::DevCheckExclusive { d, p, range }
        }
        OpKind::DevRelease => Op::DevRelease { d: dev(u) },
        OpKind::DevFailAlloc => Op::DevFailAlloc { d: dev(u) },
        OpKind::DevClose => Op::DevClose {
            d: dev(u),
            p: proc(u),
        },
    }
}

fn dev(u: &mut Unstructured) -> DevId {
    DevId(pick(u, &SLOTS4))
}

fn session(u: &mut Unstructured) -> SessionId {
    SessionId(pick(u, &SLOTS4))
}

fn dev_proc_range(u: &mut Unstructured) -> (DevId, ProcId, PageRange) {
    let d = dev(u);
    let p = proc(u);
    (d, p, range(u))
}

fn hmm_req(u: &mut Unstructured) -> HmmReq {
    HMM_REQS[sel8(u, 3) as usize]
}

fn select(u: &mut Unstructured) -> MigrateSelect {
    let b = sel(u, 32);
    MigrateSelect {
        system: b & 1 != 0,
        private: b & 2 != 0,
        coherent: b & 4 != 0,
        compound: b & 8 != 0,
        fault: b & 16 != 0,
    }
}

mod encode;
use encode::{encode_op, Enc};

#[cfg(test)]
mod tests;
