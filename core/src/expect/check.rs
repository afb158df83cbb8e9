//! Evaluating an expectation against an op's outcome and the canonical
//! state after it.

use super::names;
use super::{
    BitCheck, DeviceFlag, DeviceItem, EntryBit, EntryKind, Expect, ExpectedOutcome, Fact,
    FolioFlag, FolioItem, ProcPage, VmaFlag, VmaItem,
};
use crate::op::DevId;
use crate::outcome::{Outcome, Payload};
use crate::state::{
    Entry, FolioState, HugeHint, Level, Memory, MigKind, MigratePhase, MirrorTag, ObjId, PageRef,
    ProcState, State, Target, VmaState,
};
use crate::text::outcome_to_string;

/// Checks `expect` against the (canonical) `outcome` of its op and the
/// canonical `state` after it. Returns one human-readable line per
/// mismatch, e.g. `folio p0 m0[3]: ref expected 1025, found 1`; empty when
/// everything holds. Never panics on a fact that names something absent.
pub fn check(expect: &Expect, outcome: &Outcome, state: &State) -> Vec<String> {
    let mut mismatches = Vec::new();
    if let Some(expected) = &expect.outcome {
        if let Some(m) = check_outcome(expected, outcome) {
            mismatches.push(m);
        }
    }
    for fact in &expect.facts {
        let subject = fact_subject(fact);
        mismatches.extend(
            check_fact(fact, state)
                .into_iter()
                .map(|m| format!("{subject}: {m}")),
        );
    }
    mismatches
}

fn check_outcome(expected: &ExpectedOutcome, actual: &Outcome) -> Option<String> {
    if expected.matches(actual) {
        return None;
    }
    let expected_text = crate::text::expected_outcome_to_string(expected);
    let mut message = format!(
        "outcome: expected {expected_text}, found {}",
        outcome_to_string(actual)
    );
    // A long payload's compressed text hides where it differs: name the page.
    let data = match (expected, actual) {
        (ExpectedOutcome::Data(pattern), Outcome::Ok(Payload::Data { base, values })) => {
            Some((pattern, base, values))
        }
        (
            ExpectedOutcome::Dev { data: pattern, .. },
            Outcome::Ok(Payload::Dev {
                data: Some((base, values)),
                ..
            }),
        ) => Some((pattern, base, values)),
        _ => None,
    };
    if let Some((pattern, base, values)) = data {
        if let Some(j) = pattern.first_mismatch(*base, values) {
            let page = base.wrapping_add(j as u64);
            match (pattern.expected_at(*base, j), values.get(j)) {
                (Some(want), Some(got)) => message.push_str(&format!(
                    " (first difference at page {page}: expected {want}, found {got})"
                )),
                _ => message.push_str(&format!(
                    " (expected {} values or a different count, found {})",
                    pattern_len_text(pattern),
                    values.len()
                )),
            }
        }
    }
    Some(message)
}

fn pattern_len_text(pattern: &super::DataPattern) -> String {
    match pattern {
        super::DataPattern::Uniform(_) => "at least 1".to_string(),
        super::DataPattern::Runs(runs) => runs
            .iter()
            .fold(0u64, |sum, r| sum.saturating_add(r.count))
            .to_string(),
    }
}

/// The part of a fact's text that names what it is about, for messages.
fn fact_subject(fact: &Fact) -> String {
    match fact {
        Fact::Entry { at, .. } => format!("entry {}", at),
        Fact::Folio { at, .. } => format!("folio {}", at),
        Fact::Same { a, b, same } => format!("{}same {} {}", if *same { "" } else { "!" }, a, b),
        Fact::ZoneFree { zone, .. } => format!("zone {}", names::zone(*zone)),
        Fact::Vma { at, .. } | Fact::NoVma { at } => format!("vma {}", at),
        Fact::HasPinned { .. } => fact.to_string(),
        Fact::SwapUsed { .. } => "swap".to_string(),
        Fact::FolioCount { .. } => "folios".to_string(),
        Fact::Device { d, .. } => format!("device {d}"),
        Fact::Mirror { d, at, .. } => format!("mirror {d} {at}"),
        Fact::Session { s, .. } => format!("session {s}"),
        Fact::Notifier { n, .. } => format!("notifier {n}"),
    }
}

