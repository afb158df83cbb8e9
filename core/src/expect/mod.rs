//! Expectations written after `=>` on a scenario line: the op's outcome and
//! facts about the canonical state after it. A scenario with expectations
//! asserts kernel behaviour, not only that the two models agree.
//!
//! This module holds the types and their meaning ([`check`]); the text form
//! lives in [`crate::text`].

mod check;
mod data;

pub use check::check;
pub use data::{DataPattern, DataRun, DataValue};

use crate::op::{DevId, NotifierId, PageAt, ProcId, Prot, SessionId, Zone};
use crate::outcome::{Outcome, Payload};
use crate::state::{MigratePhase, MirrorTag, VmaKind};

/// What a scenario line expects: the op's outcome and facts about the
/// canonical state after it. Both parts are optional; facts keep the order
/// they were written in.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Expect {
    pub outcome: Option<ExpectedOutcome>,
    pub facts: Vec<Fact>,
}

impl Expect {
    /// True when nothing is expected (`=>` followed by nothing).
    pub fn is_empty(&self) -> bool {
        self.outcome.is_none() && self.facts.is_empty()
    }
}

/// An expected outcome. Data payloads are kept as a pattern because the text
/// form (`data=index`) does not say how many pages there are nor which page
/// the first value belongs to: both come from the actual outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExpectedOutcome {
    /// Any outcome without a data payload, compared exactly. Never holds
    /// `Outcome::Ok(Payload::Data { .. })` nor a `Payload::Dev` with data;
    /// [`ExpectedOutcome::from_outcome`] turns those into
    /// [`ExpectedOutcome::Data`] / [`ExpectedOutcome::Dev`].
    Exact(Outcome),
    /// `ok data=...`.
    Data(DataPattern),
    /// `ok cpages=<n> faults=<n> data=...`: a `lib/test_hmm.c` ioctl result
    /// that copied pages out (`Payload::Dev` with data); without data it is
    /// [`ExpectedOutcome::Exact`].
    Dev {
        cpages: u64,
        faults: u64,
        data: DataPattern,
    },
}

impl ExpectedOutcome {
    /// The expectation that exactly `outcome` satisfies (a data payload
    /// becomes its canonical compressed pattern).
    pub fn from_outcome(outcome: &Outcome) -> ExpectedOutcome {
        match outcome {
            Outcome::Ok(Payload::Data { base, values }) => {
                ExpectedOutcome::Data(DataPattern::from_values(*base, values))
            }
            Outcome::Ok(Payload::Dev {
                cpages,
                faults,
                data: Some((base, values)),
            }) => ExpectedOutcome::Dev {
                cpages: *cpages,
                faults: *faults,
                data: DataPattern::from_values(*base, values),
            },
            other => ExpectedOutcome::Exact(other.clone()),
        }
    }

    pub fn matches(&self, outcome: &Outcome) -> bool {
        match (self, outcome) {
            (ExpectedOutcome::Exact(expected), actual) => expected == actual,
            (ExpectedOutcome::Data(pattern), Outcome::Ok(Payload::Data { base, values })) => {
                pattern.matches(*base, values)
            }
            (ExpectedOutcome::Data(_), _) => false,
            (
                ExpectedOutcome::Dev {
                    cpages,
                    faults,
                    data,
                },
                Outcome::Ok(Payload::Dev {
                    cpages: c,
                    faults: f,
                    data: Some((base, values)),
                }),
            ) => cpages == c && faults == f && data.matches(*base, values),
            (ExpectedOutcome::Dev { .. }, _) => false,
        }
    }
}

/// A page of a process's address space: `p0 m0[3]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProcPage {
    pub p: ProcId,
    pub at: PageAt,
}

