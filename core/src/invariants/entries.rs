//! Checks of page-table entries: VMA coverage, write permission, PMD leaf
//! shape, zero-page placement; counting mappings per folio.

use super::*;

/// `(covered pieces with their VMA, uncovered pieces)`.
type Coverage<'v> = (Vec<(&'v VmaState, u64, u64)>, Vec<(u64, u64)>);

/// The VMAs covering `[start, end)` as `(vma, from, to)` pieces, and the
/// pieces no VMA covers.
fn coverage(vmas: &[VmaState], start: u64, end: u64) -> Coverage<'_> {
    let mut covered: Vec<(&VmaState, u64, u64)> = vmas
        .iter()
        .filter(|v| v.start < end && start < v.end)
        .map(|v| (v, v.start.max(start), v.end.min(end)))
        .collect();
    covered.sort_by_key(|(_, a, _)| *a);
    let mut holes = Vec::new();
    let mut pos = start;
    for (_, a, b) in &covered {
        if *a > pos {
            holes.push((pos, *a));
        }
        pos = pos.max(*b);
    }
    if pos < end {
        holes.push((pos, end));
    }
    (covered, holes)
}

pub(super) fn entry_run(c: &mut Checker, p: &ProcState, r: &EntryRun) {
    let len = r.len as u64;
    let end = r.start.saturating_add(len);
    let (covered, holes) = coverage(&p.vmas, r.start, end);
    for (a, b) in holes {
        let at = c.at(p, a, b - a);
        c.report(
            ENTRIES_INSIDE_VMAS,
            format!("{at}: entries outside any VMA"),
        );
    }
    let here = c.at(p, r.start, len);
    match r.entry {
        // Swap entries are counted against their slots in `swap`.
        Entry::Swap { .. } => {}
        Entry::Present {
            level,
            target,
            bits,
        } => {
            if bits.write {
                needs_vm_write(c, p, &covered, "writable entry");
            }
            if level == Level::Pmd {
                pmd_leaf(c, &here, r, target);
            }
            match target {
                Target::Zero | Target::HugeZero { .. } => {
                    zero_page(c, p, &here, &covered, level, target, len, bits.write)
                }
                Target::Io { obj, .. } => {
                    if !c.st.objects.iter().any(|o| o.id == obj) {
                        c.report(
                            DANGLING_REFERENCE,
                            format!("{here}: maps missing object {}", object_name(obj)),
                        );
                    }
                }
                Target::Folio { folio, page } => {
                    if c.folio(folio).is_some_and(device_private) {
                        c.report(
                            DEVICE_PRIVATE_NOT_PRESENT,
                            format!(
                                "{here}: present entry of device-private {}",
                                folio_name(folio)
                            ),
                        );
                    }
                    let write = bits.write.then_some(WRITABLE_ANON_EXCLUSIVE);
                    mapped_folio(c, &here, level, folio, page, len, write)
                }
            }
        }
        Entry::Migration {
            level,
            target,
            kind,
            ..
        } => {
            // mprotect turns writable migration entries readable, so a
            // writable one in a VMA without VM_WRITE is as wrong as a PTE.
            if kind == MigKind::Write {
                needs_vm_write(c, p, &covered, "writable migration entry");
            }
            if level == Level::Pmd {
                pmd_leaf(c, &here, r, target);
            }
            let Some((folio, page)) = folio_target(c, &here, "migration", target) else {
                return;
            };
            if !in_folio(c, &here, folio, page, len) {
                return;
            }
            if c.folio(folio).is_some_and(|f| !f.locked) {
                c.report(
                    MIGRATION_ENTRY_LOCKED,
                    format!("{here}: migration entry of unlocked {}", folio_name(folio)),
                );
            }
            // Not a mapping, no reference: only a holder.
            c.holders(folio).migration += len as i64;
        }
        Entry::DevicePrivate {
            level,
            target,
            write,
            ..
        } => {
            if write {
                needs_vm_write(c, p, &covered, "writable device-private entry");
            }
            if level == Level::Pmd {
                pmd_leaf(c, &here, r, target);
            }
            let Some((folio, page)) = folio_target(c, &here, "device-private", target) else {
                return;
            };
            if c.folio(folio).is_some_and(|f| !device_private(f)) {
                c.report(
                    DEVICE_PRIVATE_NOT_PRESENT,
                    format!(
                        "{here}: device-private entry of {}, which is not device-private memory",
                        folio_name(folio)
                    ),
                );
            }
            let write = write.then_some(DEVPRIV_WRITE_EXCLUSIVE);
            mapped_folio(c, &here, level, folio, page, len, write)
        }
        Entry::DeviceExclusive { target, .. } => {
            let Some((folio, page)) = folio_target(c, &here, "device-exclusive", target) else {
                return;
            };
            if c.st.kernel.device_exclusive_keeps_mapcount() {
                // Still a mapping of the page (mapcount and reference kept).
                mapped_folio(c, &here, Level::Pte, folio, page, len, None)
            } else if in_folio(c, &here, folio, page, len) {
                // page_make_device_exclusive_one() removed the rmap; the
                // entry keeps the mapping's reference.
                c.holders(folio).exclusive += len as i64;
            }
        }
    }
}

/// `MEMORY_DEVICE_PRIVATE` memory.
pub(super) fn device_private(f: &FolioState) -> bool {
    matches!(f.memory, Memory::Device(d) if !d.coherent())
}

