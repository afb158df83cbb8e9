//! Reading the kernel's observable state of every scenario process.
//!
//! Per process: `/proc/PID/smaps` gives the VMAs in the window area and
//! their flags (`hg`, `nh`, `dc`, `sd`); `/proc/PID/pagemap` gives per
//! page present/swapped, the pfn, soft-dirty (bit 55), "exclusively
//! mapped" (bit 56) and uffd-wp (bit 57); its `PAGEMAP_SCAN` ioctl tells
//! PMD mappings (`PAGE_IS_HUGE`) from PTE mappings, which pagemap alone
//! cannot; `/proc/kpageflags` gives the frame's folio (compound head and
//! tails, hence the order), whether it is anonymous and whether it is a
//! zero page; `/proc/kpagecount` the page's mapcount; the value is loaded
//! by the scenario process itself.
//!
//! Device memory (the HMM test driver's): a device-private page is a
//! non-present entry whose swap type is `SWP_DEVICE_WRITE` or `_READ` and
//! whose offset is the device pfn; its value is never read (any CPU
//! access migrates it back). A device-coherent page is present, on a pfn
//! `/proc/kpageflags` reports as `NOPAGE`: only its identity and the
//! exclusive bit are known, and the process loads its value like any
//! other. A device-exclusive entry (before Linux 6.15) is a non-present
//! entry of swap type `SWP_DEVICE_EXCLUSIVE_WRITE` or `_READ` whose offset
//! is the pfn of the page in system memory: the frame's facts come from
//! kpageflags and kpagecount as for a present page, and its value is never
//! read (any CPU access restores the mapping).
//!
//! Nothing here changes what later ops do: values are read only from
//! present pages (a read of a missing page would fault it in) and not from
//! the zero pages (they read 0). A CPU load in the process's own address
//! space only sets the PTE's accessed bit, which is not compared and which
//! no op of the subset depends on. `/proc/PID/mem` read by the controller
//! would be simpler, but it reads through `get_user_pages_remote` with
//! `FOLL_TOUCH`: the second read of a page activates its folio through the
//! controller CPU's LRU batch, and the reference that batch holds makes
//! reclaim keep a `MADV_FREE` folio it would discard. Pages the process
//! cannot load (`PROT_NONE`) it reads through its own `/proc/self/mem`
//! (`FOLL_FORCE`), so such batches stay on its own CPU (the scenario
//! processes share one, `crate::child`), where its next `lru_add_drain`
//! empties them.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::fd::AsFd;
use std::os::unix::fs::FileExt;

use mmdiff_core::op::{FileId, ProcId, Prot};
use mmdiff_core::state::HugeHint;

use crate::exec::{ExecError, Executor};
use crate::layout::{within_area, Layout, PAGE_SIZE};
use crate::sys;
use crate::view::{Backing, Frame, PageState, PageView, ProcView, View, VmaView};

const PM_PFN_MASK: u64 = (1 << 55) - 1;
const PM_SOFT_DIRTY: u64 = 1 << 55;
const PM_EXCLUSIVE: u64 = 1 << 56;
const PM_UFFD_WP: u64 = 1 << 57;
const PM_SWAP: u64 = 1 << 62;
const PM_PRESENT: u64 = 1 << 63;

/// A swap entry's type is pagemap's low five bits
/// (`MAX_SWAPFILES_SHIFT`), its offset (for device entries the pfn) the
/// bits above, up to bit 54.
const SWP_TYPE_BITS: u32 = 5;
/// `SWP_DEVICE_WRITE`, `SWP_DEVICE_READ`, `SWP_DEVICE_EXCLUSIVE_WRITE` and
/// `SWP_DEVICE_EXCLUSIVE_READ` (include/linux/swap.h of 6.12): the
/// `SWP_DEVICE_NUM` (4) device types sit just below `SWP_PTE_MARKER`, the
/// last of the 32 types, whatever else is configured: `MAX_SWAPFILES` is
/// 32 less the device, migration, hwpoison and marker types, and the
/// device types follow the hwpoison and migration ones, so the first is
/// 32 - 4 - 1 = 27 with or without `CONFIG_MEMORY_FAILURE` or
/// `CONFIG_MIGRATION` (`CONFIG_DEVICE_PRIVATE` must be set, for device
/// entries to exist at all). Linux 6.15 has one exclusive type
/// (`SWP_DEVICE_NUM` 3, the types shift up by one): a kernel that new
/// with device memory needs its own numbers.
const SWP_DEVICE_WRITE: u64 = 27;
const SWP_DEVICE_READ: u64 = 28;
const SWP_DEVICE_EXCLUSIVE_WRITE: u64 = 29;
const SWP_DEVICE_EXCLUSIVE_READ: u64 = 30;