/// The mismatches of one fact, without the subject prefix.
fn check_fact(fact: &Fact, state: &State) -> Vec<String> {
    match fact {
        Fact::Entry { at, kind, bits } => match entry_of(state, at) {
            Ok(entry) => check_entry(entry.as_ref(), *kind, bits),
            Err(m) => vec![m],
        },
        Fact::Folio { at, items } => match folio_of(state, at) {
            Ok((folio, subpage)) => check_folio(folio, subpage, items),
            Err(m) => vec![m],
        },
        Fact::Same { a, b, same } => check_same(state, a, b, *same),
        Fact::ZoneFree { zone, free } => {
            let found = state.zone_free.get(zone.index()).copied().unwrap_or(0);
            key_mismatch("free", free, &found)
        }
        Fact::Vma { at, items } => match vma_of(state, at) {
            Ok(Some(vma)) => check_vma(state, at, vma, items),
            Ok(None) => vec!["expected a VMA, found none".to_string()],
            Err(m) => vec![m],
        },
        Fact::NoVma { at } => match vma_of(state, at) {
            Ok(Some(vma)) => vec![format!(
                "expected no VMA, found one at {}..{}",
                window_relative(state, at, vma.start),
                window_relative(state, at, vma.end)
            )],
            Ok(None) => Vec::new(),
            Err(m) => vec![m],
        },
        Fact::HasPinned { p, pinned } => match state.procs.iter().find(|s| s.id == *p) {
            Some(proc) => flag_mismatch("has-pinned", *pinned, proc.has_pinned),
            None => vec![format!("no process {p}")],
        },
        Fact::SwapUsed { used } => key_mismatch("used", used, &(state.swap.len() as u64)),
        Fact::FolioCount { count } => key_mismatch("count", count, &(state.folios.len() as u64)),
        Fact::Device { d, items } => match state.devices.iter().find(|x| x.id == *d) {
            Some(dev) => items
                .iter()
                .flat_map(|item| match *item {
                    DeviceItem::Free(n) => key_mismatch("free", &n, &dev.pool_free),
                    DeviceItem::Refs(n) => key_mismatch("refs", &n, &dev.pgmap_refs),
                    DeviceItem::Flag(BitCheck { bit, set }) => {
                        let found = match bit {
                            DeviceFlag::Released => dev.released,
                            DeviceFlag::FailAlloc => dev.fail_alloc,
                        };
                        flag_mismatch(bit.name(), set, found)
                    }
                })
                .collect(),
            None => vec![format!("no device {d}")],
        },
        Fact::Mirror {
            d,
            at,
            tag,
            same_as,
        } => check_mirror(state, *d, at, *tag, same_as.as_ref()),
        Fact::Session { s, phase, cpages } => {
            let found = state.sessions.iter().find(|x| x.id == *s);
            let name = |p: Option<MigratePhase>| names::name_of(&names::PHASES, p);
            let mut out = key_mismatch("phase", &name(*phase), &name(found.map(|x| x.phase)));
            if let (Some(n), Some(x)) = (cpages, found) {
                out.extend(key_mismatch("cpages", n, &x.cpages));
            }
            out
        }
        Fact::Notifier { n, stale } => {
            let found = state.notifiers.iter().find(|x| x.id == *n).map(|x| x.stale);
            let name = |v: Option<bool>| names::name_of(&names::NOTIFIER_STATES, v);
            key_mismatch("state", &name(*stale), &name(found))
        }
    }
}

