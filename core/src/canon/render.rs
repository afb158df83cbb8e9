//! The human-readable text of a canonical state.
//!
//! One item per line (process, VMA, entry run, object, folio, swap slot,
//! zone, handle, lock, preregistration, device, mirror entry run, session,
//! notifier) so that `similar` line diffs of two
//! renderings point at exactly what differs. Addresses are window-relative
//! (`m0[0..512)`), page ranges are half-open, values are run-length
//! compressed (`[3*0,7..=9]`: three zeros, then 7, 8, 9). Consecutive swap
//! slots with the same count and cache share a line (`S1-S5 count=1
//! data=[8..=12]`), like entry runs.
//!
//! Entry bits: `w` write, `d` dirty, `a` young, `sd` soft-dirty, `uwp`
//! uffd-wp; swap entries: `excl`, `sd`, `uwp`. `excl` on a folio: every page
//! is anon-exclusive (`excl=[0..3,7]`: those pages). `swapcache=S0`: the
//! folio caches slots from S0 on; `mapping=f0@1`: page cache of f0 from index 1.
//!
//! HMM parts: a migration entry is `mig pte|pmd <target> r|rx|w` (readable,
//! readable-exclusive, writable) then `d a sd uwp`; a device-private entry
//! `devpriv pte|pmd <target>` then `w sd uwp`; a device-exclusive entry
//! `devexcl <target>` then `sd uwp`. A folio in device memory shows the
//! device (`dev0`) where others show their zone. After the IOMMU lines come
//! devices (`dev0 free=1534/2048 refs=514 [released] [fail-alloc]`, each
//! mirror `  mirror p0` with its entries as runs `    m0[0..4)  write
//! F0[0..4)`), sessions (`s0 p0 m0[4..6) allocated select=system
//! owner=dev0 cpages=2 [fault-page=F1[0]]` then `  src [...]` and
//! `  dst [...]` in the run-compressed outcome forms) and notifiers
//! (`n0 p0 m0[0..8) fresh|stale`). The test `hmm_state_is_canonical_and_renders`
//! pins an example.
//! The test `render_sample` pins this exact text:
//!
//! ```text
//! p0 has-pinned
//!   vma m0[0..1024) anon rw hugepage zone=normal anon-vma soft-dirty
//!     m0[0..512)       pmd F0[0..512) w d a sd
//!     m0[512..513)     pte F1[0] w d a sd
//!     m0[513..1024)    pte zero a sd
//!   vma m0[1024..1030) anon rw zone=normal anon-vma soft-dirty
//!     m0[1024..1030)   swap S0-S5 excl sd
//!   vma m1[0..4) file-shared rw zone=normal soft-dirty backing=f0@0
//!     m1[0..1)         pte F3[0] w d a sd
//! f0 ext4 pages=16 cache [0]=F3[0] [1]=F4[0] backing [5..8)=42 [9]=1
//! F0 order=9 normal ref=4 map=1 entire=1 pin=1 lru anon swapbacked dirty excl data=[0..=511]
//! F1 order=0 normal ref=1025 map=1 lru anon swapbacked dirty excl data=512
//! F2 order=0 normal ref=1 map=0 lru anon swapbacked swapcache=S0 data=7
//! F3 order=0 normal ref=2 map=1 lru dirty mapping=f0@0 data=42
//! F4 order=0 normal ref=2 map=0 locked lru mapping=f0@1 data=0
//! S0 count=1 data=7 cached=F2
//! S1-S5 count=1 data=[8..=12]
//! zone normal free=15868/16384
//! zone movable free=4096/4096
//! zone cma free=4096/4096
//! h0 pin write longterm base=512: F1[0]
//! h1 get base=3: F0[3..5)
//! x0 F4
//! i0 p0 m0[0] shift=12: F0[0]
//! ```

use std::fmt::Write;

use crate::op::{FsKind, HandleId, Prot, Zone};
use crate::state::{
    DeviceState, Entry, EntryRun, FolioId, FolioState, HandleState, HugeHint, Level, Memory,
    MigKind, MigratePhase, MirrorTag, ObjId, ObjectState, PageRef, PteBits, SessionState, State,
    SwapId, SwapState, Target, VmaKind, VmaState,
};

/// `F3`.
pub fn folio_name(f: FolioId) -> String {
    format!("F{}", f.0)
}