/// A fact about the canonical state after an op.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fact {
    /// `entry <p> <page> <kind> {bit | !bit}`: the page-table entry of one
    /// page. Unlisted bits are not checked.
    Entry {
        at: ProcPage,
        kind: EntryKind,
        bits: Vec<BitCheck<EntryBit>>,
    },
    /// `folio <p> <page> {key=<n> | flag | !flag}`: the folio mapped at a
    /// page (the entry must map a folio page).
    Folio { at: ProcPage, items: Vec<FolioItem> },
    /// `same <p> <page> <p> <page>` (or `!same` when `same` is false): both
    /// pages map the same target (the same page of the same folio, the zero
    /// page, ...).
    Same {
        a: ProcPage,
        b: ProcPage,
        same: bool,
    },
    /// `zone <zone> free=<n>`.
    ZoneFree { zone: Zone, free: u64 },
    /// `vma <p> <page> {key=<v> | flag | !flag}`: the VMA covering a page
    /// (one must exist).
    Vma { at: ProcPage, items: Vec<VmaItem> },
    /// `vma <p> <page> none`: no VMA covers the page.
    NoVma { at: ProcPage },
    /// `has-pinned <p>` / `!has-pinned <p>`: `MMF_HAS_PINNED`.
    HasPinned { p: ProcId, pinned: bool },
    /// `swap used=<n>`: swap slots in use.
    SwapUsed { used: u64 },
    /// `folios count=<n>`: live folios.
    FolioCount { count: u64 },
    /// `device <dev> {free=<n> | refs=<n> | flag | !flag}`: a device's
    /// memory pool (the device must exist in the state).
    Device { d: DevId, items: Vec<DeviceItem> },
    /// `mirror <dev> <p> <page> none|read|write|atomic [same-as <p> <page>]`:
    /// the device page-table entry of process `at.p`'s mirror on `d` for
    /// that address (`none`: no entry, or no such mirror), and optionally
    /// that it maps the same page as the process entry at `same_as`.
    Mirror {
        d: DevId,
        at: ProcPage,
        tag: Option<MirrorTag>,
        same_as: Option<ProcPage>,
    },
    /// `session <s> none|setup|allocated|migrated [cpages=<n>]`.
    Session {
        s: SessionId,
        phase: Option<MigratePhase>,
        cpages: Option<u64>,
    },
    /// `notifier <n> none|stale|fresh`: `stale` when an invalidation hit
    /// the interval since the last `read-begin`.
    Notifier { n: NotifierId, stale: Option<bool> },
}

/// One checked property of a device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DeviceItem {
    /// `free=<n>`: free pages of device memory.
    Free(u64),
    /// `refs=<n>`: live `dev_pagemap` references.
    Refs(i64),
    Flag(BitCheck<DeviceFlag>),
}

impl DeviceItem {
    /// The item's key or flag name; each may appear once per fact.
    pub fn name(&self) -> &'static str {
        match self {
            DeviceItem::Free(_) => "free",
            DeviceItem::Refs(_) => "refs",
            DeviceItem::Flag(check) => check.bit.name(),
        }
    }
}

/// A boolean property of a device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DeviceFlag {
    /// The chunks were released (`HMM_DMIRROR_RELEASE`).
    Released,
    /// `HMM_DMIRROR_FLAG_FAIL_ALLOC` is pending.
    FailAlloc,
}

impl DeviceFlag {
    pub const ALL: [DeviceFlag; 2] = [DeviceFlag::Released, DeviceFlag::FailAlloc];

    pub fn name(self) -> &'static str {
        match self {
            DeviceFlag::Released => "released",
            DeviceFlag::FailAlloc => "fail-alloc",
        }
    }
}

/// A flag expected set (`flag`) or clear (`!flag`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BitCheck<B> {
    pub bit: B,
    pub set: bool,
}

/// What kind of entry a page has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EntryKind {
    /// No entry.
    None,
    /// A present entry mapping a folio page (PTE or PMD level).
    Page,
    /// The shared zero page.
    Zero,
    /// A page of the huge zero folio.
    HugeZero,
    /// A raw pfn of a special (`VM_IO|VM_PFNMAP`) mapping.
    Io,
    /// A swap entry.
    Swap,
    /// A migration entry: `write` for a writable one, `exclusive` for a
    /// readable-exclusive one, neither for a readable one.
    Migration,
    /// A device-private entry.
    DevPriv,
    /// A device-exclusive entry.
    DevExcl,
}

impl EntryKind {
    pub const ALL: [EntryKind; 9] = [
        EntryKind::None,
        EntryKind::Page,
        EntryKind::Zero,
        EntryKind::HugeZero,
        EntryKind::Io,
        EntryKind::Swap,
        EntryKind::Migration,
        EntryKind::DevPriv,
        EntryKind::DevExcl,
    ];

