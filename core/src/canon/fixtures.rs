//! Hand-built states shared by the canon and invariants tests.

use crate::op::{FileId, FsKind, GupFlags, HandleId, IommuId, LockId, ProcId, Prot, Zone};
use std::collections::BTreeMap;

use crate::state::*;

pub(crate) const W: u32 = 2048;

/// Absolute page of window-relative page `rel` of window `k`.
pub(crate) fn abs(k: u64, rel: u64) -> u64 {
    (k + 1) * W as u64 + rel
}

pub(crate) fn bits(write: bool) -> PteBits {
    PteBits {
        write,
        dirty: write,
        young: true,
        soft_dirty: true,
        uffd_wp: false,
    }
}

pub(crate) fn present(level: Level, folio: u64, page: u32, write: bool) -> Entry {
    Entry::Present {
        level,
        target: Target::Folio {
            folio: FolioId(folio),
            page,
        },
        bits: bits(write),
    }
}

pub(crate) fn swap_entry(slot: u64) -> Entry {
    Entry::Swap {
        slot: SwapId(slot),
        exclusive: true,
        soft_dirty: true,
        uffd_wp: false,
    }
}

pub(crate) fn run(start: u64, len: u32, entry: Entry) -> EntryRun {
    EntryRun { start, len, entry }
}

pub(crate) fn vma(start: u64, end: u64, kind: VmaKind, prot: Prot) -> VmaState {
    VmaState {
        start,
        end,
        kind,
        backing: None,
        prot,
        hint: HugeHint::None,
        dontfork: false,
        zone: Zone::Normal,
        uffd_wp: false,
        soft_dirty: true,
        anon_vma: matches!(kind, VmaKind::AnonPrivate),
    }
}

/// A small anon folio with no holders counted yet (refcount 0: callers set it).
pub(crate) fn folio(id: u64, order: u8) -> FolioState {
    let nr = 1usize << order;
    FolioState {
        id: FolioId(id),
        order,
        memory: Memory::Zone(Zone::Normal),
        refcount: 0,
        mapcount: 0,
        entire_mapcount: 0,
        pincount: 0,
        locked: false,
        lru: true,
        anon: true,
        swapbacked: true,
        dirty: false,
        swapcache: None,
        mapping: None,
        anon_exclusive: vec![false; nr],
        contents: vec![0; nr],
    }
}

