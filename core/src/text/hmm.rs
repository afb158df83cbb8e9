//! The HMM / device-migration part of the text format: the ops of
//! `lib/test_hmm.c` scenarios and the compact, run-compressed payload forms
//! of their outcomes (see the `text` module docs for the grammar).

use super::args::{
    fill_text, key_value, parse_fill, range_text, DEV, NOTIFIER, PROC, SESSION, WINDOW,
};
use super::lexer::{quote, Scan, Words};
use super::ParseError;
use crate::op::{
    DevId, HmmReq, MigrateDest, MigrateSelect, NotifierId, Op, OpKind, PageRange, ProcId,
    SessionId, SlotId, MAX_PAGE,
};
use crate::outcome::{HmmPfn, MigrateSrc, PfnRuns};
use crate::state::{FolioId, PageRef};

const RANGE_LIKE: &str = "a page range like m0[0..512]";

/// The most entries a parsed payload list may expand to: payloads describe
/// at most one window of pages, and a bound keeps `1000000000*0` from
/// allocating without limit.
pub(super) const MAX_LIST: u64 = MAX_PAGE as u64;

fn proc(words: &mut Words<'_>) -> Result<ProcId, ParseError> {
    PROC.parse(words).map(ProcId)
}

fn dev(words: &mut Words<'_>) -> Result<DevId, ParseError> {
    DEV.parse(words).map(DevId)
}

fn range(words: &mut Words<'_>) -> Result<PageRange, ParseError> {
    let (slot, start, end) = WINDOW.parse_range(words, RANGE_LIKE)?;
    Ok(PageRange::new(SlotId(slot), start, end))
}

fn window_range(r: &PageRange) -> String {
    range_text(r.slot, r.start, r.end)
}

/// `<d> <p> <range>`, shared by the device ioctl ops.
fn dev_proc_range(words: &mut Words<'_>) -> Result<(DevId, ProcId, PageRange), ParseError> {
    Ok((dev(words)?, proc(words)?, range(words)?))
}

const REQ_NAMES: [(HmmReq, &str); 3] = [
    (HmmReq::None, "none"),
    (HmmReq::Fault, "fault"),
    (HmmReq::Write, "write"),
];

fn req_name(r: HmmReq) -> &'static str {
    crate::expect::names::name_of(&REQ_NAMES, r)
}

/// The `select=` names in printed order.
const SELECT_WORDS: [&str; 5] = ["system", "private", "coherent", "compound", "fault"];

fn select_flags(s: &mut MigrateSelect) -> [&mut bool; 5] {
    [
        &mut s.system,
        &mut s.private,
        &mut s.coherent,
        &mut s.compound,
        &mut s.fault,
    ]
}

/// `system,compound`, or `none` when nothing is selected.
pub fn select_text(select: MigrateSelect) -> String {
    let mut s = select;
    let names: Vec<&str> = SELECT_WORDS
        .iter()
        .zip(select_flags(&mut s))
        .filter(|(_, on)| **on)
        .map(|(n, _)| *n)
        .collect();
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(",")
    }
}

const SELECT_EXPECTED: &str =
    "a selection: `none` or a comma list of system, private, coherent, compound, fault";

fn parse_select(scan: &mut Scan<'_>) -> Result<MigrateSelect, ParseError> {
    let mut select = MigrateSelect::default();
    if scan.rest() == "none" {
        scan.take_rest();
        return Ok(select);
    }
    loop {
        let column = scan.column();
        let name = scan.take_while(|c| c != ',');
        let index = SELECT_WORDS
            .iter()
            .position(|w| *w == name)
            .ok_or_else(|| scan.error_at(column, SELECT_EXPECTED, quote(name)))?;
        let flags = select_flags(&mut select);
        if *flags[index] {
            return Err(scan.error_at(column, "each selection flag at most once", quote(name)));
        }
        *flags[index] = true;
        if !scan.eat(",") {
            return Ok(select);
        }
    }
}

