//! Ops in scenario text: one line each, single spaces, e.g.
//! `mmap p0 m0 anon rw pages=1024 at=3`. See the `text` module docs for
//! the grammar.

use super::args::{
    fill_text, key_value, parse_fill, range_text, FILE, HANDLE, IOMMU, LOCK, PROC, WINDOW,
};
use super::lexer::Words;
use super::ParseError;
use crate::expect::names;
use crate::op::{
    Advice, FileId, FsKind, GupFlags, HandleId, IommuId, LockId, MapKind, Op, OpKind, PageAt,
    PageRange, ProcId, SlotId, Zone,
};

const RANGE_LIKE: &str = "a page range like m0[0..512]";
const PAGE_LIKE: &str = "a page like m0[5]";
const DMA_RANGE_LIKE: &str = "a handle index range like h0[0..4]";
const PROT_EXPECTED: &str = "a protection (none, r, rw)";

const ADVICES: [(Advice, &str); 8] = [
    (Advice::DontNeed, "dontneed"),
    (Advice::Free, "free"),
    (Advice::HugePage, "hugepage"),
    (Advice::NoHugePage, "nohugepage"),
    (Advice::Collapse, "collapse"),
    (Advice::PageOut, "pageout"),
    (Advice::DontFork, "dontfork"),
    (Advice::DoFork, "dofork"),
];
const FS_KINDS: [(FsKind, &str); 2] = [(FsKind::Tmpfs, "tmpfs"), (FsKind::Ext4, "ext4")];
/// GUP flag words in their printed order.
const GUP_FLAG_WORDS: [&str; 5] = ["write", "longterm", "fast", "force", "nofault"];

/// `an op keyword (mmap, munmap, ...)`, listing every keyword.
fn op_expected() -> String {
    let keywords: Vec<&str> = OpKind::ALL.iter().map(|k| k.keyword()).collect();
    format!("an op keyword ({})", keywords.join(", "))
}

/// Parses one op from `words`; the words must hold nothing else. The op is
/// checked against [`Op::validate`], whose complaints point at the keyword.
pub(super) fn parse_op_words(words: &mut Words<'_>) -> Result<Op, ParseError> {
    let keyword = words.next(&op_expected())?;
    let kind =
        OpKind::from_keyword(keyword.text).ok_or_else(|| words.error(keyword, &op_expected()))?;
    let op = parse_op_args(kind, words)?;
    words.expect_end(&format!("the end of the `{}` op", kind.keyword()))?;
    op.validate().map_err(|problem| ParseError {
        line: words.line(),
        column: keyword.column,
        expected: "an op inside the op domain".to_string(),
        found: problem,
    })?;
    Ok(op)
}

fn proc(words: &mut Words<'_>) -> Result<ProcId, ParseError> {
    PROC.parse(words).map(ProcId)
}

fn range(words: &mut Words<'_>) -> Result<PageRange, ParseError> {
    let (slot, start, end) = WINDOW.parse_range(words, RANGE_LIKE)?;
    Ok(PageRange::new(SlotId(slot), start, end))
}

