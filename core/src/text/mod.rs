//! The scenario text format (`.mms`): one op per line, `#` comments,
//! optional expectations after `=>`, and a `#! key: value` header.
//!
//! ```text
//! #! found-by: fuzz seed 7
//! # a comment line
//! mmap p0 m0 anon rw pages=1024
//! write p0 m0[0..1024] = index
//! read p0 m0[0..512]     => ok data=index ; entry p0 m0[3] page write dirty
//! gup p0 m0[0] pin write longterm -> h0  => ok 1 ; folio p0 m0[0] ref=1025 pinned  # why
//! ```
//!
//! Ops (canonical form, single spaces; `<range>` is `m<k>[<a>..<b>]`, or
//! `m<k>[<a>]` for one page; `<page>` is `m<k>[<n>]`):
//!
//! ```text
//! mmap <p> <m> anon|anon-shared|file-private <f>|file-shared <f>|special none|r|rw
//!      pages=<n> [at=<n>] [off=<n>] [zone=movable|cma]
//! munmap <p> <range>                    mprotect <p> <range> none|r|rw
//! madvise <p> <range> dontneed|free|hugepage|nohugepage|collapse|pageout|dontfork|dofork
//! mremap <p> <range> -> <page>          fork <p> -> <p>          exit <p>
//! file <f> tmpfs|ext4 pages=<n>         read <p> <range>         write <p> <range> = <fill>
//! clear-soft-dirty <p>                  uffd-wp <p> <range> on|off
//! gup <p> <range> pin|get [write] [longterm] [fast] [force] [nofault] -> <h>
//! release <h> [dirty]                   dma-read <h>[<a>..<b>]   dma-write <h>[<a>..<b>] = <fill>
//! reclaim                               split-thp <p> <page>     lock <x> <p> <page>
//! unlock <x>                            cma-evacuate             fail-alloc normal|movable|cma
//! iommu-prereg <i> <p> <range>          iommu-translate <i>[<n>] iommu-unreg <i>
//! hmm-fault <p> <range> [fault|write] [req=<a>..<b>:fault|write|none] [owner=<dev>] [seq=<n>]
//! notifier <n> <p> <range>              read-begin <n>           read-retry <n>
//! migrate-setup <s> <p> <range> select=<list> [owner=<dev>] [fault-page=<k>]
//! migrate-alloc <s> <dev>|sys [fail=<a>..<b>] [split]
//! migrate-pages <s>                     migrate-finalize <s>
//! dev-read <dev> <p> <range>            dev-write <dev> <p> <range> = <fill>
//! migrate-to-dev <dev> <p> <range>      migrate-to-sys <dev> <p> <range>
//! dev-snapshot <dev> <p> <range>        dev-exclusive <dev> <p> <range>
//! dev-check-exclusive <dev> <p> <range> dev-release <dev>       dev-fail-alloc <dev>
//! dev-close <dev> <p>
//! ```
//!
//! HMM slots: `<dev>` is `dev0..dev3` (dev0/1 device-private, dev2/3
//! coherent), `<n>` a notifier `n0..n3`, `<s>` a session `s0..s3`.
//! `hmm-fault`: the bare `fault`/`write` word is `default_flags` (absent:
//! snapshot only); `req=a..b:kind` gives window-relative pages `[a, b)`
//! their own request; `seq=n0` checks notifier n0's sequence first.
//! `select=` is `none` or a comma list of `system,private,coherent,
//! compound,fault` (printed in that order); `fault-page=` is a
//! window-relative page; `fail=a..b` declines session entries `[a, b)`.
//! Example: `migrate-setup s0 p0 m0[0..512] select=system,compound owner=dev0`.
//!
//! `<fill>` is a number, `index` or `index+<n>`. Numbers are decimal (the
//! parser also reads `0x` hex). The parser takes `key=value` options and gup
//! flags in any order; the printer writes the order shown.
//!
//! An expectation is `[outcome] { ; fact }` (the `outcome` and `facts`
//! submodules give their grammar), possibly empty. A `#` anywhere on an op line starts
//! a trailing comment: no token contains `#`, `;` or `=>`.
//!
//! Round trips: `print(&parse(t)?) == t` for every `t` that `print`
//! produced, and `parse(&print(s)) == Ok(s)` for every scenario whose ops
//! satisfy [`Op::validate`], whose data expectations are patterns
//! ([`ExpectedOutcome::from_outcome`]), whose comments and header hold no
//! line breaks and do not end in `\r`, and whose `pad`/`comment_pad` are 1
//! where the `=>`/comment is absent. The printer's output always parses: it
//! turns line breaks and a final `\r` into spaces and `:` in header keys
//! into `_`, and indents a first comment line starting with `!` (` #!...`)
//! so that it does not read as a header line.

mod args;
mod facts;
mod hmm;
mod lexer;
mod ops;
mod outcome;

#[cfg(test)]
mod tests;

use std::fmt;

pub use hmm::{dst_text, migrate_src_text, pfns_text, select_text, snapshot_text};
pub use ops::op_to_string;
pub use outcome::{
    data_to_string, expected_outcome_to_string, outcome_to_string, page_ref_to_string,
};