    pub fn name(self) -> &'static str {
        match self {
            EntryKind::None => "none",
            EntryKind::Page => "page",
            EntryKind::Zero => "zero",
            EntryKind::HugeZero => "hugezero",
            EntryKind::Io => "io",
            EntryKind::Swap => "swap",
            EntryKind::Migration => "migration",
            EntryKind::DevPriv => "devpriv",
            EntryKind::DevExcl => "devexcl",
        }
    }

    /// Whether entries of this kind carry `bit`: present entries have the
    /// hardware bits and a level, swap entries keep exclusive, soft-dirty
    /// and uffd-wp, migration entries all bits (`write`/`exclusive` stand
    /// for the migration type), device-private entries write, soft-dirty,
    /// uffd-wp and pmd, device-exclusive entries write (the variant of
    /// kernels before 6.15), soft-dirty and uffd-wp;
    /// `none` has nothing.
    pub fn has_bit(self, bit: EntryBit) -> bool {
        match self {
            EntryKind::None => false,
            EntryKind::Migration => true,
            EntryKind::DevPriv => matches!(
                bit,
                EntryBit::Write | EntryBit::SoftDirty | EntryBit::UffdWp | EntryBit::Pmd
            ),
            EntryKind::DevExcl => {
                matches!(
                    bit,
                    EntryBit::Write | EntryBit::SoftDirty | EntryBit::UffdWp
                )
            }
            EntryKind::Swap => matches!(
                bit,
                EntryBit::Exclusive | EntryBit::SoftDirty | EntryBit::UffdWp
            ),
            EntryKind::Page | EntryKind::Zero | EntryKind::HugeZero | EntryKind::Io => {
                !matches!(bit, EntryBit::Exclusive)
            }
        }
    }
}

/// A bit of an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EntryBit {
    Write,
    Dirty,
    Young,
    SoftDirty,
    UffdWp,
    /// Mapped by a PMD leaf.
    Pmd,
    /// A swap entry's exclusive marker; a readable-exclusive migration entry.
    Exclusive,
}

impl EntryBit {
    pub const ALL: [EntryBit; 7] = [
        EntryBit::Write,
        EntryBit::Dirty,
        EntryBit::Young,
        EntryBit::SoftDirty,
        EntryBit::UffdWp,
        EntryBit::Pmd,
        EntryBit::Exclusive,
    ];

    pub fn name(self) -> &'static str {
        match self {
            EntryBit::Write => "write",
            EntryBit::Dirty => "dirty",
            EntryBit::Young => "young",
            EntryBit::SoftDirty => "soft-dirty",
            EntryBit::UffdWp => "uffd-wp",
            EntryBit::Pmd => "pmd",
            EntryBit::Exclusive => "exclusive",
        }
    }
}

/// One checked property of a folio.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FolioItem {
    /// `ref=<n>`: `folio_ref_count()`.
    Ref(i64),
    /// `map=<n>`: `folio_mapcount()`.
    Map(i64),
    /// `entire=<n>`: PMD mappings.
    Entire(i64),
    /// `pin=<n>`: `_pincount` (large folios).
    Pin(i64),
    /// `order=<n>`.
    Order(u8),
    /// `subpage=<n>`: which page of the folio the entry maps.
    Subpage(u32),
    /// `zone=<zone>`.
    Zone(Zone),
    /// `dev=<dev>`: device memory of that device.
    Dev(DevId),
    Flag(BitCheck<FolioFlag>),
}

impl FolioItem {
    /// The item's key or flag name; each may appear once per fact.
    pub fn name(&self) -> &'static str {
        match self {
            FolioItem::Ref(_) => "ref",
            FolioItem::Map(_) => "map",
            FolioItem::Entire(_) => "entire",
            FolioItem::Pin(_) => "pin",
            FolioItem::Order(_) => "order",
            FolioItem::Subpage(_) => "subpage",
            FolioItem::Zone(_) => "zone",
            FolioItem::Dev(_) => "dev",
            FolioItem::Flag(check) => check.bit.name(),
        }
    }
}

/// A boolean property of a folio.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FolioFlag {
    Locked,
    Lru,
    Anon,
    SwapBacked,
    Dirty,
    SwapCache,
    /// `PageAnonExclusive` of the page the entry maps.
    Excl,
    /// `folio_maybe_dma_pinned()`.
    Pinned,
    /// Order > 0.
    Large,
}

impl FolioFlag {
    pub const ALL: [FolioFlag; 9] = [
        FolioFlag::Locked,
        FolioFlag::Lru,
        FolioFlag::Anon,
        FolioFlag::SwapBacked,
        FolioFlag::Dirty,
        FolioFlag::SwapCache,
        FolioFlag::Excl,
        FolioFlag::Pinned,
        FolioFlag::Large,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FolioFlag::Locked => "locked",
            FolioFlag::Lru => "lru",
            FolioFlag::Anon => "anon",
            FolioFlag::SwapBacked => "swapbacked",
            FolioFlag::Dirty => "dirty",
            FolioFlag::SwapCache => "swapcache",
            FolioFlag::Excl => "excl",
            FolioFlag::Pinned => "pinned",
            FolioFlag::Large => "large",
        }
    }
}