/// `S3`.
pub fn swap_name(s: SwapId) -> String {
    format!("S{}", s.0)
}

/// `f0`, `shm1`, `io0`.
pub fn object_name(o: ObjId) -> String {
    match o {
        ObjId::File(f) => f.to_string(),
        ObjId::Shm(n) => format!("shm{n}"),
        ObjId::Io(n) => format!("io{n}"),
    }
}

/// `m0[12]` for an absolute page; `@<page>` for a page below window 0 (or
/// any page when the window size is 0).
pub fn page_label(window_pages: u32, abs_page: u64) -> String {
    let w = window_pages as u64;
    match abs_page.checked_div(w) {
        Some(k) if k >= 1 => format!("m{}[{}]", k - 1, abs_page % w),
        _ => format!("@{abs_page}"),
    }
}

/// `m0[0..512)` for `len` pages from absolute page `start` (runs and VMAs
/// never cross a window, so one window prefix suffices).
pub fn range_label(window_pages: u32, start: u64, len: u64) -> String {
    let w = window_pages as u64;
    match start.checked_div(w) {
        Some(k) if k >= 1 => {
            let rel = start % w;
            format!("m{}[{}..{})", k - 1, rel, rel.saturating_add(len))
        }
        _ => format!("@[{}..{})", start, start.saturating_add(len)),
    }
}

/// `F1[3]`, `zero`, `hzero[7]`.
pub fn page_ref_name(p: &PageRef) -> String {
    match *p {
        PageRef::Folio { folio, page } => format!("{}[{page}]", folio_name(folio)),
        PageRef::Zero => "zero".into(),
        PageRef::HugeZero { page } => format!("hzero[{page}]"),
    }
}

/// `name[p]` for one page, `name[p..p+len)` for more.
fn pages_of(name: &str, page: u32, len: u64) -> String {
    if len == 1 {
        format!("{name}[{page}]")
    } else {
        format!("{name}[{page}..{})", (page as u64).saturating_add(len))
    }
}

/// Run-length form of a value list: `n*v` for a repeated value, `a..=b`
/// for an ascending step-1 run (the "index" pattern), else single values.
/// Lists of `expected_len` equal values print as the bare value; anything
/// else is bracketed, so a length mismatch stays visible.
pub fn rle(values: &[u64], expected_len: usize) -> String {
    if values.len() == expected_len && !values.is_empty() && values.iter().all(|v| *v == values[0])
    {
        return values[0].to_string();
    }
    let mut items = Vec::new();
    let mut i = 0;
    while i < values.len() {
        let v = values[i];
        let same = values[i..].iter().take_while(|x| **x == v).count();
        let mut asc = 1;
        while i + asc < values.len() && Some(values[i + asc]) == v.checked_add(asc as u64) {
            asc += 1;
        }
        if same >= 2 && same >= asc {
            items.push(format!("{same}*{v}"));
            i += same;
        } else if asc >= 3 {
            items.push(format!("{v}..={}", values[i + asc - 1]));
            i += asc;
        } else {
            items.push(v.to_string());
            i += 1;
        }
    }
    format!("[{}]", items.join(","))
}

/// Half-open index ranges where `bits` is set: `0..3,5`.
fn set_ranges(bits: &[bool]) -> String {
    let mut out = Vec::new();
    let mut i = 0;
    while i < bits.len() {
        if !bits[i] {
            i += 1;
            continue;
        }
        let n = bits[i..].iter().take_while(|b| **b).count();
        out.push(if n == 1 {
            i.to_string()
        } else {
            format!("{i}..{}", i + n)
        });
        i += n;
    }
    out.join(",")
}

/// `normal`, `movable`, `cma`.
pub fn zone_name(z: Zone) -> &'static str {
    match z {
        Zone::Normal => "normal",
        Zone::Movable => "movable",
        Zone::Cma => "cma",
    }
}

fn prot_name(p: Prot) -> &'static str {
    match p {
        Prot::None => "none",
        Prot::R => "r",
        Prot::RW => "rw",
    }
}

fn fs_name(fs: FsKind) -> &'static str {
    match fs {
        FsKind::Tmpfs => "tmpfs",
        FsKind::Ext4 => "ext4",
    }
}

/// The names of the flags that are set, in order (each name carries its
/// leading space).
fn flag_names(flags: &[(bool, &str)]) -> String {
    flags
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, name)| *name)
        .collect()
}

