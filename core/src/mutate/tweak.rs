//! Argument tweaks: one argument of one op changed to a nearby value.
//!
//! An op is viewed as a list of typed [`Field`]s (mutable borrows of its
//! arguments), so that one function per argument type does the work for
//! every op kind that has such an argument. Each tweak keeps its field in
//! the op domain ([`Op::validate`]); the caller still checks the whole op
//! and undoes a tweak that changed nothing.

use crate::ids::{for_each_id, IdKind};
use crate::op::{
    Advice, DevId, FileId, Fill, FsKind, GupFlags, HmmReq, MapKind, MigrateDest, MigrateSelect,
    NotifierId, Op, PageAt, PageRange, ProcId, Prot, SlotId, Zone, MAX_PAGE, PMD_PAGES,
};
use crate::rng::SplitMix64;

/// Which argument a [`super::Mutation::Tweak`] changed, and how.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tweak {
    /// A range, page or index moved by a page, a few pages or a PMD.
    Shift,
    /// A range or size made larger.
    Grow,
    /// A range or size made smaller (never empty).
    Shrink,
    /// A range, page or size put on PMD boundaries (512 pages), or a range
    /// made to straddle one: where huge-page paths change behaviour.
    SnapPmd,
    /// A range cut to its first page, or a size to one page.
    OnePage,
    /// The mapping window of a range or page changed to a neighbour.
    Window,
    /// A process, file, handle, lock, IOMMU, device, notifier or session
    /// id changed to a neighbouring one (or to 0, the most used).
    Id,
    /// A GUP flag, a migrate selection flag or a boolean flipped.
    Flag,
    Prot,
    Advice,
    Fill,
    /// Another value of a small enumeration: zone, filesystem, mapping
    /// kind, HMM request, migration destination.
    Choice,
    /// An optional argument added, dropped, or changed.
    Optional,
    /// An argument made equal to the same kind of argument of another op
    /// (its process and range, a page, an id): random ops rarely meet
    /// what earlier ops created, copies do.
    Align,
}