const KPF_ANON: u64 = 1 << 12;
const KPF_COMPOUND_HEAD: u64 = 1 << 15;
const KPF_COMPOUND_TAIL: u64 = 1 << 16;
/// No online `struct page` behind the pfn: ZONE_DEVICE memory.
const KPF_NOPAGE: u64 = 1 << 20;
const KPF_ZERO_PAGE: u64 = 1 << 24;

/// `PAGEMAP_SCAN` categories (include/uapi/linux/fs.h).
const PAGE_IS_PRESENT: u64 = 1 << 3;
const PAGE_IS_HUGE: u64 = 1 << 6;

/// The canonical view of every live scenario process of `exec`.
pub fn observe(exec: &mut Executor) -> Result<View, ExecError> {
    let mut frames = Frames::open()?;
    let files: Vec<(FileId, String)> = FileId::all()
        .filter_map(|f| {
            exec.files[f.index()]
                .as_ref()
                .map(|s| (f, s.path.display().to_string()))
        })
        .collect();
    let soft_dirty = exec.env().soft_dirty;
    let layout = exec.layout;
    let mut procs = Vec::new();
    for (id, pid) in exec.pids() {
        let mut view = observe_proc(id, pid, layout, &files, soft_dirty, &mut frames)?;
        read_values(exec, layout, &mut view)?;
        procs.push(view);
    }
    Ok(View { procs }.canonical())
}

fn err(what: &str, pid: i32, e: impl std::fmt::Display) -> ExecError {
    ExecError::Observe(format!("{what} of pid {pid}: {e}"))
}

/// The values of the present folio pages of `view` (whose `value` is
/// `Some(0)` as a placeholder): loaded by the process itself, run by run of
/// consecutive pages; a page it cannot load (`PROT_NONE`) is read by the
/// process through its `/proc/self/mem`, and the run goes on after it.
fn read_values(exec: &mut Executor, layout: Layout, view: &mut ProcView) -> Result<(), ExecError> {
    let wanted: Vec<usize> = (0..view.pages.len())
        .filter(|&i| view.pages[i].value.is_some())
        .collect();
    let mut k = 0;
    while k < wanted.len() {
        // A run of consecutive absolute pages (the layout keeps a window's
        // pages at consecutive addresses).
        let mut len = 1;
        while k + len < wanted.len()
            && view.pages[wanted[k + len]].page == view.pages[wanted[k]].page + len as u64
        {
            len += 1;
        }
        let addr = layout.addr_of_page(view.pages[wanted[k]].page);
        let (values, stopped) = exec.load_values(view.id, addr, len as u32)?;
        for (j, v) in values.iter().enumerate() {
            view.pages[wanted[k + j]].value = Some(*v);
        }
        k += values.len();
        if stopped && k < wanted.len() {
            let page = view.pages[wanted[k]].page;
            let value = exec.peek_value(view.id, layout.addr_of_page(page))?;
            let Some(value) = value else {
                return Err(ExecError::Observe(format!(
                    "{}: the present page {page} cannot be read",
                    view.id
                )));
            };
            view.pages[wanted[k]].value = Some(value);
            k += 1;
        }
    }
    Ok(())
}