use crate::expect::{Expect, ExpectedOutcome};
use crate::op::Op;
use lexer::Words;

/// A parsed scenario file.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Scenario {
    /// `#! key: value` provenance lines at the top, in order.
    pub header: Vec<(String, String)>,
    pub lines: Vec<Line>,
}

impl Scenario {
    /// The machine the scenario runs on: its `#! config:` header
    /// ([`crate::Config::from_header`]), or the default config. A bad
    /// header is an error at its line.
    pub fn config(&self) -> Result<crate::Config, ParseError> {
        for (i, (key, value)) in self.header.iter().enumerate() {
            if key == "config" {
                return crate::Config::from_header(value).map_err(|e| ParseError {
                    line: i + 1,
                    column: 1,
                    expected: "a `#! config:` header of key=value sizes".into(),
                    found: e,
                });
            }
        }
        Ok(crate::Config::default())
    }
}

/// One line of a scenario after the header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    Op {
        op: Op,
        expect: Option<Expect>,
        /// Spaces between the op text and `=>`, so hand-aligned expectation
        /// columns survive a round trip (1 when there is no `=>`).
        pad: u16,
        /// A trailing `# comment`: the text after `#`, verbatim.
        comment: Option<String>,
        /// Spaces before the trailing comment's `#` (1 when there is none).
        comment_pad: u16,
    },
    /// A full-line `# comment`: the text after `#`, verbatim.
    Comment(String),
    Blank,
}

impl Line {
    /// An op line without expectation or comment.
    pub fn op(op: Op) -> Line {
        Line::Op {
            op,
            expect: None,
            pad: 1,
            comment: None,
            comment_pad: 1,
        }
    }
}

/// A parse error: where, and what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    /// What the parser wanted there, e.g. "a process slot p0..p3".
    pub expected: String,
    /// What it found, ready to print: quoted input (`` `q7` ``) or a
    /// description (`end of line`).
    pub found: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: expected {}, found {}",
            self.line, self.column, self.expected, self.found
        )
    }
}

impl std::error::Error for ParseError {}

impl ParseError {
    /// The compiler-style form `path:line:column: expected ..., found ...`.
    pub fn with_file(&self, path: &str) -> String {
        format!(
            "{path}:{}:{}: expected {}, found {}",
            self.line, self.column, self.expected, self.found
        )
    }
}

impl Scenario {
    pub fn ops(&self) -> Vec<Op> {
        self.lines
            .iter()
            .filter_map(|l| match l {
                Line::Op { op, .. } => Some(op.clone()),
                _ => None,
            })
            .collect()
    }

    pub fn from_ops(ops: &[Op]) -> Scenario {
        Scenario {
            header: Vec::new(),
            lines: ops.iter().cloned().map(Line::op).collect(),
        }
    }
}

/// Parses a whole scenario file.
pub fn parse(src: &str) -> Result<Scenario, ParseError> {
    let mut raw_lines: Vec<&str> = src.split('\n').collect();
    // Text ending with a newline has no line after it.
    if raw_lines.last() == Some(&"") {
        raw_lines.pop();
    }
    let mut scenario = Scenario::default();
    let mut in_header = true;
    for (index, raw) in raw_lines.into_iter().enumerate() {
        let number = index + 1;
        let text = raw.trim_end_matches('\r');
        in_header = in_header && text.starts_with("#!");
        if in_header {
            scenario.header.push(parse_header_line(text, number)?);
        } else {
            scenario.lines.push(parse_line(text, number)?);
        }
    }
    Ok(scenario)
}

/// `#! key: value` (also `#! key:` for an empty value).
fn parse_header_line(text: &str, line: usize) -> Result<(String, String), ParseError> {
    let after_bang = text.get(2..).unwrap_or("");
    let body = after_bang.strip_prefix(' ').unwrap_or(after_bang);
    let Some((key, value)) = body.split_once(':') else {
        return Err(ParseError {
            line,
            column: text.chars().count() + 1,
            expected: "`:` after the header key (`#! key: value`)".to_string(),
            found: "end of line".to_string(),
        });
    };
    let value = value.strip_prefix(' ').unwrap_or(value);
    Ok((key.to_string(), value.to_string()))
}

/// Counts the whitespace characters at the end of `text`, for `pad`.
fn trailing_spaces(text: &str) -> u16 {
    let count = text.chars().rev().take_while(|c| c.is_whitespace()).count();
    u16::try_from(count).unwrap_or(u16::MAX)
}