/// `<a>..<b>` with `a < b`, to the end of the scan or up to `:`.
fn index_range(scan: &mut Scan<'_>) -> Result<(u32, u32), ParseError> {
    let a = scan.number_u32("an index")?;
    scan.expect("..", "`..`")?;
    let column = scan.column();
    let b = scan.number_u32("an index")?;
    if b <= a {
        return Err(scan.error_at(
            column,
            &format!("a range end greater than {a}"),
            quote(&b.to_string()),
        ));
    }
    Ok((a, b))
}

/// Parses the arguments of the HMM ops (`kind` must be one of them).
pub(super) fn parse_hmm_op(kind: OpKind, words: &mut Words<'_>) -> Result<Op, ParseError> {
    Ok(match kind {
        OpKind::HmmFault => parse_hmm_fault(words)?,
        OpKind::Notifier => Op::Notifier {
            n: NotifierId(NOTIFIER.parse(words)?),
            p: proc(words)?,
            range: range(words)?,
        },
        OpKind::ReadBegin => Op::ReadBegin {
            n: NotifierId(NOTIFIER.parse(words)?),
        },
        OpKind::ReadRetry => Op::ReadRetry {
            n: NotifierId(NOTIFIER.parse(words)?),
        },
        OpKind::MigrateSetup => parse_migrate_setup(words)?,
        OpKind::MigrateAlloc => parse_migrate_alloc(words)?,
        OpKind::MigratePages => Op::MigratePages {
            s: SessionId(SESSION.parse(words)?),
        },
        OpKind::MigrateFinalize => Op::MigrateFinalize {
            s: SessionId(SESSION.parse(words)?),
        },
        OpKind::DevRead => {
            let (d, p, range) = dev_proc_range(words)?;
            Op::DevRead { d, p, range }
        }
        OpKind::DevWrite => {
            let (d, p, range) = dev_proc_range(words)?;
            words.expect("=")?;
            Op::DevWrite {
                d,
                p,
                range,
                fill: parse_fill(words)?,
            }
        }
        OpKind::MigrateToDev => {
            let (d, p, range) = dev_proc_range(words)?;
            Op::MigrateToDev { d, p, range }
        }
        OpKind::MigrateToSys => {
            let (d, p, range) = dev_proc_range(words)?;
            Op::MigrateToSys { d, p, range }
        }
        OpKind::DevSnapshot => {
            let (d, p, range) = dev_proc_range(words)?;
            Op::DevSnapshot { d, p, range }
        }
        OpKind::DevExclusive => {
            let (d, p, range) = dev_proc_range(words)?;
            Op::DevExclusive { d, p, range }
        }
        OpKind::DevCheckExclusive => {
            let (d, p, range) = dev_proc_range(words)?;
            Op::DevCheckExclusive { d, p, range }
        }
        OpKind::DevRelease => Op::DevRelease { d: dev(words)? },
        OpKind::DevFailAlloc => Op::DevFailAlloc { d: dev(words)? },
        OpKind::DevClose => Op::DevClose {
            d: dev(words)?,
            p: proc(words)?,
        },
        // Not an HMM op: the caller never asks; an error keeps this total.
        _ => {
            return Err(words.error_at_end(&format!(
                "the arguments of `{}` (internal: not an HMM op)",
                kind.keyword()
            )))
        }
    })
}

const HMM_OPTION_EXPECTED: &str =
    "an hmm-fault option (fault, write, req=<a>..<b>:<kind>, owner=<dev>, seq=<n>)";