/// A canonical state that satisfies every invariant: a PMD-mapped THP with
/// a GUP ref and an IOMMU pin, a pinned small folio, the zero page, six
/// swap entries (one slot in the swap cache), a shared file mapping, a page
/// cache folio held locked by an external holder.
pub(crate) fn sample_state() -> State {
    let mut p0 = ProcState {
        id: ProcId(0),
        has_pinned: true,
        vmas: vec![],
        entries: vec![],
    };
    let mut v = vma(abs(0, 0), abs(0, 1024), VmaKind::AnonPrivate, Prot::RW);
    v.hint = HugeHint::Huge;
    p0.vmas.push(v);
    p0.vmas.push(vma(
        abs(0, 1024),
        abs(0, 1030),
        VmaKind::AnonPrivate,
        Prot::RW,
    ));
    let mut fv = vma(abs(1, 0), abs(1, 4), VmaKind::FileShared, Prot::RW);
    fv.backing = Some((ObjId::File(FileId(0)), 0));
    p0.vmas.push(fv);
    p0.entries = vec![
        run(abs(0, 0), 512, present(Level::Pmd, 0, 0, true)),
        run(abs(0, 512), 1, present(Level::Pte, 1, 0, true)),
        run(
            abs(0, 513),
            511,
            Entry::Present {
                level: Level::Pte,
                target: Target::Zero,
                bits: PteBits {
                    young: true,
                    soft_dirty: true,
                    ..PteBits::default()
                },
            },
        ),
        run(abs(0, 1024), 6, swap_entry(0)),
        run(abs(1, 0), 1, present(Level::Pte, 3, 0, true)),
    ];

    let mut f0 = folio(0, 9);
    f0.refcount = 4; // PMD map + 2 GUP refs + 1 IOMMU pin
    f0.mapcount = 1;
    f0.entire_mapcount = 1;
    f0.pincount = 1;
    f0.dirty = true;
    f0.anon_exclusive = vec![true; 512];
    f0.contents = (0..512).collect();
    let mut f1 = folio(1, 0);
    f1.refcount = 1 + crate::GUP_PIN_COUNTING_BIAS;
    f1.mapcount = 1;
    f1.dirty = true;
    f1.anon_exclusive = vec![true];
    f1.contents = vec![512];
    let mut f2 = folio(2, 0);
    f2.refcount = 1;
    f2.swapcache = Some(SwapId(0));
    f2.contents = vec![7];
    let mut f3 = folio(3, 0);
    f3.refcount = 2;
    f3.mapcount = 1;
    f3.anon = false;
    f3.swapbacked = false;
    f3.dirty = true;
    f3.mapping = Some((ObjId::File(FileId(0)), 0));
    f3.contents = vec![42];
    let mut f4 = folio(4, 0);
    f4.refcount = 2;
    f4.anon = false;
    f4.swapbacked = false;
    f4.locked = true;
    f4.mapping = Some((ObjId::File(FileId(0)), 1));
    let folios = [f0, f1, f2, f3, f4]
        .into_iter()
        .map(|f| (f.id, f))
        .collect();

    let swap = (0..6)
        .map(|i| {
            let s = SwapState {
                id: SwapId(i),
                count: 1,
                cached: (i == 0).then_some(FolioId(2)),
                contents: 7 + i,
            };
            (s.id, s)
        })
        .collect();

    let file = ObjectState {
        id: ObjId::File(FileId(0)),
        fs: Some(FsKind::Ext4),
        pages: 16,
        cache: [(0, (FolioId(3), 0)), (1, (FolioId(4), 0))]
            .into_iter()
            .collect(),
        backing: [(5, 42), (6, 42), (7, 42), (9, 1)].into_iter().collect(),
    };

    State {
        window_pages: W,
        procs: vec![p0],
        objects: vec![file],
        folios,
        swap,
        zone_free: [16384 - 512 - 4, 4096, 4096],
        zone_total: [16384, 4096, 4096],
        kernel: crate::config::KernelVersion::BASELINE,
        handles: vec![
            HandleState {
                id: HandleId(0),
                flags: GupFlags {
                    pin: true,
                    write: true,
                    longterm: true,
                    ..GupFlags::default()
                },
                base: 512,
                pages: vec![PageRef::Folio {
                    folio: FolioId(1),
                    page: 0,
                }],
            },
            HandleState {
                id: HandleId(1),
                flags: GupFlags::default(),
                base: 3,
                pages: vec![
                    PageRef::Folio {
                        folio: FolioId(0),
                        page: 3,
                    },
                    PageRef::Folio {
                        folio: FolioId(0),
                        page: 4,
                    },
                ],
            },
        ],
        locks: vec![LockState {
            id: LockId(0),
            folio: FolioId(4),
        }],
        iommu: vec![PreregState {
            id: IommuId(0),
            proc: ProcId(0),
            start: abs(0, 0),
            pages: vec![PageRef::Folio {
                folio: FolioId(0),
                page: 0,
            }],
            pageshift: 12,
        }],
        devices: Vec::new(),
        sessions: Vec::new(),
        notifiers: Vec::new(),
    }
}

