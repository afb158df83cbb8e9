//! Checks of counters: holders outside the page tables, folio balances,
//! zones, swap, page cache.

use super::*;
use crate::op::ProcId;

/// A folio's canonical name, formatted only when printed.
struct FolioName(FolioId);

impl std::fmt::Display for FolioName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&folio_name(self.0))
    }
}

/// Holders outside the page tables: page cache, swap cache, handles,
/// IOMMU preregistrations, lock holders.
pub(super) fn external_holders(c: &mut Checker) {
    let st = c.st;
    for f in st.folios.values() {
        let h = c.holders(f.id);
        if f.mapping.is_some() {
            h.cache += f.nr_pages() as i64;
        }
        if f.swapcache.is_some() {
            h.swapcache += f.nr_pages() as i64;
        }
    }
    for h in &st.handles {
        for (i, pr) in h.pages.iter().enumerate() {
            page_holder(c, &|| format!("{} page {i}", h.id), pr, h.flags.pin);
        }
    }
    for m in &st.iommu {
        for (i, pr) in m.pages.iter().enumerate() {
            page_holder(c, &|| format!("{} entry {i}", m.id), pr, true);
        }
    }
    for l in &st.locks {
        if c.folio(l.folio).is_none() {
            c.report(
                DANGLING_REFERENCE,
                format!("{} holds missing folio {}", l.id, folio_name(l.folio)),
            );
        }
        c.holders(l.folio).locks += 1;
    }
}

/// Counts one page held by a handle or an IOMMU entry. `what` names the
/// holder; it is only formatted when something is reported.
fn page_holder(c: &mut Checker, what: &dyn Fn() -> String, pr: &PageRef, pin: bool) {
    match *pr {
        PageRef::Folio { folio, page } => {
            let name = || page_ref_name(pr);
            let Some(f) = c.st.folios.get(&folio) else {
                c.report(
                    DANGLING_REFERENCE,
                    format!("{}: missing folio {}", what(), name()),
                );
                return;
            };
            if page as u64 >= f.nr_pages() {
                c.report(
                    DANGLING_REFERENCE,
                    format!(
                        "{}: {} beyond a {}-page folio",
                        what(),
                        name(),
                        f.nr_pages()
                    ),
                );
            }
            if entries::device_private(f) {
                c.report(
                    DEVICE_PRIVATE_NOT_PRESENT,
                    format!("{}: holds device-private {}", what(), name()),
                );
            }
            let excl = |i: u32| f.anon_exclusive.get(i as usize).copied().unwrap_or(false);
            if pin && f.anon && !excl(page) && !(f.is_large() && excl(0)) {
                c.report(
                    PINNED_ANON_EXCLUSIVE,
                    format!("{}: pinned anon page {} not anon-exclusive", what(), name()),
                );
            }
            let h = c.holders(folio);
            if pin {
                h.pins += 1;
            } else {
                h.gets += 1;
            }
        }
        PageRef::HugeZero { page } if page >= PMD_PAGES => {
            c.report(
                DANGLING_REFERENCE,
                format!("{}: huge zero page index {page}", what()),
            );
        }
        // The zero pages carry no accounting.
        PageRef::Zero | PageRef::HugeZero { .. } => {}
    }
}

pub(super) fn folio_balances(c: &mut Checker) {
    let st = c.st;
    for f in st.folios.values() {
        let name = FolioName(f.id);
        let h = c.holders.get(&f.id).copied().unwrap_or_default();
        let large = f.is_large();
        let expected = h.expected_refs(large);
        let mapped = h.pte + h.pmd;
        if !h.any() {
            c.report(
                NO_LEAKED_FOLIO,
                format!(
                    "{name}: no holder (not mapped, cached, held or locked) but refcount {}",
                    f.refcount
                ),
            );
        } else if f.refcount < 1 {
            c.report(
                REFCOUNT_POSITIVE,
                format!("{name}: refcount {} ({expected} expected)", f.refcount),
            );
        } else if f.refcount != expected {
            c.report(
                REFS_BALANCE,
                format!(
                    "{name}: refcount {} but {expected} expected ({})",
                    f.refcount,
                    h.describe()
                ),
            );
        }
        if f.mapcount < 0 || f.entire_mapcount < 0 || f.pincount < 0 {
            c.report(
                REFCOUNT_POSITIVE,
                format!(
                    "{name}: negative counter (map={} entire={} pin={})",
                    f.mapcount, f.entire_mapcount, f.pincount
                ),
            );
        } else {
            let entire_expected = if large { h.pmd } else { 0 };
            if f.mapcount != mapped
                || f.entire_mapcount != entire_expected
                || (!large && f.pincount != 0)
            {
                c.report(
                    MAPCOUNT_BALANCE,
                    format!(
                        "{name}: map={} entire={} pin={} but {} PTE and {} PMD mappings",
                        f.mapcount, f.entire_mapcount, f.pincount, h.pte, h.pmd
                    ),
                );
            }
        }
        if large {
            if f.pincount >= 0 && (f.pincount != h.pins || f.refcount < f.pincount) {
                c.report(
                    PINCOUNT_BALANCE,
                    format!(
                        "{name}: pincount {} with {} pins, refcount {}",
                        f.pincount, h.pins, f.refcount
                    ),
                );
            }
        } else if f.refcount < h.pins.saturating_mul(GUP_PIN_COUNTING_BIAS) {
            c.report(
                PINCOUNT_BALANCE,
                format!(
                    "{name}: refcount {} below {} pins * {GUP_PIN_COUNTING_BIAS}",
                    f.refcount, h.pins
                ),
            );
        }
    }
}

