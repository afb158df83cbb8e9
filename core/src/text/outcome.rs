//! Outcomes in scenario text:
//! `ok`, `ok <count>`, `ok data=<data>`, `ok page=<pageref> shift=<n>`,
//! an errno name (`EFAULT`), `SIGSEGV@<n>`, `SIGBUS@<n>`, `OOM@<n>`,
//! `blocked@<n>` (`n` is the window-relative page the access stopped at),
//! `stuck`, and the HMM payloads:
//!
//! ```text
//! ok pfns=<words>                      hmm_range_fault output
//! ok cpages=<n> src=<entries>          migrate_vma_setup / migrate_vma_pages
//! ok cpages=<n> faults=<n> [data=<data>]   a lib/test_hmm.c ioctl
//! ok snapshot=<bytes>                  HMM_DMIRROR_SNAPSHOT
//! ```
//!
//! Lists are bracketed runs `[<run>,...]`, `[]` when empty; a run is
//! `[<count>*]<item>`. A run of identical items repeats the item; a run
//! whose page advances one page per item (the same folio, page index
//! going up) writes the first page with `..`: `512*vw/9:F0[0..]`.
//!
//! - pfn word: flags `v` (VALID) `w` (WRITE) `err` (ERROR) in that order, or
//!   `0` for none; `/<order>` when the map order is not 0; `:<page>` when
//!   the word carries a page. `[512*vw/9:F0[0..],3*0,2*err,v:zero]`.
//! - src entry: flags `m` (MIGRATE) `w` (WRITE) `c` (COMPOUND), or `-` for
//!   none; `:<page>` when the entry has a page. `[4*mw:F1[0..],m,2*-]`.
//! - snapshot byte: two lowercase hex digits. `[1024*22]`, `[2*00,3*11,ff]`.
//! - `<page>`: `F<n>[<i>]`, `zero`, `hugezero[<i>]`.
//!
//! `data` is a [`DataPattern`]: `7`, `index`, `index+3`, `index-3`, or a
//! list of runs `[3*7,index,2*index-1]` (`count*value`, count omitted when 1).

use super::lexer::{quote, Scan, Words};
use super::ParseError;
use crate::expect::{DataPattern, DataRun, DataValue, ExpectedOutcome};
use crate::outcome::{Errno, Outcome, Payload, Signal};
use crate::state::{FolioId, PageRef};

pub(super) const OUTCOME_EXPECTED: &str = "an outcome (ok, an errno like EFAULT, \
     SIGSEGV@<n>, SIGBUS@<n>, OOM@<n>, blocked@<n>, stuck) or a fact";
const OK_PAYLOAD_EXPECTED: &str = "a count, `data=...`, `page=... shift=...`, `pfns=[...]`, \
     `cpages=<n> ...` or `snapshot=[...]`";
const DATA_VALUE_EXPECTED: &str = "a data value: a number, `index`, `index+N` or `index-N`";
const PAGE_REF_EXPECTED: &str = "a page reference: F<n>[<page>], zero or hugezero[<page>]";

/// The canonical text of an outcome; data payloads are compressed.
pub fn outcome_to_string(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Ok(Payload::Data { base, values }) => {
            format!(
                "ok data={}",
                data_to_string(&DataPattern::from_values(*base, values))
            )
        }
        Outcome::Ok(Payload::None) => "ok".to_string(),
        Outcome::Ok(Payload::Count(n)) => format!("ok {n}"),
        Outcome::Ok(Payload::Translate { page, shift }) => {
            format!("ok page={} shift={shift}", page_ref_to_string(page))
        }
        Outcome::Ok(Payload::Pfns(words)) => format!("ok pfns={}", super::hmm::pfns_text(words)),
        Outcome::Ok(Payload::Migrate { cpages, src }) => format!(
            "ok cpages={cpages} src={}",
            super::hmm::migrate_src_text(src)
        ),
        Outcome::Ok(Payload::Dev {
            cpages,
            faults,
            data,
        }) => {
            let mut s = format!("ok cpages={cpages} faults={faults}");
            if let Some((base, values)) = data {
                s.push_str(" data=");
                s.push_str(&data_to_string(&DataPattern::from_values(*base, values)));
            }
            s
        }
        Outcome::Ok(Payload::Snapshot(bytes)) => {
            format!("ok snapshot={}", super::hmm::snapshot_text(bytes))
        }
        Outcome::Stuck => "stuck".to_string(),
        Outcome::Err(errno) => errno.name().to_string(),
        Outcome::Signal { sig, page } => format!("{}@{page}", sig.name()),
        Outcome::Blocked { page } => format!("blocked@{page}"),
    }
}

