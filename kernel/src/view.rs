//! The observable state: what user space can learn about the windows of
//! every process from `/proc` (maps/smaps, pagemap, kpageflags,
//! kpagecount, mem), and the same facts projected out of a model's state.
//!
//! Per process: its VMAs in the windows, and per mapped page whether it is
//! present (and then through a PMD or a PTE, which frame, the frame's folio
//! order, anon or page cache, the page's mapcount, pagemap's "exclusively
//! mapped" bit) or swapped, its soft-dirty and uffd-wp bits, and its value.
//! Frames are never compared by number: [`View::canonical`] names folios
//! `F0, F1, ...` and shmem objects `shm0, ...` by first appearance
//! (processes by id, VMAs by address, pages by address), as the models'
//! canonical states do, so sharing after fork or COW is compared and
//! allocation order is not.
//!
//! What is deliberately left out, because user space cannot see it:
//! refcounts and pins (kpagecount is the mapcount), PTE write/dirty/young
//! bits, anon-exclusive flags, swap slot identity, zone free counts, and
//! everything of the models' kernel-side objects (handles, locks, devices).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use mmdiff_core::canon::{range_label, rle};
use mmdiff_core::op::{FileId, ProcId, Prot};
use mmdiff_core::state::HugeHint;

/// What backs a VMA.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Backing {
    AnonPrivate,
    /// A shmem object (`MAP_SHARED|MAP_ANONYMOUS`) and the object page at
    /// the VMA's start. Raw: a model's object id or the kernel's inode.
    AnonShared {
        object: u64,
        page: u64,
    },
    FilePrivate {
        file: FileId,
        page: u64,
    },
    FileShared {
        file: FileId,
        page: u64,
    },
    /// Something the windows should never hold (a special mapping of a
    /// model, a mapping the kernel shows that no op made).
    Other(String),
}

/// One VMA inside the windows; `[start, end)` in absolute pages.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct VmaView {
    pub start: u64,
    pub end: u64,
    pub prot: Prot,
    pub backing: Backing,
    /// `MADV_HUGEPAGE` / `MADV_NOHUGEPAGE` (smaps `hg` / `nh`).
    pub hint: HugeHint,
    /// `VM_DONTCOPY` (smaps `dc`).
    pub dontfork: bool,
    /// `VM_SOFTDIRTY` (smaps `sd`); `None` where soft-dirty is not tracked.
    pub soft_dirty: Option<bool>,
}

/// The frame a present page maps.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Frame {
    /// The shared zero page.
    Zero,
    /// Page `page` of the huge zero folio.
    HugeZero { page: u32 },
    /// Page `page` of a folio. Raw `folio`: a pfn of the folio's head, or
    /// a model's folio id; canonical: the `F<n>` number.
    Folio {
        folio: u64,
        page: u32,
        /// The folio's order (0 or 9 in the models).
        order: u8,
        /// An anonymous folio (`KPF_ANON`); page cache and shmem are not.
        anon: bool,
        /// This page's mapcount (kpagecount: PTE mappings plus PMD
        /// mappings of the folio).
        mapcount: u64,
        /// pagemap bit 56, "exclusively mapped": the page's mapcount is 1.
        exclusive: bool,
    },
    /// Page `page` of a ZONE_DEVICE folio mapped present (device-coherent
    /// memory): `/proc/kpageflags` and `kpagecount` know nothing of such
    /// pfns (`NOPAGE`), so only identity and pagemap's bit 56 are seen.
    /// Raw `folio`: the pfn, or a model's folio id.
    Device {
        folio: u64,
        page: u32,
        exclusive: bool,
    },
}

