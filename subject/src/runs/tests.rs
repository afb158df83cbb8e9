use mmdiff_core::state::FolioId;

use super::*;

/// splitmix64: a deterministic stream for the randomized comparisons.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The structural invariant: runs by start from 0, none empty.
fn assert_well_formed(c: &Contents) {
    let segs = c.segs();
    assert_eq!(segs[0].start, 0, "{c:?}");
    for w in segs.windows(2) {
        assert!(w[0].start < w[1].start, "{c:?}");
    }
    assert!(segs.last().unwrap().start < c.len(), "{c:?}");
}

fn index_values(n: u32, first: u64) -> Vec<u64> {
    (0..n as u64).map(|k| first + k).collect()
}

#[test]
fn a_thp_written_with_the_index_pattern_is_one_run() {
    let mut c = Contents::zeroed(512);
    c.fill_pattern(0, 512, Fill::Index(3), 1024);
    assert_eq!(c.run_count(), 1);
    assert_eq!(c.to_vec(), index_values(512, 1027));
    c.fill_pattern(0, 512, Fill::Const(7), 0);
    assert_eq!(c.run_count(), 1);
    assert!(c.iter().all(|v| v == 7));
}

#[test]
fn a_partial_overwrite_cuts_a_run_in_three_and_rewriting_merges_it_back() {
    let mut c = Contents::zeroed(512);
    c.fill_pattern(0, 512, Fill::Index(0), 0);
    c.fill(100, 50, 9, 0);
    assert_eq!(c.run_count(), 3);
    let mut want = index_values(512, 0);
    want[100..150].fill(9);
    assert_eq!(c.to_vec(), want);
    // Lookups at the run boundaries.
    assert_eq!(c.get(99), 99);
    assert_eq!(c.get(100), 9);
    assert_eq!(c.get(149), 9);
    assert_eq!(c.get(150), 150);
    assert_eq!(c.get(511), 511);
    // Writing the pattern back makes one run again.
    c.fill_pattern(100, 50, Fill::Index(0), 100);
    assert_eq!(c.run_count(), 1);
    assert_eq!(c.to_vec(), index_values(512, 0));
}

#[test]
fn overwrites_at_the_ends_of_a_folio_cut_one_run_off() {
    let mut c = Contents::zeroed(512);
    c.set(0, 5);
    assert_eq!(c.run_count(), 2);
    assert_eq!((c.get(0), c.get(1)), (5, 0));
    c.set(511, 6);
    assert_eq!(c.run_count(), 3);
    assert_eq!((c.get(510), c.get(511)), (0, 6));
    c.set(0, 0);
    c.set(511, 0);
    assert_eq!(c.run_count(), 1);
}

#[test]
fn pages_written_one_by_one_merge_into_one_run() {
    // A PTE-mapped THP written page by page (no leaf batch).
    let mut c = Contents::zeroed(512);
    for i in 0..512u32 {
        c.fill_pattern(i, 1, Fill::Index(10), i as u64);
    }
    assert_eq!(c.run_count(), 1);
    assert_eq!(c.to_vec(), index_values(512, 10));
    for i in (0..512).rev() {
        c.set(i, 4);
    }
    assert_eq!(c.run_count(), 1);
    assert!(c.iter().all(|v| v == 4));
}

#[test]
fn a_run_of_one_page_takes_its_neighbours_step() {
    let mut c = Contents::zeroed(8);
    c.fill(2, 6, 12, 1); // [0 0 12 13 14 15 16 17]
    c.set(1, 11); // continues the run after it
    assert_eq!(c.to_vec(), [0, 11, 12, 13, 14, 15, 16, 17]);
    assert_eq!(c.run_count(), 2);
    c.set(0, 10);
    assert_eq!(c.run_count(), 1);
    assert_eq!(c.to_vec(), index_values(8, 10));
}

#[test]
fn copies_between_folios_keep_values_and_runs() {
    let mut src = Contents::zeroed(512);
    src.fill_pattern(0, 512, Fill::Index(0), 0);
    src.set(7, 1);
    let mut dst = Contents::zeroed(512);
    dst.copy_from(0, &src, 0, 512);
    assert_eq!(dst, src);
    assert_eq!(dst.run_count(), src.run_count());
    let mut part = Contents::zeroed(512);
    part.copy_from(256, &src, 0, 256);
    let mut want = vec![0; 256];
    want.extend(src.to_vec()[..256].iter().copied());
    assert_eq!(part.to_vec(), want);
    assert_eq!(src.piece(7).to_vec(), [1]);
    assert_eq!(src.piece(8).to_vec(), [8]);
}

#[test]
#[should_panic]
fn reading_beyond_the_folio_panics_as_indexing_did() {
    Contents::zeroed(1).get(1);
}