/// `hmm-fault <p> <range> [fault|write] [req=..] [owner=..] [seq=..]`,
/// options in any order, each at most once.
fn parse_hmm_fault(words: &mut Words<'_>) -> Result<Op, ParseError> {
    let p = proc(words)?;
    let range = range(words)?;
    let (mut req, mut page_req, mut owner, mut seq) = (None, None, None, None);
    while let Some(word) = words.peek() {
        words.next(HMM_OPTION_EXPECTED)?;
        let again = |words: &Words<'_>| words.error(word, "each hmm-fault option at most once");
        match word.text {
            "fault" | "write" => {
                if req.is_some() {
                    return Err(again(words));
                }
                req = Some(if word.text == "fault" {
                    HmmReq::Fault
                } else {
                    HmmReq::Write
                });
                continue;
            }
            _ => {}
        }
        let Some((key, mut value)) = key_value(words, word) else {
            return Err(words.error(word, HMM_OPTION_EXPECTED));
        };
        match key {
            "req" => {
                if page_req.is_some() {
                    return Err(again(words));
                }
                let (a, b) = index_range(&mut value)?;
                value.expect(":", "`:` and a request kind")?;
                let name = value.take_rest();
                let kind = crate::expect::names::lookup(&REQ_NAMES, name).ok_or_else(|| {
                    value.word_error("a request kind (fault, write, none) after `:`")
                })?;
                page_req = Some((a, b, kind));
            }
            "owner" => {
                if owner.is_some() {
                    return Err(again(words));
                }
                let id = DEV.scan_id(&mut value, &DEV.expected())?;
                value.finish("the end of the owner")?;
                owner = Some(DevId(id));
            }
            "seq" => {
                if seq.is_some() {
                    return Err(again(words));
                }
                let id = NOTIFIER.scan_id(&mut value, &NOTIFIER.expected())?;
                value.finish("the end of the notifier")?;
                seq = Some(NotifierId(id));
            }
            _ => return Err(words.error(word, HMM_OPTION_EXPECTED)),
        }
    }
    Ok(Op::HmmFault {
        p,
        range,
        req: req.unwrap_or_default(),
        page_req,
        owner,
        seq,
    })
}

const SETUP_OPTION_EXPECTED: &str = "a migrate-setup option (select=, owner=, fault-page=)";

/// `migrate-setup <s> <p> <range> select=<list> [owner=<dev>] [fault-page=<n>]`.
fn parse_migrate_setup(words: &mut Words<'_>) -> Result<Op, ParseError> {
    let s = SessionId(SESSION.parse(words)?);
    let p = proc(words)?;
    let range = range(words)?;
    let (mut select, mut owner, mut fault_page) = (None, None, None);
    while let Some(word) = words.peek() {
        words.next(SETUP_OPTION_EXPECTED)?;
        let Some((key, mut value)) = key_value(words, word) else {
            return Err(words.error(word, SETUP_OPTION_EXPECTED));
        };
        let seen = match key {
            "select" => select.is_some(),
            "owner" => owner.is_some(),
            "fault-page" => fault_page.is_some(),
            _ => return Err(words.error(word, SETUP_OPTION_EXPECTED)),
        };
        if seen {
            return Err(words.error(word, "each migrate-setup option at most once"));
        }
        match key {
            "select" => select = Some(parse_select(&mut value)?),
            "owner" => {
                let id = DEV.scan_id(&mut value, &DEV.expected())?;
                owner = Some(DevId(id));
            }
            _ => fault_page = Some(value.number_u32("a window-relative page number")?),
        }
        value.finish("the end of the option")?;
    }
    let Some(select) = select else {
        return Err(words.error_at_end("`select=<list>`"));
    };
    Ok(Op::MigrateSetup {
        s,
        p,
        range,
        select,
        owner,
        fault_page,
    })
}

const ALLOC_OPTION_EXPECTED: &str = "a migrate-alloc option (fail=<a>..<b>, split)";

/// `migrate-alloc <s> dev<k>|sys [fail=<a>..<b>] [split]`.
fn parse_migrate_alloc(words: &mut Words<'_>) -> Result<Op, ParseError> {
    let s = SessionId(SESSION.parse(words)?);
    let dest = if words.eat("sys") {
        MigrateDest::System
    } else {
        let expected = format!("`sys` or {}", DEV.expected());
        let word = words.next(&expected)?;
        let mut scan = words.scan(word);
        let id = DEV.scan_id(&mut scan, &expected)?;
        scan.finish(&expected)?;
        MigrateDest::Device(DevId(id))
    };
    let (mut fail, mut split) = (None, false);
    while let Some(word) = words.peek() {
        words.next(ALLOC_OPTION_EXPECTED)?;
        if word.text == "split" {
            if split {
                return Err(words.error(word, "each migrate-alloc option at most once"));
            }
            split = true;
            continue;
        }
        match key_value(words, word) {
            Some(("fail", mut value)) => {
                if fail.is_some() {
                    return Err(words.error(word, "each migrate-alloc option at most once"));
                }
                fail = Some(index_range(&mut value)?);
                value.finish("the end of the range")?;
            }
            _ => return Err(words.error(word, ALLOC_OPTION_EXPECTED)),
        }
    }
    Ok(Op::MigrateAlloc {
        s,
        dest,
        fail,
        split,
    })
}