fn page(words: &mut Words<'_>) -> Result<PageAt, ParseError> {
    let (slot, page) = WINDOW.parse_index(words, PAGE_LIKE)?;
    Ok(PageAt {
        slot: SlotId(slot),
        page,
    })
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

fn choices_expected<T>(what: &str, table: &[(T, &'static str)]) -> String {
    let list: Vec<&str> = table.iter().map(|(_, n)| *n).collect();
    format!("{what} ({})", list.join(", "))
}

fn parse_op_args(kind: OpKind, words: &mut Words<'_>) -> Result<Op, ParseError> {
    Ok(match kind {
        OpKind::Mmap => parse_mmap(words)?,
        OpKind::Munmap => Op::Munmap {
            p: proc(words)?,
            range: range(words)?,
        },
        OpKind::Mprotect => Op::Mprotect {
            p: proc(words)?,
            range: range(words)?,
            prot: choice(words, &names::PROTS, PROT_EXPECTED)?,
        },
        OpKind::Madvise => Op::Madvise {
            p: proc(words)?,
            range: range(words)?,
            advice: choice(words, &ADVICES, &choices_expected("an advice", &ADVICES))?,
        },
        OpKind::Mremap => {
            let p = proc(words)?;
            let range = range(words)?;
            words.expect("->")?;
            Op::Mremap {
                p,
                range,
                to: page(words)?,
            }
        }
        OpKind::Fork => {
            let p = proc(words)?;
            words.expect("->")?;
            Op::Fork {
                p,
                child: proc(words)?,
            }
        }
        OpKind::Exit => Op::Exit { p: proc(words)? },
        OpKind::File => {
            let f = FileId(FILE.parse(words)?);
            let fs = choice(words, &FS_KINDS, "a filesystem (tmpfs, ext4)")?;
            let word = words.next("`pages=<n>`")?;
            let pages = match key_value(words, word) {
                Some(("pages", mut value)) => {
                    let n = value.number_u32("a page count")?;
                    value.finish("the end of the page count")?;
                    n
                }
                _ => return Err(words.error(word, "`pages=<n>`")),
            };
            Op::File { f, fs, pages }
        }
        OpKind::Read => Op::Read {
            p: proc(words)?,
            range: range(words)?,
        },
        OpKind::Write => {
            let p = proc(words)?;
            let range = range(words)?;
            words.expect("=")?;
            Op::Write {
                p,
                range,
                fill: parse_fill(words)?,
            }
        }
        OpKind::ClearSoftDirty => Op::ClearSoftDirty { p: proc(words)? },
        OpKind::UffdWp => Op::UffdWp {
            p: proc(words)?,
            range: range(words)?,
            on: choice(words, &[(true, "on"), (false, "off")], "`on` or `off`")?,
        },
        OpKind::Gup => parse_gup(words)?,
        OpKind::Release => Op::Release {
            h: HandleId(HANDLE.parse(words)?),
            dirty: words.eat("dirty"),
        },
        OpKind::DmaRead => {
            let (h, start, end) = HANDLE.parse_range(words, DMA_RANGE_LIKE)?;
            Op::DmaRead {
                h: HandleId(h),
                start,
                end,
            }
        }
        OpKind::DmaWrite => {
            let (h, start, end) = HANDLE.parse_range(words, DMA_RANGE_LIKE)?;
            words.expect("=")?;
            Op::DmaWrite {
                h: HandleId(h),
                start,
                end,
                fill: parse_fill(words)?,
            }
        }
        OpKind::Reclaim => Op::Reclaim,
        OpKind::SplitThp => Op::SplitThp {
            p: proc(words)?,
            at: page(words)?,
        },
        OpKind::Lock => Op::Lock {
            x: LockId(LOCK.parse(words)?),
            p: proc(words)?,
            at: page(words)?,
        },
        OpKind::Unlock => Op::Unlock {
            x: LockId(LOCK.parse(words)?),
        },
        OpKind::CmaEvacuate => Op::CmaEvacuate,
        OpKind::FailAlloc => Op::FailAlloc {
            zone: choice(words, &names::ZONES, "a zone (normal, movable, cma)")?,
        },
        OpKind::IommuPrereg => Op::IommuPrereg {
            i: IommuId(IOMMU.parse(words)?),
            p: proc(words)?,
            range: range(words)?,
        },
        OpKind::IommuTranslate => {
            let (i, index) = IOMMU.parse_index(words, "an IOMMU entry like i0[5]")?;
            Op::IommuTranslate {
                i: IommuId(i),
                index,
            }
        }
        OpKind::IommuUnreg => Op::IommuUnreg {
            i: IommuId(IOMMU.parse(words)?),
        },
        OpKind::HmmFault
        | OpKind::Notifier
        | OpKind::ReadBegin
        | OpKind::ReadRetry
        | OpKind::MigrateSetup
        | OpKind::MigrateAlloc
        | OpKind::MigratePages
        | OpKind::MigrateFinalize
        | OpKind::DevRead
        | OpKind::DevWrite
        | OpKind::MigrateToDev
        | OpKind::MigrateToSys
        | OpKind::DevSnapshot
        | OpKind::DevExclusive
        | OpKind::DevCheckExclusive
        | OpKind::DevRelease
        | OpKind::DevFailAlloc
        | OpKind::DevClose => super::hmm::parse_hmm_op(kind, words)?,
    })
}

const MAP_KIND_EXPECTED: &str =
    "a mapping kind (anon, anon-shared, file-private <f>, file-shared <f>, special)";
const MMAP_OPTION_EXPECTED: &str = "an mmap option (pages=, at=, off=, zone=)";

/// `mmap <p> <m> <kind> <prot> pages=<n> [at=<n>] [off=<n>] [zone=movable|cma]`,
/// options in any order, each at most once.
fn parse_mmap(words: &mut Words<'_>) -> Result<Op, ParseError> {
    let p = proc(words)?;
    let slot = SlotId(WINDOW.parse(words)?);
    let kind_word = words.next(MAP_KIND_EXPECTED)?;
    let kind = match kind_word.text {
        "anon" => MapKind::Anon,
        "anon-shared" => MapKind::AnonShared,
        "file-private" => MapKind::FilePrivate(FileId(FILE.parse(words)?)),
        "file-shared" => MapKind::FileShared(FileId(FILE.parse(words)?)),
        "special" => MapKind::Special,
        _ => return Err(words.error(kind_word, MAP_KIND_EXPECTED)),
    };
    let prot = choice(words, &names::PROTS, PROT_EXPECTED)?;
    let (mut pages, mut at, mut foff, mut zone) = (None, None, None, None);
    while let Some(word) = words.peek() {
        let Some((key, mut value)) = key_value(words, word) else {
            break;
        };
        words.next(MMAP_OPTION_EXPECTED)?;
        let seen = match key {
            "pages" => pages.is_some(),
            "at" => at.is_some(),
            "off" => foff.is_some(),
            "zone" => zone.is_some(),
            _ => return Err(words.error(word, MMAP_OPTION_EXPECTED)),
        };
        if seen {
            let expected = format!("each mmap option at most once (`{key}=` again)");
            return Err(words.error(word, &expected));
        }
        let mut whole_u32 = |what: &str| {
            let n = value.number_u32(what)?;
            value.finish(what).map(|()| n)
        };
        match key {
            "pages" => pages = Some(whole_u32("a page count")?),
            "at" => at = Some(whole_u32("a page offset in the window")?),
            "off" => foff = Some(whole_u32("a file page offset")?),
            _ => {
                let expected = "a zone (normal, movable, cma)";
                let name = value.take_rest();
                zone = Some(
                    names::lookup(&names::ZONES, name).ok_or_else(|| value.word_error(expected))?,
                );
            }
        }
    }
    let Some(pages) = pages else {
        return Err(match words.peek() {
            Some(word) => words.error(word, "`pages=<n>`"),
            None => words.error_at_end("`pages=<n>`"),
        });
    };
    Ok(Op::Mmap {
        p,
        slot,
        at: at.unwrap_or(0),
        pages,
        kind,
        prot,
        zone: zone.unwrap_or(Zone::Normal),
        foff: foff.unwrap_or(0),
    })
}

/// `gup <p> <range> pin|get [write] [longterm] [fast] [force] [nofault] -> <h>`,
/// flags in any order, each at most once.
fn parse_gup(words: &mut Words<'_>) -> Result<Op, ParseError> {
    let p = proc(words)?;
    let range = range(words)?;
    let pin = choice(words, &[(true, "pin"), (false, "get")], "`pin` or `get`")?;
    let mut flags = GupFlags {
        pin,
        ..GupFlags::default()
    };
    let flag_expected = "a gup flag (write, longterm, fast, force, nofault) or `->`";
    loop {
        let word = words.next(flag_expected)?;
        let flag = match word.text {
            "->" => break,
            "write" => &mut flags.write,
            "longterm" => &mut flags.longterm,
            "fast" => &mut flags.fast,
            "force" => &mut flags.force,
            "nofault" => &mut flags.nofault,
            _ => return Err(words.error(word, flag_expected)),
        };
        if *flag {
            return Err(words.error(word, "each gup flag at most once"));
        }
        *flag = true;
    }
    Ok(Op::Gup {
        p,
        range,
        h: HandleId(HANDLE.parse(words)?),
        flags,
    })
}

fn window_range(r: &PageRange) -> String {
    range_text(r.slot, r.start, r.end)
}

/// The canonical text of an op (no trailing newline).
pub fn op_to_string(op: &Op) -> String {
    let kw = op.kind().keyword();
    match op {
        Op::Mmap {
            p,
            slot,
            at,
            pages,
            kind,
            prot,
            zone,
            foff,
        } => {
            let kind = match kind {
                MapKind::Anon => "anon".to_string(),
                MapKind::AnonShared => "anon-shared".to_string(),
                MapKind::FilePrivate(f) => format!("file-private {f}"),
                MapKind::FileShared(f) => format!("file-shared {f}"),
                MapKind::Special => "special".to_string(),
            };
            let mut text = format!(
                "{kw} {p} {slot} {kind} {} pages={pages}",
                names::prot(*prot)
            );
            if *at != 0 {
                text.push_str(&format!(" at={at}"));
            }
            if *foff != 0 {
                text.push_str(&format!(" off={foff}"));
            }
            if *zone != Zone::Normal {
                text.push_str(&format!(" zone={}", names::zone(*zone)));
            }
            text
        }
        Op::Munmap { p, range } | Op::Read { p, range } => {
            format!("{kw} {p} {}", window_range(range))
        }
        Op::Mprotect { p, range, prot } => {
            format!("{kw} {p} {} {}", window_range(range), names::prot(*prot))
        }
        Op::Madvise { p, range, advice } => {
            format!(
                "{kw} {p} {} {}",
                window_range(range),
                names::name_of(&ADVICES, *advice)
            )
        }
        Op::Mremap { p, range, to } => {
            format!(
                "{kw} {p} {} -> {}[{}]",
                window_range(range),
                to.slot,
                to.page
            )
        }
        Op::Fork { p, child } => format!("{kw} {p} -> {child}"),
        Op::Exit { p } | Op::ClearSoftDirty { p } => format!("{kw} {p}"),
        Op::File { f, fs, pages } => {
            format!("{kw} {f} {} pages={pages}", names::name_of(&FS_KINDS, *fs))
        }
        Op::Write { p, range, fill } => {
            format!("{kw} {p} {} = {}", window_range(range), fill_text(*fill))
        }
        Op::UffdWp { p, range, on } => {
            format!(
                "{kw} {p} {} {}",
                window_range(range),
                if *on { "on" } else { "off" }
            )
        }
        Op::Gup { p, range, h, flags } => {
            let mut text = format!(
                "{kw} {p} {} {}",
                window_range(range),
                if flags.pin { "pin" } else { "get" }
            );
            let set = [
                flags.write,
                flags.longterm,
                flags.fast,
                flags.force,
                flags.nofault,
            ];
            for (word, on) in GUP_FLAG_WORDS.iter().zip(set) {
                if on {
                    text.push(' ');
                    text.push_str(word);
                }
            }
            text.push_str(&format!(" -> {h}"));
            text
        }
        Op::Release { h, dirty } => format!("{kw} {h}{}", if *dirty { " dirty" } else { "" }),
        Op::DmaRead { h, start, end } => format!("{kw} {}", range_text(h, *start, *end)),
        Op::DmaWrite {
            h,
            start,
            end,
            fill,
        } => format!(
            "{kw} {} = {}",
            range_text(h, *start, *end),
            fill_text(*fill)
        ),
        Op::Reclaim | Op::CmaEvacuate => kw.to_string(),
        Op::SplitThp { p, at } => format!("{kw} {p} {}[{}]", at.slot, at.page),
        Op::Lock { x, p, at } => format!("{kw} {x} {p} {}[{}]", at.slot, at.page),
        Op::Unlock { x } => format!("{kw} {x}"),
        Op::FailAlloc { zone } => format!("{kw} {}", names::zone(*zone)),
        Op::IommuPrereg { i, p, range } => format!("{kw} {i} {p} {}", window_range(range)),
        Op::IommuTranslate { i, index } => format!("{kw} {i}[{index}]"),
        Op::IommuUnreg { i } => format!("{kw} {i}"),
        Op::HmmFault { .. }
        | Op::Notifier { .. }
        | Op::ReadBegin { .. }
        | Op::ReadRetry { .. }
        | Op::MigrateSetup { .. }
        | Op::MigrateAlloc { .. }
        | Op::MigratePages { .. }
        | Op::MigrateFinalize { .. }
        | Op::DevRead { .. }
        | Op::DevWrite { .. }
        | Op::MigrateToDev { .. }
        | Op::MigrateToSys { .. }
        | Op::DevSnapshot { .. }
        | Op::DevExclusive { .. }
        | Op::DevCheckExclusive { .. }
        | Op::DevRelease { .. }
        | Op::DevFailAlloc { .. }
        | Op::DevClose { .. } => super::hmm::hmm_op_to_string(op).unwrap_or_default(),
    }
}
