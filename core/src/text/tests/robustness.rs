//! The parser returns on any input, and what it accepts prints and
//! parses back to itself.

use proptest::prelude::*;

use super::strategies::*;
use crate::text::*;

/// Fragments of the grammar, glued at random: reaches deep parser states
/// that uniformly random strings rarely do.
fn arb_token_soup() -> impl Strategy<Value = String> {
    let fragments = vec![
        "mmap",
        "p0",
        "p9",
        "m0",
        "m0[",
        "h0[",
        "i0[",
        "]",
        "[",
        "..",
        "->",
        "=",
        "=>",
        ";",
        "#",
        "#!",
        ":",
        " ",
        " ",
        "\t",
        "\n",
        "\r",
        "ok",
        "data=",
        "data=[",
        "*",
        ",",
        "index",
        "index+",
        "index-",
        "0",
        "7",
        "0x",
        "ff",
        "4294967295",
        "4294967296",
        "18446744073709551615",
        "18446744073709551616",
        "-",
        "entry",
        "folio",
        "vma",
        "same",
        "!same",
        "none",
        "zone",
        "free=",
        "ref=",
        "pages=",
        "at=",
        "gup",
        "pin",
        "write",
        "write",
        "->",
        "h3",
        "page=",
        "F",
        "zero",
        "hugezero[",
        "shift=",
        "SIGSEGV@",
        "blocked@",
        "EFAULT",
        "hmm-fault",
        "migrate-setup",
        "migrate-alloc",
        "dev-write",
        "dev0",
        "dev4",
        "n0",
        "s0",
        "sys",
        "select=",
        "system,",
        "compound",
        "owner=",
        "seq=",
        "req=",
        "fault",
        "fail=",
        "split",
        "fault-page=",
        "stuck",
        "pfns=[",
        "cpages=",
        "src=[",
        "faults=",
        "snapshot=[",
        "vw",
        "err",
        "/9",
        "mw",
        "c:",
        "F0[0..]",
        "1000000*",
        "device",
        "mirror",
        "session",
        "notifier",
        "same-as",
        "migration",
        "devpriv",
        "devexcl",
        "dev=",
        "é",
        "\u{1F600}",
        "\u{0}",
        "\u{2028}",
        "\u{FEFF}",
        "ß",
        "İ",
    ];
    prop::collection::vec(prop::sample::select(fragments), 0..30).prop_map(|parts| parts.concat())
}

/// Valid text with a few characters inserted, deleted or replaced.
fn arb_mutated_scenario() -> impl Strategy<Value = String> {
    (
        arb_scenario(),
        prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, any::<char>()), 1..4),
    )
        .prop_map(|(scenario, edits)| {
            let mut chars: Vec<char> = print(&scenario).chars().collect();
            for (at, what, ch) in edits {
                let i = at.index(chars.len() + 1);
                match what {
                    0 => chars.insert(i, ch),
                    1 if i < chars.len() => {
                        chars.remove(i);
                    }
                    _ if i < chars.len() => chars[i] = ch,
                    _ => chars.push(ch),
                }
            }
            chars.into_iter().collect()
        })
}

/// Whatever the input, parsing returns; what it accepts prints canonically
/// and parses again to the same scenario.
fn parse_never_panics(text: &str) -> Result<(), TestCaseError> {
    if let Ok(scenario) = parse(text) {
        let printed = print(&scenario);
        prop_assert_eq!(parse(&printed), Ok(scenario.clone()), "{:?}", text);
    }
    let _ = parse_op(text);
    let _ = parse_expect(text);
    let _ = parse_outcome(text);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4_000))]

    #[test]
    fn arbitrary_strings_never_panic(text in any::<String>()) {
        parse_never_panics(&text)?;
    }

    #[test]
    fn token_soup_never_panics(text in arb_token_soup()) {
        parse_never_panics(&text)?;
    }

    #[test]
    fn mutated_scenarios_never_panic(text in arb_mutated_scenario()) {
        parse_never_panics(&text)?;
    }
}

/// Several carriage returns before a line end are all line-ending noise:
/// the comment must round-trip without them.
#[test]
fn repeated_carriage_returns_end_a_line() {
    let parsed = parse("#mmap\r\r").expect("a comment line");
    assert_eq!(
        parsed.lines,
        vec![crate::text::Line::Comment("mmap".into())]
    );
    assert_eq!(parse(&print(&parsed)), Ok(parsed));
}