fn bits_text(b: &PteBits) -> String {
    flag_names(&[
        (b.write, " w"),
        (b.dirty, " d"),
        (b.young, " a"),
        (b.soft_dirty, " sd"),
        (b.uffd_wp, " uwp"),
    ])
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::Pte => "pte",
        Level::Pmd => "pmd",
    }
}

/// The target of a run of `len` pages: `F0[0..512)`, `zero`, `io0[3]`.
fn target_text(target: Target, len: u64) -> String {
    match target {
        Target::Folio { folio, page } => pages_of(&folio_name(folio), page, len),
        Target::Zero => "zero".into(),
        Target::HugeZero { page } => pages_of("hzero", page, len),
        Target::Io { obj, page } => pages_of(&object_name(obj), page, len),
    }
}

/// Appends ` name` for every set flag.
fn flags(s: &mut String, list: &[(bool, &str)]) {
    for (on, name) in list {
        if *on {
            s.push(' ');
            s.push_str(name);
        }
    }
}

/// One entry run: `m0[0..512)  pmd F0[0..512) w d a sd`.
pub fn render_run(window_pages: u32, r: &EntryRun) -> String {
    let label = range_label(window_pages, r.start, r.len as u64);
    let len = r.len as u64;
    let body = match r.entry {
        Entry::Present {
            level,
            target,
            bits,
        } => {
            format!(
                "{} {}{}",
                level_name(level),
                target_text(target, len),
                bits_text(&bits)
            )
        }
        Entry::Migration {
            level,
            target,
            kind,
            young,
            dirty,
            soft_dirty,
            uffd_wp,
        } => {
            let kind = match kind {
                MigKind::Read => "r",
                MigKind::ReadExclusive => "rx",
                MigKind::Write => "w",
            };
            let mut s = format!(
                "mig {} {} {kind}",
                level_name(level),
                target_text(target, len)
            );
            flags(
                &mut s,
                &[
                    (dirty, "d"),
                    (young, "a"),
                    (soft_dirty, "sd"),
                    (uffd_wp, "uwp"),
                ],
            );
            s
        }
        Entry::DevicePrivate {
            level,
            target,
            write,
            soft_dirty,
            uffd_wp,
        } => {
            let mut s = format!("devpriv {} {}", level_name(level), target_text(target, len));
            flags(
                &mut s,
                &[(write, "w"), (soft_dirty, "sd"), (uffd_wp, "uwp")],
            );
            s
        }
        Entry::DeviceExclusive {
            target,
            write,
            soft_dirty,
            uffd_wp,
        } => {
            let mut s = format!("devexcl {}", target_text(target, len));
            flags(
                &mut s,
                &[(write, "w"), (soft_dirty, "sd"), (uffd_wp, "uwp")],
            );
            s
        }
        Entry::Swap {
            slot,
            exclusive,
            soft_dirty,
            uffd_wp,
        } => {
            let mut s = if len == 1 {
                format!("swap {}", swap_name(slot))
            } else {
                format!(
                    "swap {}-{}",
                    swap_name(slot),
                    swap_name(SwapId(slot.0.wrapping_add(len - 1)))
                )
            };
            s.push_str(&flag_names(&[
                (exclusive, " excl"),
                (soft_dirty, " sd"),
                (uffd_wp, " uwp"),
            ]));
            s
        }
    };
    format!("{label:<16} {body}")
}

fn render_vma(window_pages: u32, v: &VmaState) -> String {
    let mut s = format!(
        "vma {} {} {}",
        range_label(window_pages, v.start, v.end.saturating_sub(v.start)),
        match v.kind {
            VmaKind::AnonPrivate => "anon",
            VmaKind::AnonShared => "anon-shared",
            VmaKind::FilePrivate => "file-private",
            VmaKind::FileShared => "file-shared",
            VmaKind::Special => "special",
        },
        prot_name(v.prot)
    );
    match v.hint {
        HugeHint::None => {}
        HugeHint::Huge => s.push_str(" hugepage"),
        HugeHint::NoHuge => s.push_str(" nohugepage"),
    }
    let _ = write!(s, " zone={}", zone_name(v.zone));
    s.push_str(&flag_names(&[
        (v.anon_vma, " anon-vma"),
        (v.soft_dirty, " soft-dirty"),
        (v.uffd_wp, " uffd-wp"),
        (v.dontfork, " dontfork"),
    ]));
    if let Some((o, off)) = v.backing {
        let _ = write!(s, " backing={}@{off}", object_name(o));
    }
    s
}