/// The mirror entry of `at.p`'s mirror on `d` for `at`'s address, its tag,
/// and (with `same_as`) whether it maps what the process maps there.
fn check_mirror(
    state: &State,
    d: DevId,
    at: &ProcPage,
    tag: Option<MirrorTag>,
    same_as: Option<&ProcPage>,
) -> Vec<String> {
    let page = match absolute_page(state, at) {
        Ok(page) => page,
        Err(m) => return vec![m],
    };
    // No device, no mirror of the process, or no entry: all read as `none`.
    let entry = state
        .devices
        .iter()
        .find(|x| x.id == d)
        .and_then(|dev| dev.mirrors.iter().find(|m| m.proc == at.p))
        .and_then(|m| m.entries.iter().find(|e| e.page == page));
    let tag_name = |t: Option<MirrorTag>| names::name_of(&names::MIRROR_TAGS, t);
    let found = entry.map(|e| e.tag);
    if found != tag {
        let mut m = format!("expected {}, found {}", tag_name(tag), tag_name(found));
        if let Some(e) = entry {
            m.push_str(&format!(" {}", crate::text::page_ref_to_string(&e.target)));
        }
        return vec![m];
    }
    let (Some(e), Some(b)) = (entry, same_as) else {
        return Vec::new();
    };
    let mapped = match entry_of(state, b) {
        Ok(entry) => entry,
        Err(m) => return vec![format!("same-as {b}: {m}")],
    };
    let target = mapped.as_ref().and_then(entry_page_ref);
    if target == Some(e.target) {
        Vec::new()
    } else {
        vec![format!(
            "expected the page {b} maps, {}, found {}",
            describe_entry(mapped.as_ref()),
            crate::text::page_ref_to_string(&e.target)
        )]
    }
}

/// The page an entry maps, as a page reference (entries that map a folio
/// page, the zero page or a huge zero page).
fn entry_page_ref(e: &Entry) -> Option<PageRef> {
    match *e {
        Entry::Present { target, .. }
        | Entry::Migration { target, .. }
        | Entry::DevicePrivate { target, .. }
        | Entry::DeviceExclusive { target, .. } => match target {
            Target::Folio { folio, page } => Some(PageRef::Folio { folio, page }),
            Target::Zero => Some(PageRef::Zero),
            Target::HugeZero { page } => Some(PageRef::HugeZero { page }),
            Target::Io { .. } => None,
        },
        Entry::Swap { .. } => None,
    }
}

fn key_mismatch<T: PartialEq + std::fmt::Display>(
    key: &str,
    expected: &T,
    found: &T,
) -> Vec<String> {
    if expected == found {
        Vec::new()
    } else {
        vec![format!("{key} expected {expected}, found {found}")]
    }
}

fn flag_mismatch(name: &str, expected: bool, found: bool) -> Vec<String> {
    let word = |set: bool| if set { "set" } else { "clear" };
    if expected == found {
        Vec::new()
    } else {
        vec![format!(
            "{name} expected {}, found {}",
            word(expected),
            word(found)
        )]
    }
}

fn proc_of<'s>(state: &'s State, at: &ProcPage) -> Result<&'s ProcState, String> {
    state
        .procs
        .iter()
        .find(|s| s.id == at.p)
        .ok_or_else(|| format!("no process {}", at.p))
}

/// The absolute page number of a fact's page; pages beyond the window
/// would alias the next window, so they are a mismatch of their own.
fn absolute_page(state: &State, at: &ProcPage) -> Result<u64, String> {
    let window = u64::from(state.window_pages);
    if u64::from(at.at.page) >= window {
        return Err(format!(
            "page {} is beyond the {window}-page window",
            at.at.page
        ));
    }
    Ok((u64::from(at.at.slot.0) + 1) * window + u64::from(at.at.page))
}

/// A page's entry (`None` when it has none), or why it cannot be looked up.
fn entry_of(state: &State, at: &ProcPage) -> Result<Option<Entry>, String> {
    let proc = proc_of(state, at)?;
    let page = absolute_page(state, at)?;
    // Runs are sorted and disjoint: the candidate is the last run starting
    // at or before the page.
    let after = proc.entries.partition_point(|run| run.start <= page);
    Ok(after
        .checked_sub(1)
        .and_then(|i| proc.entries.get(i))
        .and_then(|run| {
            let offset = page - run.start;
            (offset < u64::from(run.len)).then(|| run.entry.advanced(offset as u32))
        }))
}

