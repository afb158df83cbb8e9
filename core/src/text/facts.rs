//! Facts in scenario text (the state half of an expectation):
//!
//! ```text
//! entry <p> <page> none|page|zero|hugezero|io|swap|migration|devpriv|devexcl {bit | !bit}
//!       bits: write dirty young soft-dirty uffd-wp pmd (present entries),
//!             exclusive soft-dirty uffd-wp (swap entries)
//! folio <p> <page> {ref=<n> | map=<n> | entire=<n> | pin=<n> | order=<n> | subpage=<n>
//!                   | zone=<zone> | dev=<dev> | flag | !flag}
//!       flags: locked lru anon swapbacked dirty swapcache excl pinned large
//! same <p> <page> <p> <page>          !same <p> <page> <p> <page>
//! zone normal|movable|cma free=<n>
//! vma <p> <page> none
//! vma <p> <page> {start=<n> | end=<n> | prot=<prot> | kind=<kind> | zone=<zone> | flag | !flag}
//!       flags: hugepage nohugepage dontfork uffd-wp soft-dirty anon-vma
//! has-pinned <p>                      !has-pinned <p>
//! swap used=<n>
//! folios count=<n>
//! device <dev> {free=<n> | refs=<n> | flag | !flag}
//!       flags: released fail-alloc
//! mirror <dev> <p> <page> none|read|write|atomic [same-as <p> <page>]
//! session <s> none|setup|allocated|migrated [cpages=<n>]
//! notifier <n> none|stale|fresh
//! ```
//!
//! Entry kinds beyond present and swap entries: `migration` (bits: all;
//! `write` = a writable migration entry, `exclusive` = readable-exclusive,
//! neither = readable), `devpriv` (write soft-dirty uffd-wp pmd), `devexcl`
//! (write soft-dirty uffd-wp; `write` only before 6.15). A folio fact's
//! page may hold any entry that maps a folio page (present, migration, devpriv, devexcl); `dev=<dev>` checks
//! that the folio is device memory of that device.
//!
//! `<page>` is `m<k>[<n>]`. Items are kept in the order written; each key or
//! flag may appear once per fact.

use std::fmt;

use super::args::{key_value, DEV, NOTIFIER, PROC, SESSION, WINDOW};
use super::lexer::{Word, Words};
use super::ParseError;
use crate::expect::names;
use crate::expect::{
    BitCheck, DeviceFlag, DeviceItem, EntryBit, EntryKind, Fact, FolioFlag, FolioItem, ProcPage,
    VmaFlag, VmaItem,
};
use crate::op::{DevId, NotifierId, PageAt, ProcId, SessionId, SlotId};

/// The words that start a fact (an expectation item starting with anything
/// else is an outcome).
pub(super) const FACT_KEYWORDS: [&str; 14] = [
    "entry",
    "folio",
    "same",
    "!same",
    "zone",
    "vma",
    "has-pinned",
    "!has-pinned",
    "swap",
    "folios",
    "device",
    "mirror",
    "session",
    "notifier",
];

const DEVICE_ITEM_EXPECTED: &str = "a device key (free, refs) or flag (released, fail-alloc)";
const FOLIO_ITEM_EXPECTED: &str = "a folio key (ref, map, entire, pin, order, subpage, zone, dev) \
     or flag (locked, lru, anon, swapbacked, dirty, swapcache, excl, pinned, large)";
const VMA_ITEM_EXPECTED: &str = "`none`, a VMA key (start, end, prot, kind, zone) \
     or flag (hugepage, nohugepage, dontfork, uffd-wp, soft-dirty, anon-vma)";

pub(super) fn fact_expected() -> String {
    format!("a fact ({})", FACT_KEYWORDS.join(", "))
}

