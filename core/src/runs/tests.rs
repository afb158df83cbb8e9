use proptest::prelude::*;

use super::*;
use crate::state::FolioId;

fn folio(f: u64, page: u32) -> Option<PageRef> {
    Some(PageRef::Folio {
        folio: FolioId(f),
        page,
    })
}

fn valid(page: Option<PageRef>, order: u8) -> HmmPfn {
    HmmPfn {
        valid: true,
        write: true,
        order,
        page,
        ..HmmPfn::default()
    }
}

const ERROR: HmmPfn = HmmPfn {
    valid: false,
    write: false,
    error: true,
    order: 0,
    page: None,
};

/// The structural invariant: no empty run, no run that continues the one
/// before it, and `len` is the sum of the counts.
fn assert_maximal(r: &PfnRuns) {
    assert!(r.runs().iter().all(|x| x.count > 0), "{r:?}");
    for pair in r.runs().windows(2) {
        assert_ne!(pair[1].first, pair[0].next_word(), "not maximal: {r:?}");
    }
    assert_eq!(r.len(), r.runs().iter().map(|x| x.count).sum::<u64>());
}

/// `n` words of one PMD-mapped folio from page `from`.
fn thp(f: u64, from: u32, n: u32) -> Vec<HmmPfn> {
    (from..from + n).map(|i| valid(folio(f, i), 9)).collect()
}

#[test]
fn a_pmd_leaf_is_one_run() {
    let words = thp(0, 0, 512);
    let r = PfnRuns::from(words.clone());
    assert_eq!(r.runs().len(), 1);
    assert_eq!(r.len(), 512);
    assert_eq!(r.to_vec(), words);

    let mut one = PfnRuns::new();
    one.push_run(words[0], 512);
    assert_eq!(one, r);
}

#[test]
fn runs_break_where_the_words_stop_continuing() {
    let mut words = thp(0, 0, 512);
    // Another folio continuing the page numbers: a new run all the same.
    words.extend(thp(1, 512, 4));
    // A gap in the page numbers, and other flags on the next page.
    words.extend(thp(1, 600, 2));
    words.push(HmmPfn {
        write: false,
        ..valid(folio(1, 602), 9)
    });
    // Zero and error words repeat; the zero page does not advance.
    words.extend([HmmPfn::default(); 3]);
    words.extend([ERROR; 2]);
    words.extend([valid(Some(PageRef::Zero), 0); 4]);
    words.extend([
        valid(Some(PageRef::HugeZero { page: 7 }), 9),
        valid(Some(PageRef::HugeZero { page: 8 }), 9),
    ]);
    // The same folio page twice: two words, two runs.
    words.extend([valid(folio(2, 5), 0); 2]);
    let r = PfnRuns::from(words.clone());
    let shape: Vec<u64> = r.runs().iter().map(|x| x.count).collect();
    assert_eq!(shape, [512, 4, 2, 1, 3, 2, 4, 2, 1, 1]);
    assert_maximal(&r);
    assert_eq!(r.to_vec(), words);
    assert_eq!(r.len(), words.len() as u64);
    for (i, w) in words.iter().enumerate() {
        assert_eq!(r.get(i as u64), Some(*w), "word {i}");
    }
    assert_eq!(r.get(words.len() as u64), None);
}

#[test]
fn push_repeated_copies_without_advancing() {
    let mut r = PfnRuns::new();
    r.push_repeated(valid(folio(3, 1), 0), 3);
    r.push_repeated(ERROR, 1000);
    assert_eq!(r.len(), 1003);
    assert_eq!(r.runs().len(), 4);
    assert!(r.iter().take(3).all(|w| w == valid(folio(3, 1), 0)));
    assert!(r.iter().skip(3).all(|w| w == ERROR));
}

#[test]
fn renaming_merges_runs_it_makes_continuous() {
    // F1[0..4] then F2[4..8]: two runs until both are named F0.
    let mut words = thp(1, 0, 4);
    words.extend(thp(2, 4, 4));
    let r = PfnRuns::from(words.clone());
    assert_eq!(r.runs().len(), 2);
    let to = |f: u64| {
        move |p: PageRef| match p {
            PageRef::Folio { page, .. } => PageRef::Folio {
                folio: FolioId(f),
                page,
            },
            other => other,
        }
    };
    let merged = r.map_pages(to(0));
    assert_eq!(merged.runs().len(), 1);
    assert_eq!(merged, PfnRuns::from(thp(0, 0, 8)));
    // The word-by-word rename gives the same runs.
    let by_word: PfnRuns = words
        .iter()
        .map(|w| HmmPfn {
            page: w.page.map(to(0)),
            ..*w
        })
        .collect();
    assert_eq!(merged, by_word);
}

#[test]
fn wrapping_pages_stay_one_run_and_expand_the_same() {
    let first = valid(folio(0, u32::MAX - 1), 9);
    let mut r = PfnRuns::new();
    r.push_run(first, 4);
    assert_eq!(r.runs().len(), 1);
    let pages: Vec<_> = r.iter().map(|w| w.page).collect();
    assert_eq!(
        pages,
        [
            folio(0, u32::MAX - 1),
            folio(0, u32::MAX),
            folio(0, 0),
            folio(0, 1)
        ]
    );
    assert_eq!(r, r.to_vec().into());
}