/// `[a..b)` or `[a]` for object page indices.
fn index_label(start: u64, len: u64) -> String {
    if len == 1 {
        format!("[{start}]")
    } else {
        format!("[{start}..{})", start.saturating_add(len))
    }
}

/// `f0 ext4 pages=16 cache [0..3)=F7[0..3) backing [5..8)=42`.
pub fn render_object(o: &ObjectState) -> String {
    let mut s = object_name(o.id);
    if let Some(fs) = o.fs {
        let _ = write!(s, " {}", fs_name(fs));
    }
    let _ = write!(s, " pages={}", o.pages);
    if !o.cache.is_empty() {
        s.push_str(" cache");
        let items: Vec<(u64, FolioId, u32)> =
            o.cache.iter().map(|(&i, &(f, k))| (i, f, k)).collect();
        let mut i = 0;
        while i < items.len() {
            let (idx, f, k) = items[i];
            let mut n = 1;
            while i + n < items.len()
                && items[i + n] == (idx.wrapping_add(n as u64), f, k.wrapping_add(n as u32))
            {
                n += 1;
            }
            let _ = write!(
                s,
                " {}={}",
                index_label(idx, n as u64),
                pages_of(&folio_name(f), k, n as u64)
            );
            i += n;
        }
    }
    if !o.backing.is_empty() {
        s.push_str(" backing");
        let items: Vec<(u64, u64)> = o.backing.iter().map(|(&i, &v)| (i, v)).collect();
        let mut i = 0;
        while i < items.len() {
            let start = items[i].0;
            let mut n = 1;
            while i + n < items.len() && items[i + n].0 == start.wrapping_add(n as u64) {
                n += 1;
            }
            let values: Vec<u64> = items[i..i + n].iter().map(|(_, v)| *v).collect();
            let _ = write!(s, " {}={}", index_label(start, n as u64), rle(&values, n));
            i += n;
        }
    }
    s
}

/// One line per folio: counters, flags, swap cache, mapping, exclusivity, data.
pub fn render_folio(f: &FolioState) -> String {
    let memory = match f.memory {
        Memory::Zone(z) => zone_name(z).to_string(),
        Memory::Device(d) => d.to_string(),
    };
    let mut s = format!(
        "{} order={} {memory} ref={} map={}",
        folio_name(f.id),
        f.order,
        f.refcount,
        f.mapcount
    );
    // Small folios have neither counter; show them only if broken.
    if f.is_large() || f.entire_mapcount != 0 || f.pincount != 0 {
        let _ = write!(s, " entire={} pin={}", f.entire_mapcount, f.pincount);
    }
    s.push_str(&flag_names(&[
        (f.locked, " locked"),
        (f.lru, " lru"),
        (f.anon, " anon"),
        (f.swapbacked, " swapbacked"),
        (f.dirty, " dirty"),
    ]));
    if let Some(sw) = f.swapcache {
        let _ = write!(s, " swapcache={}", swap_name(sw));
    }
    if let Some((o, i)) = f.mapping {
        let _ = write!(s, " mapping={}@{i}", object_name(o));
    }
    let nr = usize::try_from(f.nr_pages()).unwrap_or(usize::MAX);
    let excl = f.anon_exclusive.iter().filter(|b| **b).count();
    if f.anon_exclusive.len() != nr {
        let _ = write!(
            s,
            " excl=[{}]/len{}",
            set_ranges(&f.anon_exclusive),
            f.anon_exclusive.len()
        );
    } else if excl == nr {
        s.push_str(" excl");
    } else if excl > 0 {
        let _ = write!(s, " excl=[{}]", set_ranges(&f.anon_exclusive));
    }
    let _ = write!(s, " data={}", rle(&f.contents, nr));
    s
}

/// `S0 count=1 data=7 cached=F3`.
pub fn render_swap(sw: &SwapState) -> String {
    let mut s = format!(
        "{} count={} data={}",
        swap_name(sw.id),
        sw.count,
        sw.contents
    );
    if let Some(f) = sw.cached {
        let _ = write!(s, " cached={}", folio_name(f));
    }
    s
}

