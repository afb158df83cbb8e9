//! Arguments shared by ops and facts: slot ids, page ranges, single pages,
//! fills and `key=value` words, parsed and printed.

use super::lexer::{Scan, Word, Words};
use super::ParseError;
use crate::op::Fill;
use crate::op::{DevId, FileId, HandleId, IommuId, LockId, NotifierId, ProcId, SessionId, SlotId};

/// One kind of slot id: its text prefix, how many exist, and a description.
pub(super) struct SlotKind {
    prefix: &'static str,
    count: u8,
    what: &'static str,
}

pub(super) const PROC: SlotKind = SlotKind {
    prefix: ProcId::PREFIX,
    count: ProcId::COUNT,
    what: "a process slot",
};
pub(super) const WINDOW: SlotKind = SlotKind {
    prefix: SlotId::PREFIX,
    count: SlotId::COUNT,
    what: "a mapping window",
};
pub(super) const FILE: SlotKind = SlotKind {
    prefix: FileId::PREFIX,
    count: FileId::COUNT,
    what: "a file slot",
};
pub(super) const HANDLE: SlotKind = SlotKind {
    prefix: HandleId::PREFIX,
    count: HandleId::COUNT,
    what: "a GUP handle",
};
pub(super) const LOCK: SlotKind = SlotKind {
    prefix: LockId::PREFIX,
    count: LockId::COUNT,
    what: "a lock holder",
};
pub(super) const IOMMU: SlotKind = SlotKind {
    prefix: IommuId::PREFIX,
    count: IommuId::COUNT,
    what: "an IOMMU slot",
};

pub(super) const DEV: SlotKind = SlotKind {
    prefix: DevId::PREFIX,
    count: DevId::COUNT,
    what: "a device",
};
pub(super) const NOTIFIER: SlotKind = SlotKind {
    prefix: NotifierId::PREFIX,
    count: NotifierId::COUNT,
    what: "a notifier slot",
};
pub(super) const SESSION: SlotKind = SlotKind {
    prefix: SessionId::PREFIX,
    count: SessionId::COUNT,
    what: "a migration session",
};

impl SlotKind {
    /// `a process slot p0..p3`.
    pub fn expected(&self) -> String {
        let p = self.prefix;
        format!("{} {p}0..{p}{}", self.what, self.count.saturating_sub(1))
    }

    /// Reads `<prefix><n>` at the start of `scan`; any problem is reported
    /// about the whole word, as `expected`.
    pub fn scan_id(&self, scan: &mut Scan<'_>, expected: &str) -> Result<u8, ParseError> {
        if !scan.eat(self.prefix) {
            return Err(scan.word_error(expected));
        }
        let digits = scan.take_while(|c| c.is_ascii_digit());
        match digits.parse::<u8>() {
            Ok(n) if n < self.count => Ok(n),
            _ => Err(scan.word_error(expected)),
        }
    }

    /// A word that is just a slot id: `p0`.
    pub fn parse(&self, words: &mut Words<'_>) -> Result<u8, ParseError> {
        let expected = self.expected();
        let word = words.next(&expected)?;
        let mut scan = words.scan(word);
        let id = self.scan_id(&mut scan, &expected)?;
        if scan.at_end() {
            Ok(id)
        } else {
            Err(scan.word_error(&expected))
        }
    }

    /// `<slot>[<a>..<b>]` or `<slot>[<a>]` (meaning `a..a+1`); `like` is an
    /// example for messages (`a page range like m0[0..512]`).
    pub fn parse_range(
        &self,
        words: &mut Words<'_>,
        like: &str,
    ) -> Result<(u8, u32, u32), ParseError> {
        let word = words.next(like)?;
        let mut scan = words.scan(word);
        let id = self.scan_id(&mut scan, like)?;
        scan.expect("[", "`[`")?;
        let start = scan.number_u32("a page number")?;
        let end = if scan.eat("..") {
            let column = scan.column();
            let end = scan.number_u32("a page number")?;
            if end <= start {
                return Err(ParseError {
                    line: words.line(),
                    column,
                    expected: format!("a range end greater than {start}"),
                    found: super::lexer::quote(&end.to_string()),
                });
            }
            end
        } else {
            // `m0[n]` stands for the one-page range n..n+1.
            start.checked_add(1).ok_or_else(|| ParseError {
                line: words.line(),
                column: word.column,
                expected: format!("a page number below {}", u32::MAX),
                found: super::lexer::quote(word.text),
            })?
        };
        scan.expect("]", "`]` or `..`")?;
        scan.finish("the end of the range")?;
        Ok((id, start, end))
    }

    /// `<slot>[<n>]`.
    pub fn parse_index(&self, words: &mut Words<'_>, like: &str) -> Result<(u8, u32), ParseError> {
        let word = words.next(like)?;
        let mut scan = words.scan(word);
        let id = self.scan_id(&mut scan, like)?;
        index_suffix(&mut scan).map(|n| (id, n))
    }
}

/// `[<n>]` to the end of the word.
fn index_suffix(scan: &mut Scan<'_>) -> Result<u32, ParseError> {
    scan.expect("[", "`[`")?;
    let n = scan.number_u32("a page number")?;
    scan.expect("]", "`]`")?;
    scan.finish("the end of the word")?;
    Ok(n)
}

/// Prints a range as the parser reads it: `m0[3]` for one page, `m0[0..512]`.
pub(super) fn range_text(slot: impl std::fmt::Display, start: u32, end: u32) -> String {
    if start.checked_add(1) == Some(end) {
        format!("{slot}[{start}]")
    } else {
        format!("{slot}[{start}..{end}]")
    }
}

/// A word `key=value`: the key, and a scanner positioned on the value.
/// `None` when the word has no `=`.
pub(super) fn key_value<'a>(words: &Words<'a>, word: Word<'a>) -> Option<(&'a str, Scan<'a>)> {
    let mut scan = words.scan(word);
    let key = scan.take_while(|c| c != '=');
    scan.eat("=").then_some((key, scan))
}

pub(super) const FILL_EXPECTED: &str = "a fill: a number, `index` or `index+N`";

/// `<u64>`, `index`, `index+K` (also `index-K`, which wraps).
pub(super) fn parse_fill(words: &mut Words<'_>) -> Result<Fill, ParseError> {
    let word = words.next(FILL_EXPECTED)?;
    let mut scan = words.scan(word);
    let fill = if scan.eat("index") {
        Fill::Index(index_offset(&mut scan, FILL_EXPECTED)?)
    } else {
        Fill::Const(scan.number(FILL_EXPECTED)?)
    };
    scan.finish(FILL_EXPECTED)?;
    Ok(fill)
}

/// After `index`: nothing (0), `+K` or `-K` (wrapping, as page arithmetic does).
pub(super) fn index_offset(scan: &mut Scan<'_>, expected: &str) -> Result<u64, ParseError> {
    if scan.eat("+") {
        scan.number(expected)
    } else if scan.eat("-") {
        Ok(0u64.wrapping_sub(scan.number(expected)?))
    } else {
        Ok(0)
    }
}

/// The op form of a fill: `index`, `index+K` with K unsigned, or the constant.
pub(super) fn fill_text(fill: Fill) -> String {
    match fill {
        Fill::Const(v) => v.to_string(),
        Fill::Index(0) => "index".to_string(),
        Fill::Index(k) => format!("index+{k}"),
    }
}