pub(super) fn zones(c: &mut Checker) {
    let st = c.st;
    let mut used = [0i128; 3];
    for f in st.folios.values() {
        if let Memory::Zone(z) = f.memory {
            used[z.index()] += f.nr_pages() as i128;
        }
    }
    for z in Zone::ALL {
        let i = z.index();
        if st.zone_free[i] as i128 + used[i] != st.zone_total[i] as i128 {
            c.report(
                ZONE_ACCOUNTING,
                format!(
                    "zone {}: {} free + {} in folios != {} total",
                    zone_name(z),
                    st.zone_free[i],
                    used[i],
                    st.zone_total[i]
                ),
            );
        }
    }
}

pub(super) fn swap(c: &mut Checker) {
    let st = c.st;
    // Per slot: how many entries refer to it, and the first one (process,
    // page), formatted only if it is reported.
    let mut refs: BTreeMap<SwapId, (u32, ProcId, u64)> = BTreeMap::new();
    for p in &st.procs {
        for r in &p.entries {
            if let Entry::Swap { slot, .. } = r.entry {
                for i in 0..r.len {
                    let s = SwapId(slot.0.wrapping_add(i as u64));
                    refs.entry(s).or_insert((0, p.id, r.start + i as u64)).0 += 1;
                }
            }
        }
    }
    for (s, &(n, proc, page)) in &refs {
        let first = || format!("{} {}", proc, page_label(st.window_pages, page));
        if !st.swap.contains_key(s) {
            c.report(
                SWAP_ACCOUNTING,
                format!(
                    "{}: swap entry of missing slot {} ({n} entries)",
                    first(),
                    swap_name(*s)
                ),
            );
        }
    }
    for sl in st.swap.values() {
        let name = swap_name(sl.id);
        let n = refs.get(&sl.id).map_or(0, |r| r.0);
        if sl.count != n {
            c.report(
                SWAP_ACCOUNTING,
                format!("{name}: count {} but {n} swap entries", sl.count),
            );
        }
        if sl.count == 0 && sl.cached.is_none() {
            c.report(
                SWAP_ACCOUNTING,
                format!("{name}: unused slot (count 0, not cached)"),
            );
        }
        if let Some(f) = sl.cached {
            let ok = st.folios.get(&f).is_some_and(|fs| {
                fs.swapcache
                    .is_some_and(|s0| sl.id.0.wrapping_sub(s0.0) < fs.nr_pages())
            });
            if !ok {
                c.report(
                    SWAP_ACCOUNTING,
                    format!(
                        "{name}: cached by {} whose swapcache does not cover it",
                        folio_name(f)
                    ),
                );
            }
        }
    }
    for f in st.folios.values() {
        if let Some(s0) = f.swapcache {
            let bad = (0..f.nr_pages())
                .map(|i| SwapId(s0.0.wrapping_add(i)))
                .find(|s| st.swap.get(s).and_then(|x| x.cached) != Some(f.id));
            if let Some(s) = bad {
                c.report(
                    SWAP_ACCOUNTING,
                    format!(
                        "{}: swapcache={} but slot {} is not cached by it",
                        folio_name(f.id),
                        swap_name(s0),
                        swap_name(s)
                    ),
                );
            }
        }
    }
}

pub(super) fn page_cache(c: &mut Checker) {
    let st = c.st;
    for o in &st.objects {
        let oname = object_name(o.id);
        for (&i, &(f, k)) in &o.cache {
            if i >= o.pages {
                c.report(
                    PAGE_CACHE_CONSISTENCY,
                    format!("{oname}[{i}]: cached beyond the object's {} pages", o.pages),
                );
            }
            let fname = folio_name(f);
            let Some(fs) = st.folios.get(&f) else {
                c.report(
                    DANGLING_REFERENCE,
                    format!("{oname}[{i}]: caches missing folio {fname}"),
                );
                continue;
            };
            let expected = i.checked_sub(k as u64).map(|base| (o.id, base));
            if k as u64 >= fs.nr_pages() || fs.mapping.is_none() || fs.mapping != expected {
                c.report(
                    PAGE_CACHE_CONSISTENCY,
                    format!(
                        "{oname}[{i}]: caches {fname}[{k}] but {fname}.mapping is {}",
                        mapping_text(fs.mapping)
                    ),
                );
            }
        }
    }
    for f in st.folios.values() {
        let Some((obj, base)) = f.mapping else {
            continue;
        };
        let fname = folio_name(f.id);
        let Some(o) = st.objects.iter().find(|o| o.id == obj) else {
            c.report(
                DANGLING_REFERENCE,
                format!("{fname}: mapping to missing object {}", object_name(obj)),
            );
            continue;
        };
        let bad = (0..f.nr_pages()).find(|k| {
            base.checked_add(*k).and_then(|i| o.cache.get(&i)) != Some(&(f.id, *k as u32))
        });
        if let Some(k) = bad {
            c.report(
                PAGE_CACHE_CONSISTENCY,
                format!(
                    "{fname}: mapping={} but {}[{}] does not cache {fname}[{k}]",
                    mapping_text(f.mapping),
                    object_name(obj),
                    base.saturating_add(k)
                ),
            );
        }
    }
}

fn mapping_text(m: Option<(ObjId, u64)>) -> String {
    match m {
        Some((o, i)) => format!("{}@{i}", object_name(o)),
        None => "none".into(),
    }
}