/// One page's mapping state.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum PageState {
    Present {
        pmd: bool,
        frame: Frame,
    },
    Swapped,
    /// A device-private entry (pagemap: a swap entry of type
    /// `SWP_DEVICE_WRITE` or `SWP_DEVICE_READ` whose offset is the device
    /// page's pfn): page `page` of device folio `folio`, named like
    /// [`Frame::Device`]. Its value is not read: any CPU access, even
    /// through `/proc/PID/mem`, migrates it back to system memory.
    DevicePrivate {
        write: bool,
        folio: u64,
        page: u32,
    },
    /// A device-exclusive entry: before Linux 6.15 pagemap shows a swap
    /// entry of type `SWP_DEVICE_EXCLUSIVE_WRITE` (`write`) or `_READ`
    /// whose offset is the pfn of the page in system memory; `frame` is
    /// what kpageflags and kpagecount say of that pfn (its folio, order,
    /// anon flag and mapcount: before 6.15 the entry does not count as a
    /// mapping, from 6.15 it does); the exclusive bit is pagemap's, never
    /// set for an entry that is not present. Its value is not read: any
    /// CPU access restores the mapping.
    DeviceExclusive {
        write: bool,
        frame: Frame,
    },
    /// A model entry user space has no name for (migration, ...): it can
    /// never agree with the kernel.
    Other(String),
}

/// One mapped page of a process (pages with no entry are left out).
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct PageView {
    /// Absolute page number.
    pub page: u64,
    pub state: PageState,
    /// pagemap bit 55 (the PTE's or the VMA's); `None` where soft-dirty is
    /// not tracked.
    pub soft_dirty: Option<bool>,
    /// pagemap bit 57.
    pub uffd_wp: bool,
    /// The `u64` at the start of the page, for present pages of folios
    /// (the zero pages read 0 and are not read).
    pub value: Option<u64>,
}

/// One process.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ProcView {
    pub id: ProcId,
    /// By address.
    pub vmas: Vec<VmaView>,
    /// By address.
    pub pages: Vec<PageView>,
}

/// Every process's observable state.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
pub struct View {
    /// By id.
    pub procs: Vec<ProcView>,
}

impl View {
    /// Pages observed (every mapped page of every process).
    pub fn pages(&self) -> u64 {
        self.procs.iter().map(|p| p.pages.len() as u64).sum()
    }

    /// The canonical form: processes, VMAs and pages sorted; folios and
    /// shmem objects renamed densely by first appearance (processes by id,
    /// each process's VMAs by address, then its pages by address).
    pub fn canonical(&self) -> View {
        let mut procs = self.procs.clone();
        procs.sort_by_key(|p| p.id);
        let mut objects: BTreeMap<u64, u64> = BTreeMap::new();
        let mut folios: BTreeMap<u64, u64> = BTreeMap::new();
        for p in &mut procs {
            p.vmas.sort();
            p.pages.sort();
            for v in &mut p.vmas {
                if let Backing::AnonShared { object, .. } = &mut v.backing {
                    let next = objects.len() as u64;
                    *object = *objects.entry(*object).or_insert(next);
                }
            }
            for pg in &mut p.pages {
                if let PageState::Present {
                    frame: Frame::Folio { folio, .. } | Frame::Device { folio, .. },
                    ..
                }
                | PageState::DeviceExclusive {
                    frame: Frame::Folio { folio, .. } | Frame::Device { folio, .. },
                    ..
                }
                | PageState::DevicePrivate { folio, .. } = &mut pg.state
                {
                    let next = folios.len() as u64;
                    *folio = *folios.entry(*folio).or_insert(next);
                }
            }
        }
        View { procs }
    }

    /// The text of a canonical view, one item per line, pages compressed
    /// into runs, for reports and diffs.
    pub fn render(&self, window_pages: u32) -> String {
        let mut out = String::new();
        for p in &self.procs {
            let _ = writeln!(out, "{}", p.id);
            for v in &p.vmas {
                let _ = writeln!(out, "  vma {}", render_vma(window_pages, v));
            }
            for run in runs(&p.pages) {
                let _ = writeln!(out, "    {}", render_run(window_pages, &run));
            }
        }
        out
    }
}