/// Parses one fact from all of `words`.
pub(super) fn parse_fact_words(words: &mut Words<'_>) -> Result<Fact, ParseError> {
    let keyword = words.next(&fact_expected())?;
    let fact = match keyword.text {
        "entry" => parse_entry(words)?,
        "folio" => {
            let at = proc_page(words)?;
            Fact::Folio {
                at,
                items: parse_items(words, FOLIO_ITEM_EXPECTED, folio_item, FolioItem::name)?,
            }
        }
        "same" | "!same" => Fact::Same {
            a: proc_page(words)?,
            b: proc_page(words)?,
            same: keyword.text == "same",
        },
        "zone" => {
            let zone_word = words.next("a zone (normal, movable, cma)")?;
            let zone = names::lookup(&names::ZONES, zone_word.text)
                .ok_or_else(|| words.error(zone_word, "a zone (normal, movable, cma)"))?;
            Fact::ZoneFree {
                zone,
                free: counter(words, "free")?,
            }
        }
        "vma" => {
            let at = proc_page(words)?;
            if words.eat("none") {
                Fact::NoVma { at }
            } else {
                Fact::Vma {
                    at,
                    items: parse_items(words, VMA_ITEM_EXPECTED, vma_item, VmaItem::name)?,
                }
            }
        }
        "has-pinned" | "!has-pinned" => Fact::HasPinned {
            p: ProcId(PROC.parse(words)?),
            pinned: keyword.text == "has-pinned",
        },
        "swap" => Fact::SwapUsed {
            used: counter(words, "used")?,
        },
        "folios" => Fact::FolioCount {
            count: counter(words, "count")?,
        },
        "device" => Fact::Device {
            d: DevId(DEV.parse(words)?),
            items: parse_items(words, DEVICE_ITEM_EXPECTED, device_item, DeviceItem::name)?,
        },
        "mirror" => {
            let d = DevId(DEV.parse(words)?);
            let at = proc_page(words)?;
            let tag = choice(
                words,
                &names::MIRROR_TAGS,
                "a mirror tag (none, read, write, atomic)",
            )?;
            let same_as = if tag.is_some() && words.eat("same-as") {
                Some(proc_page(words)?)
            } else {
                None
            };
            Fact::Mirror {
                d,
                at,
                tag,
                same_as,
            }
        }
        "session" => {
            let s = SessionId(SESSION.parse(words)?);
            let phase = choice(
                words,
                &names::PHASES,
                "a session phase (none, setup, allocated, migrated)",
            )?;
            let cpages = if phase.is_some() && words.peek().is_some() {
                Some(counter(words, "cpages")?)
            } else {
                None
            };
            Fact::Session { s, phase, cpages }
        }
        "notifier" => Fact::Notifier {
            n: NotifierId(NOTIFIER.parse(words)?),
            stale: choice(
                words,
                &names::NOTIFIER_STATES,
                "a notifier state (none, stale, fresh)",
            )?,
        },
        _ => return Err(words.error(keyword, &fact_expected())),
    };
    words.expect_end("the end of the fact (`;`, `#` or the end of the line)")?;
    Ok(fact)
}

