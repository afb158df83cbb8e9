//! Divergence signatures: where two canonical states or outcomes first
//! differ, as a path of field names.
//!
//! Items are matched by what identifies them in a canonical state
//! (process id, VMA start, page address, canonical folio name, handle
//! id, ...) and compared field by field in declaration order; the path
//! names the item kind and the first differing field (`folio.refcount`,
//! `entry.write`, `vma.prot`), or `<item>.missing` / `<item>.extra` when
//! only A / only B has the item. Values, addresses and ids never appear,
//! so one bug gives one path whatever the input.

use std::collections::BTreeMap;

use super::DivergenceKind;
use crate::outcome::{Outcome, Payload};
use crate::state::*;

/// `<op>/<what>:<path>`, see [`super`].
pub(super) fn signature(
    word: &str,
    kind: &DivergenceKind,
    outcomes: &[Option<Outcome>; 2],
    states: &[Option<State>; 2],
) -> String {
    match kind {
        DivergenceKind::Outcome => {
            let path = match outcomes {
                [Some(a), Some(b)] => outcome_path(a, b),
                _ => None,
            };
            format!("{word}/outcome:{}", path.unwrap_or_else(|| "?".into()))
        }
        DivergenceKind::State => {
            let path = match states {
                [Some(a), Some(b)] => state_path(a, b),
                _ => None,
            };
            format!("{word}/state:{}", path.unwrap_or_else(|| "?".into()))
        }
        DivergenceKind::Invariant { model, violations } => format!(
            "{word}/invariant:{}@{model}",
            violations.first().map_or("?", |v| v.invariant)
        ),
        DivergenceKind::Panic { model, .. } => format!("{word}/panic@{model}"),
        DivergenceKind::Expectation { model, .. } => format!("{word}/expect@{model}"),
    }
}

/// The first field of `pairs` whose two values differ.
macro_rules! first_diff {
    ($($name:expr => $a:expr, $b:expr;)*) => {{
        let mut found: Option<&'static str> = None;
        $(
            if found.is_none() && $a != $b {
                found = Some($name);
            }
        )*
        found
    }};
}

/// The shape of an outcome: the payload kind of `ok`, the errno, the
/// signal, `blocked`, `stuck`.
fn shape(o: &Outcome) -> &'static str {
    match o {
        Outcome::Ok(p) => match p {
            Payload::None => "ok",
            Payload::Count(_) => "count",
            Payload::Data { .. } => "data",
            Payload::Translate { .. } => "translate",
            Payload::Pfns(_) => "pfns",
            Payload::Migrate { .. } => "migrate",
            Payload::Dev { .. } => "dev",
            Payload::Snapshot(_) => "snapshot",
        },
        Outcome::Err(e) => e.name(),
        Outcome::Signal { sig, .. } => sig.name(),
        Outcome::Blocked { .. } => "blocked",
        Outcome::Stuck => "stuck",
    }
}

/// Where two outcomes first differ: `count`, `data.base`, `pfns.write`,
/// `SIGSEGV.page`, or `<shape>-vs-<shape>` (`count-vs-EFAULT`) when they
/// are of different kinds. `None` when they are equal.
pub fn outcome_path(a: &Outcome, b: &Outcome) -> Option<String> {
    if a == b {
        return None;
    }
    let (sa, sb) = (shape(a), shape(b));
    if sa != sb {
        return Some(format!("{sa}-vs-{sb}"));
    }
    let field: Option<&'static str> = match (a, b) {
        (Outcome::Ok(pa), Outcome::Ok(pb)) => match (pa, pb) {
            (
                Payload::Data {
                    base: ba,
                    values: va,
                },
                Payload::Data {
                    base: bb,
                    values: vb,
                },
            ) => first_diff! {
                "data.base" => ba, bb;
                "data.len" => va.len(), vb.len();
                "data" => va, vb;
            },
            (
                Payload::Translate {
                    page: pa,
                    shift: ha,
                },
                Payload::Translate {
                    page: pb,
                    shift: hb,
                },
            ) => first_diff! {
                "translate.page" => pa, pb;
                "translate.shift" => ha, hb;
            },
            (Payload::Pfns(wa), Payload::Pfns(wb)) => {
                if wa.len() != wb.len() {
                    Some("pfns.len")
                } else {
                    wa.iter().zip(wb).find(|(x, y)| x != y).and_then(|(x, y)| {
                        first_diff! {
                            "pfns.valid" => x.valid, y.valid;
                            "pfns.write" => x.write, y.write;
                            "pfns.error" => x.error, y.error;
                            "pfns.order" => x.order, y.order;
                            "pfns.page" => x.page, y.page;
                        }
                    })
                }
            }
            (
                Payload::Migrate {
                    cpages: ca,
                    src: xa,
                },
                Payload::Migrate {
                    cpages: cb,
                    src: xb,
                },
            ) => {
                if ca != cb {
                    Some("migrate.cpages")
                } else if xa.len() != xb.len() {
                    Some("migrate.src.len")
                } else {
                    xa.iter().zip(xb).find(|(x, y)| x != y).and_then(|(x, y)| {
                        first_diff! {
                            "migrate.src.page" => x.page, y.page;
                            "migrate.src.migrate" => x.migrate, y.migrate;
                            "migrate.src.write" => x.write, y.write;
                            "migrate.src.compound" => x.compound, y.compound;
                        }
                    })
                }
            }
            (
                Payload::Dev {
                    cpages: ca,
                    faults: fa,
                    data: da,
                },
                Payload::Dev {
                    cpages: cb,
                    faults: fb,
                    data: db,
                },
            ) => first_diff! {
                "dev.cpages" => ca, cb;
                "dev.faults" => fa, fb;
                "dev.data" => da, db;
            },
            (Payload::Snapshot(xa), Payload::Snapshot(xb)) => first_diff! {
                "snapshot.len" => xa.len(), xb.len();
                "snapshot" => xa, xb;
            },
            // Count (the only field) and anything unforeseen.
            _ => None,
        },
        (Outcome::Signal { page: pa, .. }, Outcome::Signal { page: pb, .. })
        | (Outcome::Blocked { page: pa }, Outcome::Blocked { page: pb })
            if pa != pb =>
        {
            return Some(format!("{sa}.page"));
        }
        _ => None,
    };
    Some(field.map_or_else(|| sa.to_string(), str::to_string))
}

