//! Canonicalization of states: from a model's raw [`State`] to the form two
//! models are compared in.
//!
//! Two models that allocate differently but behave the same must produce
//! equal canonical states, so nothing in a canonical state may depend on a
//! model's internal id choices or on how it chose to cut its entry runs:
//!
//! 1. Entry runs are split at window boundaries, sorted, and merged into
//!    maximal runs (page `n+1` joins a run iff its entry is the run's entry
//!    advanced by the run's length).
//! 2. Folios, swap slots and shm/io objects are renamed densely (`F0, F1..`,
//!    `S0..`, `shm0..`, `io0..`) by first appearance in a fixed traversal:
//!    processes by id → per process its VMAs by address (backing objects),
//!    then its entries by address (a folio target names its folio, a swap
//!    entry its slot and then that slot's cached folio, an I/O target its
//!    object) → objects (files by id, then shm, then io, in new-name order)
//!    with their page-cache folios by index → handles by id → locks by id →
//!    IOMMU preregistrations by id → device tables (devices by id, their
//!    mirrors by process, each mirror's entries by address: a folio target
//!    names its folio) → migration sessions by id (fault page, then `src`
//!    pages, then `dst` pages). Migration, device-private and
//!    device-exclusive entries name their folio like present entries.
//!    Notifiers hold no folios; they are sorted by id. Naming a folio names its swap-cache slots
//!    right after it. What the traversal never reaches is "leaked": leaked
//!    folios are named next, ordered by their content, then unreached swap
//!    slots, ordered by content. Sharing and leaks therefore stay visible.
//! 3. Swap runs are re-cut after renaming (slots consecutive in raw ids need
//!    not be consecutive in new names) and everything is merged again.
//!
//! A large folio in the swap cache owns the consecutive slots
//! `swapcache..swapcache+nr_pages` (slot `swapcache+i` caches page `i`);
//! those slots are always named together, in order, so the block stays
//! consecutive after renaming.
//!
//! `canonicalize` is total (no panics on inconsistent raw states: ids that
//! only dangling references mention are still given fresh names), and
//! idempotent.

use crate::state::{
    DeviceState, EntryRun, FolioState, ObjectState, ProcState, Renames, State, SwapState,
};

mod render;
pub use render::{
    folio_name, object_name, page_label, page_ref_name, range_label, render, render_folio,
    render_object, render_run, render_swap, rle, swap_name, zone_name,
};

mod names;
use names::Namer;

#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
pub(crate) mod scramble;
#[cfg(test)]
mod tests;