/// The field of the first difference between two canonical views, named
/// without ids, addresses or values (`vma`, `page.mapped`, `page.pmd`,
/// `page.mapcount`, `page.sharing`, `page.value`, ...): one kind of
/// disagreement gives one name whatever the input, for deduplication.
pub fn first_difference(a: &View, b: &View) -> Option<&'static str> {
    if a.procs
        .iter()
        .map(|p| p.id)
        .ne(b.procs.iter().map(|p| p.id))
    {
        return Some("procs");
    }
    for (pa, pb) in a.procs.iter().zip(&b.procs) {
        if pa.vmas != pb.vmas {
            return Some("vma");
        }
        if pa
            .pages
            .iter()
            .map(|p| p.page)
            .ne(pb.pages.iter().map(|p| p.page))
        {
            return Some("page.mapped");
        }
        for (x, y) in pa.pages.iter().zip(&pb.pages) {
            if let Some(field) = page_difference(x, y) {
                return Some(field);
            }
        }
    }
    None
}

fn page_difference(x: &PageView, y: &PageView) -> Option<&'static str> {
    match (&x.state, &y.state) {
        (PageState::Present { pmd: pa, frame: fa }, PageState::Present { pmd: pb, frame: fb }) => {
            if pa != pb {
                return Some("page.pmd");
            }
            if let Some(field) = frame_difference(fa, fb) {
                return Some(field);
            }
        }
        (
            PageState::DevicePrivate {
                write: wa,
                folio: na,
                page: ia,
            },
            PageState::DevicePrivate {
                write: wb,
                folio: nb,
                page: ib,
            },
        ) => {
            if wa != wb {
                return Some("page.device-write");
            }
            if (na, ia) != (nb, ib) {
                return Some("page.sharing");
            }
        }
        (
            PageState::DeviceExclusive {
                write: wa,
                frame: fa,
            },
            PageState::DeviceExclusive {
                write: wb,
                frame: fb,
            },
        ) => {
            if wa != wb {
                return Some("page.device-exclusive-write");
            }
            if let Some(field) = frame_difference(fa, fb) {
                return Some(field);
            }
        }
        (a, b) if a != b => return Some("page.state"),
        _ => {}
    }
    if x.soft_dirty != y.soft_dirty {
        return Some("page.soft-dirty");
    }
    if x.uffd_wp != y.uffd_wp {
        return Some("page.uffd-wp");
    }
    if x.value != y.value {
        return Some("page.value");
    }
    None
}

/// The field of the first difference between two frames.
fn frame_difference(fa: &Frame, fb: &Frame) -> Option<&'static str> {
    match (fa, fb) {
        (
            Frame::Folio {
                folio: na,
                page: ia,
                order: oa,
                anon: aa,
                mapcount: ma,
                exclusive: ea,
            },
            Frame::Folio {
                folio: nb,
                page: ib,
                order: ob,
                anon: ab,
                mapcount: mb,
                exclusive: eb,
            },
        ) => {
            let fields = [
                (oa != ob, "page.order"),
                (aa != ab, "page.anon"),
                (ma != mb, "page.mapcount"),
                (ea != eb, "page.exclusive"),
                ((na, ia) != (nb, ib), "page.sharing"),
            ];
            fields.iter().find(|(d, _)| *d).map(|(_, f)| *f)
        }
        (
            Frame::Device {
                folio: na,
                page: ia,
                exclusive: ea,
            },
            Frame::Device {
                folio: nb,
                page: ib,
                exclusive: eb,
            },
        ) => {
            if ea != eb {
                Some("page.exclusive")
            } else if (na, ia) != (nb, ib) {
                Some("page.sharing")
            } else {
                None
            }
        }
        (fa, fb) if fa != fb => Some("page.frame"),
        _ => None,
    }
}

fn prot_name(p: Prot) -> &'static str {
    match p {
        Prot::None => "none",
        Prot::R => "r",
        Prot::RW => "rw",
    }
}