/// A word that must be one of `table`'s names.
fn choice<T: Copy>(
    words: &mut Words<'_>,
    table: &[(T, &'static str)],
    expected: &str,
) -> Result<T, ParseError> {
    let word = words.next(expected)?;
    names::lookup(table, word.text).ok_or_else(|| words.error(word, expected))
}

fn device_item(
    words: &Words<'_>,
    word: Word<'_>,
    expected: &str,
) -> Result<DeviceItem, ParseError> {
    if let Some(check) = bit_check(word.text, &DeviceFlag::ALL, DeviceFlag::name) {
        return Ok(DeviceItem::Flag(check));
    }
    let Some((key, mut value)) = key_value(words, word) else {
        return Err(words.error(word, expected));
    };
    let item = match key {
        "free" => DeviceItem::Free(value.number("a page count")?),
        "refs" => DeviceItem::Refs(value.signed("a reference count")?),
        _ => return Err(words.error(word, expected)),
    };
    value.finish("the end of the value")?;
    Ok(item)
}

fn proc_page(words: &mut Words<'_>) -> Result<ProcPage, ParseError> {
    let p = ProcId(PROC.parse(words)?);
    let (slot, page) = WINDOW.parse_index(words, "a page like m0[5]")?;
    Ok(ProcPage {
        p,
        at: PageAt {
            slot: SlotId(slot),
            page,
        },
    })
}

/// A `key=<n>` word with a fixed key.
fn counter(words: &mut Words<'_>, key: &str) -> Result<u64, ParseError> {
    let expected = format!("`{key}=<n>`");
    let word = words.next(&expected)?;
    match key_value(words, word) {
        Some((k, mut value)) if k == key => {
            let n = value.number("a number")?;
            value.finish("the end of the number")?;
            Ok(n)
        }
        _ => Err(words.error(word, &expected)),
    }
}

/// `flag` or `!flag` for one of `names`.
fn bit_check<B: Copy>(
    text: &str,
    all: &[B],
    name: impl Fn(B) -> &'static str,
) -> Option<BitCheck<B>> {
    let (set, bare) = match text.strip_prefix('!') {
        Some(rest) => (false, rest),
        None => (true, text),
    };
    all.iter()
        .copied()
        .find(|&b| name(b) == bare)
        .map(|bit| BitCheck { bit, set })
}

fn parse_entry(words: &mut Words<'_>) -> Result<Fact, ParseError> {
    let at = proc_page(words)?;
    let kind_names: Vec<&str> = EntryKind::ALL.iter().map(|k| k.name()).collect();
    let kind_expected = &format!("an entry kind ({})", kind_names.join(", "));
    let kind_word = words.next(kind_expected)?;
    let kind = EntryKind::ALL
        .into_iter()
        .find(|k| k.name() == kind_word.text)
        .ok_or_else(|| words.error(kind_word, kind_expected))?;
    let usable: Vec<&str> = EntryBit::ALL
        .into_iter()
        .filter(|&b| kind.has_bit(b))
        .map(EntryBit::name)
        .collect();
    let bit_expected = if usable.is_empty() {
        format!(
            "the end of the fact (`{}` entries have no bits)",
            kind.name()
        )
    } else {
        format!(
            "a bit of a `{}` entry ({}), maybe with `!`",
            kind.name(),
            usable.join(", ")
        )
    };
    let mut bits: Vec<BitCheck<EntryBit>> = Vec::new();
    while let Some(word) = words.peek() {
        words.next(&bit_expected)?;
        let check = bit_check(word.text, &EntryBit::ALL, EntryBit::name)
            .filter(|c| kind.has_bit(c.bit))
            .ok_or_else(|| words.error(word, &bit_expected))?;
        if bits.iter().any(|b| b.bit == check.bit) {
            return Err(repeated(words, word));
        }
        bits.push(check);
    }
    Ok(Fact::Entry { at, kind, bits })
}

fn repeated(words: &Words<'_>, word: Word<'_>) -> ParseError {
    words.error(word, "each key or flag at most once per fact")
}

/// The rest of the words as items, each key or flag at most once.
fn parse_items<T>(
    words: &mut Words<'_>,
    expected: &str,
    item: impl Fn(&Words<'_>, Word<'_>, &str) -> Result<T, ParseError>,
    name: impl Fn(&T) -> &'static str,
) -> Result<Vec<T>, ParseError> {
    let mut items: Vec<T> = Vec::new();
    while let Some(word) = words.peek() {
        words.next(expected)?;
        let parsed = item(words, word, expected)?;
        if items.iter().any(|i| name(i) == name(&parsed)) {
            return Err(repeated(words, word));
        }
        items.push(parsed);
    }
    Ok(items)
}

fn folio_item(words: &Words<'_>, word: Word<'_>, expected: &str) -> Result<FolioItem, ParseError> {
    if let Some(check) = bit_check(word.text, &FolioFlag::ALL, FolioFlag::name) {
        return Ok(FolioItem::Flag(check));
    }
    let Some((key, mut value)) = key_value(words, word) else {
        return Err(words.error(word, expected));
    };
    let item = match key {
        "ref" => FolioItem::Ref(value.signed("a reference count")?),
        "map" => FolioItem::Map(value.signed("a map count")?),
        "entire" => FolioItem::Entire(value.signed("an entire map count")?),
        "pin" => FolioItem::Pin(value.signed("a pin count")?),
        "order" => {
            let column = value.column();
            let n = value.number("a folio order")?;
            FolioItem::Order(u8::try_from(n).map_err(|_| {
                value.error_at(
                    column,
                    "a folio order (at most 255)",
                    super::lexer::quote(&n.to_string()),
                )
            })?)
        }
        "subpage" => FolioItem::Subpage(value.number_u32("a page index inside the folio")?),
        "zone" => {
            let name = value.take_rest();
            FolioItem::Zone(
                names::lookup(&names::ZONES, name)
                    .ok_or_else(|| value.word_error("a zone (normal, movable, cma)"))?,
            )
        }
        "dev" => FolioItem::Dev(DevId(DEV.scan_id(&mut value, &DEV.expected())?)),
        _ => return Err(words.error(word, expected)),
    };
    value.finish("the end of the value")?;
    Ok(item)
}

fn vma_item(words: &Words<'_>, word: Word<'_>, expected: &str) -> Result<VmaItem, ParseError> {
    if let Some(check) = bit_check(word.text, &VmaFlag::ALL, VmaFlag::name) {
        return Ok(VmaItem::Flag(check));
    }
    let Some((key, mut value)) = key_value(words, word) else {
        return Err(words.error(word, expected));
    };
    let item = match key {
        "start" => VmaItem::Start(value.number_u32("a window-relative page")?),
        "end" => VmaItem::End(value.number_u32("a window-relative page")?),
        "prot" => VmaItem::Prot(
            names::lookup(&names::PROTS, value.take_rest())
                .ok_or_else(|| value.word_error("a protection (none, r, rw)"))?,
        ),
        "kind" => VmaItem::Kind(
            names::lookup(&names::VMA_KINDS, value.take_rest()).ok_or_else(|| {
                value.word_error(
                    "a VMA kind (anon, anon-shared, file-private, file-shared, special)",
                )
            })?,
        ),
        "zone" => VmaItem::Zone(
            names::lookup(&names::ZONES, value.take_rest())
                .ok_or_else(|| value.word_error("a zone (normal, movable, cma)"))?,
        ),
        _ => return Err(words.error(word, expected)),
    };
    value.finish("the end of the value")?;
    Ok(item)
}

impl fmt::Display for ProcPage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}[{}]", self.p, self.at.slot, self.at.page)
    }
}

