//! Simpler variants of one op, for argument simplification: smaller ranges
//! and page counts, fewer flags, optional arguments dropped, values toward
//! 0, plainer kinds (anonymous memory, the normal zone, tmpfs).
//!
//! Every variant changes one field and makes it strictly smaller in a
//! fixed order (a range by `2 * len + start`, a number by value, flags by
//! how many are set, an option `Some` -> `None`, a kind by its rank), so
//! replacing ops by variants always ends. Variants come most aggressive
//! first, so one accepted test saves many small steps.

use mmdiff_core::op::*;

/// Sets one field of one op variant: `set!(op, Op::Mmap { pages } = 4)`.
macro_rules! set {
    ($o:expr, Op::$variant:ident { $field:ident } = $value:expr) => {
        if let Op::$variant { $field, .. } = $o {
            *$field = $value;
        }
    };
}

/// The variants of `op`, most aggressive first; each passes
/// [`Op::validate`] and differs from `op`.
pub fn simpler(op: &Op) -> Vec<Op> {
    let mut out: Vec<Op> = Vec::new();
    let mut push = |v: Op| {
        if v != *op && v.validate().is_ok() && !out.contains(&v) {
            out.push(v);
        }
    };
    let op = op.clone();
    // Ranges first: the largest cuts in what an op touches.
    if let Some(r) = op.range() {
        for smaller in smaller_ranges(r) {
            push(with(&op, |v| {
                if let Some(range) = v.range_mut() {
                    *range = smaller;
                }
            }));
        }
    }
    match op {
        Op::Mmap {
            pages,
            at,
            kind,
            zone,
            foff,
            ..
        } => {
            for n in smaller_numbers(pages, 1) {
                push(with(&op, |o| set!(o, Op::Mmap { pages } = n)));
            }
            for n in smaller_numbers(at, 0) {
                push(with(&op, |o| set!(o, Op::Mmap { at } = n)));
            }
            for n in smaller_numbers(foff, 0) {
                push(with(&op, |o| set!(o, Op::Mmap { foff } = n)));
            }
            if kind != MapKind::Anon {
                push(with(&op, |o| set!(o, Op::Mmap { kind } = MapKind::Anon)));
            }
            if zone != Zone::Normal {
                push(with(&op, |o| set!(o, Op::Mmap { zone } = Zone::Normal)));
            }
        }
        Op::File { pages, fs, .. } => {
            for n in smaller_numbers(pages, 1) {
                push(with(&op, |o| set!(o, Op::File { pages } = n)));
            }
            if fs != FsKind::Tmpfs {
                push(with(&op, |o| set!(o, Op::File { fs } = FsKind::Tmpfs)));
            }
        }
        Op::Write { fill, .. } | Op::DevWrite { fill, .. } => {
            for f in simpler_fills(fill) {
                push(with(&op, |o| match o {
                    Op::Write { fill, .. } | Op::DevWrite { fill, .. } => *fill = f,
                    _ => {}
                }));
            }
        }
        Op::Mremap { to, .. } => {
            for n in smaller_numbers(to.page, 0) {
                push(with(&op, |o| {
                    if let Op::Mremap { to, .. } = o {
                        to.page = n;
                    }
                }));
            }
        }
        Op::SplitThp { at, .. } | Op::Lock { at, .. } => {
            for n in smaller_numbers(at.page, 0) {
                push(with(&op, |o| match o {
                    Op::SplitThp { at, .. } | Op::Lock { at, .. } => at.page = n,
                    _ => {}
                }));
            }
        }
        Op::Gup { flags, .. } => {
            for f in fewer_gup_flags(flags) {
                push(with(&op, |o| set!(o, Op::Gup { flags } = f)));
            }
        }
        Op::DmaRead { start, end, .. } | Op::DmaWrite { start, end, .. } => {
            for (s, e) in smaller_spans(start, end) {
                push(with(&op, |o| match o {
                    Op::DmaRead { start, end, .. } | Op::DmaWrite { start, end, .. } => {
                        (*start, *end) = (s, e)
                    }
                    _ => {}
                }));
            }
            if let Op::DmaWrite { fill, .. } = op {
                for f in simpler_fills(fill) {
                    push(with(&op, |o| set!(o, Op::DmaWrite { fill } = f)));
                }
            }
        }
        Op::IommuTranslate { index, .. } => {
            for n in smaller_numbers(index, 0) {
                push(with(&op, |o| set!(o, Op::IommuTranslate { index } = n)));
            }
        }
        Op::HmmFault {
            req,
            page_req,
            owner,
            seq,
            ..
        } => {
            if page_req.is_some() {
                push(with(&op, |o| set!(o, Op::HmmFault { page_req } = None)));
            }
            if seq.is_some() {
                push(with(&op, |o| set!(o, Op::HmmFault { seq } = None)));
            }
            if owner.is_some() {
                push(with(&op, |o| set!(o, Op::HmmFault { owner } = None)));
            }
            for r in weaker_reqs(req) {
                push(with(&op, |o| set!(o, Op::HmmFault { req } = r)));
            }
        }
        Op::MigrateSetup {
            select,
            owner,
            fault_page,
            ..
        } => {
            if fault_page.is_some() {
                push(with(&op, |o| {
                    set!(o, Op::MigrateSetup { fault_page } = None)
                }));
            }
            if owner.is_some() {
                push(with(&op, |o| set!(o, Op::MigrateSetup { owner } = None)));
            }
            for s in fewer_select_flags(select) {
                push(with(&op, |o| set!(o, Op::MigrateSetup { select } = s)));
            }
        }
        Op::MigrateAlloc { fail, split, .. } => {
            if fail.is_some() {
                push(with(&op, |o| set!(o, Op::MigrateAlloc { fail } = None)));
            }
            if split {
                push(with(&op, |o| set!(o, Op::MigrateAlloc { split } = false)));
            }
        }
        _ => {}
    }
    out
}

