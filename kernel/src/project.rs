//! The oracle's canonical state seen through user space's eyes: exactly
//! the facts [`crate::observe`] reads from the kernel ([`View`]).
//!
//! - VMAs: range, protection, backing (file and page offset, shmem object
//!   and offset), THP hint, dontfork, soft-dirty.
//! - Pages with an entry: present (PMD or PTE; the frame: zero page, huge
//!   zero page or a folio page with the folio's order, anon flag, the
//!   page's mapcount and pagemap's exclusive bit) or swapped; soft-dirty
//!   as pagemap reports it (the entry's bit or the VMA's `VM_SOFTDIRTY`);
//!   uffd-wp; the value of folio pages.
//!
//! - Device-private entries (the device folio page, writable or not) and
//!   device-exclusive entries (the writable variant before 6.15, and the
//!   facts of the system-memory page they keep: folio, order, anon flag,
//!   mapcount).
//!
//! The page's mapcount is what `/proc/kpagecount` reports with
//! `CONFIG_PAGE_MAPCOUNT` (`folio_precise_page_mapcount`): the number of
//! page-table entries mapping that page, counting a PMD mapping of the
//! folio once for each of its pages, and from Linux 6.15 a device-exclusive
//! entry too (before, `make_device_exclusive_range` removes the rmap). The
//! models keep only the folio's total, so it is counted here from every
//! process's entries; pagemap's bit 56 is "that count is 1"
//! (`__folio_page_mapped_exclusively`), for present entries only.

use std::collections::BTreeMap;

use mmdiff_core::state::{Entry, Level, Memory, ObjId, State, Target, VmaKind, VmaState};
use mmdiff_core::KernelVersion;

use crate::view::{Backing, Frame, PageState, PageView, ProcView, View, VmaView};

/// The canonical view of a model's canonical state. `soft_dirty`: whether
/// the kernel tracks soft-dirty (otherwise those bits are not compared);
/// `kernel`: the version whose rules the models followed (the config's),
/// which decides whether device-exclusive entries count as mappings.
pub fn project(state: &State, soft_dirty: bool, kernel: KernelVersion) -> View {
    let mapcounts = page_mapcounts(state, kernel);
    let procs = state
        .procs
        .iter()
        .map(|p| {
            let vmas: Vec<VmaView> = p.vmas.iter().map(|v| vma_view(v, soft_dirty)).collect();
            let mut pages = Vec::new();
            for run in &p.entries {
                for i in 0..run.len {
                    let page = run.start + i as u64;
                    let entry = run.entry.advanced(i);
                    let vma = p.vmas.iter().find(|v| v.start <= page && page < v.end);
                    pages.push(page_view(state, page, &entry, vma, &mapcounts, soft_dirty));
                }
            }
            ProcView {
                id: p.id,
                vmas,
                pages,
            }
        })
        .collect();
    View { procs }.canonical()
}

fn vma_view(v: &VmaState, soft_dirty: bool) -> VmaView {
    let backing = match (v.kind, v.backing) {
        (VmaKind::AnonPrivate, _) => Backing::AnonPrivate,
        (VmaKind::AnonShared, Some((ObjId::Shm(object), page))) => {
            Backing::AnonShared { object, page }
        }
        (VmaKind::FilePrivate, Some((ObjId::File(file), page))) => {
            Backing::FilePrivate { file, page }
        }
        (VmaKind::FileShared, Some((ObjId::File(file), page))) => {
            Backing::FileShared { file, page }
        }
        (kind, backing) => Backing::Other(format!("{kind:?} {backing:?}")),
    };
    VmaView {
        start: v.start,
        end: v.end,
        prot: v.prot,
        backing,
        hint: v.hint,
        dontfork: v.dontfork,
        soft_dirty: soft_dirty.then_some(v.soft_dirty),
    }
}

/// Per folio page, the entries (of every process) that map it: present
/// entries, and from Linux 6.15 device-exclusive ones
/// ([`KernelVersion::device_exclusive_keeps_mapcount`]).
fn page_mapcounts(state: &State, kernel: KernelVersion) -> BTreeMap<(u64, u32), u64> {
    let exclusive_maps = kernel.device_exclusive_keeps_mapcount();
    let mut counts = BTreeMap::new();
    for p in &state.procs {
        for run in &p.entries {
            for i in 0..run.len {
                let (folio, page) = match run.entry.advanced(i) {
                    Entry::Present {
                        target: Target::Folio { folio, page },
                        ..
                    } => (folio, page),
                    Entry::DeviceExclusive {
                        target: Target::Folio { folio, page },
                        ..
                    } if exclusive_maps => (folio, page),
                    _ => continue,
                };
                *counts.entry((folio.0, page)).or_insert(0) += 1;
            }
        }
    }
    counts
}