pub fn expected_outcome_to_string(expected: &ExpectedOutcome) -> String {
    match expected {
        ExpectedOutcome::Exact(outcome) => outcome_to_string(outcome),
        ExpectedOutcome::Data(pattern) => format!("ok data={}", data_to_string(pattern)),
        ExpectedOutcome::Dev {
            cpages,
            faults,
            data,
        } => format!(
            "ok cpages={cpages} faults={faults} data={}",
            data_to_string(data)
        ),
    }
}

pub fn page_ref_to_string(page: &PageRef) -> String {
    match page {
        PageRef::Folio { folio, page } => format!("F{}[{page}]", folio.0),
        PageRef::Zero => "zero".to_string(),
        PageRef::HugeZero { page } => format!("hugezero[{page}]"),
    }
}

fn data_value_to_string(value: DataValue) -> String {
    match value {
        DataValue::Const(v) => v.to_string(),
        DataValue::Index(0) => "index".to_string(),
        // Offsets are printed signed: `index-1` reads better than `index+18446744073709551615`.
        DataValue::Index(k) => match k as i64 {
            signed if signed > 0 => format!("index+{signed}"),
            signed => format!("index-{}", signed.unsigned_abs()),
        },
    }
}

pub fn data_to_string(pattern: &DataPattern) -> String {
    match pattern {
        DataPattern::Uniform(value) => data_value_to_string(*value),
        DataPattern::Runs(runs) => {
            let runs: Vec<String> = runs
                .iter()
                .map(|run| match run.count {
                    1 => data_value_to_string(run.value),
                    n => format!("{n}*{}", data_value_to_string(run.value)),
                })
                .collect();
            format!("[{}]", runs.join(","))
        }
    }
}

/// Parses an outcome from all of `words`.
pub(super) fn parse_outcome_words(words: &mut Words<'_>) -> Result<ExpectedOutcome, ParseError> {
    let word = words.next(OUTCOME_EXPECTED)?;
    let outcome = if word.text == "ok" {
        parse_ok_payload(words)?
    } else if word.text == "stuck" {
        ExpectedOutcome::Exact(Outcome::Stuck)
    } else if let Some(errno) = Errno::from_name(word.text) {
        ExpectedOutcome::Exact(Outcome::Err(errno))
    } else {
        let mut scan = words.scan(word);
        let name = scan.take_while(|c| c != '@');
        if !scan.eat("@") {
            return Err(words.error(word, OUTCOME_EXPECTED));
        }
        let stopped = |page| match Signal::from_name(name) {
            Some(sig) => Some(Outcome::Signal { sig, page }),
            None => (name == "blocked").then_some(Outcome::Blocked { page }),
        };
        if stopped(0).is_none() {
            return Err(words.error(word, OUTCOME_EXPECTED));
        }
        let page = scan.number_u32("a window-relative page number")?;
        scan.finish("the end of the outcome")?;
        ExpectedOutcome::Exact(stopped(page).ok_or_else(|| words.error(word, OUTCOME_EXPECTED))?)
    };
    words.expect_end("`;` before a fact, `#` or the end of the line")?;
    Ok(outcome)
}

fn parse_ok_payload(words: &mut Words<'_>) -> Result<ExpectedOutcome, ParseError> {
    let Some(word) = words.peek() else {
        return Ok(ExpectedOutcome::Exact(Outcome::OK));
    };
    words.next(OK_PAYLOAD_EXPECTED)?;
    let mut scan = words.scan(word);
    if scan.eat("data=") {
        let pattern = parse_data(&mut scan)?;
        scan.finish("the end of the data")?;
        return Ok(ExpectedOutcome::Data(pattern));
    }
    if scan.eat("page=") {
        let page = parse_page_ref(&mut scan)?;
        scan.finish("the end of the page reference")?;
        let shift_word = words.next("`shift=<n>`")?;
        let mut shift_scan = words.scan(shift_word);
        if !shift_scan.eat("shift=") {
            return Err(words.error(shift_word, "`shift=<n>`"));
        }
        let column = shift_scan.column();
        let shift = shift_scan.number("a page shift")?;
        let shift = u8::try_from(shift).map_err(|_| ParseError {
            line: words.line(),
            column,
            expected: "a page shift (at most 255)".to_string(),
            found: quote(&shift.to_string()),
        })?;
        shift_scan.finish("the end of the page shift")?;
        return Ok(ExpectedOutcome::Exact(Outcome::Ok(Payload::Translate {
            page,
            shift,
        })));
    }
    if scan.eat("pfns=") {
        let words_list = super::hmm::parse_pfns(&mut scan)?;
        scan.finish("the end of the pfn list")?;
        return Ok(ExpectedOutcome::Exact(Outcome::Ok(Payload::Pfns(
            words_list,
        ))));
    }
    if scan.eat("snapshot=") {
        let bytes = super::hmm::parse_snapshot(&mut scan)?;
        scan.finish("the end of the snapshot")?;
        return Ok(ExpectedOutcome::Exact(Outcome::Ok(Payload::Snapshot(
            bytes,
        ))));
    }
    if scan.eat("cpages=") {
        let cpages = scan.number("a page count")?;
        scan.finish("the end of the page count")?;
        return parse_cpages_rest(words, cpages);
    }
    if word.text.starts_with(|c: char| c.is_ascii_digit()) {
        let n = scan.number("a count")?;
        scan.finish("the end of the count")?;
        return Ok(ExpectedOutcome::Exact(Outcome::count(n)));
    }
    Err(words.error(word, OK_PAYLOAD_EXPECTED))
}