/// Stronger variants of `op`, for trading two ops for one: a read that
/// populates (a write of 0), a GUP or an HMM fault that asks for write
/// access. An op that only prepared a page for a later one (a device write
/// that populated it, a mapping moved into place) can often go once the
/// later op does that itself.
pub fn stronger(op: &Op) -> Vec<Op> {
    let mut out = Vec::new();
    match *op {
        Op::Read { p, range } => out.push(Op::Write {
            p,
            range,
            fill: Fill::Const(0),
        }),
        Op::Gup { flags, .. } if !flags.write => out.push(with(op, |o| {
            if let Op::Gup { flags, .. } = o {
                flags.write = true;
            }
        })),
        Op::HmmFault { req, .. } if req != HmmReq::Write => {
            out.push(with(op, |o| set!(o, Op::HmmFault { req } = HmmReq::Write)))
        }
        _ => {}
    }
    out.retain(|v| v.validate().is_ok());
    out
}

fn with(op: &Op, change: impl FnOnce(&mut Op)) -> Op {
    let mut v = op.clone();
    change(&mut v);
    v
}

/// Smaller ranges: one page at either end, either half, and the same
/// length moved toward page 0.
fn smaller_ranges(r: PageRange) -> Vec<PageRange> {
    smaller_spans(r.start, r.end)
        .into_iter()
        .map(|(start, end)| PageRange::new(r.slot, start, end))
        .collect()
}

/// Smaller non-empty spans `[s, e)` of `[start, end)`, each lower in
/// `2 * len + start`.
fn smaller_spans(start: u32, end: u32) -> Vec<(u32, u32)> {
    let len = end.saturating_sub(start);
    let mut out = Vec::new();
    if len > 1 {
        out.push((start, start + 1));
        out.push((end - 1, end));
        out.push((start, start + len / 2));
        out.push((start + len / 2, end));
    }
    if start > 0 {
        out.push((0, len));
        out.push((start / 2, start / 2 + len));
    }
    out.retain(|&(s, e)| s < e && 2 * (e - s) + s < 2 * len + start);
    out
}

/// Smaller numbers not below `min`: `min`, half, one less.
fn smaller_numbers(v: u32, min: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for n in [min, v / 2, v.saturating_sub(1)] {
        if n >= min && n < v && !out.contains(&n) {
            out.push(n);
        }
    }
    out
}

/// Fills toward the constant 0: `= 0`, `= index`, then halved values.
fn simpler_fills(f: Fill) -> Vec<Fill> {
    let mut out = vec![Fill::Const(0)];
    match f {
        Fill::Const(v) if v > 1 => out.push(Fill::Const(v / 2)),
        Fill::Index(k) => {
            out.push(Fill::Index(0));
            if k > 1 {
                out.push(Fill::Index(k / 2));
            }
        }
        _ => {}
    }
    out.retain(|&g| g != f);
    out
}