#[test]
fn contents_follow_a_per_page_vector_under_random_writes() {
    let mut rng = Rng(0x5eed);
    for round in 0..200 {
        let len = if round % 4 == 0 { 1 } else { 512 };
        let mut c = Contents::zeroed(len);
        let mut want = vec![0u64; len as usize];
        for _ in 0..60 {
            let at = rng.below(len as u64) as u32;
            // Mostly short writes, so that runs get cut often.
            let max = if rng.below(4) == 0 {
                len - at
            } else {
                (len - at).min(4)
            };
            let n = 1 + rng.below(max as u64) as u32;
            match rng.below(5) {
                0 => {
                    let v = rng.below(4);
                    c.set(at as usize, v);
                    want[at as usize] = v;
                }
                1 | 2 => {
                    let fill = if rng.below(2) == 0 {
                        Fill::Const(rng.below(3))
                    } else {
                        Fill::Index(rng.below(3))
                    };
                    let base = rng.below(600);
                    c.fill_pattern(at, n, fill, base);
                    for k in 0..n as u64 {
                        want[(at as u64 + k) as usize] = fill.value_at(base + k);
                    }
                }
                3 => {
                    let (first, step) = (rng.next(), rng.next());
                    c.fill(at, n, first, step);
                    for k in 0..n as u64 {
                        want[(at as u64 + k) as usize] = first.wrapping_add(k.wrapping_mul(step));
                    }
                }
                _ => {
                    let mut src = Contents::zeroed(len);
                    src.fill_pattern(0, len, Fill::Index(rng.below(9)), 0);
                    let from = rng.below((len - n + 1) as u64) as u32;
                    c.copy_from(at, &src, from, n);
                    let sv = src.to_vec();
                    want[at as usize..(at + n) as usize]
                        .copy_from_slice(&sv[from as usize..(from + n) as usize]);
                }
            }
            assert_well_formed(&c);
            assert_eq!(c.to_vec(), want);
            let i = rng.below(len as u64) as usize;
            assert_eq!(c.get(i), want[i]);
            let a = rng.below(len as u64) as u32;
            let n = rng.below((len - a) as u64 + 1) as u32;
            let mut out = Vec::new();
            c.extend_values(&mut out, a, n);
            assert_eq!(out, want[a as usize..(a + n) as usize]);
        }
    }
}

#[test]
fn page_bits_stay_one_flag_while_the_pages_agree() {
    let mut b = PageBits::new(512, false);
    assert!(b.is_uniform());
    b.set(3, true);
    assert!(!b.is_uniform());
    assert!(b.get(3) && !b.get(2) && !b.get(4));
    b.set(3, false);
    assert!(b.is_uniform() && !b.get(3));
    b.set_all(true);
    assert!(b.is_uniform() && b.get(511));
    b.set(511, false);
    assert!(!b.get(511) && b.get(510) && b.get(0));
    b.set(511, true);
    assert!(b.is_uniform());
    assert_eq!(b.piece(0).to_vec(), [true]);
}

#[test]
fn page_bits_follow_a_per_page_vector_under_random_writes() {
    let mut rng = Rng(7);
    for len in [1u32, 64, 100, 512] {
        let mut b = PageBits::new(len, false);
        let mut want = vec![false; len as usize];
        for _ in 0..2000 {
            if rng.below(50) == 0 {
                let v = rng.below(2) == 0;
                b.set_all(v);
                want.fill(v);
            } else {
                let i = rng.below(len as u64) as usize;
                let v = rng.below(2) == 0;
                b.set(i, v);
                want[i] = v;
            }
            assert_eq!(b.to_vec(), want);
        }
    }
}

fn fp(f: u64, page: u32) -> PageRef {
    PageRef::Folio {
        folio: FolioId(f),
        page,
    }
}

#[test]
fn a_pinned_thp_is_one_page_run() {
    let mut r = PageRuns::new();
    r.push(fp(1, 0));
    r.push_run(fp(1, 1), 511);
    r.push_run(fp(2, 0), 512);
    assert_eq!(r.len(), 1024);
    assert_eq!(r.runs().len(), 2);
    // Lookups at the run boundaries.
    assert_eq!(r.get(0), Some(fp(1, 0)));
    assert_eq!(r.get(511), Some(fp(1, 511)));
    assert_eq!(r.get(512), Some(fp(2, 0)));
    assert_eq!(r.get(1023), Some(fp(2, 511)));
    assert_eq!(r.get(1024), None);
}

#[test]
fn page_runs_break_where_pages_stop_continuing() {
    let pages = vec![
        fp(1, 5),
        fp(1, 6),
        fp(1, 8), // a gap
        fp(2, 9), // another folio
        fp(2, 9), // the same page twice
        PageRef::Zero,
        PageRef::Zero, // zero pages repeat
        PageRef::HugeZero { page: 3 },
        PageRef::HugeZero { page: 4 },
    ];
    let r: PageRuns = pages.iter().copied().collect();
    let shape: Vec<u64> = r.runs().iter().map(|x| x.len).collect();
    assert_eq!(shape, [2, 1, 1, 1, 2, 2]);
    assert_eq!(r.to_vec(), pages);
    for (i, p) in pages.iter().enumerate() {
        assert_eq!(r.get(i as u64), Some(*p));
    }
    // Clipped runs cover exactly the asked indexes.
    for s in 0..=pages.len() as u64 {
        for e in s..=pages.len() as u64 + 1 {
            let got: Vec<PageRef> = r
                .runs_in(s, e)
                .flat_map(|x| (0..x.len).map(move |k| x.first.advanced(k)))
                .collect();
            let e = (e as usize).min(pages.len());
            assert_eq!(got, pages[s as usize..e], "[{s}, {e})");
        }
    }
    assert_eq!(r.runs_in(1, 1).count(), 0);
    assert_eq!(r.runs_in(3, 1).count(), 0);
    let mut both = r.clone();
    both.append(r.clone());
    assert_eq!(both.to_vec(), [pages.clone(), pages].concat());
}