fn observe_proc(
    id: ProcId,
    pid: i32,
    layout: Layout,
    files: &[(FileId, String)],
    soft_dirty: bool,
    frames: &mut Frames,
) -> Result<ProcView, ExecError> {
    let smaps =
        std::fs::read_to_string(format!("/proc/{pid}/smaps")).map_err(|e| err("smaps", pid, e))?;
    let pagemap = File::open(format!("/proc/{pid}/pagemap")).map_err(|e| err("pagemap", pid, e))?;
    let mut vmas = Vec::new();
    let mut pages = Vec::new();
    for m in parse_smaps(&smaps) {
        if !within_area(m.start, m.end - m.start) {
            continue;
        }
        let (Some(first), Some(end)) = (layout.page_of_addr(m.start), layout.page_after(m.end))
        else {
            return Err(err(
                "smaps",
                pid,
                format!("a mapping in a window gap: {m:?}"),
            ));
        };
        let huge = pmd_mapped(&pagemap, m.start, m.end).map_err(|e| err("PAGEMAP_SCAN", pid, e))?;
        let n = ((m.end - m.start) / PAGE_SIZE) as usize;
        let mut words = vec![0u8; n * 8];
        pagemap
            .read_exact_at(&mut words, m.start / PAGE_SIZE * 8)
            .map_err(|e| err("pagemap", pid, e))?;
        for (i, w) in words.chunks_exact(8).enumerate() {
            let mut b = [0u8; 8];
            b.copy_from_slice(w);
            let entry = u64::from_le_bytes(b);
            let page = first + i as u64;
            let addr = m.start + i as u64 * PAGE_SIZE;
            if let Some(v) = page_view(page, addr, entry, &huge, soft_dirty, frames)
                .map_err(|e| err("page", pid, e))?
            {
                pages.push(v);
            }
        }
        vmas.push(vma_view(&m, (first, end), files, soft_dirty));
    }
    Ok(ProcView { id, vmas, pages })
}

/// One page from its pagemap entry; `None` for a page with no entry. The
/// value of a folio page is a placeholder, read afterwards
/// ([`read_values`]).
fn page_view(
    page: u64,
    addr: u64,
    entry: u64,
    huge: &[(u64, u64)],
    soft_dirty: bool,
    frames: &mut Frames,
) -> Result<Option<PageView>, String> {
    let present = entry & PM_PRESENT != 0;
    if !present && entry & PM_SWAP == 0 {
        return Ok(None);
    }
    let mut value = None;
    let state = if present {
        let pfn = entry & PM_PFN_MASK;
        if pfn == 0 {
            return Err(format!("page {page} is present without a pfn"));
        }
        let pmd = huge.iter().any(|&(s, e)| s <= addr && addr < e);
        let frame = frames.frame(pfn, entry & PM_EXCLUSIVE != 0)?;
        if matches!(frame, Frame::Folio { .. } | Frame::Device { .. }) {
            value = Some(0);
        }
        PageState::Present { pmd, frame }
    } else {
        match swap_state(entry) {
            NotPresent::State(state) => state,
            NotPresent::DeviceExclusive { pfn: 0, .. } => {
                return Err(format!("page {page} is device-exclusive without a pfn"));
            }
            NotPresent::DeviceExclusive { write, pfn } => PageState::DeviceExclusive {
                write,
                frame: frames.frame(pfn, false)?,
            },
        }
    };
    Ok(Some(PageView {
        page,
        state,
        soft_dirty: soft_dirty.then_some(entry & PM_SOFT_DIRTY != 0),
        uffd_wp: entry & PM_UFFD_WP != 0,
        value,
    }))
}

/// What a non-present entry of pagemap is.
#[derive(Clone, Debug, PartialEq, Eq)]
enum NotPresent {
    /// A device-private page or a swapped page.
    State(PageState),
    /// A device-exclusive entry of the page at `pfn` in system memory,
    /// whose frame is still to be looked up.
    DeviceExclusive { write: bool, pfn: u64 },
}