fn kind_of(entry: Option<&Entry>) -> EntryKind {
    match entry {
        None => EntryKind::None,
        Some(Entry::Swap { .. }) => EntryKind::Swap,
        Some(Entry::Present { target, .. }) => match target {
            Target::Folio { .. } => EntryKind::Page,
            Target::Zero => EntryKind::Zero,
            Target::HugeZero { .. } => EntryKind::HugeZero,
            Target::Io { .. } => EntryKind::Io,
        },
        Some(Entry::Migration { .. }) => EntryKind::Migration,
        Some(Entry::DevicePrivate { .. }) => EntryKind::DevPriv,
        Some(Entry::DeviceExclusive { .. }) => EntryKind::DevExcl,
    }
}

/// The value of `bit` in `entry`, if entries of its kind have that bit.
fn entry_bit(entry: &Entry, bit: EntryBit) -> Option<bool> {
    match *entry {
        Entry::Present { level, bits, .. } => match bit {
            EntryBit::Write => Some(bits.write),
            EntryBit::Dirty => Some(bits.dirty),
            EntryBit::Young => Some(bits.young),
            EntryBit::SoftDirty => Some(bits.soft_dirty),
            EntryBit::UffdWp => Some(bits.uffd_wp),
            EntryBit::Pmd => Some(level == Level::Pmd),
            EntryBit::Exclusive => None,
        },
        Entry::Swap {
            exclusive,
            soft_dirty,
            uffd_wp,
            ..
        } => match bit {
            EntryBit::Exclusive => Some(exclusive),
            EntryBit::SoftDirty => Some(soft_dirty),
            EntryBit::UffdWp => Some(uffd_wp),
            _ => None,
        },
        Entry::Migration {
            level,
            kind,
            young,
            dirty,
            soft_dirty,
            uffd_wp,
            ..
        } => Some(match bit {
            EntryBit::Write => kind == MigKind::Write,
            EntryBit::Exclusive => kind == MigKind::ReadExclusive,
            EntryBit::Dirty => dirty,
            EntryBit::Young => young,
            EntryBit::SoftDirty => soft_dirty,
            EntryBit::UffdWp => uffd_wp,
            EntryBit::Pmd => level == Level::Pmd,
        }),
        Entry::DevicePrivate {
            level,
            write,
            soft_dirty,
            uffd_wp,
            ..
        } => match bit {
            EntryBit::Write => Some(write),
            EntryBit::SoftDirty => Some(soft_dirty),
            EntryBit::UffdWp => Some(uffd_wp),
            EntryBit::Pmd => Some(level == Level::Pmd),
            _ => None,
        },
        Entry::DeviceExclusive {
            write,
            soft_dirty,
            uffd_wp,
            ..
        } => match bit {
            EntryBit::Write => Some(write),
            EntryBit::SoftDirty => Some(soft_dirty),
            EntryBit::UffdWp => Some(uffd_wp),
            _ => None,
        },
    }
}

fn check_entry(entry: Option<&Entry>, kind: EntryKind, bits: &[BitCheck<EntryBit>]) -> Vec<String> {
    let found = kind_of(entry);
    if found != kind {
        // Bits of a different kind of entry mean nothing: report the kind only.
        return vec![format!(
            "expected {}, found {}",
            kind.name(),
            describe_entry(entry)
        )];
    }
    let Some(entry) = entry else {
        return Vec::new();
    };
    bits.iter()
        .flat_map(|check| match entry_bit(entry, check.bit) {
            Some(value) => flag_mismatch(check.bit.name(), check.set, value),
            None => vec![format!(
                "{} entries have no {} bit",
                kind.name(),
                check.bit.name()
            )],
        })
        .collect()
}