/// The canonical text of an HMM op; `None` for every other op.
pub(super) fn hmm_op_to_string(op: &Op) -> Option<String> {
    let kw = op.kind().keyword();
    Some(match op {
        Op::HmmFault {
            p,
            range,
            req,
            page_req,
            owner,
            seq,
        } => {
            let mut t = format!("{kw} {p} {}", window_range(range));
            if *req != HmmReq::None {
                t.push(' ');
                t.push_str(req_name(*req));
            }
            if let Some((a, b, k)) = page_req {
                t.push_str(&format!(" req={a}..{b}:{}", req_name(*k)));
            }
            if let Some(d) = owner {
                t.push_str(&format!(" owner={d}"));
            }
            if let Some(n) = seq {
                t.push_str(&format!(" seq={n}"));
            }
            t
        }
        Op::Notifier { n, p, range } => format!("{kw} {n} {p} {}", window_range(range)),
        Op::ReadBegin { n } | Op::ReadRetry { n } => format!("{kw} {n}"),
        Op::MigrateSetup {
            s,
            p,
            range,
            select,
            owner,
            fault_page,
        } => {
            let mut t = format!(
                "{kw} {s} {p} {} select={}",
                window_range(range),
                select_text(*select)
            );
            if let Some(d) = owner {
                t.push_str(&format!(" owner={d}"));
            }
            if let Some(fp) = fault_page {
                t.push_str(&format!(" fault-page={fp}"));
            }
            t
        }
        Op::MigrateAlloc {
            s,
            dest,
            fail,
            split,
        } => {
            let mut t = match dest {
                MigrateDest::Device(d) => format!("{kw} {s} {d}"),
                MigrateDest::System => format!("{kw} {s} sys"),
            };
            if let Some((a, b)) = fail {
                t.push_str(&format!(" fail={a}..{b}"));
            }
            if *split {
                t.push_str(" split");
            }
            t
        }
        Op::MigratePages { s } | Op::MigrateFinalize { s } => format!("{kw} {s}"),
        Op::DevWrite { d, p, range, fill } => {
            format!(
                "{kw} {d} {p} {} = {}",
                window_range(range),
                fill_text(*fill)
            )
        }
        Op::DevRead { d, p, range }
        | Op::MigrateToDev { d, p, range }
        | Op::MigrateToSys { d, p, range }
        | Op::DevSnapshot { d, p, range }
        | Op::DevExclusive { d, p, range }
        | Op::DevCheckExclusive { d, p, range } => {
            format!("{kw} {d} {p} {}", window_range(range))
        }
        Op::DevRelease { d } | Op::DevFailAlloc { d } => format!("{kw} {d}"),
        Op::DevClose { d, p } => format!("{kw} {d} {p}"),
        _ => return None,
    })
}

// ---------------------------------------------------------------------------
// Run-compressed lists.

/// The page `k` pages after `p` (folio and huge-zero pages advance; the zero
/// page has nothing to advance), `None` on overflow or for the zero page.
fn advance_page(p: &PageRef, k: u32) -> Option<PageRef> {
    match *p {
        PageRef::Folio { folio, page } => Some(PageRef::Folio {
            folio,
            page: page.checked_add(k)?,
        }),
        PageRef::HugeZero { page } => Some(PageRef::HugeZero {
            page: page.checked_add(k)?,
        }),
        PageRef::Zero => None,
    }
}

