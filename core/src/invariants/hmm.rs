//! Checks of the HMM and device-migration state: device memory pools,
//! device page tables (mirrors), migration sessions, interval notifiers.

use super::*;
use crate::op::ProcId;

/// The entry process `p` has at absolute `page`, if any (runs are sorted
/// and disjoint in a canonical state).
fn entry_at(p: &ProcState, page: u64) -> Option<Entry> {
    let after = p.entries.partition_point(|r| r.start <= page);
    let r = p.entries.get(after.checked_sub(1)?)?;
    let off = page - r.start;
    (off < r.len as u64).then(|| r.entry.advanced(off as u32))
}

/// What an entry maps, as a page reference (`None` for swap entries, raw
/// pfns and migration entries: nothing a device may use).
fn mapped_ref(e: &Entry) -> Option<PageRef> {
    let target = match *e {
        Entry::Present { target, .. }
        | Entry::DevicePrivate { target, .. }
        | Entry::DeviceExclusive { target, .. } => target,
        Entry::Migration { .. } | Entry::Swap { .. } => return None,
    };
    match target {
        Target::Folio { folio, page } => Some(PageRef::Folio { folio, page }),
        Target::Zero => Some(PageRef::Zero),
        Target::HugeZero { page } => Some(PageRef::HugeZero { page }),
        Target::Io { .. } => None,
    }
}

fn proc_exists(st: &State, p: ProcId) -> bool {
    st.procs.iter().any(|x| x.id == p)
}

/// Session references (counted as holders) and session consistency.
pub(super) fn sessions(c: &mut Checker) {
    let st = c.st;
    for s in &st.sessions {
        let id = s.id;
        let len = s.end.checked_sub(s.start);
        let fits = |n: usize| len == Some(n as u64);
        if !fits(s.src.len()) || !fits(s.dst.len()) {
            c.report(
                SESSION_CONSISTENT,
                format!(
                    "{id}: {} pages but {} src and {} dst entries",
                    s.end as i128 - s.start as i128,
                    s.src.len(),
                    s.dst.len()
                ),
            );
        }
        // A session may outlive its process: the migration's pages stay
        // held and locked until finalize, which needs no mm.
        let fault_folio = match s.fault_page {
            Some(PageRef::Folio { folio, .. }) => Some(folio),
            _ => None,
        };
        if let Some(f) = fault_folio {
            // do_swap_page's reference, held for migrate_to_ram.
            c.holders(f).sessions += 1;
            if c.folio(f).is_none() {
                c.report(
                    DANGLING_REFERENCE,
                    format!("{id}: fault page of missing folio {}", folio_name(f)),
                );
            }
        }
        for (i, e) in s.src.iter().enumerate() {
            let Some(PageRef::Folio { folio, .. }) = e.page else {
                continue;
            };
            // The collect/isolation reference, whatever the flags.
            c.holders(folio).sessions += 1;
            let Some(f) = c.folio(folio) else {
                c.report(
                    DANGLING_REFERENCE,
                    format!("{id} src[{i}]: missing folio {}", folio_name(folio)),
                );
                continue;
            };
            if e.migrate && !f.locked && fault_folio != Some(folio) {
                c.report(
                    SESSION_CONSISTENT,
                    format!(
                        "{id} src[{i}]: {} selected but not locked",
                        folio_name(folio)
                    ),
                );
            }
        }
        for (i, d) in s.dst.iter().enumerate() {
            let Some(PageRef::Folio { folio, .. }) = *d else {
                continue;
            };
            c.holders(folio).sessions += 1;
            match c.folio(folio) {
                None => c.report(
                    DANGLING_REFERENCE,
                    format!("{id} dst[{i}]: missing folio {}", folio_name(folio)),
                ),
                Some(f) if !f.locked => c.report(
                    SESSION_CONSISTENT,
                    format!("{id} dst[{i}]: {} not locked", folio_name(folio)),
                ),
                Some(_) => {}
            }
        }
    }
}