/// The folio mapped at a page and which of its pages is mapped there.
fn folio_of<'s>(state: &'s State, at: &ProcPage) -> Result<(&'s FolioState, u32), String> {
    let entry = entry_of(state, at)?;
    match entry.as_ref().and_then(Entry::folio_page) {
        Some((folio, page)) => state
            .folios
            .get(&folio)
            .map(|f| (f, page))
            .ok_or_else(|| format!("maps F{}[{page}], which is not in the state", folio.0)),
        None => Err(format!(
            "expected a folio page, found {}",
            describe_entry(entry.as_ref())
        )),
    }
}

fn check_folio(folio: &FolioState, subpage: u32, items: &[FolioItem]) -> Vec<String> {
    items
        .iter()
        .flat_map(|item| match *item {
            FolioItem::Ref(n) => key_mismatch("ref", &n, &folio.refcount),
            FolioItem::Map(n) => key_mismatch("map", &n, &folio.mapcount),
            FolioItem::Entire(n) => key_mismatch("entire", &n, &folio.entire_mapcount),
            FolioItem::Pin(n) => key_mismatch("pin", &n, &folio.pincount),
            FolioItem::Order(n) => key_mismatch("order", &n, &folio.order),
            FolioItem::Subpage(n) => key_mismatch("subpage", &n, &subpage),
            FolioItem::Zone(zone) => match folio.memory {
                Memory::Zone(found) => {
                    key_mismatch("zone", &names::zone(zone), &names::zone(found))
                }
                Memory::Device(d) => vec![format!(
                    "zone expected {}, found device memory of {d}",
                    names::zone(zone)
                )],
            },
            FolioItem::Dev(dev) => match folio.memory {
                Memory::Device(found) => key_mismatch("dev", &dev, &found),
                Memory::Zone(z) => {
                    vec![format!("dev expected {dev}, found zone {}", names::zone(z))]
                }
            },
            FolioItem::Flag(BitCheck { bit, set }) => {
                flag_mismatch(bit.name(), set, folio_flag(folio, subpage, bit))
            }
        })
        .collect()
}

fn folio_flag(folio: &FolioState, subpage: u32, flag: FolioFlag) -> bool {
    match flag {
        FolioFlag::Locked => folio.locked,
        FolioFlag::Lru => folio.lru,
        FolioFlag::Anon => folio.anon,
        FolioFlag::SwapBacked => folio.swapbacked,
        FolioFlag::Dirty => folio.dirty,
        FolioFlag::SwapCache => folio.swapcache.is_some(),
        FolioFlag::Excl => folio
            .anon_exclusive
            .get(subpage as usize)
            .copied()
            .unwrap_or(false),
        FolioFlag::Pinned => folio.maybe_dma_pinned(),
        FolioFlag::Large => folio.is_large(),
    }
}

fn check_same(state: &State, a: &ProcPage, b: &ProcPage, same: bool) -> Vec<String> {
    let (entry_a, entry_b) = match (entry_of(state, a), entry_of(state, b)) {
        (Ok(x), Ok(y)) => (x, y),
        (Err(m), _) | (_, Err(m)) => return vec![m],
    };
    // The page behind the entry, whatever maps it (present, migration,
    // device-private or device-exclusive); swap entries name no page.
    let target = |e: &Option<Entry>| match e {
        Some(Entry::Present { target, .. })
        | Some(Entry::Migration { target, .. })
        | Some(Entry::DevicePrivate { target, .. })
        | Some(Entry::DeviceExclusive { target, .. }) => Some(*target),
        _ => None,
    };
    let is_same = matches!((target(&entry_a), target(&entry_b)), (Some(x), Some(y)) if x == y);
    if is_same == same {
        return Vec::new();
    }
    let (a_text, b_text) = (
        describe_entry(entry_a.as_ref()),
        describe_entry(entry_b.as_ref()),
    );
    if same {
        vec![format!(
            "expected the same page, found {} -> {a_text} and {} -> {b_text}",
            a, b
        )]
    } else {
        vec![format!("expected different pages, both map {a_text}")]
    }
}

fn vma_of<'s>(state: &'s State, at: &ProcPage) -> Result<Option<&'s VmaState>, String> {
    let proc = proc_of(state, at)?;
    let page = absolute_page(state, at)?;
    Ok(proc.vmas.iter().find(|v| v.start <= page && page < v.end))
}