/// Reports `what` in a VMA without `VM_WRITE`.
fn needs_vm_write(c: &mut Checker, p: &ProcState, covered: &[(&VmaState, u64, u64)], what: &str) {
    for (v, a, b) in covered {
        if v.prot != Prot::RW {
            let at = c.at(p, *a, b - a);
            c.report(
                WRITABLE_NEEDS_VM_WRITE,
                format!("{at}: {what} in a {:?} VMA", v.prot),
            );
        }
    }
}

/// The folio page a non-present entry refers to; other targets (zero
/// pages, raw pfns) are reported.
fn folio_target(c: &mut Checker, here: &At, kind: &str, target: Target) -> Option<(FolioId, u32)> {
    match target {
        Target::Folio { folio, page } => Some((folio, page)),
        Target::Zero | Target::HugeZero { .. } => {
            c.report(
                NON_PRESENT_TARGET,
                format!("{here}: {kind} entry of a zero page"),
            );
            None
        }
        Target::Io { obj, .. } => {
            c.report(
                NON_PRESENT_TARGET,
                format!("{here}: {kind} entry of a raw pfn of {}", object_name(obj)),
            );
            None
        }
    }
}

/// Whether `len` pages from `page` lie inside an existing folio; reports
/// what does not.
fn in_folio(c: &mut Checker, here: &At, folio: FolioId, page: u32, len: u64) -> bool {
    let name = folio_name(folio);
    let Some(f) = c.st.folios.get(&folio) else {
        c.report(
            DANGLING_REFERENCE,
            format!("{here}: maps missing folio {name}"),
        );
        return false;
    };
    let nr = f.nr_pages();
    if page as u64 + len > nr {
        c.report(
            DANGLING_REFERENCE,
            format!(
                "{here}: maps {name}[{page}..{}) of a {nr}-page folio",
                page as u64 + len
            ),
        );
    }
    true
}

fn pmd_leaf(c: &mut Checker, here: &At, r: &EntryRun, target: Target) {
    let pmd = PMD_PAGES as u64;
    let aligned = r.start.is_multiple_of(pmd) && r.len == PMD_PAGES;
    let target_ok = match target {
        Target::Folio { folio, page } => page == 0 && c.folio(folio).is_none_or(|f| f.order == 9),
        Target::HugeZero { page } => page == 0,
        Target::Zero | Target::Io { .. } => false,
    };
    if !aligned || !target_ok {
        c.report(
            PMD_LEAF_SHAPE,
            format!(
                "{here}: PMD-level run is not one aligned leaf of pages 0..512 of an order-9 folio"
            ),
        );
    }
}

#[allow(clippy::too_many_arguments)]
fn zero_page(
    c: &mut Checker,
    p: &ProcState,
    here: &At,
    covered: &[(&VmaState, u64, u64)],
    level: Level,
    target: Target,
    len: u64,
    write: bool,
) {
    let what = if matches!(target, Target::Zero) {
        "zero page"
    } else {
        "huge zero page"
    };
    for (v, a, b) in covered {
        if v.kind != VmaKind::AnonPrivate {
            let at = c.at(p, *a, b - a);
            c.report(
                ZERO_PAGE_PLACEMENT,
                format!("{at}: {what} in a {:?} VMA", v.kind),
            );
        }
    }
    if write {
        c.report(ZERO_PAGE_PLACEMENT, format!("{here}: writable {what}"));
    }
    if let Target::HugeZero { page } = target {
        if level == Level::Pte {
            c.report(
                ZERO_PAGE_PLACEMENT,
                format!("{here}: huge zero page mapped by PTEs"),
            );
        }
        if page as u64 + len > PMD_PAGES as u64 {
            c.report(
                DANGLING_REFERENCE,
                format!("{here}: huge zero page index {page}+{len} beyond 512"),
            );
        }
    }
}

/// A mapping of `len` pages of `folio` from `page` (present,
/// device-private or device-exclusive). `write` is the invariant a writable
/// mapping of a page that is not anon-exclusive breaks (`None`: read-only).
fn mapped_folio(
    c: &mut Checker,
    here: &At,
    level: Level,
    folio: FolioId,
    page: u32,
    len: u64,
    write: Option<&'static str>,
) {
    if !in_folio(c, here, folio, page, len) {
        return;
    }
    let name = folio_name(folio);
    let Some(f) = c.st.folios.get(&folio) else {
        return;
    };
    // Device-private entries must be exclusive whatever the folio (device
    // folios are anon; `device-private-not-present` reports one that is not).
    let check = f.anon || write == Some(DEVPRIV_WRITE_EXCLUSIVE);
    let excl = |i: u64| f.anon_exclusive.get(i as usize).copied().unwrap_or(false);
    match level {
        Level::Pte => {
            if let Some(id) = write.filter(|_| check) {
                let bad: Vec<u64> = (page as u64..page as u64 + len)
                    .filter(|&i| !excl(i))
                    .collect();
                if let Some(first) = bad.first() {
                    c.report(
                        id,
                        format!(
                            "{here}: writable PTEs of {name} but {} page(s) not anon-exclusive (first {name}[{first}])",
                            bad.len()
                        ),
                    );
                }
            }
            c.holders(folio).pte += len as i64;
        }
        Level::Pmd => {
            if let Some(id) = write.filter(|_| check) {
                if !excl(0) {
                    c.report(
                        id,
                        format!("{here}: writable PMD of {name} but {name}[0] not anon-exclusive"),
                    );
                }
            }
            // One PMD mapping per leaf: per occurrence of page 0.
            c.holders(folio).pmd += (page == 0) as i64;
        }
    }
}