fn render_vma(w: u32, v: &VmaView) -> String {
    let mut s = format!(
        "{} {}",
        range_label(w, v.start, v.end - v.start),
        prot_name(v.prot)
    );
    match &v.backing {
        Backing::AnonPrivate => s.push_str(" anon"),
        Backing::AnonShared { object, page } => {
            let _ = write!(s, " anon-shared shm{object}@{page}");
        }
        Backing::FilePrivate { file, page } => {
            let _ = write!(s, " file-private {file}@{page}");
        }
        Backing::FileShared { file, page } => {
            let _ = write!(s, " file-shared {file}@{page}");
        }
        Backing::Other(what) => {
            let _ = write!(s, " other({what})");
        }
    }
    match v.hint {
        HugeHint::None => {}
        HugeHint::Huge => s.push_str(" hugepage"),
        HugeHint::NoHuge => s.push_str(" nohugepage"),
    }
    if v.dontfork {
        s.push_str(" dontfork");
    }
    if v.soft_dirty == Some(true) {
        s.push_str(" soft-dirty");
    }
    s
}

/// Consecutive pages that render as one line: the same state with the
/// frame advancing page by page (within a folio, or from one small folio
/// to the next name), the same bits; values are listed per page.
struct Run<'a> {
    first: &'a PageView,
    len: u64,
    values: Vec<Option<u64>>,
}

fn advanced(f: &Frame, n: u64) -> Option<Frame> {
    let n32 = u32::try_from(n).ok()?;
    Some(match f {
        Frame::Zero => Frame::Zero,
        Frame::HugeZero { page } => Frame::HugeZero {
            page: page.checked_add(n32)?,
        },
        Frame::Folio {
            folio,
            page,
            order,
            anon,
            mapcount,
            exclusive,
        } => {
            if *order == 0 {
                // Successive small folios named successively.
                Frame::Folio {
                    folio: folio.checked_add(n)?,
                    page: *page,
                    order: 0,
                    anon: *anon,
                    mapcount: *mapcount,
                    exclusive: *exclusive,
                }
            } else {
                Frame::Folio {
                    folio: *folio,
                    page: page.checked_add(n32)?,
                    order: *order,
                    anon: *anon,
                    mapcount: *mapcount,
                    exclusive: *exclusive,
                }
            }
        }
        Frame::Device {
            folio,
            page,
            exclusive,
        } => Frame::Device {
            folio: folio.checked_add(n)?,
            page: *page,
            exclusive: *exclusive,
        },
    })
}

fn continues(run: &Run, next: &PageView) -> bool {
    let first = run.first;
    if next.page != first.page + run.len
        || next.soft_dirty != first.soft_dirty
        || next.uffd_wp != first.uffd_wp
        || next.value.is_some() != first.value.is_some()
    {
        return false;
    }
    match (&first.state, &next.state) {
        (PageState::Present { pmd: a, frame: fa }, PageState::Present { pmd: b, frame: fb }) => {
            a == b && advanced(fa, run.len).as_ref() == Some(fb)
        }
        (PageState::Swapped, PageState::Swapped) => true,
        (
            PageState::DevicePrivate {
                write: a,
                folio: fa,
                page: pa,
            },
            PageState::DevicePrivate {
                write: b,
                folio: fb,
                page: pb,
            },
        ) => a == b && pa == pb && fa.checked_add(run.len) == Some(*fb),
        (
            PageState::DeviceExclusive {
                write: a,
                frame: fa,
            },
            PageState::DeviceExclusive {
                write: b,
                frame: fb,
            },
        ) => a == b && advanced(fa, run.len).as_ref() == Some(fb),
        _ => false,
    }
}

fn runs(pages: &[PageView]) -> Vec<Run<'_>> {
    let mut out: Vec<Run> = Vec::new();
    for pg in pages {
        if let Some(r) = out.last_mut() {
            if continues(r, pg) {
                r.len += 1;
                r.values.push(pg.value);
                continue;
            }
        }
        out.push(Run {
            first: pg,
            len: 1,
            values: vec![pg.value],
        });
    }
    out
}