const CPAGES_REST_EXPECTED: &str = "`src=[...]` or `faults=<n>`";

/// After `ok cpages=<n>`: `src=<list>` (a migration payload) or
/// `faults=<n> [data=<data>]` (a device ioctl payload).
fn parse_cpages_rest(words: &mut Words<'_>, cpages: u64) -> Result<ExpectedOutcome, ParseError> {
    let word = words.next(CPAGES_REST_EXPECTED)?;
    let mut scan = words.scan(word);
    if scan.eat("src=") {
        let src = super::hmm::parse_src(&mut scan)?;
        scan.finish("the end of the src list")?;
        return Ok(ExpectedOutcome::Exact(Outcome::Ok(Payload::Migrate {
            cpages,
            src,
        })));
    }
    if !scan.eat("faults=") {
        return Err(words.error(word, CPAGES_REST_EXPECTED));
    }
    let faults = scan.number("a fault count")?;
    scan.finish("the end of the fault count")?;
    let Some(data_word) = words.peek() else {
        return Ok(ExpectedOutcome::Exact(Outcome::Ok(Payload::Dev {
            cpages,
            faults,
            data: None,
        })));
    };
    words.next("`data=...`")?;
    let mut scan = words.scan(data_word);
    if !scan.eat("data=") {
        return Err(words.error(data_word, "`data=...`"));
    }
    let data = parse_data(&mut scan)?;
    scan.finish("the end of the data")?;
    Ok(ExpectedOutcome::Dev {
        cpages,
        faults,
        data,
    })
}

fn parse_page_ref(scan: &mut Scan<'_>) -> Result<PageRef, ParseError> {
    let bracketed = |scan: &mut Scan<'_>| -> Result<u32, ParseError> {
        scan.expect("[", "`[`")?;
        let page = scan.number_u32("a page number inside the folio")?;
        scan.expect("]", "`]`")?;
        Ok(page)
    };
    if scan.eat("hugezero") {
        Ok(PageRef::HugeZero {
            page: bracketed(scan)?,
        })
    } else if scan.eat("zero") {
        Ok(PageRef::Zero)
    } else if scan.eat("F") {
        let folio = FolioId(scan.number("a folio number")?);
        Ok(PageRef::Folio {
            folio,
            page: bracketed(scan)?,
        })
    } else {
        Err(scan.error(PAGE_REF_EXPECTED))
    }
}

/// A data pattern at the start of `scan`: a bare value or `[run,...]`.
pub(super) fn parse_data(scan: &mut Scan<'_>) -> Result<DataPattern, ParseError> {
    if !scan.eat("[") {
        return parse_data_value(scan).map(DataPattern::Uniform);
    }
    let mut runs = Vec::new();
    if scan.eat("]") {
        return Ok(DataPattern::Runs(runs));
    }
    loop {
        runs.push(parse_data_run(scan)?);
        if scan.eat("]") {
            return Ok(DataPattern::Runs(runs));
        }
        scan.expect(",", "`,` or `]`")?;
    }
}

/// `<count>*<value>` or `<value>`: a count is a number followed by `*`.
fn parse_data_run(scan: &mut Scan<'_>) -> Result<DataRun, ParseError> {
    let starts_with_count = {
        let rest = scan.rest();
        let number_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        rest[number_len..].starts_with('*') && number_len > 0
    };
    let count = if starts_with_count {
        let column = scan.column();
        let count = scan.number("a run length")?;
        if count == 0 {
            return Err(scan.error_at(column, "a positive run length", quote("0")));
        }
        scan.expect("*", "`*`")?;
        count
    } else {
        1
    };
    Ok(DataRun {
        count,
        value: parse_data_value(scan)?,
    })
}

fn parse_data_value(scan: &mut Scan<'_>) -> Result<DataValue, ParseError> {
    if scan.eat("index") {
        super::args::index_offset(scan, DATA_VALUE_EXPECTED).map(DataValue::Index)
    } else if scan.rest().starts_with(|c: char| c.is_ascii_digit()) {
        scan.number(DATA_VALUE_EXPECTED).map(DataValue::Const)
    } else {
        Err(scan.error(DATA_VALUE_EXPECTED))
    }
}