/// A non-present entry of pagemap: a device-private page (a swap entry of
/// a device type, whose offset is the pfn; test_hmm's device folios are
/// small before 6.19), a device-exclusive entry (its offset the pfn of the
/// ordinary page), or a swapped page.
fn swap_state(entry: u64) -> NotPresent {
    let word = entry & PM_PFN_MASK;
    let pfn = word >> SWP_TYPE_BITS;
    match word & ((1 << SWP_TYPE_BITS) - 1) {
        t @ (SWP_DEVICE_WRITE | SWP_DEVICE_READ) => NotPresent::State(PageState::DevicePrivate {
            write: t == SWP_DEVICE_WRITE,
            folio: pfn,
            page: 0,
        }),
        t @ (SWP_DEVICE_EXCLUSIVE_WRITE | SWP_DEVICE_EXCLUSIVE_READ) => {
            NotPresent::DeviceExclusive {
                write: t == SWP_DEVICE_EXCLUSIVE_WRITE,
                pfn,
            }
        }
        _ => NotPresent::State(PageState::Swapped),
    }
}

/// Address ranges of `[start, end)` mapped by PMD leaves.
fn pmd_mapped(pagemap: &File, start: u64, end: u64) -> Result<Vec<(u64, u64)>, String> {
    let mut out = Vec::new();
    let mut regions = [sys::PageRegion::default(); 64];
    let mut at = start;
    while at < end {
        let (n, walk_end) = sys::pagemap_scan(
            pagemap.as_fd(),
            at,
            end,
            PAGE_IS_PRESENT,
            PAGE_IS_PRESENT | PAGE_IS_HUGE,
            &mut regions,
        )
        .map_err(|e| nix::errno::Errno::from_raw(e).desc().to_string())?;
        for r in &regions[..n.min(regions.len())] {
            if r.categories & PAGE_IS_HUGE != 0 {
                out.push((r.start, r.end));
            }
        }
        if walk_end <= at {
            break;
        }
        at = walk_end;
    }
    Ok(out)
}

/// Frames by pfn: kpageflags (cached per 512-frame block) and kpagecount.
struct Frames {
    flags: File,
    count: File,
    blocks: BTreeMap<u64, Vec<u64>>,
}

impl Frames {
    fn open() -> Result<Frames, ExecError> {
        let open = |p: &str| File::open(p).map_err(|e| ExecError::Observe(format!("{p}: {e}")));
        Ok(Frames {
            flags: open("/proc/kpageflags")?,
            count: open("/proc/kpagecount")?,
            blocks: BTreeMap::new(),
        })
    }

    /// kpageflags of the 512 frames of `pfn`'s naturally aligned block.
    fn block(&mut self, block: u64) -> Result<&Vec<u64>, String> {
        if !self.blocks.contains_key(&block) {
            let mut bytes = vec![0u8; 512 * 8];
            self.flags
                .read_exact_at(&mut bytes, block * 512 * 8)
                .map_err(|e| format!("kpageflags: {e}"))?;
            let words = bytes
                .chunks_exact(8)
                .map(|c| {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(c);
                    u64::from_le_bytes(b)
                })
                .collect();
            self.blocks.insert(block, words);
        }
        self.blocks
            .get(&block)
            .ok_or_else(|| "kpageflags cache".to_string())
    }

    fn flags_of(&mut self, pfn: u64) -> Result<u64, String> {
        Ok(self.block(pfn / 512)?[(pfn % 512) as usize])
    }

    /// The head pfn and order of the folio holding `pfn`. Folios are
    /// naturally aligned, so a folio of up to 512 pages lies inside one
    /// 512-frame block: the head is the nearest compound head at or below
    /// `pfn`, the order counts its tails.
    fn folio_of(&mut self, pfn: u64) -> Result<(u64, u8), String> {
        let f = self.flags_of(pfn)?;
        if f & (KPF_COMPOUND_HEAD | KPF_COMPOUND_TAIL) == 0 {
            return Ok((pfn, 0));
        }
        let block = self.block(pfn / 512)?.clone();
        let base = pfn / 512 * 512;
        let idx = (pfn % 512) as usize;
        let head = (0..=idx)
            .rev()
            .find(|&i| block[i] & KPF_COMPOUND_HEAD != 0)
            .ok_or_else(|| format!("pfn {pfn}: a compound tail without a head in its block"))?;
        let tails = block[head + 1..]
            .iter()
            .take_while(|w| *w & KPF_COMPOUND_TAIL != 0)
            .count();
        let pages = (tails + 1) as u64;
        let order = pages.trailing_zeros() as u8;
        Ok((base + head as u64, order))
    }