fn render_run(w: u32, r: &Run) -> String {
    let mut s = format!("{:<16}", range_label(w, r.first.page, r.len));
    match &r.first.state {
        PageState::Present { pmd, frame } => {
            s.push_str(if *pmd { " pmd" } else { " pte" });
            render_frame(&mut s, frame, r.len);
        }
        PageState::Swapped => s.push_str(" swap"),
        PageState::DevicePrivate { write, folio, page } => {
            let _ = write!(
                s,
                " device-private {} {}",
                if *write { "write" } else { "read" },
                device_folios(*folio, *page, r.len)
            );
        }
        PageState::DeviceExclusive { write, frame } => {
            s.push_str(if *write {
                " device-exclusive write"
            } else {
                " device-exclusive"
            });
            render_frame(&mut s, frame, r.len);
        }
        PageState::Other(what) => {
            let _ = write!(s, " other({what})");
        }
    }
    if r.first.soft_dirty == Some(true) {
        s.push_str(" sd");
    }
    if r.first.uffd_wp {
        s.push_str(" uwp");
    }
    let values: Vec<u64> = r.values.iter().flatten().copied().collect();
    if values.len() as u64 == r.len {
        let _ = write!(s, " data={}", rle(&values, values.len()));
    }
    s
}

/// The frame of a run of `len` pages starting at `frame`.
fn render_frame(s: &mut String, frame: &Frame, len: u64) {
    match frame {
        Frame::Zero => s.push_str(" zero"),
        Frame::HugeZero { page } => {
            let _ = write!(s, " hugezero[{page}]");
        }
        Frame::Folio {
            folio,
            page,
            order,
            anon,
            mapcount,
            exclusive,
        } => {
            if *order == 0 && len > 1 {
                let _ = write!(s, " F{folio}..F{}", folio + len - 1);
            } else if len > 1 {
                let _ = write!(s, " F{folio}[{page}..{})", *page as u64 + len);
            } else {
                let _ = write!(s, " F{folio}[{page}]");
            }
            let _ = write!(s, " order={order} map={mapcount}");
            s.push_str(if *anon { " anon" } else { " cache" });
            if *exclusive {
                s.push_str(" excl");
            }
        }
        Frame::Device {
            folio,
            page,
            exclusive,
        } => {
            let _ = write!(s, " device {}", device_folios(*folio, *page, len));
            if *exclusive {
                s.push_str(" excl");
            }
        }
    }
}