/// A list item that may carry a page: what the run compression needs.
trait Item: Copy + PartialEq {
    fn page(&self) -> Option<PageRef>;
    fn with_page(self, page: Option<PageRef>) -> Self;
    /// The item's text without its page.
    fn head(&self) -> String;
}

impl Item for HmmPfn {
    fn page(&self) -> Option<PageRef> {
        self.page
    }
    fn with_page(self, page: Option<PageRef>) -> Self {
        HmmPfn { page, ..self }
    }
    fn head(&self) -> String {
        let mut s = String::new();
        if self.valid {
            s.push('v');
        }
        if self.write {
            s.push('w');
        }
        if self.error {
            s.push_str("err");
        }
        if s.is_empty() {
            s.push('0');
        }
        if self.order != 0 {
            s.push_str(&format!("/{}", self.order));
        }
        s
    }
}

impl Item for MigrateSrc {
    fn page(&self) -> Option<PageRef> {
        self.page
    }
    fn with_page(self, page: Option<PageRef>) -> Self {
        MigrateSrc { page, ..self }
    }
    fn head(&self) -> String {
        let mut s = String::new();
        for (on, c) in [(self.migrate, 'm'), (self.write, 'w'), (self.compound, 'c')] {
            if on {
                s.push(c);
            }
        }
        if s.is_empty() {
            s.push('-');
        }
        s
    }
}

impl Item for Option<PageRef> {
    fn page(&self) -> Option<PageRef> {
        *self
    }
    fn with_page(self, page: Option<PageRef>) -> Self {
        page
    }
    fn head(&self) -> String {
        // Pages print alone; a missing page is `-`.
        if self.is_some() {
            String::new()
        } else {
            "-".to_string()
        }
    }
}

/// `F3[5]`, `F3[5..]` (advancing), `zero`, `hugezero[2]`.
fn page_text(p: &PageRef, advancing: bool) -> String {
    let dots = if advancing { ".." } else { "" };
    match *p {
        PageRef::Folio { folio, page } => format!("F{}[{page}{dots}]", folio.0),
        PageRef::Zero => "zero".to_string(),
        PageRef::HugeZero { page } => format!("hugezero[{page}{dots}]"),
    }
}

/// `[<run>,...]`: each run is `[<count>*]<item>`; a run of identical items
/// prints the item, a run whose page advances by one per item prints the
/// first page with `..` (`512*vw/9:F0[0..]`). Greedy: at each position the
/// advancing run is taken only when strictly longer than the identical one.
///
/// Over an iterator (cloned to look ahead) rather than a slice, so that
/// `pfns` lists stored as runs print without being expanded; the text's
/// runs are its own (they need not be [`PfnRuns`]'s, e.g. `2*v:F0[5]`).
fn list_text<T: Item>(mut items: impl Iterator<Item = T> + Clone, sep: &str) -> String {
    let mut out = Vec::new();
    while let Some(first) = items.clone().next() {
        let same = items.clone().take_while(|x| *x == first).count();
        let adv = match first.page() {
            Some(p) if advance_page(&p, 1).is_some() => items
                .clone()
                .zip(0u32..)
                .take_while(|(x, k)| {
                    advance_page(&p, *k).is_some_and(|q| *x == first.with_page(Some(q)))
                })
                .count(),
            _ => 0,
        };
        let (n, advancing) = if adv > same {
            (adv, true)
        } else {
            (same, false)
        };
        let mut s = if n > 1 {
            format!("{n}*")
        } else {
            String::new()
        };
        s.push_str(&first.head());
        if let Some(p) = first.page() {
            s.push_str(sep);
            s.push_str(&page_text(&p, advancing));
        }
        out.push(s);
        // `n >= 1`: `first` itself is counted by `same`.
        items.nth(n - 1);
    }
    format!("[{}]", out.join(","))
}

/// `hmm_pfns[]`: `[512*vw/9:F0[0..],3*0,2*err,v:zero]`.
pub fn pfns_text(words: &PfnRuns) -> String {
    list_text(words.iter(), ":")
}

