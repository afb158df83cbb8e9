use std::collections::BTreeMap;

use mmdiff_core::state::{FolioId, MirrorTag, PageRef};

use super::MirrorTable;

fn fp(f: u64, page: u32) -> PageRef {
    PageRef::Folio {
        folio: FolioId(f),
        page,
    }
}

/// The table address by address.
fn entries(m: &MirrorTable) -> BTreeMap<u64, (PageRef, MirrorTag)> {
    m.iter().map(|(a, t, tag)| (a, (t, tag))).collect()
}

/// The oracle's form of the same changes: one entry per address.
type Model = BTreeMap<u64, (PageRef, MirrorTag)>;

fn assert_same(m: &MirrorTable, model: &Model) {
    assert_eq!(&entries(m), model);
    for (&a, &e) in model {
        assert_eq!(m.get(a), Some(e), "address {a}");
    }
    // The folio index names exactly the runs there are.
    let indexed: Vec<(FolioId, u64)> = m.by_folio.iter().copied().collect();
    let mut want: Vec<(FolioId, u64)> = m
        .runs
        .iter()
        .filter_map(|(&s, r)| match r.target {
            PageRef::Folio { folio, .. } => Some((folio, s)),
            _ => None,
        })
        .collect();
    want.sort();
    assert_eq!(indexed, want);
}

#[test]
fn a_device_thp_is_one_run_and_lookups_at_its_ends_work() {
    let mut m = MirrorTable::default();
    m.insert_run(1024, 512, fp(1, 0), MirrorTag::Write);
    m.insert_run(1536, 512, fp(2, 0), MirrorTag::Write);
    assert_eq!(m.run_count(), 2);
    assert_eq!(m.get(1023), None);
    assert_eq!(m.get(1024), Some((fp(1, 0), MirrorTag::Write)));
    assert_eq!(m.get(1535), Some((fp(1, 511), MirrorTag::Write)));
    assert_eq!(m.get(1536), Some((fp(2, 0), MirrorTag::Write)));
    assert_eq!(m.get(2047), Some((fp(2, 511), MirrorTag::Write)));
    assert_eq!(m.get(2048), None);
}

#[test]
fn removing_inside_a_run_splits_it_and_reinserting_merges_it_back() {
    let mut m = MirrorTable::default();
    m.insert_run(0, 512, fp(1, 0), MirrorTag::Read);
    m.remove_range(100, 110);
    assert_eq!(m.run_count(), 2);
    assert_eq!(m.get(99), Some((fp(1, 99), MirrorTag::Read)));
    assert_eq!(m.get(100), None);
    assert_eq!(m.get(109), None);
    assert_eq!(m.get(110), Some((fp(1, 110), MirrorTag::Read)));
    for a in 100..110 {
        m.insert(a, (fp(1, a as u32), MirrorTag::Read));
    }
    assert_eq!(m.run_count(), 1);
    // Another tag or a page that does not continue: three runs.
    m.insert(200, (fp(1, 200), MirrorTag::Atomic));
    assert_eq!(m.run_count(), 3);
    m.insert(200, (fp(1, 200), MirrorTag::Read));
    assert_eq!(m.run_count(), 1);
    m.insert(300, (fp(1, 7), MirrorTag::Read));
    assert_eq!(m.run_count(), 3);
    assert_eq!(m.remove(300), Some((fp(1, 7), MirrorTag::Read)));
    assert_eq!(m.remove(300), None);
}

#[test]
fn forgetting_a_folio_drops_its_runs_only() {
    let mut m = MirrorTable::default();
    m.insert_run(0, 4, fp(1, 0), MirrorTag::Write);
    m.insert_run(4, 4, fp(2, 0), MirrorTag::Write);
    m.insert(8, (fp(1, 4), MirrorTag::Write));
    m.remove_folio(FolioId(1));
    let want: Model = (4..8)
        .map(|a| (a, (fp(2, a as u32 - 4), MirrorTag::Write)))
        .collect();
    assert_same(&m, &want);
}

