//! Printing state coverage: an aligned table for people, JSON strings for
//! tools (hand-written: core has no JSON dependency, and needs only
//! strings and integers).

use std::collections::BTreeSet;
use std::fmt::Write;

use super::{StateCoverage, Transition};

/// An aligned table, one row per transition seen by any column (in
/// [`Transition`] order) and one count column per `(name, coverage)`; `-`
/// where a column never saw the row's transition, which is what a reader
/// scans for. The last line sums up each column: `distinct transitions:
/// oracle 57 (1204 ops), subject 56 (1204 ops)`.
pub fn render_table(columns: &[(&str, &StateCoverage)]) -> String {
    let rows: BTreeSet<&Transition> = columns.iter().flat_map(|(_, c)| c.counts.keys()).collect();
    let names: Vec<String> = rows.iter().map(|t| t.to_string()).collect();
    let first = names
        .iter()
        .map(String::len)
        .chain([HEADING.len()])
        .max()
        .unwrap_or(0);
    let cell = |c: &StateCoverage, t: &Transition| match c.count(t) {
        0 => "-".to_string(),
        n => n.to_string(),
    };
    let widths: Vec<usize> = columns
        .iter()
        .map(|(name, c)| {
            rows.iter()
                .map(|t| cell(c, t).len())
                .chain([name.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut o = String::new();
    let _ = write!(o, "{HEADING:first$}");
    for ((name, _), w) in columns.iter().zip(&widths) {
        let _ = write!(o, "  {name:>w$}");
    }
    o.push('\n');
    for (t, name) in rows.iter().zip(&names) {
        let _ = write!(o, "{name:first$}");
        for ((_, c), w) in columns.iter().zip(&widths) {
            let _ = write!(o, "  {:>w$}", cell(c, t));
        }
        o.push('\n');
    }
    o.push_str("distinct transitions:");
    for (i, (name, c)) in columns.iter().enumerate() {
        let sep = if i == 0 { " " } else { ", " };
        let _ = write!(o, "{sep}{name} {} ({} ops)", c.len(), c.ops());
    }
    o.push('\n');
    o
}

const HEADING: &str = "transition";

/// A JSON string literal of `s`: quotes, backslashes and control
/// characters escaped (RFC 8259 §7); everything else as it is, UTF-8.
pub fn json_string(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", u32::from(c));
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}