/// The frame of page `sub` of `folio` as kpageflags and kpagecount show
/// it; `exclusive` is pagemap's bit 56 (set for present entries only).
fn folio_frame(
    state: &State,
    folio: mmdiff_core::state::FolioId,
    sub: u32,
    mapcounts: &BTreeMap<(u64, u32), u64>,
    present: bool,
) -> Option<(Frame, Option<u64>)> {
    let f = state.folios.get(&folio)?;
    let mapcount = mapcounts.get(&(folio.0, sub)).copied().unwrap_or(0);
    let exclusive = present && mapcount == 1;
    let frame = if let Memory::Device(_) = f.memory {
        Frame::Device {
            folio: folio.0,
            page: sub,
            exclusive,
        }
    } else {
        Frame::Folio {
            folio: folio.0,
            page: sub,
            order: f.order,
            anon: f.anon,
            mapcount,
            exclusive,
        }
    };
    Some((frame, f.contents.get(sub as usize).copied()))
}

fn page_view(
    state: &State,
    page: u64,
    entry: &Entry,
    vma: Option<&VmaState>,
    mapcounts: &BTreeMap<(u64, u32), u64>,
    soft_dirty: bool,
) -> PageView {
    let vma_soft_dirty = vma.is_some_and(|v| v.soft_dirty);
    let sd = |bit: bool| soft_dirty.then_some(bit || vma_soft_dirty);
    match *entry {
        Entry::Present {
            level,
            target,
            bits,
        } => {
            let (frame, value) = match target {
                Target::Zero => (Some(Frame::Zero), None),
                Target::HugeZero { page } => (Some(Frame::HugeZero { page }), None),
                Target::Folio { folio, page: sub } => {
                    match folio_frame(state, folio, sub, mapcounts, true) {
                        Some((frame, value)) => (Some(frame), value),
                        None => (None, None),
                    }
                }
                Target::Io { .. } => (None, None),
            };
            let state = match frame {
                Some(frame) => PageState::Present {
                    pmd: level == Level::Pmd,
                    frame,
                },
                None => PageState::Other(format!("{target:?}")),
            };
            PageView {
                page,
                state,
                soft_dirty: sd(bits.soft_dirty),
                uffd_wp: bits.uffd_wp,
                value,
            }
        }
        Entry::Swap {
            soft_dirty: bit,
            uffd_wp,
            ..
        } => PageView {
            page,
            state: PageState::Swapped,
            soft_dirty: sd(bit),
            uffd_wp,
            value: None,
        },
        Entry::DevicePrivate {
            target: Target::Folio { folio, page: sub },
            write,
            soft_dirty: bit,
            uffd_wp,
            ..
        } => PageView {
            page,
            state: PageState::DevicePrivate {
                write,
                folio: folio.0,
                page: sub,
            },
            soft_dirty: sd(bit),
            uffd_wp,
            value: None,
        },
        Entry::DeviceExclusive {
            target: Target::Folio { folio, page: sub },
            write,
            soft_dirty: bit,
            uffd_wp,
        } => {
            let state = match folio_frame(state, folio, sub, mapcounts, false) {
                Some((frame, _)) => PageState::DeviceExclusive { write, frame },
                None => PageState::Other("device-exclusive".into()),
            };
            PageView {
                page,
                state,
                soft_dirty: sd(bit),
                uffd_wp,
                value: None,
            }
        }
        other => PageView {
            page,
            state: PageState::Other(kind_name(&other).into()),
            soft_dirty: None,
            uffd_wp: false,
            value: None,
        },
    }
}

