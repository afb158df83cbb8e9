//! Parse errors: line, column, what was expected and what was found.

use crate::text::*;

fn error(text: &str) -> ParseError {
    parse(text).expect_err(text)
}

#[test]
fn error_positions() {
    let e = error("mmap p0 m0 anon rw pages=4\nmunmap q7 m0[0..4]\n");
    assert_eq!((e.line, e.column), (2, 8));
    assert_eq!(e.expected, "a process slot p0..p3");
    assert_eq!(e.found, "`q7`");
    assert_eq!(
        e.to_string(),
        "line 2, column 8: expected a process slot p0..p3, found `q7`"
    );
    assert_eq!(
        e.with_file("a.mms"),
        "a.mms:2:8: expected a process slot p0..p3, found `q7`"
    );

    let e = error("mmapp p0");
    assert_eq!((e.line, e.column), (1, 1));
    assert!(
        e.expected
            .starts_with("an op keyword (mmap, munmap, mprotect"),
        "{}",
        e.expected
    );

    let e = error("fork p0 p1");
    assert_eq!(
        (e.column, e.expected.as_str(), e.found.as_str()),
        (9, "`->`", "`p1`")
    );

    let e = error("read p0 m0[5..3]");
    assert_eq!(
        (e.column, e.expected.as_str()),
        (15, "a range end greater than 5")
    );

    let e = error("read p0 m0[5..x]");
    assert_eq!(
        (e.column, e.expected.as_str(), e.found.as_str()),
        (15, "a page number", "`x`")
    );

    let e = error("read p0 0..5");
    assert_eq!(
        (e.column, e.expected.as_str()),
        (9, "a page range like m0[0..512]")
    );

    let e = error("read p0");
    assert_eq!((e.column, e.found.as_str()), (8, "end of line"));

    let e = error("read p0 => ok");
    assert_eq!((e.column, e.found.as_str()), (9, "`=>`"));

    let e = error("read p0 m0[0..4] extra");
    assert_eq!(
        (e.column, e.expected.as_str()),
        (18, "the end of the `read` op")
    );

    let e = error("read p0 m0[1048575..1048577]");
    assert_eq!(
        (e.column, e.expected.as_str()),
        (1, "an op inside the op domain")
    );
    assert!(e.found.contains("exceeds"), "{}", e.found);

    let e = error("gup p0 m0[0] pin write write -> h0");
    assert_eq!(
        (e.column, e.expected.as_str()),
        (24, "each gup flag at most once")
    );

    let e = error("mmap p0 m0 anon rw at=3");
    assert_eq!((e.column, e.expected.as_str()), (24, "`pages=<n>`"));

    let e = error("read p0 m0[0..4] => ok data=[2*7,x]");
    assert_eq!(
        (e.column, e.expected.as_str()),
        (
            34,
            "a data value: a number, `index`, `index+N` or `index-N`"
        )
    );

    let e = error("read p0 m0[0] => ok ; entry p0 m0[0] page exclusive");
    assert_eq!(e.column, 43);
    assert!(
        e.expected.starts_with("a bit of a `page` entry"),
        "{}",
        e.expected
    );

    let e = error("read p0 m0[0] => ok ; folio p0 m0[0] ref=1 ref=2");
    assert_eq!(
        (e.column, e.expected.as_str()),
        (44, "each key or flag at most once per fact")
    );

    let e = error("read p0 m0[0] => ok ; ; swap used=1");
    assert_eq!((e.column, e.found.as_str()), (23, "`;`"));

    let e = error("read p0 m0[0] => EWHAT");
    assert_eq!(e.column, 18);
    assert!(e.expected.starts_with("an outcome"), "{}", e.expected);

    let e = error("#! key without colon");
    assert_eq!((e.line, e.column), (1, 21));

    let e = error("\n\nwrite p0 m0[0] = 99999999999999999999");
    assert_eq!((e.line, e.column), (3, 18));
    assert!(
        e.expected.contains("at most 18446744073709551615"),
        "{}",
        e.expected
    );

    // Columns count characters, not bytes.
    let e = error("read p0 m0[0] => ok # é\nread é");
    assert_eq!((e.line, e.column, e.found.as_str()), (2, 6, "`é`"));
    let e = error("read p0 m0[0] => éé");
    assert_eq!((e.column, e.found.as_str()), (18, "`éé`"));
}