#[test]
fn split_off_and_overwrite_act_like_an_array() {
    let mut words = thp(0, 0, 8);
    words.extend([ERROR; 4]);
    let mut r = PfnRuns::from(words.clone());
    let tail = r.split_off(5);
    assert_eq!(r.to_vec(), words[..5]);
    assert_eq!(tail.to_vec(), words[5..]);
    assert_maximal(&r);
    assert_maximal(&tail);
    r.append(tail);
    assert_eq!(r, PfnRuns::from(words.clone()));
    assert_eq!(r.runs().len(), 2);

    // Overwrite inside, across a boundary, and past the end with a gap.
    let mut model = words.clone();
    r.overwrite(2, valid(folio(5, 0), 0), 8);
    for i in 0..8 {
        model[2 + i] = valid(folio(5, i as u32), 0);
    }
    assert_eq!(r.to_vec(), model);
    r.overwrite(14, ERROR, 2);
    model.extend([HmmPfn::default(), HmmPfn::default(), ERROR, ERROR]);
    assert_eq!(r.to_vec(), model);
    assert_maximal(&r);
    r.truncate(3);
    assert_eq!(r.to_vec(), model[..3]);
    r.truncate(100);
    assert_eq!(r.len(), 3);
}

#[test]
fn nth_skips_runs_like_next_does() {
    let mut words = thp(0, 0, 512);
    words.extend([ERROR; 100]);
    words.extend(thp(1, 0, 7));
    let r = PfnRuns::from(words.clone());
    for n in [0, 1, 511, 512, 513, 611, 612, 618, 619, 10_000] {
        assert_eq!(r.iter().nth(n), words.get(n).copied(), "nth({n})");
    }
    let mut it = r.iter();
    assert_eq!(it.nth(600), Some(words[600]));
    assert_eq!(it.size_hint(), (words.len() - 601, Some(words.len() - 601)));
    assert_eq!(it.collect::<Vec<_>>(), words[601..]);
}

/// Small pages and folios so that random words often continue each other.
fn arb_word() -> impl Strategy<Value = HmmPfn> {
    let page = prop_oneof![
        2 => Just(None),
        1 => Just(Some(PageRef::Zero)),
        1 => (0u32..4).prop_map(|page| Some(PageRef::HugeZero { page })),
        4 => (0u64..2, 0u32..4).prop_map(|(f, page)| folio(f, page)),
    ];
    (any::<bool>(), any::<bool>(), page).prop_map(|(v, w, page)| HmmPfn {
        valid: v,
        write: w,
        error: false,
        order: 0,
        page,
    })
}

/// Words that are mostly runs: pieces of `n` advancing words.
fn arb_words() -> impl Strategy<Value = Vec<HmmPfn>> {
    prop::collection::vec((arb_word(), 1u64..6), 0..12).prop_map(|pieces| {
        pieces
            .into_iter()
            .flat_map(|(w, n)| (0..n).map(move |i| advanced(&w, i)))
            .collect()
    })
}

proptest! {
    #[test]
    fn any_split_of_pushes_gives_the_same_runs(
        words in arb_words(),
        cuts in prop::collection::vec(0usize..64, 0..8),
    ) {
        let whole = PfnRuns::from(words.clone());
        assert_maximal(&whole);
        prop_assert_eq!(whole.to_vec(), words.clone());
        prop_assert_eq!(whole.len(), words.len() as u64);
        // The same words pushed as runs cut at arbitrary points (each
        // piece one push_run, which is only right when the piece is a run:
        // otherwise push word by word).
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(words.len())).collect();
        cuts.push(0);
        cuts.push(words.len());
        cuts.sort_unstable();
        let mut split = PfnRuns::new();
        for piece in cuts.windows(2).map(|c| &words[c[0]..c[1]]) {
            let is_run = piece
                .iter()
                .enumerate()
                .all(|(i, w)| *w == advanced(&piece[0], i as u64));
            if is_run && !piece.is_empty() {
                split.push_run(piece[0], piece.len() as u64);
            } else {
                split.extend(piece.iter().copied());
            }
        }
        prop_assert_eq!(&split, &whole);
        prop_assert_eq!(crate::digest::hash_of(&split), crate::digest::hash_of(&whole));
    }

    #[test]
    fn unequal_words_make_unequal_runs(a in arb_words(), b in arb_words()) {
        prop_assert_eq!(PfnRuns::from(a.clone()) == PfnRuns::from(b.clone()), a == b);
    }

    #[test]
    fn overwrite_matches_a_zero_filled_array(
        words in arb_words(),
        writes in prop::collection::vec((0u64..40, arb_word(), 0u64..10), 0..6),
    ) {
        let mut r = PfnRuns::from(words.clone());
        let mut model = words;
        for (at, w, n) in writes {
            r.overwrite(at, w, n);
            let end = (at + n) as usize;
            if model.len() < end {
                model.resize(end, HmmPfn::default());
            }
            for i in 0..n {
                model[(at + i) as usize] = advanced(&w, i);
            }
            assert_maximal(&r);
            prop_assert_eq!(r.to_vec(), model.clone());
        }
    }
}