/// The flags with one of them cleared (the entry point flags `pin` and
/// `fast` too: `get_user_pages` is the plainest call).
fn fewer_gup_flags(f: GupFlags) -> Vec<GupFlags> {
    each_cleared(
        f,
        &[
            |f| &mut f.nofault,
            |f| &mut f.force,
            |f| &mut f.fast,
            |f| &mut f.longterm,
            |f| &mut f.write,
            |f| &mut f.pin,
        ],
    )
}

/// `value` once per set flag among `flags`, with that flag cleared.
fn each_cleared<T: Copy>(value: T, flags: &[fn(&mut T) -> &mut bool]) -> Vec<T> {
    let mut out = Vec::new();
    for field in flags {
        let mut v = value;
        if *field(&mut v) {
            *field(&mut v) = false;
            out.push(v);
        }
    }
    out
}

fn weaker_reqs(r: HmmReq) -> Vec<HmmReq> {
    match r {
        HmmReq::Write => vec![HmmReq::None, HmmReq::Fault],
        HmmReq::Fault => vec![HmmReq::None],
        HmmReq::None => vec![],
    }
}

fn fewer_select_flags(s: MigrateSelect) -> Vec<MigrateSelect> {
    each_cleared(
        s,
        &[
            |s| &mut s.fault,
            |s| &mut s.compound,
            |s| &mut s.coherent,
            |s| &mut s.private,
            |s| &mut s.system,
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use mmdiff_core::text;

    fn variants(line: &str) -> Vec<String> {
        let op = text::parse_op(line).expect("test op parses");
        simpler(&op).iter().map(text::op_to_string).collect()
    }

    #[test]
    fn ranges_shrink_and_move_toward_zero() {
        assert_eq!(
            variants("read p0 m1[4..12]"),
            [
                "read p0 m1[4]",
                "read p0 m1[11]",
                "read p0 m1[4..8]",
                "read p0 m1[8..12]",
                "read p0 m1[0..8]",
                "read p0 m1[2..10]",
            ]
        );
        assert!(variants("read p0 m1[0]").is_empty());
    }

    #[test]
    fn flags_are_cleared_one_at_a_time() {
        assert_eq!(
            variants("gup p0 m0[0] pin longterm -> h1"),
            ["gup p0 m0[0] pin -> h1", "gup p0 m0[0] get longterm -> h1"]
        );
        // Variants that do not validate are never offered.
        assert!(simpler(&Op::Reclaim).is_empty());
    }

    #[test]
    fn optional_arguments_go_and_values_fall() {
        let v = variants("hmm-fault p0 m0[0] write owner=dev1 seq=n2");
        assert_eq!(
            v,
            [
                "hmm-fault p0 m0[0] write owner=dev1",
                "hmm-fault p0 m0[0] write seq=n2",
                "hmm-fault p0 m0[0] owner=dev1 seq=n2",
                "hmm-fault p0 m0[0] fault owner=dev1 seq=n2",
            ]
        );
        assert_eq!(
            variants("write p0 m0[0] = index+6"),
            [
                "write p0 m0[0] = 0",
                "write p0 m0[0] = index",
                "write p0 m0[0] = index+3"
            ]
        );
        assert_eq!(
            variants("mmap p0 m0 anon rw pages=8 zone=cma at=2"),
            [
                "mmap p0 m0 anon rw pages=1 at=2 zone=cma",
                "mmap p0 m0 anon rw pages=4 at=2 zone=cma",
                "mmap p0 m0 anon rw pages=7 at=2 zone=cma",
                "mmap p0 m0 anon rw pages=8 zone=cma",
                "mmap p0 m0 anon rw pages=8 at=1 zone=cma",
                "mmap p0 m0 anon rw pages=8 at=2",
            ]
        );
    }

    /// Every variant is strictly smaller, so repeated simplification ends:
    /// following the first variant from any op reaches an op without any.
    #[test]
    fn simplification_terminates() {
        for line in [
            "mmap p3 m7 file-shared f2 r pages=700 zone=movable at=9 off=5",
            "migrate-setup s1 p0 m2[3..600] select=system,private,compound owner=dev0 fault-page=5",
            "dma-write h3[2..9] = index+77",
            "gup p0 m0[0..33] pin write longterm fast force -> h1",
        ] {
            let mut op = text::parse_op(line).expect("test op parses");
            let mut steps = 0;
            while let Some(next) = simpler(&op).into_iter().next() {
                op = next;
                steps += 1;
                assert!(steps < 200, "{line} does not settle");
            }
        }
    }
}