/// A canonical state with the HMM parts, satisfying every invariant:
/// device-private folios behind device-private entries (PTE and PMD), a
/// device-exclusive entry, a present entry of device-coherent memory, a
/// migration entry of a locked folio inside a session (which also holds a
/// locked destination page), a mirror whose entries match the process, and
/// a notifier.
pub(crate) fn hmm_state() -> State {
    use crate::op::{DevId, MigrateSelect, NotifierId, SessionId};
    use crate::outcome::MigrateSrc;
    let (dev0, dev2) = (DevId(0), DevId(2));
    let fp = |f: u64, page: u32| PageRef::Folio {
        folio: FolioId(f),
        page,
    };
    let tgt = |f: u64, page: u32| Target::Folio {
        folio: FolioId(f),
        page,
    };
    let mut p0 = ProcState {
        id: ProcId(0),
        has_pinned: false,
        vmas: vec![vma(abs(0, 0), abs(0, 1024), VmaKind::AnonPrivate, Prot::RW)],
        entries: vec![],
    };
    p0.entries = vec![
        run(
            abs(0, 0),
            1,
            Entry::DevicePrivate {
                level: Level::Pte,
                target: tgt(0, 0),
                write: true,
                soft_dirty: true,
                uffd_wp: false,
            },
        ),
        run(abs(0, 1), 1, present(Level::Pte, 1, 0, true)),
        run(
            abs(0, 2),
            1,
            Entry::DeviceExclusive {
                target: tgt(2, 0),
                write: false,
                soft_dirty: true,
                uffd_wp: false,
            },
        ),
        run(abs(0, 3), 1, present(Level::Pte, 3, 0, false)),
        run(
            abs(0, 4),
            1,
            Entry::Migration {
                level: Level::Pte,
                target: tgt(4, 0),
                kind: MigKind::Write,
                young: true,
                dirty: true,
                soft_dirty: true,
                uffd_wp: false,
            },
        ),
        run(
            abs(0, 512),
            512,
            Entry::DevicePrivate {
                level: Level::Pmd,
                target: tgt(5, 0),
                write: true,
                soft_dirty: false,
                uffd_wp: false,
            },
        ),
    ];
    let mapped = |id: u64, order: u8, memory: Memory| {
        let mut f = folio(id, order);
        f.memory = memory;
        f.refcount = 1;
        f.mapcount = 1;
        f.entire_mapcount = (order > 0) as i64;
        f.anon_exclusive = vec![true; 1 << order];
        f.lru = matches!(memory, Memory::Zone(_));
        f
    };
    let mut f0 = mapped(0, 0, Memory::Device(dev0));
    f0.contents = vec![7];
    let f1 = mapped(1, 0, Memory::Zone(Zone::Normal));
    let f2 = mapped(2, 0, Memory::Zone(Zone::Normal));
    let mut f3 = mapped(3, 0, Memory::Device(dev2));
    f3.anon_exclusive = vec![false];
    // Under migration: locked, isolated, exclusivity moved into the entry.
    let mut f4 = folio(4, 0);
    f4.refcount = 1;
    f4.locked = true;
    f4.lru = false;
    f4.contents = vec![4];
    let f5 = mapped(5, 9, Memory::Device(dev0));
    let mut f6 = folio(6, 0);
    f6.memory = Memory::Device(dev0);
    f6.refcount = 1;
    f6.locked = true;
    f6.lru = false;
    f6.contents = vec![4];
    let folios = [f0, f1, f2, f3, f4, f5, f6]
        .into_iter()
        .map(|f| (f.id, f))
        .collect();
    let mirror = MirrorState {
        proc: ProcId(0),
        entries: vec![
            MirrorEntry {
                page: abs(0, 0),
                target: fp(0, 0),
                tag: MirrorTag::Write,
            },
            MirrorEntry {
                page: abs(0, 1),
                target: fp(1, 0),
                tag: MirrorTag::Read,
            },
            MirrorEntry {
                page: abs(0, 2),
                target: fp(2, 0),
                tag: MirrorTag::Atomic,
            },
            MirrorEntry {
                page: abs(0, 4),
                target: fp(4, 0),
                tag: MirrorTag::Write,
            },
        ],
    };
    let device = |id: DevId, used: u64, mirrors: Vec<MirrorState>| DeviceState {
        id,
        pool_total: 2048,
        pool_free: 2048 - used,
        pgmap_refs: used as i64,
        released: false,
        fail_alloc: false,
        mirrors,
    };
    State {
        window_pages: W,
        procs: vec![p0],
        objects: vec![],
        folios,
        swap: BTreeMap::new(),
        zone_free: [16384 - 3, 4096, 4096],
        zone_total: [16384, 4096, 4096],
        kernel: crate::config::KernelVersion::BASELINE,
        handles: vec![],
        locks: vec![],
        iommu: vec![],
        devices: vec![
            device(dev0, 514, vec![mirror]),
            device(DevId(1), 0, vec![]),
            device(dev2, 1, vec![]),
        ],
        sessions: vec![SessionState {
            id: SessionId(0),
            proc: ProcId(0),
            start: abs(0, 4),
            end: abs(0, 6),
            select: MigrateSelect {
                system: true,
                ..MigrateSelect::default()
            },
            owner: Some(dev0),
            fault_page: None,
            phase: MigratePhase::Allocated,
            cpages: 2,
            src: vec![
                MigrateSrc {
                    page: Some(fp(4, 0)),
                    migrate: true,
                    write: true,
                    compound: false,
                },
                MigrateSrc {
                    page: None,
                    migrate: true,
                    write: false,
                    compound: false,
                },
            ],
            dst: vec![Some(fp(6, 0)), None],
        }],
        notifiers: vec![NotifierState {
            id: NotifierId(0),
            proc: ProcId(0),
            start: abs(0, 0),
            end: abs(0, 8),
            stale: false,
        }],
    }
}