/// Where two canonical states first differ (see the module
/// documentation); `None` when they are equal.
pub fn state_path(a: &State, b: &State) -> Option<String> {
    if a == b {
        return None;
    }
    let found = first_diff! {
        "window-pages" => a.window_pages, b.window_pages;
    }
    .map(str::to_string)
    .or_else(|| {
        keyed(
            "proc",
            by(&a.procs, |p| p.id),
            by(&b.procs, |p| p.id),
            proc_path,
        )
    })
    .or_else(|| {
        keyed(
            "object",
            by(&a.objects, |o| o.id),
            by(&b.objects, |o| o.id),
            |x, y| {
                first_diff! {
                    "object.fs" => x.fs, y.fs;
                    "object.pages" => x.pages, y.pages;
                    "object.cache" => x.cache, y.cache;
                    "object.backing" => x.backing, y.backing;
                }
                .map(str::to_string)
            },
        )
    })
    .or_else(|| keyed("folio", map_of(&a.folios), map_of(&b.folios), folio_path))
    .or_else(|| {
        keyed("swap", map_of(&a.swap), map_of(&b.swap), |x, y| {
            first_diff! {
                "swap.count" => x.count, y.count;
                "swap.cached" => x.cached, y.cached;
                "swap.contents" => x.contents, y.contents;
            }
            .map(str::to_string)
        })
    })
    .or_else(|| {
        first_diff! {
            "zone.free" => a.zone_free, b.zone_free;
            "zone.total" => a.zone_total, b.zone_total;
        }
        .map(str::to_string)
    })
    .or_else(|| {
        keyed(
            "handle",
            by(&a.handles, |h| h.id),
            by(&b.handles, |h| h.id),
            |x, y| {
                first_diff! {
                    "handle.flags" => x.flags, y.flags;
                    "handle.base" => x.base, y.base;
                    "handle.pages" => x.pages, y.pages;
                }
                .map(str::to_string)
            },
        )
    })
    .or_else(|| {
        keyed(
            "lock",
            by(&a.locks, |l| l.id),
            by(&b.locks, |l| l.id),
            |x, y| first_diff! { "lock.folio" => x.folio, y.folio; }.map(str::to_string),
        )
    })
    .or_else(|| {
        keyed(
            "iommu",
            by(&a.iommu, |i| i.id),
            by(&b.iommu, |i| i.id),
            |x, y| {
                first_diff! {
                    "iommu.proc" => x.proc, y.proc;
                    "iommu.start" => x.start, y.start;
                    "iommu.pages" => x.pages, y.pages;
                    "iommu.pageshift" => x.pageshift, y.pageshift;
                }
                .map(str::to_string)
            },
        )
    })
    .or_else(|| {
        keyed(
            "device",
            by(&a.devices, |d| d.id),
            by(&b.devices, |d| d.id),
            device_path,
        )
    })
    .or_else(|| {
        keyed(
            "session",
            by(&a.sessions, |s| s.id),
            by(&b.sessions, |s| s.id),
            |x, y| {
                first_diff! {
                    "session.proc" => x.proc, y.proc;
                    "session.range" => (x.start, x.end), (y.start, y.end);
                    "session.select" => x.select, y.select;
                    "session.owner" => x.owner, y.owner;
                    "session.fault-page" => x.fault_page, y.fault_page;
                    "session.phase" => x.phase, y.phase;
                    "session.cpages" => x.cpages, y.cpages;
                    "session.src" => x.src, y.src;
                    "session.dst" => x.dst, y.dst;
                }
                .map(str::to_string)
            },
        )
    })
    .or_else(|| {
        keyed(
            "notifier",
            by(&a.notifiers, |n| n.id),
            by(&b.notifiers, |n| n.id),
            |x, y| {
                first_diff! {
                    "notifier.proc" => x.proc, y.proc;
                    "notifier.range" => (x.start, x.end), (y.start, y.end);
                    "notifier.stale" => x.stale, y.stale;
                }
                .map(str::to_string)
            },
        )
    });
    // Only a non-canonical state (duplicate keys, unsorted lists) gets here.
    Some(found.unwrap_or_else(|| "order".into()))
}