/// `src[]`: `[4*mw:F1[0..],m,2*-]`.
pub fn migrate_src_text(src: &[MigrateSrc]) -> String {
    list_text(src.iter().copied(), ":")
}

/// `dst[]` of a session: `[2*-,4*F3[0..]]`.
pub fn dst_text(dst: &[Option<PageRef>]) -> String {
    list_text(dst.iter().copied(), "")
}

/// Snapshot bytes, two hex digits each: `[1024*22]`, `[2*00,3*11,ff]`.
pub fn snapshot_text(bytes: &[u8]) -> String {
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let n = bytes[i..].iter().take_while(|b| **b == bytes[i]).count();
        out.push(if n > 1 {
            format!("{n}*{:02x}", bytes[i])
        } else {
            format!("{:02x}", bytes[i])
        });
        i += n;
    }
    format!("[{}]", out.join(","))
}

/// `[<count>*]` at the start of a run: digits followed by `*`. The count is
/// positive, and the running total stays within [`MAX_LIST`].
fn run_count(scan: &mut Scan<'_>, total: u64) -> Result<u64, ParseError> {
    let rest = scan.rest();
    let digits = rest.chars().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 || !rest[digits..].starts_with('*') {
        return Ok(1);
    }
    let column = scan.column();
    let n = scan.number("a run length")?;
    scan.expect("*", "`*`")?;
    if n == 0 {
        return Err(scan.error_at(column, "a positive run length", quote("0")));
    }
    if total.saturating_add(n) > MAX_LIST {
        return Err(scan.error_at(
            column,
            &format!("at most {MAX_LIST} entries in all"),
            quote(&n.to_string()),
        ));
    }
    Ok(n)
}

/// A page reference with an optional `..` advancing marker: `F3[5]`,
/// `F3[5..]`, `zero`, `hugezero[2..]`.
fn parse_run_page(scan: &mut Scan<'_>) -> Result<(PageRef, bool), ParseError> {
    let bracketed = |scan: &mut Scan<'_>| -> Result<(u32, bool), ParseError> {
        scan.expect("[", "`[`")?;
        let page = scan.number_u32("a page number inside the folio")?;
        let adv = scan.eat("..");
        scan.expect("]", "`]`")?;
        Ok((page, adv))
    };
    if scan.eat("hugezero") {
        let (page, adv) = bracketed(scan)?;
        Ok((PageRef::HugeZero { page }, adv))
    } else if scan.eat("zero") {
        Ok((PageRef::Zero, false))
    } else if scan.eat("F") {
        let folio = FolioId(scan.number("a folio number")?);
        let (page, adv) = bracketed(scan)?;
        Ok((PageRef::Folio { folio, page }, adv))
    } else {
        Err(scan.error("a page reference: F<n>[<page>], zero or hugezero[<page>]"))
    }
}

/// Where a parsed list goes: a vector of items, or [`PfnRuns`] for
/// `pfns=`, which keeps a long advancing run as one run.
trait ListOut<T>: Default {
    /// Items so far.
    fn count(&self) -> u64;
    /// One text run of `n` items starting with `first`, whose page
    /// advances when `adv` (checked to fit 32 bits by the caller).
    fn push_items(&mut self, first: T, n: u64, adv: bool);
}

impl<T: Item> ListOut<T> for Vec<T> {
    fn count(&self) -> u64 {
        self.len() as u64
    }
    fn push_items(&mut self, first: T, n: u64, adv: bool) {
        for k in 0..n {
            // `k` fits u32 and the page does not overflow: checked first.
            let item = match (adv, first.page()) {
                (true, Some(p)) => {
                    advance_page(&p, k as u32).map_or(first, |q| first.with_page(Some(q)))
                }
                _ => first,
            };
            self.push(item);
        }
    }
}

impl ListOut<HmmPfn> for PfnRuns {
    fn count(&self) -> u64 {
        self.len()
    }
    fn push_items(&mut self, first: HmmPfn, n: u64, adv: bool) {
        // Without overflow (checked first), PfnRuns advances a page as the
        // text does.
        if adv {
            self.push_run(first, n);
        } else {
            self.push_repeated(first, n);
        }
    }
}