fn bang(set: bool) -> &'static str {
    if set {
        ""
    } else {
        "!"
    }
}

impl fmt::Display for FolioItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FolioItem::Ref(n) => write!(f, "ref={n}"),
            FolioItem::Map(n) => write!(f, "map={n}"),
            FolioItem::Entire(n) => write!(f, "entire={n}"),
            FolioItem::Pin(n) => write!(f, "pin={n}"),
            FolioItem::Order(n) => write!(f, "order={n}"),
            FolioItem::Subpage(n) => write!(f, "subpage={n}"),
            FolioItem::Zone(z) => write!(f, "zone={}", names::zone(*z)),
            FolioItem::Dev(d) => write!(f, "dev={d}"),
            FolioItem::Flag(c) => write!(f, "{}{}", bang(c.set), c.bit.name()),
        }
    }
}

impl fmt::Display for DeviceItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceItem::Free(n) => write!(f, "free={n}"),
            DeviceItem::Refs(n) => write!(f, "refs={n}"),
            DeviceItem::Flag(c) => write!(f, "{}{}", bang(c.set), c.bit.name()),
        }
    }
}

impl fmt::Display for VmaItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VmaItem::Start(n) => write!(f, "start={n}"),
            VmaItem::End(n) => write!(f, "end={n}"),
            VmaItem::Prot(p) => write!(f, "prot={}", names::prot(*p)),
            VmaItem::Kind(k) => write!(f, "kind={}", names::vma_kind(*k)),
            VmaItem::Zone(z) => write!(f, "zone={}", names::zone(*z)),
            VmaItem::Flag(c) => write!(f, "{}{}", bang(c.set), c.bit.name()),
        }
    }
}

/// Writes ` item` for every item.
fn items(f: &mut fmt::Formatter<'_>, items: &[impl fmt::Display]) -> fmt::Result {
    items.iter().try_for_each(|item| write!(f, " {item}"))
}

impl fmt::Display for Fact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fact::Entry { at, kind, bits } => {
                write!(f, "entry {at} {}", kind.name())?;
                bits.iter()
                    .try_for_each(|c| write!(f, " {}{}", bang(c.set), c.bit.name()))
            }
            Fact::Folio { at, items: list } => {
                write!(f, "folio {at}")?;
                items(f, list)
            }
            Fact::Same { a, b, same } => write!(f, "{}same {a} {b}", bang(*same)),
            Fact::ZoneFree { zone, free } => write!(f, "zone {} free={free}", names::zone(*zone)),
            Fact::Vma { at, items: list } => {
                write!(f, "vma {at}")?;
                items(f, list)
            }
            Fact::NoVma { at } => write!(f, "vma {at} none"),
            Fact::HasPinned { p, pinned } => write!(f, "{}has-pinned {p}", bang(*pinned)),
            Fact::SwapUsed { used } => write!(f, "swap used={used}"),
            Fact::FolioCount { count } => write!(f, "folios count={count}"),
            Fact::Device { d, items: list } => {
                write!(f, "device {d}")?;
                items(f, list)
            }
            Fact::Mirror {
                d,
                at,
                tag,
                same_as,
            } => {
                write!(
                    f,
                    "mirror {d} {at} {}",
                    names::name_of(&names::MIRROR_TAGS, *tag)
                )?;
                match same_as {
                    Some(b) => write!(f, " same-as {b}"),
                    None => Ok(()),
                }
            }
            Fact::Session { s, phase, cpages } => {
                write!(f, "session {s} {}", names::name_of(&names::PHASES, *phase))?;
                match cpages {
                    Some(n) => write!(f, " cpages={n}"),
                    None => Ok(()),
                }
            }
            Fact::Notifier { n, stale } => write!(
                f,
                "notifier {n} {}",
                names::name_of(&names::NOTIFIER_STATES, *stale)
            ),
        }
    }
}