    fn frame(&mut self, pfn: u64, exclusive: bool) -> Result<Frame, String> {
        let f = self.flags_of(pfn)?;
        if f & KPF_NOPAGE != 0 {
            // Device-coherent memory: one folio per pfn (test_hmm's device
            // folios are small before 6.19).
            return Ok(Frame::Device {
                folio: pfn,
                page: 0,
                exclusive,
            });
        }
        let (head, order) = self.folio_of(pfn)?;
        if f & KPF_ZERO_PAGE != 0 {
            return Ok(if order > 0 {
                Frame::HugeZero {
                    page: (pfn - head) as u32,
                }
            } else {
                Frame::Zero
            });
        }
        let mut b = [0u8; 8];
        self.count
            .read_exact_at(&mut b, pfn * 8)
            .map_err(|e| format!("kpagecount: {e}"))?;
        Ok(Frame::Folio {
            folio: head,
            page: (pfn - head) as u32,
            order,
            anon: f & KPF_ANON != 0,
            mapcount: u64::from_le_bytes(b),
            exclusive,
        })
    }
}

/// One VMA of `/proc/PID/smaps`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapsEntry {
    pub start: u64,
    pub end: u64,
    /// `rwxp` / `rw-s` ...
    pub perms: String,
    pub offset: u64,
    pub inode: u64,
    pub path: String,
    /// The `VmFlags:` two-letter flags.
    pub flags: Vec<String>,
    /// `AnonHugePages:` in kB: anonymous memory mapped by PMDs.
    pub anon_huge_kb: u64,
}

/// Parses `/proc/PID/smaps` (or `maps`: VMAs without flags).
pub fn parse_smaps(text: &str) -> Vec<MapsEntry> {
    let mut out: Vec<MapsEntry> = Vec::new();
    for line in text.lines() {
        if let Some(flags) = line.strip_prefix("VmFlags:") {
            if let Some(last) = out.last_mut() {
                last.flags = flags.split_whitespace().map(String::from).collect();
            }
            continue;
        }
        if let Some(kb) = line.strip_prefix("AnonHugePages:") {
            if let Some(last) = out.last_mut() {
                let kb = kb.trim().trim_end_matches("kB").trim();
                last.anon_huge_kb = kb.parse().unwrap_or(0);
            }
            continue;
        }
        if let Some(e) = parse_header(line) {
            out.push(e);
        }
    }
    out
}

fn parse_header(line: &str) -> Option<MapsEntry> {
    let mut words = line.split_whitespace();
    let (start, end) = words.next()?.split_once('-')?;
    let start = u64::from_str_radix(start, 16).ok()?;
    let end = u64::from_str_radix(end, 16).ok()?;
    let perms = words.next()?;
    if perms.len() != 4 || end <= start {
        return None;
    }
    let offset = u64::from_str_radix(words.next()?, 16).ok()?;
    let _dev = words.next()?;
    let inode = words.next()?.parse().ok()?;
    let path = words.collect::<Vec<_>>().join(" ");
    Some(MapsEntry {
        start,
        end,
        perms: perms.into(),
        offset,
        inode,
        path,
        flags: Vec::new(),
        anon_huge_kb: 0,
    })
}