/// Canonicalize a raw state; returns the canonical state and the rename
/// maps (raw id → canonical id) to rename outcomes with.
pub fn canonicalize(raw: &State) -> (State, Renames) {
    let w = raw.window_pages as u64;

    let mut procs: Vec<&ProcState> = raw.procs.iter().collect();
    procs.sort_by_key(|p| p.id);
    // Runs sorted and cut at window boundaries, still with raw ids.
    let entries: Vec<Vec<EntryRun>> = procs
        .iter()
        .map(|p| {
            let mut runs = Vec::new();
            for r in &p.entries {
                split_at_windows(*r, w, &mut runs);
            }
            runs.sort();
            runs
        })
        .collect();

    let mut n = Namer::new(raw);
    for (p, runs) in procs.iter().zip(&entries) {
        let mut vmas = p.vmas.clone();
        vmas.sort();
        for v in &vmas {
            if let Some((obj, _)) = v.backing {
                n.object(obj);
            }
        }
        for r in runs {
            n.run(r);
        }
    }
    n.objects_pass();
    let mut handles: Vec<_> = raw.handles.iter().collect();
    handles.sort_by_key(|h| h.id);
    for h in &handles {
        for pr in &h.pages {
            n.page_ref(pr);
        }
    }
    let mut locks: Vec<_> = raw.locks.iter().collect();
    locks.sort_by_key(|l| l.id);
    for l in &locks {
        n.folio(l.folio);
    }
    let mut iommu: Vec<_> = raw.iommu.iter().collect();
    iommu.sort_by_key(|i| i.id);
    for i in &iommu {
        for pr in &i.pages {
            n.page_ref(pr);
        }
    }
    // Device tables: devices by id, mirrors by process, entries by address.
    let devices = sorted_devices(raw);
    for d in &devices {
        for m in &d.mirrors {
            for e in &m.entries {
                n.page_ref(&e.target);
            }
        }
    }
    // Sessions by id: the fault page, then src pages, then dst pages.
    let mut sessions: Vec<_> = raw.sessions.iter().collect();
    sessions.sort_by_key(|s| s.id);
    for s in &sessions {
        if let Some(fp) = &s.fault_page {
            n.page_ref(fp);
        }
        for e in &s.src {
            if let Some(pr) = &e.page {
                n.page_ref(pr);
            }
        }
        for pr in s.dst.iter().flatten() {
            n.page_ref(pr);
        }
    }
    n.leaked_folios();
    n.leaked_swap();

    // Rewrite. Lookups of ids nothing above named (dangling references of
    // inconsistent raw states) name them on the spot, in this fixed order.
    let procs = procs
        .iter()
        .zip(&entries)
        .map(|(p, runs)| {
            let mut vmas: Vec<_> = p
                .vmas
                .iter()
                .map(|v| {
                    let mut v = *v;
                    v.backing = v.backing.map(|(o, off)| (n.object(o), off));
                    v
                })
                .collect();
            vmas.sort();
            let mut out = Vec::new();
            for r in runs {
                n.rename_run(r, &mut out);
            }
            out.sort();
            ProcState {
                id: p.id,
                has_pinned: p.has_pinned,
                vmas,
                entries: merge_runs(out, w),
            }
        })
        .collect();
    let mut objects: Vec<ObjectState> = raw
        .objects
        .iter()
        .map(|o| ObjectState {
            id: n.object(o.id),
            fs: o.fs,
            pages: o.pages,
            cache: o
                .cache
                .iter()
                .map(|(&i, &(f, k))| (i, (n.folio(f), k)))
                .collect(),
            backing: o.backing.clone(),
        })
        .collect();
    objects.sort_by_key(|o| o.id);
    let folios = raw
        .folios
        .values()
        .map(|f| {
            let id = n.folio(f.id);
            let folio = FolioState {
                id,
                swapcache: f.swapcache.map(|s| n.swap(s)),
                mapping: f.mapping.map(|(o, i)| (n.object(o), i)),
                ..f.clone()
            };
            (id, folio)
        })
        .collect();
    let swap = raw
        .swap
        .values()
        .map(|s| {
            let id = n.swap(s.id);
            let slot = SwapState {
                id,
                count: s.count,
                cached: s.cached.map(|f| n.folio(f)),
                contents: s.contents,
            };
            (id, slot)
        })
        .collect();
    let mut handles: Vec<_> = raw
        .handles
        .iter()
        .map(|h| {
            let mut h = h.clone();
            h.pages = h.pages.iter().map(|p| n.rename_ref(p)).collect();
            h
        })
        .collect();
    handles.sort_by_key(|h| h.id);
    let mut locks: Vec<_> = raw
        .locks
        .iter()
        .map(|l| {
            let mut l = l.clone();
            l.folio = n.folio(l.folio);
            l
        })
        .collect();
    locks.sort_by_key(|l| l.id);
    let mut iommu: Vec<_> = raw
        .iommu
        .iter()
        .map(|i| {
            let mut i = i.clone();
            i.pages = i.pages.iter().map(|p| n.rename_ref(p)).collect();
            i
        })
        .collect();
    iommu.sort_by_key(|i| i.id);
    let devices = devices
        .into_iter()
        .map(|mut d| {
            for m in &mut d.mirrors {
                for e in &mut m.entries {
                    e.target = n.rename_ref(&e.target);
                }
            }
            d
        })
        .collect();
    let sessions = sessions
        .into_iter()
        .map(|s| {
            let mut s = s.clone();
            s.fault_page = s.fault_page.map(|p| n.rename_ref(&p));
            for e in &mut s.src {
                e.page = e.page.map(|p| n.rename_ref(&p));
            }
            for d in &mut s.dst {
                *d = d.map(|p| n.rename_ref(&p));
            }
            s
        })
        .collect();
    let mut notifiers = raw.notifiers.clone();
    notifiers.sort_by_key(|x| x.id);

    let state = State {
        window_pages: raw.window_pages,
        procs,
        objects,
        folios,
        swap,
        zone_free: raw.zone_free,
        zone_total: raw.zone_total,
        kernel: raw.kernel,
        handles,
        locks,
        iommu,
        devices,
        sessions,
        notifiers,
    };
    (state, n.renames)
}

/// Devices sorted by id, each with its mirrors sorted by process and each
/// mirror's entries sorted by address (raw ids still in place): the order
/// the renaming traversal visits them in, and the canonical order.
fn sorted_devices(raw: &State) -> Vec<DeviceState> {
    let mut devices = raw.devices.clone();
    devices.sort_by_key(|d| d.id);
    for d in &mut devices {
        d.mirrors.sort_by_key(|m| m.proc);
        for m in &mut d.mirrors {
            // Stable by address: duplicate addresses of an inconsistent raw
            // state keep the model's order, so this stays deterministic.
            m.entries.sort_by_key(|e| e.page);
        }
    }
    devices
}

/// The window index of an absolute page (`None` below window 0 shares one
/// pseudo-window with everything when the window size is 0).
fn window(page: u64, w: u64) -> u64 {
    page.checked_div(w).unwrap_or(0)
}

/// Cut `r` at every multiple of `w` (window boundaries); drop empty runs.
fn split_at_windows(r: EntryRun, w: u64, out: &mut Vec<EntryRun>) {
    let mut start = r.start;
    let mut len = r.len;
    let mut entry = r.entry;
    while len > 0 {
        let take = match start.checked_div(w) {
            // Window size 0 (an invalid config): no boundaries to cut at.
            None => len,
            Some(k) => {
                let boundary = k.saturating_add(1).saturating_mul(w);
                (boundary.saturating_sub(start)).min(len as u64).max(1) as u32
            }
        };
        out.push(EntryRun {
            start,
            len: take,
            entry,
        });
        entry = entry.advanced(take);
        start = start.saturating_add(take as u64);
        len -= take;
    }
}

/// Merge sorted, window-split runs into maximal runs.
fn merge_runs(runs: Vec<EntryRun>, w: u64) -> Vec<EntryRun> {
    let mut out: Vec<EntryRun> = Vec::with_capacity(runs.len());
    for r in runs {
        if let Some(last) = out.last_mut() {
            let contiguous = last.start.checked_add(last.len as u64) == Some(r.start);
            if contiguous
                && window(last.start, w) == window(r.start, w)
                && last.entry.advanced(last.len) == r.entry
            {
                if let Some(len) = last.len.checked_add(r.len) {
                    last.len = len;
                    continue;
                }
            }
        }
        out.push(r);
    }
    out
}