fn kind_name(e: &Entry) -> &'static str {
    match e {
        Entry::Present { .. } => "present",
        Entry::Swap { .. } => "swap",
        Entry::Migration { .. } => "migration",
        Entry::DevicePrivate { .. } => "device-private",
        Entry::DeviceExclusive { .. } => "device-exclusive",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mmdiff_core::canon::canonicalize;
    use mmdiff_core::op::ProcId;
    use mmdiff_core::text::parse;
    use mmdiff_core::Model;
    use mmdiff_oracle::Oracle;

    fn oracle_view(text: &str) -> View {
        let s = parse(text).expect("scenario parses");
        let config = mmdiff_core::Config::default();
        let mut o = Oracle::new(&config);
        for op in s.ops() {
            o.apply(&op);
        }
        let (state, _) = canonicalize(&o.raw_state());
        project(&state, false, config.kernel)
    }

    #[test]
    fn fork_sharing_shows_as_one_folio_mapped_twice() {
        let v = oracle_view("mmap p0 m0 anon rw pages=1\nwrite p0 m0[0] = 1\nfork p0 -> p1\n");
        assert_eq!(v.procs.len(), 2);
        for p in &v.procs {
            assert_eq!(p.pages.len(), 1);
            let pg = &p.pages[0];
            assert_eq!(pg.value, Some(1));
            match &pg.state {
                PageState::Present {
                    pmd: false,
                    frame:
                        Frame::Folio {
                            folio: 0,
                            mapcount: 2,
                            exclusive: false,
                            anon: true,
                            ..
                        },
                } => {}
                other => panic!("{:?}: {other:?}", p.id),
            }
        }
        assert_eq!(v.procs[1].id, ProcId(1));
    }

    #[test]
    fn a_thp_projects_to_pmd_pages_of_one_order_9_folio() {
        let v = oracle_view(
            "mmap p0 m0 anon rw pages=512\nmadvise p0 m0[0..512] hugepage\nwrite p0 m0[0..512] = index\n",
        );
        let pages = &v.procs[0].pages;
        assert_eq!(pages.len(), 512);
        assert!(pages.iter().enumerate().all(|(i, pg)| matches!(
            pg.state,
            PageState::Present { pmd: true, frame: Frame::Folio { folio: 0, page, order: 9, mapcount: 1, .. } }
                if page as usize == i
        ) && pg.value == Some(i as u64)));
        assert_eq!(v.procs[0].vmas[0].hint, mmdiff_core::state::HugeHint::Huge);
    }

    #[test]
    fn device_pages_project_to_device_frames() {
        let v = oracle_view(
            "mmap p0 m0 anon rw pages=2\nwrite p0 m0[0..2] = 5\nmigrate-to-dev dev0 p0 m0[0]\n\
             fork p0 -> p1\nmmap p0 m1 anon rw pages=1\nwrite p0 m1[0] = 6\n\
             migrate-to-dev dev2 p0 m1[0]\n",
        );
        let p0 = &v.procs[0].pages;
        // A private page: read-only after fork (COW), shared with the
        // child, its value unread.
        assert_eq!(
            p0[0].state,
            PageState::DevicePrivate {
                write: false,
                folio: 0,
                page: 0
            }
        );
        assert_eq!(p0[0].value, None);
        assert_eq!(v.procs[1].pages[0].state, p0[0].state);
        // A coherent page: present, the exclusive bit from its one mapping,
        // its value read.
        let coherent = p0.iter().find(|pg| pg.value == Some(6)).expect("m1[0]");
        assert!(matches!(
            coherent.state,
            PageState::Present {
                pmd: false,
                frame: Frame::Device {
                    page: 0,
                    exclusive: true,
                    ..
                }
            }
        ));
    }
    #[test]
    fn device_exclusive_entries_keep_the_mapcount_from_6_15() {
        use mmdiff_core::KernelVersion;
        let config = mmdiff_core::Config::default();
        let mut o = Oracle::new(&config);
        let text =
            "mmap p0 m0 anon rw pages=2\nwrite p0 m0[0..2] = 5\ndev-exclusive dev0 p0 m0[0]\n";
        for op in parse(text).expect("scenario parses").ops() {
            o.apply(&op);
        }
        let (mut state, _) = canonicalize(&o.raw_state());
        let frame = |mapcount| Frame::Folio {
            folio: 0,
            page: 0,
            order: 0,
            anon: true,
            mapcount,
            exclusive: false,
        };
        // 6.19: the entry counts as a mapping of its page (one type, no
        // writable variant); 6.12: it does not (the rmap was removed).
        for (kernel, mapcount) in [
            (KernelVersion::new(6, 19), 1),
            (KernelVersion::new(6, 12), 0),
        ] {
            let v = project(&state, false, kernel);
            let pages = &v.procs[0].pages;
            assert_eq!(
                pages[0].state,
                PageState::DeviceExclusive {
                    write: false,
                    frame: frame(mapcount)
                },
                "{kernel:?}"
            );
            assert_eq!(pages[0].value, None, "never read");
            assert!(matches!(
                pages[1].state,
                PageState::Present {
                    frame: Frame::Folio {
                        folio: 1,
                        mapcount: 1,
                        exclusive: true,
                        ..
                    },
                    ..
                }
            ));
        }
        // 6.12's writable variant (SWP_DEVICE_EXCLUSIVE_WRITE).
        for run in &mut state.procs[0].entries {
            if let Entry::DeviceExclusive { write, .. } = &mut run.entry {
                *write = true;
            }
        }
        let v = project(&state, false, KernelVersion::new(6, 12));
        assert_eq!(
            v.procs[0].pages[0].state,
            PageState::DeviceExclusive {
                write: true,
                frame: frame(0)
            }
        );
    }
}