/// How many slots from the first one print as one line: consecutive ids
/// with the same count and cache (a swapped-out THP is 512 slots).
fn swap_group(slots: &[&SwapState]) -> usize {
    let first = slots[0];
    1 + slots
        .windows(2)
        .take_while(|w| {
            w[0].id.0.checked_add(1) == Some(w[1].id.0)
                && w[1].count == first.count
                && w[1].cached == first.cached
        })
        .count()
}

/// Page references with runs compressed: `F0[3..5) zero*2 hzero[0..3)`.
fn page_refs(pages: &[PageRef]) -> String {
    let mut out = Vec::new();
    let mut i = 0;
    while i < pages.len() {
        let mut n = 1;
        let next = |p: &PageRef, k: u32| -> Option<PageRef> {
            match *p {
                PageRef::Folio { folio, page } => Some(PageRef::Folio {
                    folio,
                    page: page.checked_add(k)?,
                }),
                PageRef::Zero => Some(PageRef::Zero),
                PageRef::HugeZero { page } => Some(PageRef::HugeZero {
                    page: page.checked_add(k)?,
                }),
            }
        };
        while i + n < pages.len() && next(&pages[i], n as u32) == Some(pages[i + n]) {
            n += 1;
        }
        out.push(match pages[i] {
            PageRef::Folio { folio, page } => pages_of(&folio_name(folio), page, n as u64),
            PageRef::Zero if n == 1 => "zero".into(),
            PageRef::Zero => format!("zero*{n}"),
            PageRef::HugeZero { page } => pages_of("hzero", page, n as u64),
        });
        i += n;
    }
    out.join(" ")
}

fn render_handle(h: &HandleState) -> String {
    let HandleState {
        id,
        flags,
        base,
        pages,
    } = h;
    let id: HandleId = *id;
    let mut s = format!("{id} {}", if flags.pin { "pin" } else { "get" });
    s.push_str(&flag_names(&[
        (flags.write, " write"),
        (flags.longterm, " longterm"),
        (flags.fast, " fast"),
        (flags.force, " force"),
        (flags.nofault, " nofault"),
    ]));
    let _ = write!(s, " base={base}: {}", page_refs(pages));
    s
}

/// The whole state, one item per line, ending with a newline.
pub fn render(state: &State) -> String {
    let w = state.window_pages;
    let mut out = String::new();
    for p in &state.procs {
        let _ = writeln!(
            out,
            "{}{}",
            p.id,
            if p.has_pinned { " has-pinned" } else { "" }
        );
        // VMAs and entries interleaved by address, a VMA before the
        // entries that start with it.
        let (mut vi, mut ei) = (0, 0);
        while vi < p.vmas.len() || ei < p.entries.len() {
            let vma_first = match (p.vmas.get(vi), p.entries.get(ei)) {
                (Some(v), Some(e)) => v.start <= e.start,
                (Some(_), None) => true,
                _ => false,
            };
            if vma_first {
                let _ = writeln!(out, "  {}", render_vma(w, &p.vmas[vi]));
                vi += 1;
            } else {
                let _ = writeln!(out, "    {}", render_run(w, &p.entries[ei]));
                ei += 1;
            }
        }
    }
    for o in &state.objects {
        let _ = writeln!(out, "{}", render_object(o));
    }
    for f in state.folios.values() {
        let _ = writeln!(out, "{}", render_folio(f));
    }
    let slots: Vec<&SwapState> = state.swap.values().collect();
    let mut i = 0;
    while i < slots.len() {
        let n = swap_group(&slots[i..]);
        if n == 1 {
            let _ = writeln!(out, "{}", render_swap(slots[i]));
        } else {
            let group = &slots[i..i + n];
            let values: Vec<u64> = group.iter().map(|s| s.contents).collect();
            let _ = write!(
                out,
                "{}-{} count={} data={}",
                swap_name(group[0].id),
                swap_name(group[n - 1].id),
                group[0].count,
                rle(&values, n)
            );
            if let Some(f) = group[0].cached {
                let _ = write!(out, " cached={}", folio_name(f));
            }
            out.push('\n');
        }
        i += n;
    }
    for z in Zone::ALL {
        let _ = writeln!(
            out,
            "zone {} free={}/{}",
            zone_name(z),
            state.zone_free[z.index()],
            state.zone_total[z.index()]
        );
    }
    for h in &state.handles {
        let _ = writeln!(out, "{}", render_handle(h));
    }
    for l in &state.locks {
        let _ = writeln!(out, "{} {}", l.id, folio_name(l.folio));
    }
    for i in &state.iommu {
        let _ = writeln!(
            out,
            "{} {} {} shift={}: {}",
            i.id,
            i.proc,
            page_label(w, i.start),
            i.pageshift,
            page_refs(&i.pages)
        );
    }
    for d in &state.devices {
        render_device(w, d, &mut out);
    }
    for sess in &state.sessions {
        render_session(w, sess, &mut out);
    }
    for n in &state.notifiers {
        let _ = writeln!(
            out,
            "{} {} {}{}",
            n.id,
            n.proc,
            range_label(w, n.start, n.end.saturating_sub(n.start)),
            if n.stale { " stale" } else { " fresh" }
        );
    }
    out
}