/// One argument of an op, borrowed for change.
pub(super) enum Field<'a> {
    Id(IdKind, &'a mut u8),
    /// The mapping window of an `mmap`.
    Window(&'a mut u8),
    Range(&'a mut PageRange),
    At(&'a mut PageAt),
    Page(&'a mut u32),
    Size(&'a mut u32),
    /// An index range `[start, end)` (`dma-*`), non-empty, end <= MAX_PAGE.
    Span(&'a mut u32, &'a mut u32),
    Bool(&'a mut bool),
    Gup(&'a mut GupFlags),
    Select(&'a mut MigrateSelect),
    Prot(&'a mut Prot),
    Advice(&'a mut Advice),
    Zone(&'a mut Zone),
    Fs(&'a mut FsKind),
    Kind(&'a mut MapKind),
    Req(&'a mut HmmReq),
    Fill(&'a mut Fill),
    Dest(&'a mut MigrateDest),
    OptDev(&'a mut Option<DevId>),
    OptNotifier(&'a mut Option<NotifierId>),
    OptPage(&'a mut Option<u32>),
    PageReq(&'a mut Option<(u32, u32, HmmReq)>),
    Fail(&'a mut Option<(u32, u32)>),
}

/// Every argument of `op`, in declaration order.
pub(super) fn fields(op: &mut Op) -> Vec<Field<'_>> {
    use Field as F;
    use IdKind as K;
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
        } => vec![
            F::Id(K::Proc, &mut p.0),
            F::Window(&mut slot.0),
            F::Page(at),
            F::Size(pages),
            F::Kind(kind),
            F::Prot(prot),
            F::Zone(zone),
            F::Page(foff),
        ],
        Op::Munmap { p, range } | Op::Read { p, range } => {
            vec![F::Id(K::Proc, &mut p.0), F::Range(range)]
        }
        Op::Mprotect { p, range, prot } => {
            vec![F::Id(K::Proc, &mut p.0), F::Range(range), F::Prot(prot)]
        }
        Op::Madvise { p, range, advice } => {
            vec![F::Id(K::Proc, &mut p.0), F::Range(range), F::Advice(advice)]
        }
        Op::Mremap { p, range, to } => {
            vec![F::Id(K::Proc, &mut p.0), F::Range(range), F::At(to)]
        }
        Op::Fork { p, child } => vec![F::Id(K::Proc, &mut p.0), F::Id(K::Proc, &mut child.0)],
        Op::Exit { p } | Op::ClearSoftDirty { p } => vec![F::Id(K::Proc, &mut p.0)],
        Op::File { f, fs, pages } => vec![F::Id(K::File, &mut f.0), F::Fs(fs), F::Size(pages)],
        Op::Write { p, range, fill } => {
            vec![F::Id(K::Proc, &mut p.0), F::Range(range), F::Fill(fill)]
        }
        Op::UffdWp { p, range, on } => {
            vec![F::Id(K::Proc, &mut p.0), F::Range(range), F::Bool(on)]
        }
        Op::Gup { p, range, h, flags } => vec![
            F::Id(K::Proc, &mut p.0),
            F::Range(range),
            F::Id(K::Handle, &mut h.0),
            F::Gup(flags),
        ],
        Op::Release { h, dirty } => vec![F::Id(K::Handle, &mut h.0), F::Bool(dirty)],
        Op::DmaRead { h, start, end } => vec![F::Id(K::Handle, &mut h.0), F::Span(start, end)],
        Op::DmaWrite {
            h,
            start,
            end,
            fill,
        } => vec![
            F::Id(K::Handle, &mut h.0),
            F::Span(start, end),
            F::Fill(fill),
        ],
        Op::Reclaim | Op::CmaEvacuate => vec![],
        Op::SplitThp { p, at } => vec![F::Id(K::Proc, &mut p.0), F::At(at)],
        Op::Lock { x, p, at } => vec![
            F::Id(K::Lock, &mut x.0),
            F::Id(K::Proc, &mut p.0),
            F::At(at),
        ],
        Op::Unlock { x } => vec![F::Id(K::Lock, &mut x.0)],
        Op::FailAlloc { zone } => vec![F::Zone(zone)],
        Op::IommuPrereg { i, p, range } => vec![
            F::Id(K::Iommu, &mut i.0),
            F::Id(K::Proc, &mut p.0),
            F::Range(range),
        ],
        Op::IommuTranslate { i, index } => vec![F::Id(K::Iommu, &mut i.0), F::Page(index)],
        Op::IommuUnreg { i } => vec![F::Id(K::Iommu, &mut i.0)],
        Op::HmmFault {
            p,
            range,
            req,
            page_req,
            owner,
            seq,
        } => vec![
            F::Id(K::Proc, &mut p.0),
            F::Range(range),
            F::Req(req),
            F::PageReq(page_req),
            F::OptDev(owner),
            F::OptNotifier(seq),
        ],
        Op::Notifier { n, p, range } => vec![
            F::Id(K::Notifier, &mut n.0),
            F::Id(K::Proc, &mut p.0),
            F::Range(range),
        ],
        Op::ReadBegin { n } | Op::ReadRetry { n } => vec![F::Id(K::Notifier, &mut n.0)],
        Op::MigrateSetup {
            s,
            p,
            range,
            select,
            owner,
            fault_page,
        } => vec![
            F::Id(K::Session, &mut s.0),
            F::Id(K::Proc, &mut p.0),
            F::Range(range),
            F::Select(select),
            F::OptDev(owner),
            F::OptPage(fault_page),
        ],
        Op::MigrateAlloc {
            s,
            dest,
            fail,
            split,
        } => vec![
            F::Id(K::Session, &mut s.0),
            F::Dest(dest),
            F::Fail(fail),
            F::Bool(split),
        ],
        Op::MigratePages { s } | Op::MigrateFinalize { s } => vec![F::Id(K::Session, &mut s.0)],
        Op::DevWrite { d, p, range, fill } => vec![
            F::Id(K::Dev, &mut d.0),
            F::Id(K::Proc, &mut p.0),
            F::Range(range),
            F::Fill(fill),
        ],
        Op::DevRead { d, p, range }
        | Op::MigrateToDev { d, p, range }
        | Op::MigrateToSys { d, p, range }
        | Op::DevSnapshot { d, p, range }
        | Op::DevExclusive { d, p, range }
        | Op::DevCheckExclusive { d, p, range } => vec![
            F::Id(K::Dev, &mut d.0),
            F::Id(K::Proc, &mut p.0),
            F::Range(range),
        ],
        Op::DevRelease { d } | Op::DevFailAlloc { d } => vec![F::Id(K::Dev, &mut d.0)],
        Op::DevClose { d, p } => vec![F::Id(K::Dev, &mut d.0), F::Id(K::Proc, &mut p.0)],
    }
}

fn coin(rng: &mut SplitMix64) -> bool {
    rng.below(2) == 1
}

/// A distance: one page, a few, a PMD, or up to a window's worth.
fn distance(rng: &mut SplitMix64) -> u32 {
    match rng.below(4) {
        0 => 1,
        1 => 1 + rng.below(16) as u32,
        2 => PMD_PAGES,
        _ => 1 + rng.below(2048) as u32,
    }
}

/// A random choice from `all` other than `current` (when there is one).
fn other<T: Copy + PartialEq>(rng: &mut SplitMix64, all: &[T], current: T) -> T {
    let others: Vec<T> = all.iter().copied().filter(|v| *v != current).collect();
    if others.is_empty() {
        return current;
    }
    others[rng.below(others.len() as u64) as usize]
}

/// A neighbouring id of `count` (wrapping), or 0: the first slots are the
/// ones earlier ops most likely created.
fn id(rng: &mut SplitMix64, v: &mut u8, count: u8) {
    *v = match rng.below(4) {
        0 => 0,
        1 => (*v + count - 1) % count,
        _ => (*v + 1) % count,
    };
}

/// Changes one field; returns what kind of change it was.
pub(super) fn tweak_field(rng: &mut SplitMix64, field: Field<'_>) -> Tweak {
    match field {
        Field::Id(kind, v) => {
            id(rng, v, kind.count());
            Tweak::Id
        }
        Field::Window(v) => {
            id(rng, v, SlotId::COUNT);
            Tweak::Window
        }
        Field::Range(r) => range(rng, r),
        Field::At(a) => {
            if rng.below(4) == 0 {
                id(rng, &mut a.slot.0, SlotId::COUNT);
                Tweak::Window
            } else {
                page(rng, &mut a.page)
            }
        }
        Field::Page(p) => page(rng, p),
        Field::Size(n) => size(rng, n),
        Field::Span(start, end) => span(rng, start, end),
        Field::Bool(b) => {
            *b = !*b;
            Tweak::Flag
        }
        Field::Gup(f) => {
            let bits = [
                &mut f.pin,
                &mut f.write,
                &mut f.longterm,
                &mut f.fast,
                &mut f.force,
                &mut f.nofault,
            ];
            let pick = rng.below(bits.len() as u64) as usize;
            for (i, b) in bits.into_iter().enumerate() {
                if i == pick {
                    *b = !*b;
                }
            }
            Tweak::Flag
        }
        Field::Select(s) => {
            let bits = [
                &mut s.system,
                &mut s.private,
                &mut s.coherent,
                &mut s.compound,
                &mut s.fault,
            ];
            let pick = rng.below(bits.len() as u64) as usize;
            for (i, b) in bits.into_iter().enumerate() {
                if i == pick {
                    *b = !*b;
                }
            }
            Tweak::Flag
        }
        Field::Prot(p) => {
            *p = other(rng, &[Prot::None, Prot::R, Prot::RW], *p);
            Tweak::Prot
        }
        Field::Advice(a) => {
            *a = other(rng, &Advice::ALL, *a);
            Tweak::Advice
        }
        Field::Zone(z) => {
            *z = other(rng, &Zone::ALL, *z);
            Tweak::Choice
        }
        Field::Fs(fs) => {
            *fs = other(rng, &[FsKind::Tmpfs, FsKind::Ext4], *fs);
            Tweak::Choice
        }
        Field::Kind(k) => {
            let f = match *k {
                MapKind::FilePrivate(f) | MapKind::FileShared(f) => f,
                _ => FileId(0),
            };
            let all = [
                MapKind::Anon,
                MapKind::AnonShared,
                MapKind::FilePrivate(f),
                MapKind::FileShared(f),
                MapKind::Special,
            ];
            *k = other(rng, &all, *k);
            Tweak::Choice
        }
        Field::Req(r) => {
            *r = other(rng, &[HmmReq::None, HmmReq::Fault, HmmReq::Write], *r);
            Tweak::Choice
        }
        Field::Fill(f) => {
            fill(rng, f);
            Tweak::Fill
        }
        Field::Dest(d) => {
            let all = [
                MigrateDest::Device(DevId(0)),
                MigrateDest::Device(DevId(1)),
                MigrateDest::Device(DevId(2)),
                MigrateDest::Device(DevId(3)),
                MigrateDest::System,
            ];
            *d = other(rng, &all, *d);
            Tweak::Choice
        }
        Field::OptDev(o) => {
            *o = match *o {
                Some(mut d) if coin(rng) => {
                    id(rng, &mut d.0, DevId::COUNT);
                    Some(d)
                }
                Some(_) => None,
                None => Some(DevId(0)),
            };
            Tweak::Optional
        }
        Field::OptNotifier(o) => {
            *o = match *o {
                Some(mut n) if coin(rng) => {
                    id(rng, &mut n.0, NotifierId::COUNT);
                    Some(n)
                }
                Some(_) => None,
                None => Some(NotifierId(0)),
            };
            Tweak::Optional
        }
        Field::OptPage(o) => match o {
            Some(p) if coin(rng) => page(rng, p),
            Some(_) => {
                *o = None;
                Tweak::Optional
            }
            None => {
                *o = Some(0);
                Tweak::Optional
            }
        },
        Field::PageReq(o) => match o {
            Some((a, b, _)) if coin(rng) => span(rng, a, b),
            Some((_, _, r)) if coin(rng) => {
                *r = other(rng, &[HmmReq::None, HmmReq::Fault, HmmReq::Write], *r);
                Tweak::Choice
            }
            Some(_) => {
                *o = None;
                Tweak::Optional
            }
            None => {
                *o = Some((0, 1, HmmReq::Write));
                Tweak::Optional
            }
        },
        Field::Fail(o) => match o {
            Some((a, b)) if coin(rng) => span(rng, a, b),
            Some(_) => {
                *o = None;
                Tweak::Optional
            }
            None => {
                *o = Some((0, 1));
                Tweak::Optional
            }
        },
    }
}

/// Tweaks a range: its pages, or (one time in eight) its window.
fn range(rng: &mut SplitMix64, r: &mut PageRange) -> Tweak {
    if rng.below(8) == 0 {
        id(rng, &mut r.slot.0, SlotId::COUNT);
        return Tweak::Window;
    }
    span(rng, &mut r.start, &mut r.end)
}

/// Tweaks `[start, end)`, keeping `start < end <= MAX_PAGE` (a tweak that
/// would leave the domain changes nothing).
fn span(rng: &mut SplitMix64, start: &mut u32, end: &mut u32) -> Tweak {
    let d = distance(rng);
    let (s, e) = (*start, *end);
    let (t, ns, ne) = match rng.below(5) {
        0 => match coin(rng) {
            true if e.saturating_add(d) <= MAX_PAGE => (Tweak::Shift, s + d, e + d),
            false if s >= d => (Tweak::Shift, s - d, e - d),
            _ => (Tweak::Shift, s, e),
        },
        1 => match coin(rng) {
            true => (Tweak::Grow, s, e.saturating_add(d).min(MAX_PAGE)),
            false => (Tweak::Grow, s.saturating_sub(d), e),
        },
        2 => {
            let k = d.min(e - s - 1);
            match coin(rng) {
                true => (Tweak::Shrink, s, e - k),
                false => (Tweak::Shrink, s + k, e),
            }
        }
        3 => {
            let (ns, ne) = snap(rng, s, e);
            (Tweak::SnapPmd, ns, ne)
        }
        _ => (Tweak::OnePage, s, s + 1),
    };
    if ns < ne && ne <= MAX_PAGE {
        *start = ns;
        *end = ne;
    }
    t
}

/// PMD-aligned variants of `[s, e)`: snapped outward to PMD boundaries,
/// the one PMD holding `s`, or a few pages straddling the boundary
/// nearest to `s`.
pub(super) fn snap(rng: &mut SplitMix64, s: u32, e: u32) -> (u32, u32) {
    let pmd = PMD_PAGES;
    let down = s / pmd * pmd;
    match rng.below(3) {
        0 => {
            let up = e.div_ceil(pmd).saturating_mul(pmd).min(MAX_PAGE);
            (down, up.max(down + pmd).min(MAX_PAGE))
        }
        1 => (down, (down + pmd).min(MAX_PAGE)),
        _ => {
            let b = ((s + pmd / 2) / pmd * pmd).clamp(pmd, MAX_PAGE - pmd);
            (b - 1 - rng.below(8) as u32, b + 1 + rng.below(8) as u32)
        }
    }
}

/// Tweaks a page number, keeping it below MAX_PAGE.
fn page(rng: &mut SplitMix64, p: &mut u32) -> Tweak {
    let d = distance(rng);
    let (t, v) = match rng.below(4) {
        0 => (Tweak::Shift, p.saturating_add(d)),
        1 => (Tweak::Shift, p.saturating_sub(d)),
        2 => (Tweak::SnapPmd, *p / PMD_PAGES * PMD_PAGES),
        _ => (Tweak::Shift, 0),
    };
    if v < MAX_PAGE {
        *p = v;
    }
    t
}

/// Tweaks a size, keeping it in `1..=MAX_PAGE`.
fn size(rng: &mut SplitMix64, n: &mut u32) -> Tweak {
    let d = distance(rng);
    let (t, v) = match rng.below(6) {
        0 => (Tweak::Grow, n.saturating_add(d)),
        1 => (Tweak::Grow, n.saturating_mul(2)),
        2 => (Tweak::Shrink, n.saturating_sub(d)),
        3 => (Tweak::Shrink, *n / 2),
        4 => (
            Tweak::SnapPmd,
            n.div_ceil(PMD_PAGES).saturating_mul(PMD_PAGES),
        ),
        _ => (Tweak::OnePage, 1),
    };
    *n = v.clamp(1, MAX_PAGE);
    t
}

fn fill(rng: &mut SplitMix64, f: &mut Fill) {
    *f = match (rng.below(4), *f) {
        (0, Fill::Const(v)) => Fill::Index(v),
        (0, Fill::Index(v)) => Fill::Const(v),
        (1, Fill::Const(v)) => Fill::Const(v.wrapping_add(1)),
        (1, Fill::Index(v)) => Fill::Index(v.wrapping_add(1)),
        (2, Fill::Const(v)) => Fill::Const(v.wrapping_sub(1)),
        (2, Fill::Index(v)) => Fill::Index(v.wrapping_sub(1)),
        (_, Fill::Const(_)) => Fill::Const(rng.below(256)),
        (_, Fill::Index(_)) => Fill::Index(rng.below(256)),
    };
}

/// The process and pages `op` works on, for [`align`]: its range (an
/// `mmap`: the pages it maps; a page argument: that page).
pub(super) fn anchor(op: &Op) -> Option<(ProcId, PageRange)> {
    let mut op = op.clone();
    let mut p = None;
    let mut r = None;
    for f in fields(&mut op) {
        match f {
            Field::Id(IdKind::Proc, v) if p.is_none() => p = Some(ProcId(*v)),
            Field::Range(range) => r = Some(*range),
            Field::At(a) if r.is_none() => r = Some(PageRange::new(a.slot, a.page, a.page + 1)),
            _ => {}
        }
    }
    if let Op::Mmap {
        slot, at, pages, ..
    } = op
    {
        r = Some(PageRange::new(
            slot,
            at,
            at.saturating_add(pages).min(MAX_PAGE),
        ));
    }
    Some((p?, r?))
}

/// The ids `op` names, by kind.
pub(super) fn ids(op: &Op) -> Vec<(IdKind, u8)> {
    let mut op = op.clone();
    let mut out = Vec::new();
    for_each_id(&mut op, |kind, id| out.push((kind, *id)));
    out
}

/// Makes one argument of `op` equal to the same kind of argument of
/// `source`: its process and range (the whole range, its first page, or a
/// part of it), the page an `mmap` maps or a page argument names, or one
/// id. Changes nothing when they share no kind of argument.
pub(super) fn align(rng: &mut SplitMix64, op: &mut Op, source: &Op) {
    // An mmap has no range field: it maps the source's pages as a whole.
    if matches!(op, Op::Mmap { .. }) && coin(rng) && align_mmap(op, source) {
        return;
    }
    let anchor = anchor(source);
    let source_ids = ids(source);
    let mut candidates: Vec<Field<'_>> = fields(op)
        .into_iter()
        .filter(|f| match f {
            Field::Range(_) | Field::At(_) => anchor.is_some(),
            Field::Id(k, _) => source_ids.iter().any(|(sk, _)| sk == k),
            _ => false,
        })
        .collect();
    if candidates.is_empty() {
        return;
    }
    let pick = rng.below(candidates.len() as u64) as usize;
    let field = candidates.swap_remove(pick);
    drop(candidates);
    match (field, anchor) {
        (Field::Id(k, v), _) => {
            let same: Vec<u8> = source_ids
                .iter()
                .filter(|(sk, _)| *sk == k)
                .map(|(_, v)| *v)
                .collect();
            if let Some(&s) = same.get(rng.below(same.len().max(1) as u64) as usize) {
                *v = s;
            }
        }
        (Field::Range(r), Some((p, src))) if !src.is_empty() => {
            *r = match rng.below(3) {
                0 => src,
                1 => PageRange::new(src.slot, src.start, src.start + 1),
                _ => {
                    let a = src.start + rng.below(src.len() as u64) as u32;
                    let b = a + 1 + rng.below((src.end - a) as u64) as u32;
                    PageRange::new(src.slot, a, b)
                }
            };
            set_proc(op, p);
        }
        (Field::At(a), Some((p, src))) => {
            a.slot = src.slot;
            a.page = src.start;
            set_proc(op, p);
        }
        _ => {}
    }
}

/// Makes an `mmap` map exactly the pages `source` works on.
fn align_mmap(op: &mut Op, source: &Op) -> bool {
    let Some((p0, src)) = anchor(source).filter(|(_, r)| !r.is_empty()) else {
        return false;
    };
    if let Op::Mmap {
        p, slot, at, pages, ..
    } = op
    {
        *p = p0;
        *slot = src.slot;
        *at = src.start;
        *pages = src.len();
        return true;
    }
    false
}

/// Sets the op's (first) process.
fn set_proc(op: &mut Op, p: ProcId) {
    if let Some(Field::Id(IdKind::Proc, v)) = fields(op)
        .into_iter()
        .find(|f| matches!(f, Field::Id(IdKind::Proc, _)))
    {
        *v = p.0;
    }
}