/// One checked property of a VMA.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum VmaItem {
    /// `start=<n>`: first page, relative to the window of the fact's page.
    Start(u32),
    /// `end=<n>`: end page (exclusive), relative to the same window.
    End(u32),
    Prot(Prot),
    Kind(VmaKind),
    Zone(Zone),
    Flag(BitCheck<VmaFlag>),
}

impl VmaItem {
    /// The item's key or flag name; each may appear once per fact.
    pub fn name(&self) -> &'static str {
        match self {
            VmaItem::Start(_) => "start",
            VmaItem::End(_) => "end",
            VmaItem::Prot(_) => "prot",
            VmaItem::Kind(_) => "kind",
            VmaItem::Zone(_) => "zone",
            VmaItem::Flag(check) => check.bit.name(),
        }
    }
}

/// A boolean property of a VMA.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum VmaFlag {
    /// `MADV_HUGEPAGE` hint.
    HugePage,
    /// `MADV_NOHUGEPAGE` hint.
    NoHugePage,
    DontFork,
    UffdWp,
    SoftDirty,
    AnonVma,
}

impl VmaFlag {
    pub const ALL: [VmaFlag; 6] = [
        VmaFlag::HugePage,
        VmaFlag::NoHugePage,
        VmaFlag::DontFork,
        VmaFlag::UffdWp,
        VmaFlag::SoftDirty,
        VmaFlag::AnonVma,
    ];

    pub fn name(self) -> &'static str {
        match self {
            VmaFlag::HugePage => "hugepage",
            VmaFlag::NoHugePage => "nohugepage",
            VmaFlag::DontFork => "dontfork",
            VmaFlag::UffdWp => "uffd-wp",
            VmaFlag::SoftDirty => "soft-dirty",
            VmaFlag::AnonVma => "anon-vma",
        }
    }
}

/// The text names of the small enums facts mention, shared by the parser,
/// the printer and mismatch messages.
pub mod names {
    use crate::op::{Prot, Zone};
    use crate::state::{MigratePhase, MirrorTag, VmaKind};

    pub const ZONES: [(Zone, &str); 3] = [
        (Zone::Normal, "normal"),
        (Zone::Movable, "movable"),
        (Zone::Cma, "cma"),
    ];
    pub const MIRROR_TAGS: [(Option<MirrorTag>, &str); 4] = [
        (None, "none"),
        (Some(MirrorTag::Read), "read"),
        (Some(MirrorTag::Write), "write"),
        (Some(MirrorTag::Atomic), "atomic"),
    ];
    pub const PHASES: [(Option<MigratePhase>, &str); 4] = [
        (None, "none"),
        (Some(MigratePhase::Setup), "setup"),
        (Some(MigratePhase::Allocated), "allocated"),
        (Some(MigratePhase::Migrated), "migrated"),
    ];
    pub const NOTIFIER_STATES: [(Option<bool>, &str); 3] = [
        (None, "none"),
        (Some(true), "stale"),
        (Some(false), "fresh"),
    ];
    pub const PROTS: [(Prot, &str); 3] = [(Prot::None, "none"), (Prot::R, "r"), (Prot::RW, "rw")];
    pub const VMA_KINDS: [(VmaKind, &str); 5] = [
        (VmaKind::AnonPrivate, "anon"),
        (VmaKind::AnonShared, "anon-shared"),
        (VmaKind::FilePrivate, "file-private"),
        (VmaKind::FileShared, "file-shared"),
        (VmaKind::Special, "special"),
    ];

    pub fn zone(zone: Zone) -> &'static str {
        name_of(&ZONES, zone)
    }
    pub fn prot(prot: Prot) -> &'static str {
        name_of(&PROTS, prot)
    }
    pub fn vma_kind(kind: VmaKind) -> &'static str {
        name_of(&VMA_KINDS, kind)
    }

    /// Looks `value` up in a table that lists every variant; the fallback
    /// is unreachable but keeps this total without a panic.
    pub fn name_of<T: PartialEq + Copy>(table: &[(T, &'static str)], value: T) -> &'static str {
        table
            .iter()
            .find(|(v, _)| *v == value)
            .map_or("?", |(_, name)| name)
    }

    /// The value a name stands for in `table`.
    pub fn lookup<T: Copy>(table: &[(T, &'static str)], name: &str) -> Option<T> {
        table.iter().find(|(_, n)| *n == name).map(|(v, _)| *v)
    }
}

#[cfg(test)]
mod tests;