/// `[` items `]` separated by `,`; `item` parses one run head and page. An
/// advancing run whose page would overflow is an error.
fn parse_list<T: Item, L: ListOut<T>>(
    scan: &mut Scan<'_>,
    mut item: impl FnMut(&mut Scan<'_>) -> Result<(T, bool), ParseError>,
) -> Result<L, ParseError> {
    scan.expect("[", "`[`")?;
    let mut out = L::default();
    if scan.eat("]") {
        return Ok(out);
    }
    loop {
        let n = run_count(scan, out.count())?;
        let (first, adv) = item(scan)?;
        if let (true, Some(p)) = (adv, first.page()) {
            // `n >= 1` (run_count).
            let last = u32::try_from(n - 1).ok().and_then(|k| advance_page(&p, k));
            if last.is_none() {
                return Err(scan.error("a run whose page numbers fit 32 bits"));
            }
        }
        out.push_items(first, n, adv);
        if scan.eat("]") {
            return Ok(out);
        }
        scan.expect(",", "`,` or `]`")?;
    }
}

const PFN_EXPECTED: &str = "an hmm pfn word: 0, or flags v, w, err";

/// `pfns=` list.
pub(super) fn parse_pfns(scan: &mut Scan<'_>) -> Result<PfnRuns, ParseError> {
    parse_list(scan, |scan| {
        let mut w = HmmPfn::default();
        if !scan.eat("0") {
            w.valid = scan.eat("v");
            w.write = scan.eat("w");
            w.error = scan.eat("err");
            if !(w.valid || w.write || w.error) {
                return Err(scan.error(PFN_EXPECTED));
            }
        }
        if scan.eat("/") {
            let column = scan.column();
            let order = scan.number("a map order")?;
            w.order = u8::try_from(order).map_err(|_| {
                scan.error_at(
                    column,
                    "a map order (at most 255)",
                    quote(&order.to_string()),
                )
            })?;
        }
        let mut adv = false;
        if scan.eat(":") {
            let (p, a) = parse_run_page(scan)?;
            w.page = Some(p);
            adv = a;
        }
        Ok((w, adv))
    })
}

/// `src=` list.
pub(super) fn parse_src(scan: &mut Scan<'_>) -> Result<Vec<MigrateSrc>, ParseError> {
    parse_list(scan, |scan| {
        let mut e = MigrateSrc::default();
        if !scan.eat("-") {
            e.migrate = scan.eat("m");
            e.write = scan.eat("w");
            e.compound = scan.eat("c");
            if !(e.migrate || e.write || e.compound) {
                return Err(scan.error("a src entry: `-`, or flags m, w, c"));
            }
        }
        let mut adv = false;
        if scan.eat(":") {
            let (p, a) = parse_run_page(scan)?;
            e.page = Some(p);
            adv = a;
        }
        Ok((e, adv))
    })
}

/// `snapshot=` list.
pub(super) fn parse_snapshot(scan: &mut Scan<'_>) -> Result<Vec<u8>, ParseError> {
    scan.expect("[", "`[`")?;
    let mut out: Vec<u8> = Vec::new();
    if scan.eat("]") {
        return Ok(out);
    }
    loop {
        let n = run_count(scan, out.len() as u64)?;
        let column = scan.column();
        let rest = scan.rest();
        let hex = rest
            .get(..2)
            .filter(|h| h.chars().all(|c| c.is_ascii_hexdigit()));
        let byte = hex
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .ok_or_else(|| scan.error_at(column, "a byte as two hex digits", quote(rest)))?;
        scan.eat(hex.unwrap_or_default());
        // `n` is at most MAX_LIST (run_count), so it fits usize.
        out.extend(std::iter::repeat_n(byte, n as usize));
        if scan.eat("]") {
            return Ok(out);
        }
        scan.expect(",", "`,` or `]`")?;
    }
}