/// A VMA boundary relative to the window of the fact's page (boundaries of
/// a VMA that leaves the window are shown as absolute page numbers).
fn window_relative(state: &State, at: &ProcPage, absolute: u64) -> String {
    let window = u64::from(state.window_pages);
    let base = (u64::from(at.at.slot.0) + 1) * window;
    match absolute.checked_sub(base) {
        Some(relative) if relative <= window => relative.to_string(),
        _ => format!("absolute page {absolute}"),
    }
}

fn check_vma(state: &State, at: &ProcPage, vma: &VmaState, items: &[VmaItem]) -> Vec<String> {
    let window = u64::from(state.window_pages);
    let base = (u64::from(at.at.slot.0) + 1) * window;
    items
        .iter()
        .flat_map(|item| match *item {
            VmaItem::Start(n) if base + u64::from(n) != vma.start => vec![format!(
                "start expected {n}, found {}",
                window_relative(state, at, vma.start)
            )],
            VmaItem::End(n) if base + u64::from(n) != vma.end => vec![format!(
                "end expected {n}, found {}",
                window_relative(state, at, vma.end)
            )],
            VmaItem::Start(_) | VmaItem::End(_) => Vec::new(),
            VmaItem::Prot(prot) => key_mismatch("prot", &names::prot(prot), &names::prot(vma.prot)),
            VmaItem::Kind(kind) => {
                key_mismatch("kind", &names::vma_kind(kind), &names::vma_kind(vma.kind))
            }
            VmaItem::Zone(zone) => key_mismatch("zone", &names::zone(zone), &names::zone(vma.zone)),
            VmaItem::Flag(BitCheck { bit, set }) => {
                flag_mismatch(bit.name(), set, vma_flag(vma, bit))
            }
        })
        .collect()
}

fn vma_flag(vma: &VmaState, flag: VmaFlag) -> bool {
    match flag {
        VmaFlag::HugePage => vma.hint == HugeHint::Huge,
        VmaFlag::NoHugePage => vma.hint == HugeHint::NoHuge,
        VmaFlag::DontFork => vma.dontfork,
        VmaFlag::UffdWp => vma.uffd_wp,
        VmaFlag::SoftDirty => vma.soft_dirty,
        VmaFlag::AnonVma => vma.anon_vma,
    }
}

/// An entry for messages: `none`, `F2[7]`, `zero`, `hugezero[3]`,
/// `io0[1]`, `swap S4`, with a `(pmd)` mark for PMD leaves.
fn describe_entry(entry: Option<&Entry>) -> String {
    match entry {
        None => "none".to_string(),
        Some(Entry::Swap { slot, .. }) => format!("swap S{}", slot.0),
        Some(Entry::Present { level, target, .. }) => leveled(target_text(target), *level),
        Some(Entry::Migration { level, target, .. }) => {
            leveled(format!("migration {}", target_text(target)), *level)
        }
        Some(Entry::DevicePrivate { level, target, .. }) => {
            leveled(format!("devpriv {}", target_text(target)), *level)
        }
        Some(Entry::DeviceExclusive { target, .. }) => {
            format!("devexcl {}", target_text(target))
        }
    }
}

fn leveled(text: String, level: Level) -> String {
    match level {
        Level::Pte => text,
        Level::Pmd => format!("{text} (pmd)"),
    }
}

fn target_text(target: &Target) -> String {
    match target {
        Target::Folio { folio, page } => format!("F{}[{page}]", folio.0),
        Target::Zero => "zero".to_string(),
        Target::HugeZero { page } => format!("hugezero[{page}]"),
        Target::Io { obj, page } => format!("{}[{page}]", object_text(obj)),
    }
}

fn object_text(obj: &ObjId) -> String {
    match obj {
        ObjId::File(f) => f.to_string(),
        ObjId::Shm(n) => format!("shm{n}"),
        ObjId::Io(n) => format!("io{n}"),
    }
}