/// The VMA `m` covering absolute pages `[pages.0, pages.1)`.
fn vma_view(
    m: &MapsEntry,
    pages: (u64, u64),
    files: &[(FileId, String)],
    soft_dirty: bool,
) -> VmaView {
    let p = m.perms.as_bytes();
    let prot = match (p.first(), p.get(1)) {
        (Some(b'r'), Some(b'w')) => Prot::RW,
        (Some(b'r'), _) => Prot::R,
        _ => Prot::None,
    };
    let shared = p.get(3) == Some(&b's');
    let page = m.offset / PAGE_SIZE;
    let file = files
        .iter()
        .find(|(_, path)| *path == m.path)
        .map(|(f, _)| *f);
    let backing = match (file, shared) {
        (Some(file), false) => Backing::FilePrivate { file, page },
        (Some(file), true) => Backing::FileShared { file, page },
        (None, false) if m.inode == 0 => Backing::AnonPrivate,
        (None, true) if m.path.starts_with("/dev/zero") => Backing::AnonShared {
            object: m.inode,
            page,
        },
        _ => Backing::Other(format!("{} {}", m.perms, m.path)),
    };
    let has = |f: &str| m.flags.iter().any(|x| x == f);
    let hint = if has("hg") {
        HugeHint::Huge
    } else if has("nh") {
        HugeHint::NoHuge
    } else {
        HugeHint::None
    };
    VmaView {
        start: pages.0,
        end: pages.1,
        prot,
        backing,
        hint,
        dontfork: has("dc"),
        soft_dirty: soft_dirty.then(|| has("sd")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_private_entries_are_told_from_swap_by_their_type() {
        let pfn = 0xfcf_0012;
        let word = |t: u64| PM_SWAP | (pfn << SWP_TYPE_BITS) | t;
        assert_eq!(
            swap_state(word(SWP_DEVICE_WRITE)),
            NotPresent::State(PageState::DevicePrivate {
                write: true,
                folio: pfn,
                page: 0
            })
        );
        assert_eq!(
            swap_state(word(SWP_DEVICE_READ) | PM_SOFT_DIRTY | PM_EXCLUSIVE),
            NotPresent::State(PageState::DevicePrivate {
                write: false,
                folio: pfn,
                page: 0
            })
        );
        // Slot 12 of swap file 0, and a migration entry (type 26).
        assert_eq!(
            swap_state(PM_SWAP | (12 << SWP_TYPE_BITS)),
            NotPresent::State(PageState::Swapped)
        );
        assert_eq!(swap_state(word(26)), NotPresent::State(PageState::Swapped));
    }

    #[test]
    fn device_exclusive_entries_name_the_ordinary_page() {
        // 6.12: MAX_SWAPFILES = 32 - 4 device - 3 migration - 0 hwpoison
        // - 1 marker = 24; the exclusive types are 24 + 3 + 2 and + 3.
        assert_eq!(
            (SWP_DEVICE_EXCLUSIVE_WRITE, SWP_DEVICE_EXCLUSIVE_READ),
            (29, 30)
        );
        let pfn = 0x4_2137;
        let word = |t: u64| PM_SWAP | (pfn << SWP_TYPE_BITS) | t;
        assert_eq!(
            swap_state(word(29) | PM_SOFT_DIRTY),
            NotPresent::DeviceExclusive { write: true, pfn }
        );
        assert_eq!(
            swap_state(word(30)),
            NotPresent::DeviceExclusive { write: false, pfn }
        );
        // The marker type (31) is no device entry.
        assert_eq!(swap_state(word(31)), NotPresent::State(PageState::Swapped));
    }

    #[test]
    fn smaps_headers_and_flags_parse() {
        let text = "\
100000800000-100000802000 rw-p 00000000 00:00 0 
Size:                  8 kB
AnonHugePages:      2048 kB
VmFlags: rd wr mr mw me ac hg dc
100000802000-100000803000 r--s 00003000 00:01 1234                       /dev/zero (deleted)
VmFlags: rd sh mr mw me
";
        let v = parse_smaps(text);
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].start, 0x1000_0080_0000);
        assert_eq!(v[0].flags, ["rd", "wr", "mr", "mw", "me", "ac", "hg", "dc"]);
        assert_eq!((v[0].anon_huge_kb, v[1].anon_huge_kb), (2048, 0));
        assert_eq!(v[1].path, "/dev/zero (deleted)");
        assert_eq!(v[1].offset, 0x3000);
        let a = vma_view(&v[0], (0, 2), &[], false);
        assert_eq!(
            (a.prot, a.hint, a.dontfork),
            (Prot::RW, HugeHint::Huge, true)
        );
        assert_eq!(a.backing, Backing::AnonPrivate);
        assert_eq!(a.soft_dirty, None);
        let b = vma_view(&v[1], (2, 3), &[], true);
        assert_eq!(b.prot, Prot::R);
        assert_eq!(
            b.backing,
            Backing::AnonShared {
                object: 1234,
                page: 3
            }
        );
        assert_eq!(b.soft_dirty, Some(false));
    }
}