/// A list's items by key (a later duplicate key wins; canonical lists have
/// none).
fn by<K: Ord, T>(items: &[T], key: impl Fn(&T) -> K) -> BTreeMap<K, &T> {
    items.iter().map(|x| (key(x), x)).collect()
}

fn map_of<K: Ord + Copy, T>(m: &BTreeMap<K, T>) -> BTreeMap<K, &T> {
    m.iter().map(|(k, v)| (*k, v)).collect()
}

/// Walks the union of keys in order: the first key only one side has is
/// `<item>.missing` (only A) or `<item>.extra` (only B); else the first
/// difference `cmp` finds.
fn keyed<K: Ord, T>(
    item: &str,
    a: BTreeMap<K, &T>,
    b: BTreeMap<K, &T>,
    cmp: impl Fn(&T, &T) -> Option<String>,
) -> Option<String> {
    let mut ia = a.iter().peekable();
    let mut ib = b.iter().peekable();
    loop {
        match (ia.peek(), ib.peek()) {
            (None, None) => return None,
            (Some(_), None) => return Some(format!("{item}.missing")),
            (None, Some(_)) => return Some(format!("{item}.extra")),
            (Some((ka, va)), Some((kb, vb))) => match ka.cmp(kb) {
                std::cmp::Ordering::Less => return Some(format!("{item}.missing")),
                std::cmp::Ordering::Greater => return Some(format!("{item}.extra")),
                std::cmp::Ordering::Equal => {
                    if let Some(p) = cmp(va, vb) {
                        return Some(p);
                    }
                    ia.next();
                    ib.next();
                }
            },
        }
    }
}

fn proc_path(a: &ProcState, b: &ProcState) -> Option<String> {
    first_diff! { "proc.has-pinned" => a.has_pinned, b.has_pinned; }
        .map(str::to_string)
        .or_else(|| {
            keyed(
                "vma",
                by(&a.vmas, |v| v.start),
                by(&b.vmas, |v| v.start),
                |x, y| vma_path(x, y).map(str::to_string),
            )
        })
        .or_else(|| {
            // Per page, so that two cuts of the same entries compare equal.
            let (pa, pb) = (per_page(&a.entries), per_page(&b.entries));
            keyed(
                "entry",
                pa.iter().map(|(k, v)| (*k, v)).collect(),
                pb.iter().map(|(k, v)| (*k, v)).collect(),
                |x, y| entry_path(x, y).map(str::to_string),
            )
        })
}

fn per_page(runs: &[EntryRun]) -> BTreeMap<u64, Entry> {
    let mut out = BTreeMap::new();
    for r in runs {
        for i in 0..r.len {
            out.insert(r.start.wrapping_add(i as u64), r.entry.advanced(i));
        }
    }
    out
}

fn vma_path(a: &VmaState, b: &VmaState) -> Option<&'static str> {
    first_diff! {
        "vma.end" => a.end, b.end;
        "vma.kind" => a.kind, b.kind;
        "vma.backing" => a.backing, b.backing;
        "vma.prot" => a.prot, b.prot;
        "vma.hint" => a.hint, b.hint;
        "vma.dontfork" => a.dontfork, b.dontfork;
        "vma.zone" => a.zone, b.zone;
        "vma.uffd-wp" => a.uffd_wp, b.uffd_wp;
        "vma.soft-dirty" => a.soft_dirty, b.soft_dirty;
        "vma.anon-vma" => a.anon_vma, b.anon_vma;
    }
}