#[test]
fn repointing_a_split_folio_follows_each_page() {
    let mut m = MirrorTable::default();
    m.insert_run(0, 4, fp(1, 0), MirrorTag::Write);
    m.insert(4, (PageRef::Zero, MirrorTag::Read));
    m.repoint(FolioId(1), |r| match r {
        PageRef::Folio { page, .. } => fp(10 + page as u64, 0),
        other => other,
    });
    let mut want: Model = (0..4)
        .map(|a| (a, (fp(10 + a, 0), MirrorTag::Write)))
        .collect();
    want.insert(4, (PageRef::Zero, MirrorTag::Read));
    assert_same(&m, &want);
    // Re-pointing onto the same folio keeps every page.
    m.insert_run(8, 4, fp(3, 0), MirrorTag::Read);
    m.insert_run(12, 4, fp(3, 8), MirrorTag::Read);
    m.repoint(FolioId(3), |r| match r {
        PageRef::Folio { page, .. } => fp(3, page + 100),
        other => other,
    });
    for a in 8..12 {
        want.insert(a, (fp(3, a as u32 - 8 + 100), MirrorTag::Read));
    }
    for a in 12..16 {
        want.insert(a, (fp(3, a as u32 - 12 + 108), MirrorTag::Read));
    }
    assert_same(&m, &want);
}

#[test]
fn runs_in_clips_to_the_range() {
    let mut m = MirrorTable::default();
    m.insert_run(10, 10, fp(1, 0), MirrorTag::Read);
    m.insert_run(30, 5, fp(2, 0), MirrorTag::Write);
    let got: Vec<(u64, u64, PageRef)> = m
        .runs_in(15, 32)
        .map(|(a, r)| (a, r.len, r.target))
        .collect();
    assert_eq!(got, [(15, 5, fp(1, 5)), (30, 2, fp(2, 0))]);
    assert_eq!(m.runs_in(20, 30).count(), 0);
    // Empty ranges meet nothing, even inside a run.
    assert_eq!(m.runs_in(15, 15).count(), 0);
    assert_eq!(m.runs_in(16, 12).count(), 0);
    assert_eq!(m.runs_in(0, 11).map(|(_, r)| r.len).sum::<u64>(), 1);
}

/// splitmix64: a deterministic stream for the randomized comparison.
fn next(s: &mut u64) -> u64 {
    *s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *s;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[test]
fn the_table_follows_a_per_address_map_under_random_changes() {
    let mut seed = 0x4d4d;
    let tags = [MirrorTag::Read, MirrorTag::Write, MirrorTag::Atomic];
    for _ in 0..50 {
        let mut m = MirrorTable::default();
        let mut model = Model::new();
        for _ in 0..200 {
            let a = next(&mut seed) % 64;
            let n = 1 + next(&mut seed) % 12;
            let tag = tags[(next(&mut seed) % 3) as usize];
            let f = next(&mut seed) % 3;
            let page = (next(&mut seed) % 16) as u32;
            match next(&mut seed) % 6 {
                0 | 1 => {
                    m.insert_run(a, n, fp(f, page), tag);
                    for k in 0..n {
                        model.insert(a + k, (fp(f, page + k as u32), tag));
                    }
                }
                2 => {
                    let t = if f == 0 { PageRef::Zero } else { fp(f, page) };
                    m.insert(a, (t, tag));
                    model.insert(a, (t, tag));
                }
                3 => {
                    m.remove_range(a, a + n);
                    model.retain(|&k, _| !(a..a + n).contains(&k));
                }
                4 => {
                    let want = model.remove(&a);
                    assert_eq!(m.remove(a), want);
                }
                _ => {
                    m.remove_folio(FolioId(f));
                    model.retain(|_, (t, _)| !matches!(t, PageRef::Folio { folio, .. } if *folio == FolioId(f)));
                }
            }
            assert_same(&m, &model);
            // Adjacent runs that continue each other were merged.
            let runs: Vec<_> = m.runs.iter().map(|(&s, &r)| (s, r)).collect();
            for w in runs.windows(2) {
                let ((s, r), (s2, r2)) = (w[0], w[1]);
                let continues =
                    s + r.len == s2 && r.tag == r2.tag && r.target.advanced(r.len) == r2.target;
                assert!(!continues, "unmerged runs at {s} and {s2}");
            }
        }
    }
}