/// `F3[0]`, or `F3..F5` for a run of successive device folios.
fn device_folios(folio: u64, page: u32, len: u64) -> String {
    if len > 1 {
        format!("F{folio}..F{}", folio + len - 1)
    } else {
        format!("F{folio}[{page}]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folio(folio: u64, page: u32, order: u8) -> PageState {
        PageState::Present {
            pmd: order == 9,
            frame: Frame::Folio {
                folio,
                page,
                order,
                anon: true,
                mapcount: 1,
                exclusive: true,
            },
        }
    }

    fn page(page: u64, state: PageState, value: u64) -> PageView {
        PageView {
            page,
            state,
            soft_dirty: None,
            uffd_wp: false,
            value: Some(value),
        }
    }

    #[test]
    fn canonical_names_follow_first_appearance_not_frame_numbers() {
        let raw = View {
            procs: vec![
                ProcView {
                    id: ProcId(1),
                    vmas: vec![],
                    pages: vec![page(2048, folio(77, 0, 0), 1)],
                },
                ProcView {
                    id: ProcId(0),
                    vmas: vec![],
                    pages: vec![
                        page(2049, folio(5, 0, 0), 2),
                        page(2048, folio(77, 0, 0), 1),
                    ],
                },
            ],
        };
        let c = raw.canonical();
        assert_eq!(c.procs[0].id, ProcId(0));
        let names: Vec<u64> = c
            .procs
            .iter()
            .flat_map(|p| &p.pages)
            .map(|pg| match pg.state {
                PageState::Present {
                    frame: Frame::Folio { folio, .. },
                    ..
                } => folio,
                _ => u64::MAX,
            })
            .collect();
        // p0 m0[0] is seen first (F0), then p0 m0[1] (F1); p1 shares F0.
        assert_eq!(names, vec![0, 1, 0]);
        assert_eq!(c.canonical(), c, "idempotent");
    }

    #[test]
    fn the_first_difference_is_named_by_field() {
        let one = |state, value| View {
            procs: vec![ProcView {
                id: ProcId(0),
                vmas: vec![],
                pages: vec![page(2048, state, value)],
            }],
        };
        let a = one(folio(0, 0, 0), 1);
        assert_eq!(first_difference(&a, &a), None);
        assert_eq!(
            first_difference(&a, &one(folio(0, 0, 0), 2)),
            Some("page.value")
        );
        assert_eq!(
            first_difference(&a, &one(folio(1, 0, 0), 1)),
            Some("page.sharing")
        );
        assert_eq!(
            first_difference(&a, &one(folio(0, 0, 9), 1)),
            Some("page.pmd")
        );
        assert_eq!(first_difference(&a, &View::default()), Some("procs"));
    }

    #[test]
    fn runs_compress_a_thp_and_successive_small_folios() {
        let mut pages: Vec<PageView> = (0..512)
            .map(|i| page(2048 + i, folio(0, i as u32, 9), i))
            .collect();
        pages.extend((0..3).map(|i| page(2560 + i, folio(1 + i, 0, 0), 7)));
        let v = View {
            procs: vec![ProcView {
                id: ProcId(0),
                vmas: vec![VmaView {
                    start: 2048,
                    end: 2563,
                    prot: Prot::RW,
                    backing: Backing::AnonPrivate,
                    hint: HugeHint::Huge,
                    dontfork: false,
                    soft_dirty: None,
                }],
                pages,
            }],
        };
        let text = v.render(2048);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[1].contains("anon hugepage"), "{text}");
        assert!(
            lines[2].contains("pmd F0[0..512) order=9 map=1 anon excl data=[0..=511]"),
            "{text}"
        );
        assert!(lines[3].contains("pte F1..F3 order=0"), "{text}");
    }
    #[test]
    fn device_exclusive_pages_compare_and_render_their_frame() {
        let excl = |write, mapcount| PageState::DeviceExclusive {
            write,
            frame: Frame::Folio {
                folio: 0,
                page: 0,
                order: 0,
                anon: true,
                mapcount,
                exclusive: false,
            },
        };
        let one = |state| View {
            procs: vec![ProcView {
                id: ProcId(0),
                vmas: vec![],
                pages: vec![PageView {
                    page: 2048,
                    state,
                    soft_dirty: None,
                    uffd_wp: false,
                    value: None,
                }],
            }],
        };
        let a = one(excl(true, 0));
        assert_eq!(first_difference(&a, &a), None);
        assert_eq!(
            first_difference(&a, &one(excl(false, 0))),
            Some("page.device-exclusive-write")
        );
        assert_eq!(
            first_difference(&a, &one(excl(true, 1))),
            Some("page.mapcount")
        );
        assert_eq!(
            first_difference(&a, &one(folio(0, 0, 0))),
            Some("page.state")
        );
        let text = a.render(2048);
        assert!(
            text.contains("device-exclusive write F0[0] order=0 map=0 anon"),
            "{text}"
        );
        // Named with the folios of present pages.
        let raw = View {
            procs: vec![ProcView {
                id: ProcId(0),
                vmas: vec![],
                pages: vec![
                    page(2048, folio(90, 0, 0), 1),
                    PageView {
                        page: 2049,
                        state: PageState::DeviceExclusive {
                            write: false,
                            frame: Frame::Folio {
                                folio: 90,
                                page: 0,
                                order: 0,
                                anon: true,
                                mapcount: 1,
                                exclusive: false,
                            },
                        },
                        soft_dirty: None,
                        uffd_wp: false,
                        value: None,
                    },
                ],
            }],
        };
        let c = raw.canonical();
        assert!(matches!(
            c.procs[0].pages[1].state,
            PageState::DeviceExclusive {
                frame: Frame::Folio { folio: 0, .. },
                ..
            }
        ));
    }
}