/// The first differing field of two entries of one page; `entry.kind` when
/// they are different kinds of entry.
pub(super) fn entry_path(a: &Entry, b: &Entry) -> Option<&'static str> {
    if a == b {
        return None;
    }
    let found = match (a, b) {
        (
            Entry::Present {
                level: la,
                target: ta,
                bits: ba,
            },
            Entry::Present {
                level: lb,
                target: tb,
                bits: bb,
            },
        ) => first_diff! {
            "entry.level" => la, lb;
            "entry.target" => ta, tb;
            "entry.write" => ba.write, bb.write;
            "entry.dirty" => ba.dirty, bb.dirty;
            "entry.young" => ba.young, bb.young;
            "entry.soft-dirty" => ba.soft_dirty, bb.soft_dirty;
            "entry.uffd-wp" => ba.uffd_wp, bb.uffd_wp;
        },
        (
            Entry::Swap {
                slot: sa,
                exclusive: ea,
                soft_dirty: da,
                uffd_wp: ua,
            },
            Entry::Swap {
                slot: sb,
                exclusive: eb,
                soft_dirty: db,
                uffd_wp: ub,
            },
        ) => first_diff! {
            "entry.slot" => sa, sb;
            "entry.exclusive" => ea, eb;
            "entry.soft-dirty" => da, db;
            "entry.uffd-wp" => ua, ub;
        },
        (
            Entry::Migration {
                level: la,
                target: ta,
                kind: ka,
                young: ya,
                dirty: da,
                soft_dirty: sa,
                uffd_wp: ua,
            },
            Entry::Migration {
                level: lb,
                target: tb,
                kind: kb,
                young: yb,
                dirty: db,
                soft_dirty: sb,
                uffd_wp: ub,
            },
        ) => first_diff! {
            "entry.level" => la, lb;
            "entry.target" => ta, tb;
            "entry.mig-kind" => ka, kb;
            "entry.young" => ya, yb;
            "entry.dirty" => da, db;
            "entry.soft-dirty" => sa, sb;
            "entry.uffd-wp" => ua, ub;
        },
        (
            Entry::DevicePrivate {
                level: la,
                target: ta,
                write: wa,
                soft_dirty: sa,
                uffd_wp: ua,
            },
            Entry::DevicePrivate {
                level: lb,
                target: tb,
                write: wb,
                soft_dirty: sb,
                uffd_wp: ub,
            },
        ) => first_diff! {
            "entry.level" => la, lb;
            "entry.target" => ta, tb;
            "entry.write" => wa, wb;
            "entry.soft-dirty" => sa, sb;
            "entry.uffd-wp" => ua, ub;
        },
        (
            Entry::DeviceExclusive {
                target: ta,
                write: wa,
                soft_dirty: sa,
                uffd_wp: ua,
            },
            Entry::DeviceExclusive {
                target: tb,
                write: wb,
                soft_dirty: sb,
                uffd_wp: ub,
            },
        ) => first_diff! {
            "entry.target" => ta, tb;
            "entry.write" => wa, wb;
            "entry.soft-dirty" => sa, sb;
            "entry.uffd-wp" => ua, ub;
        },
        _ => None,
    };
    Some(found.unwrap_or("entry.kind"))
}

fn folio_path(a: &FolioState, b: &FolioState) -> Option<String> {
    first_diff! {
        "folio.order" => a.order, b.order;
        "folio.memory" => a.memory, b.memory;
        "folio.refcount" => a.refcount, b.refcount;
        "folio.mapcount" => a.mapcount, b.mapcount;
        "folio.entire-mapcount" => a.entire_mapcount, b.entire_mapcount;
        "folio.pincount" => a.pincount, b.pincount;
        "folio.locked" => a.locked, b.locked;
        "folio.lru" => a.lru, b.lru;
        "folio.anon" => a.anon, b.anon;
        "folio.swapbacked" => a.swapbacked, b.swapbacked;
        "folio.dirty" => a.dirty, b.dirty;
        "folio.swapcache" => a.swapcache, b.swapcache;
        "folio.mapping" => a.mapping, b.mapping;
        "folio.anon-exclusive" => a.anon_exclusive, b.anon_exclusive;
        "folio.contents" => a.contents, b.contents;
    }
    .map(str::to_string)
}

fn device_path(a: &DeviceState, b: &DeviceState) -> Option<String> {
    first_diff! {
        "device.pool-total" => a.pool_total, b.pool_total;
        "device.pool-free" => a.pool_free, b.pool_free;
        "device.pgmap-refs" => a.pgmap_refs, b.pgmap_refs;
        "device.released" => a.released, b.released;
        "device.fail-alloc" => a.fail_alloc, b.fail_alloc;
    }
    .map(str::to_string)
    .or_else(|| {
        keyed(
            "mirror",
            by(&a.mirrors, |m| m.proc),
            by(&b.mirrors, |m| m.proc),
            |x, y| {
                keyed(
                    "mirror-entry",
                    by(&x.entries, |e| e.page),
                    by(&y.entries, |e| e.page),
                    |e, f| {
                        first_diff! {
                            "mirror-entry.target" => e.target, f.target;
                            "mirror-entry.tag" => e.tag, f.tag;
                        }
                        .map(str::to_string)
                    },
                )
            },
        )
    })
}