/// Device pools: free + allocated == total, one pgmap reference per
/// allocated page, device memory only of existing devices.
pub(super) fn devices(c: &mut Checker) {
    let st = c.st;
    let mut used: BTreeMap<crate::op::DevId, i128> = BTreeMap::new();
    for f in st.folios.values() {
        if let Memory::Device(d) = f.memory {
            *used.entry(d).or_default() += f.nr_pages() as i128;
            // Device pages become anon when they are mapped (insert or
            // migrate_vma_pages copying the anon mapping); a destination the
            // driver just allocated is not yet.
            if !f.anon && f.mapcount > 0 {
                c.report(
                    DEVICE_PRIVATE_NOT_PRESENT,
                    format!(
                        "{}: mapped device memory of {d} but not anon",
                        folio_name(f.id)
                    ),
                );
            }
            if !st.devices.iter().any(|x| x.id == d) {
                c.report(
                    DEVICE_ACCOUNTING,
                    format!("{}: memory of missing device {d}", folio_name(f.id)),
                );
            }
        }
    }
    for d in &st.devices {
        let n = used.get(&d.id).copied().unwrap_or(0);
        if d.pool_free as i128 + n != d.pool_total as i128 {
            c.report(
                DEVICE_ACCOUNTING,
                format!(
                    "{}: {} free + {n} in folios != {} total",
                    d.id, d.pool_free, d.pool_total
                ),
            );
        }
        if d.pgmap_refs as i128 != n {
            c.report(
                DEVICE_ACCOUNTING,
                format!(
                    "{}: {} pgmap refs for {n} pages in folios",
                    d.id, d.pgmap_refs
                ),
            );
        }
    }
}

/// Every mirror entry maps what its process maps at that address (or,
/// during a migration session the device owns, what the migration entry
/// there refers to).
pub(super) fn mirrors(c: &mut Checker) {
    let st = c.st;
    let w = st.window_pages;
    for d in &st.devices {
        for m in &d.mirrors {
            let proc = st.procs.iter().find(|p| p.id == m.proc);
            for e in &m.entries {
                let at = || format!("{} {} {}", d.id, m.proc, page_label(w, e.page));
                let target = page_ref_name(&e.target);
                let Some(proc) = proc else {
                    c.report(
                        MIRROR_COHERENT,
                        format!("{}: mirror of missing process maps {target}", at()),
                    );
                    continue;
                };
                if let PageRef::Folio { folio, .. } = e.target {
                    if c.folio(folio).is_none() {
                        c.report(
                            MIRROR_COHERENT,
                            format!("{}: maps freed folio page {target}", at()),
                        );
                        continue;
                    }
                }
                let entry = entry_at(proc, e.page);
                // A session the device itself owns does not invalidate its
                // mirror (`dmirror_interval_invalidate` skips
                // MMU_NOTIFY_MIGRATE of its own pgmap owner): until finalize
                // the mirror may still map the page behind the migration entry.
                let own_session = st.sessions.iter().any(|x| {
                    x.owner == Some(d.id) && x.proc == m.proc && (x.start..x.end).contains(&e.page)
                });
                let same = match entry {
                    Some(Entry::Migration {
                        target: Target::Folio { folio, page },
                        ..
                    }) => own_session && e.target == PageRef::Folio { folio, page },
                    ref other => other.as_ref().and_then(mapped_ref) == Some(e.target),
                };
                let what = || match entry {
                    None => "no entry".to_string(),
                    // The entry as the state rendering shows it, without
                    // the address label.
                    Some(x) => {
                        let run = EntryRun {
                            start: e.page,
                            len: 1,
                            entry: x,
                        };
                        let text = crate::canon::render_run(w, &run);
                        text.split_once(' ')
                            .map_or(text.clone(), |(_, body)| body.trim_start().to_string())
                    }
                };
                let ok = match (e.tag, entry) {
                    _ if !same => false,
                    (MirrorTag::Atomic, Some(Entry::DeviceExclusive { .. })) => true,
                    (MirrorTag::Atomic, _) => false,
                    (MirrorTag::Read, _) => true,
                    (MirrorTag::Write, Some(Entry::Present { bits, .. })) => bits.write,
                    (MirrorTag::Write, Some(Entry::DevicePrivate { write, .. })) => write,
                    (MirrorTag::Write, Some(Entry::Migration { kind, .. })) => {
                        kind == MigKind::Write
                    }
                    (MirrorTag::Write, _) => false,
                };
                if !ok {
                    let tag = match e.tag {
                        MirrorTag::Read => "read",
                        MirrorTag::Write => "write",
                        MirrorTag::Atomic => "atomic",
                    };
                    c.report(
                        MIRROR_COHERENT,
                        format!("{}: {tag} {target} but the process has {}", at(), what()),
                    );
                }
            }
        }
    }
}

pub(super) fn notifiers(c: &mut Checker) {
    let st = c.st;
    for n in &st.notifiers {
        if !proc_exists(st, n.proc) {
            c.report(
                NOTIFIER_INSIDE,
                format!("{}: process {} does not exist", n.id, n.proc),
            );
        }
        if n.start >= n.end {
            c.report(
                NOTIFIER_INSIDE,
                format!("{}: empty range {}..{}", n.id, n.start, n.end),
            );
        }
    }
}