fn tag_name(t: MirrorTag) -> &'static str {
    match t {
        MirrorTag::Read => "read",
        MirrorTag::Write => "write",
        MirrorTag::Atomic => "atomic",
    }
}

/// `dev0 free=1536/2048 refs=512 [released] [fail-alloc]`, then per mirror
/// `  mirror p0` and its entries as runs (consecutive
/// addresses with the same tag and consecutive pages of one target):
/// `    m0[0..4)  write F0[0..4)`.
fn render_device(w: u32, d: &DeviceState, out: &mut String) {
    let _ = writeln!(
        out,
        "{} free={}/{} refs={}{}{}",
        d.id,
        d.pool_free,
        d.pool_total,
        d.pgmap_refs,
        if d.released { " released" } else { "" },
        if d.fail_alloc { " fail-alloc" } else { "" }
    );
    for m in &d.mirrors {
        let _ = writeln!(out, "  mirror {}", m.proc);
        let e = &m.entries;
        let mut i = 0;
        while i < e.len() {
            let mut n = 1;
            while i + n < e.len()
                && e[i + n].tag == e[i].tag
                && e[i].page.checked_add(n as u64) == Some(e[i + n].page)
                && advance_ref(&e[i].target, n as u32) == Some(e[i + n].target)
            {
                n += 1;
            }
            let pages: Vec<PageRef> = e[i..i + n].iter().map(|x| x.target).collect();
            let label = range_label(w, e[i].page, n as u64);
            let _ = writeln!(
                out,
                "    {label:<16} {} {}",
                tag_name(e[i].tag),
                page_refs(&pages)
            );
            i += n;
        }
    }
}

/// The page `k` pages after `p` in a run (the zero page repeats).
fn advance_ref(p: &PageRef, k: u32) -> Option<PageRef> {
    match *p {
        PageRef::Folio { folio, page } => Some(PageRef::Folio {
            folio,
            page: page.checked_add(k)?,
        }),
        PageRef::Zero => Some(PageRef::Zero),
        PageRef::HugeZero { page } => Some(PageRef::HugeZero {
            page: page.checked_add(k)?,
        }),
    }
}

/// `s0 p0 m0[0..4) setup select=system,compound owner=dev0 cpages=3
/// fault-page=F1[0]`, then `  src <entries>` and `  dst <pages>` in the
/// run-compressed forms of outcome text.
fn render_session(w: u32, s: &SessionState, out: &mut String) {
    let phase = match s.phase {
        MigratePhase::Setup => "setup",
        MigratePhase::Allocated => "allocated",
        MigratePhase::Migrated => "migrated",
    };
    let _ = write!(
        out,
        "{} {} {} {phase} select={}",
        s.id,
        s.proc,
        range_label(w, s.start, s.end.saturating_sub(s.start)),
        crate::text::select_text(s.select)
    );
    if let Some(d) = s.owner {
        let _ = write!(out, " owner={d}");
    }
    let _ = write!(out, " cpages={}", s.cpages);
    if let Some(fp) = &s.fault_page {
        let _ = write!(out, " fault-page={}", page_ref_name(fp));
    }
    out.push('\n');
    let _ = writeln!(out, "  src {}", crate::text::migrate_src_text(&s.src));
    let _ = writeln!(out, "  dst {}", crate::text::dst_text(&s.dst));
}