fn parse_line(text: &str, line: usize) -> Result<Line, ParseError> {
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Ok(Line::Blank);
    }
    if let Some(comment) = trimmed.strip_prefix('#') {
        return Ok(Line::Comment(comment.to_string()));
    }
    let (body, comment) = match text.split_once('#') {
        Some((body, comment)) => (body, Some(comment.to_string())),
        None => (text, None),
    };
    let comment_found = if comment.is_some() {
        "`#`"
    } else {
        "end of line"
    };
    let (op_text, expect_text) = match body.split_once("=>") {
        Some((op_text, expect_text)) => (op_text, Some(expect_text)),
        None => (body, None),
    };
    let op_end_found = if expect_text.is_some() {
        "`=>`"
    } else {
        comment_found
    };
    let op = ops::parse_op_words(&mut Words::new(op_text, line, 1, op_end_found))?;
    let expect = match expect_text {
        Some(expect_text) => {
            // +2 for `=>` itself.
            let column = op_text.chars().count() + 3;
            Some(parse_expect_at(expect_text, line, column, comment_found)?)
        }
        None => None,
    };
    let pad = if expect.is_some() {
        trailing_spaces(op_text)
    } else {
        1
    };
    let comment_pad = match (&comment, expect_text) {
        (None, _) => 1,
        (Some(_), Some(expect_text)) => trailing_spaces(expect_text),
        (Some(_), None) => trailing_spaces(op_text),
    };
    Ok(Line::Op {
        op,
        expect,
        pad,
        comment,
        comment_pad,
    })
}

/// Parses an expectation whose first character is at `column` of `line`.
fn parse_expect_at(
    text: &str,
    line: usize,
    column: usize,
    end_found: &'static str,
) -> Result<Expect, ParseError> {
    let mut expect = Expect::default();
    if text.trim().is_empty() {
        return Ok(expect);
    }
    let pieces: Vec<&str> = text.split(';').collect();
    let mut piece_column = column;
    for (index, piece) in pieces.iter().enumerate() {
        let piece_end = if index + 1 < pieces.len() {
            "`;`"
        } else {
            end_found
        };
        let mut words = Words::new(piece, line, piece_column, piece_end);
        let is_fact = words
            .peek()
            .is_some_and(|w| facts::FACT_KEYWORDS.contains(&w.text));
        if index == 0 && !is_fact {
            expect.outcome = Some(outcome::parse_outcome_words(&mut words)?);
        } else if words.is_done() {
            return Err(words.error_at_end(&facts::fact_expected()));
        } else {
            expect.facts.push(facts::parse_fact_words(&mut words)?);
        }
        // +1 for the `;`.
        piece_column += piece.chars().count() + 1;
    }
    Ok(expect)
}

/// Parses one op (no expectation, no comment).
pub fn parse_op(s: &str) -> Result<Op, ParseError> {
    ops::parse_op_words(&mut Words::new(s, 1, 1, "end of line"))
}

/// Parses one expectation (the text after `=>`).
pub fn parse_expect(s: &str) -> Result<Expect, ParseError> {
    parse_expect_at(s, 1, 1, "end of line")
}

/// Parses one outcome, as an expectation (a data payload becomes a pattern).
pub fn parse_outcome(s: &str) -> Result<ExpectedOutcome, ParseError> {
    outcome::parse_outcome_words(&mut Words::new(s, 1, 1, "end of line"))
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        if let Some(outcome) = &self.outcome {
            parts.push(expected_outcome_to_string(outcome));
        }
        parts.extend(self.facts.iter().map(|fact| fact.to_string()));
        f.write_str(&parts.join(" ; "))
    }
}

/// Text that stays on its line and survives the parser: `\n` would end the
/// line early and a final `\r` would be taken for a CRLF ending, so both
/// become spaces (a `\r` inside the line is kept).
fn one_line(text: &str) -> String {
    let mut line = text.replace('\n', " ");
    if line.ends_with('\r') {
        line.pop();
        line.push(' ');
    }
    line
}

/// Prints a scenario; every line ends with `\n`.
pub fn print(s: &Scenario) -> String {
    let mut out = String::new();
    for (key, value) in &s.header {
        // A `:` would end the key early.
        let key = key.replace([':', '\n'], "_");
        let value = one_line(value);
        if value.is_empty() {
            out.push_str(&format!("#! {key}:\n"));
        } else {
            out.push_str(&format!("#! {key}: {value}\n"));
        }
    }
    for (index, line) in s.lines.iter().enumerate() {
        match line {
            Line::Blank => {}
            Line::Comment(text) => {
                // `#!` on the first line after the header would read as one
                // more header line; indenting it keeps it a comment (and
                // ends the header, so later `#!` comments need nothing).
                if index == 0 && text.starts_with('!') {
                    out.push(' ');
                }
                out.push('#');
                out.push_str(&one_line(text));
            }
            Line::Op {
                op,
                expect,
                pad,
                comment,
                comment_pad,
            } => {
                out.push_str(&op_to_string(op));
                if let Some(expect) = expect {
                    out.push_str(&" ".repeat(usize::from(*pad)));
                    out.push_str("=>");
                    if !expect.is_empty() {
                        out.push(' ');
                        out.push_str(&expect.to_string());
                    }
                }
                if let Some(comment) = comment {
                    out.push_str(&" ".repeat(usize::from(*comment_pad)));
                    out.push('#');
                    out.push_str(&one_line(comment));
                }
            }
        }
        out.push('\n');
    }
    out
}
