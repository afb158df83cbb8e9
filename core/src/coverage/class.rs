//! Entry classes and transitions: the alphabet of state coverage.

use std::fmt;

use crate::op::OpKind;
use crate::state::{Entry, Level, MigKind, Target};

/// The class of one page-table entry: its kind plus the few bits the
/// bugs this harness hunts turn on (write permission, PMD vs PTE level,
/// the exclusivity a swap or migration entry carries). Folio identity,
/// contents and the dirty/young/soft-dirty/uffd-wp bits are left out on
/// purpose: with them every op would be a "transition" and the table would
/// grow to thousands of rows that say nothing. [`EntryClass::all`] lists
/// every class (a few dozen).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EntryClass {
    /// No entry (a hole, unmapped memory, or a process that does not exist).
    None,
    /// A present entry mapping a folio page.
    Page {
        level: Level,
        write: bool,
    },
    /// A present entry mapping the shared zero page.
    Zero {
        level: Level,
        write: bool,
    },
    /// A present entry mapping the huge zero folio.
    HugeZero {
        level: Level,
        write: bool,
    },
    /// A present entry mapping I/O memory (`VM_PFNMAP`).
    Io {
        level: Level,
        write: bool,
    },
    /// A swap entry; `exclusive` is the anon-exclusive marker it carries.
    Swap {
        exclusive: bool,
    },
    Migration {
        level: Level,
        kind: MigKind,
    },
    /// A device-private entry.
    DevPriv {
        level: Level,
        write: bool,
    },
    /// A device-exclusive entry (it has no write bit of its own).
    DevExcl,
}

impl EntryClass {
    /// The class of `entry`. Constant along an [`crate::state::EntryRun`]:
    /// a run's pages differ only in target page and swap slot.
    pub fn of(entry: &Entry) -> EntryClass {
        match *entry {
            Entry::Present {
                level,
                target,
                bits,
            } => {
                let write = bits.write;
                match target {
                    Target::Folio { .. } => EntryClass::Page { level, write },
                    Target::Zero => EntryClass::Zero { level, write },
                    Target::HugeZero { .. } => EntryClass::HugeZero { level, write },
                    Target::Io { .. } => EntryClass::Io { level, write },
                }
            }
            Entry::Swap { exclusive, .. } => EntryClass::Swap { exclusive },
            Entry::Migration { level, kind, .. } => EntryClass::Migration { level, kind },
            Entry::DevicePrivate { level, write, .. } => EntryClass::DevPriv { level, write },
            Entry::DeviceExclusive { .. } => EntryClass::DevExcl,
        }
    }

    /// Every class, in order. Some never occur in a valid state (a
    /// writable zero page, a PTE-level huge zero page); they are listed
    /// because a broken model can produce them, and then they show up in
    /// the coverage table by name.
    pub fn all() -> Vec<EntryClass> {
        let levels = [Level::Pte, Level::Pmd];
        // The kinds with a level and a write bit, in their order.
        let by_level_and_write = |make: fn(Level, bool) -> EntryClass| {
            levels
                .into_iter()
                .flat_map(move |level| [false, true].map(|write| make(level, write)))
        };
        let mut out = vec![EntryClass::None];
        out.extend(by_level_and_write(|level, write| EntryClass::Page {
            level,
            write,
        }));
        out.extend(by_level_and_write(|level, write| EntryClass::Zero {
            level,
            write,
        }));
        out.extend(by_level_and_write(|level, write| EntryClass::HugeZero {
            level,
            write,
        }));
        out.extend(by_level_and_write(|level, write| EntryClass::Io {
            level,
            write,
        }));
        out.push(EntryClass::Swap { exclusive: false });
        out.push(EntryClass::Swap { exclusive: true });
        for level in levels {
            for kind in [MigKind::Read, MigKind::ReadExclusive, MigKind::Write] {
                out.push(EntryClass::Migration { level, kind });
            }
        }
        out.extend(by_level_and_write(|level, write| EntryClass::DevPriv {
            level,
            write,
        }));
        out.push(EntryClass::DevExcl);
        out
    }
}

/// `page-w`, `pmd-page-r`, `zero-r`, `pmd-hugezero-r`, `swap`,
/// `swap-excl`, `migration-rx`, `devpriv-w`, `devexcl`, `none`: the kind as
/// the scenario language's `entry` fact names it, `pmd-` in front for a
/// PMD leaf, and `-w`/`-r` (migration: `-rx` for read-exclusive) after.
impl fmt::Display for EntryClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (level, word, access) = match *self {
            EntryClass::None => return f.write_str("none"),
            EntryClass::DevExcl => return f.write_str("devexcl"),
            EntryClass::Swap { exclusive } => {
                return f.write_str(if exclusive { "swap-excl" } else { "swap" })
            }
            EntryClass::Page { level, write } => (level, "page", rw(write)),
            EntryClass::Zero { level, write } => (level, "zero", rw(write)),
            EntryClass::HugeZero { level, write } => (level, "hugezero", rw(write)),
            EntryClass::Io { level, write } => (level, "io", rw(write)),
            EntryClass::DevPriv { level, write } => (level, "devpriv", rw(write)),
            EntryClass::Migration { level, kind } => (
                level,
                "migration",
                match kind {
                    MigKind::Read => "r",
                    MigKind::ReadExclusive => "rx",
                    MigKind::Write => "w",
                },
            ),
        };
        let pmd = if level == Level::Pmd { "pmd-" } else { "" };
        write!(f, "{pmd}{word}-{access}")
    }
}

fn rw(write: bool) -> &'static str {
    if write {
        "w"
    } else {
        "r"
    }
}

/// One op changing some page's entry from one class to another. Ordered by
/// op kind (in [`OpKind`] declaration order), then `from`, then `to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Transition {
    pub op: OpKind,
    pub from: EntryClass,
    pub to: EntryClass,
}

/// `fork: devpriv-w -> devpriv-r`.
impl fmt::Display for Transition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} -> {}", self.op.keyword(), self.from, self.to)
    }
}
