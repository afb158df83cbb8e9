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
                for (v, a, b) in &covered {
                    if v.prot != Prot::RW {
                        let at = c.at(p, *a, b - a);
                        c.report(
                            WRITABLE_NEEDS_VM_WRITE,
                            format!("{at}: writable entry in a {:?} VMA", v.prot),
                        );
                    }
                }
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
                    mapped_folio(c, &here, level, folio, page, len, bits.write)
                }
            }
        }
    }
}

fn pmd_leaf(c: &mut Checker, here: &str, r: &EntryRun, target: Target) {
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
    here: &str,
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

fn mapped_folio(
    c: &mut Checker,
    here: &str,
    level: Level,
    folio: FolioId,
    page: u32,
    len: u64,
    write: bool,
) {
    let name = folio_name(folio);
    let Some(f) = c.st.folios.get(&folio) else {
        c.report(
            DANGLING_REFERENCE,
            format!("{here}: maps missing folio {name}"),
        );
        return;
    };
    let nr = f.nr_pages();
    let anon = f.anon;
    if page as u64 + len > nr {
        c.report(
            DANGLING_REFERENCE,
            format!(
                "{here}: maps {name}[{page}..{}) of a {nr}-page folio",
                page as u64 + len
            ),
        );
    }
    let excl = |i: u64| f.anon_exclusive.get(i as usize).copied().unwrap_or(false);
    match level {
        Level::Pte => {
            if write && anon {
                let bad: Vec<u64> = (page as u64..page as u64 + len)
                    .filter(|&i| !excl(i))
                    .collect();
                if let Some(first) = bad.first() {
                    c.report(
                        WRITABLE_ANON_EXCLUSIVE,
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
            if write && anon && !excl(0) {
                c.report(
                    WRITABLE_ANON_EXCLUSIVE,
                    format!("{here}: writable PMD of {name} but {name}[0] not anon-exclusive"),
                );
            }
            // One PMD mapping per leaf: per occurrence of page 0.
            c.holders(folio).pmd += (page == 0) as i64;
        }
    }
}
