use std::collections::BTreeSet;

use proptest::prelude::*;

use super::*;
use crate::op::LockId;
use crate::state::*;

use super::fixtures::*;
use super::scramble::*;

#[test]
fn sample_is_already_canonical() {
    let s = sample_state();
    let (c, r) = canonicalize(&s);
    assert_eq!(c, s, "\n{}", render(&c));
    assert!(r.folios.iter().all(|(a, b)| a == b));
    assert!(r.swap.iter().all(|(a, b)| a == b));
}

#[test]
fn render_sample() {
    let text = render(&sample_state());
    let expected = "\
p0 has-pinned
  vma m0[0..1024) anon rw hugepage zone=normal anon-vma soft-dirty
    m0[0..512)       pmd F0[0..512) w d a sd
    m0[512..513)     pte F1[0] w d a sd
    m0[513..1024)    pte zero a sd
  vma m0[1024..1030) anon rw zone=normal anon-vma soft-dirty
    m0[1024..1030)   swap S0-S5 excl sd
  vma m1[0..4) file-shared rw zone=normal soft-dirty backing=f0@0
    m1[0..1)         pte F3[0] w d a sd
f0 ext4 pages=16 cache [0]=F3[0] [1]=F4[0] backing [5..8)=42 [9]=1
F0 order=9 normal ref=4 map=1 entire=1 pin=1 lru anon swapbacked dirty excl data=[0..=511]
F1 order=0 normal ref=1025 map=1 lru anon swapbacked dirty excl data=512
F2 order=0 normal ref=1 map=0 lru anon swapbacked swapcache=S0 data=7
F3 order=0 normal ref=2 map=1 lru dirty mapping=f0@0 data=42
F4 order=0 normal ref=2 map=0 locked lru mapping=f0@1 data=0
S0 count=1 data=7 cached=F2
S1-S5 count=1 data=[8..=12]
zone normal free=15868/16384
zone movable free=4096/4096
zone cma free=4096/4096
h0 pin write longterm base=512: F1[0]
h1 get base=3: F0[3..5)
x0 F4
i0 p0 m0[0] shift=12: F0[0]
";
    assert_eq!(text, expected, "got:\n{text}");
}

#[test]
fn rle_forms() {
    assert_eq!(rle(&[0; 512], 512), "0");
    assert_eq!(rle(&[0; 3], 4), "[3*0]");
    assert_eq!(rle(&[5, 5, 6, 7, 8, 1, 9], 7), "[2*5,6..=8,1,9]");
    assert_eq!(rle(&[1, 2], 2), "[1,2]");
    assert_eq!(rle(&[u64::MAX, 0], 2), format!("[{},0]", u64::MAX));
    assert_eq!(rle(&[], 0), "[]");
    assert_eq!(page_label(2048, abs(3, 7)), "m3[7]");
    assert_eq!(page_label(2048, 5), "@5");
    assert_eq!(page_label(0, 5), "@5");
    assert_eq!(object_name(ObjId::Shm(2)), "shm2");
    assert_eq!(object_name(ObjId::Io(0)), "io0");
    assert_eq!(folio_name(FolioId(3)), "F3");
    assert_eq!(swap_name(SwapId(4)), "S4");
}

#[test]
fn scrambled_sample_canonicalizes_to_sample() {
    let s = sample_state();
    for seed in 0..50 {
        let mut rng = Rng(seed);
        let raw = realize(&s, &mut rng);
        let (c, r) = canonicalize(&raw);
        assert_eq!(render(&c), render(&s), "seed {seed}");
        assert_eq!(c, s, "seed {seed}");
        // The renames take every raw folio to its canonical name.
        for (rawid, f) in &raw.folios {
            let canon = &c.folios[&r.folios[rawid]];
            assert_eq!(canon.contents, f.contents);
        }
    }
}

#[test]
fn runs_split_at_windows_and_merge() {
    let mut s = sample_state();
    // One raw run crossing from window 0 into window 1: zero pages.
    s.procs[0].entries = vec![run(
        abs(0, 2040),
        16,
        Entry::Present {
            level: Level::Pte,
            target: Target::Zero,
            bits: bits(false),
        },
    )];
    let (c, _) = canonicalize(&s);
    let runs: Vec<(u64, u32)> = c.procs[0]
        .entries
        .iter()
        .map(|r| (r.start, r.len))
        .collect();
    assert_eq!(runs, vec![(abs(0, 2040), 8), (abs(1, 0), 8)]);
    // Pieces of one run, out of order, merge back.
    let e = present(Level::Pte, 1, 0, true);
    s.procs[0].entries = vec![
        run(abs(0, 3), 2, e.advanced(3)),
        run(abs(0, 0), 3, e),
        run(abs(0, 5), 0, e.advanced(5)),
    ];
    let (c, _) = canonicalize(&s);
    assert_eq!(
        c.procs[0].entries,
        vec![run(abs(0, 0), 5, present(Level::Pte, 0, 0, true))]
    );
}

#[test]
fn swap_runs_recut_and_merge_after_renaming() {
    let mut s = sample_state();
    s.folios.clear();
    s.handles.clear();
    s.locks.clear();
    s.iommu.clear();
    s.objects.clear();
    // Raw slots 90, 10, 11 at consecutive addresses: canonical S0, S1, S2
    // form one run; raw slots 10, 11 consecutive at the other end too.
    s.swap = [90, 10, 11]
        .into_iter()
        .map(|i| {
            (
                SwapId(i),
                SwapState {
                    id: SwapId(i),
                    count: 1,
                    cached: None,
                    contents: i,
                },
            )
        })
        .collect();
    s.procs[0].entries = vec![
        run(abs(0, 0), 1, swap_entry(90)),
        run(abs(0, 1), 2, swap_entry(10)),
    ];
    let (c, r) = canonicalize(&s);
    assert_eq!(c.procs[0].entries, vec![run(abs(0, 0), 3, swap_entry(0))]);
    assert_eq!(r.swap[&SwapId(90)], SwapId(0));
    assert_eq!(r.swap[&SwapId(11)], SwapId(2));
    assert_eq!(c.swap[&SwapId(0)].contents, 90);
}

#[test]
fn large_swapcache_block_stays_consecutive() {
    let mut s = sample_state();
    s.handles.clear();
    s.locks.clear();
    s.iommu.clear();
    s.objects.clear();
    let mut big = folio(77, 9);
    big.swapcache = Some(SwapId(1000));
    s.folios = [(big.id, big)].into_iter().collect();
    s.swap = (1000..1512)
        .map(|i| {
            let st = SwapState {
                id: SwapId(i),
                count: 1,
                cached: Some(FolioId(77)),
                contents: 0,
            };
            (st.id, st)
        })
        .collect();
    // The first entry refers to a middle slot of the block.
    s.procs[0].entries = vec![
        run(abs(0, 0), 1, swap_entry(1300)),
        run(abs(0, 5), 1, swap_entry(1000)),
    ];
    let (c, r) = canonicalize(&s);
    assert_eq!(r.swap[&SwapId(1000)], SwapId(0));
    assert_eq!(r.swap[&SwapId(1300)], SwapId(300));
    assert_eq!(c.folios[&FolioId(0)].swapcache, Some(SwapId(0)));
    assert_eq!(c.procs[0].entries[0].entry, swap_entry(300));
}

#[test]
fn leaked_folios_and_slots_come_last_ordered_by_content() {
    let mut s = sample_state();
    let mut a = folio(100, 0);
    a.contents = vec![9];
    let mut b = folio(50, 0);
    b.contents = vec![3];
    s.folios.insert(a.id, a);
    s.folios.insert(b.id, b);
    for (id, contents) in [(70, 4), (60, 8)] {
        s.swap.insert(
            SwapId(id),
            SwapState {
                id: SwapId(id),
                count: 0,
                cached: None,
                contents,
            },
        );
    }
    let (c, r) = canonicalize(&s);
    // Reachable F0..F4 keep their names; leaked: content 3 before 9.
    assert_eq!(r.folios[&FolioId(50)], FolioId(5));
    assert_eq!(r.folios[&FolioId(100)], FolioId(6));
    assert_eq!(r.swap[&SwapId(70)], SwapId(6));
    assert_eq!(r.swap[&SwapId(60)], SwapId(7));
    assert_eq!(canonicalize(&c).0, c);
}

#[test]
fn dangling_references_get_fresh_names() {
    let mut s = sample_state();
    s.locks.push(LockState {
        id: LockId(1),
        folio: FolioId(999),
    });
    if let Some(f) = s.folios.get_mut(&FolioId(4)) {
        f.mapping = Some((ObjId::Shm(55), 0));
    }
    let (c, r) = canonicalize(&s);
    assert_eq!(r.folios[&FolioId(999)], FolioId(5));
    assert_eq!(c.locks[1].folio, FolioId(5));
    assert_eq!(c.folios[&FolioId(4)].mapping, Some((ObjId::Shm(0), 0)));
    assert_eq!(canonicalize(&c).0, c);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Canonicalization ignores raw id choices and run cuts, is idempotent,
    /// and yields maximal window-bounded runs.
    #[test]
    fn canonical_form_is_independent_and_idempotent(seed in any::<u64>(), s1 in any::<u64>(), s2 in any::<u64>()) {
        let abs_state = arb_abstract(seed);
        let r1 = realize(&abs_state, &mut Rng(s1));
        let r2 = realize(&abs_state, &mut Rng(s2));
        let (c1, _) = canonicalize(&r1);
        let (c2, _) = canonicalize(&r2);
        prop_assert_eq!(render(&c1), render(&c2));
        prop_assert_eq!(&c1, &c2);
        let (cc, _) = canonicalize(&c1);
        prop_assert_eq!(&cc, &c1);
        assert_canonical_shape(&c1);
    }
}

/// The random states exercise what the independence test is about.
#[test]
fn abstract_states_cover_the_interesting_cases() {
    let (mut leaked, mut swap_runs, mut big_blocks, mut pmd, mut dangling) = (0, 0, 0, 0, 0);
    for seed in 0..400 {
        let st = arb_abstract(seed);
        let (c, _) = canonicalize(&st);
        let n_named = c.folios.len();
        let reached = collect_folio_ids(&st).len();
        if reached > n_named {
            dangling += 1;
        }
        if render(&c).contains("swap S") {
            swap_runs += 1;
        }
        if c.folios
            .values()
            .any(|f| f.order == 9 && f.swapcache.is_some())
        {
            big_blocks += 1;
        }
        if render(&c).contains(" pmd ") {
            pmd += 1;
        }
        // Leaked: in folios but referenced by nothing the traversal sees.
        let mut holders = BTreeSet::new();
        for p in &c.procs {
            for r in &p.entries {
                if let Entry::Present {
                    target: Target::Folio { folio, .. },
                    ..
                } = r.entry
                {
                    holders.insert(folio);
                }
            }
        }
        if c.folios.keys().any(|f| !holders.contains(f)) {
            leaked += 1;
        }
    }
    assert!(
        leaked > 50 && swap_runs > 50 && big_blocks > 10 && pmd > 50 && dangling > 10,
        "leaked {leaked} swap {swap_runs} big {big_blocks} pmd {pmd} dangling {dangling}"
    );
}

/// The random states also exercise the HMM parts: device memory, the new
/// entry kinds, mirror entries, sessions and notifiers.
#[test]
fn abstract_states_cover_the_hmm_cases() {
    let (mut dev_folios, mut hmm_entries, mut mirrors, mut sessions, mut notifiers) =
        (0, 0, 0, 0, 0);
    for seed in 0..400 {
        let st = arb_abstract(seed);
        let (c, _) = canonicalize(&st);
        dev_folios += c
            .folios
            .values()
            .any(|f| matches!(f.memory, Memory::Device(_))) as u32;
        hmm_entries += c.procs.iter().flat_map(|p| &p.entries).any(|r| {
            matches!(
                r.entry,
                Entry::Migration { .. }
                    | Entry::DevicePrivate { .. }
                    | Entry::DeviceExclusive { .. }
            )
        }) as u32;
        mirrors += c
            .devices
            .iter()
            .flat_map(|d| &d.mirrors)
            .any(|m| !m.entries.is_empty()) as u32;
        sessions += !c.sessions.is_empty() as u32;
        notifiers += !c.notifiers.is_empty() as u32;
    }
    assert!(
        dev_folios > 50 && hmm_entries > 50 && mirrors > 50 && sessions > 50 && notifiers > 50,
        "{dev_folios} {hmm_entries} {mirrors} {sessions} {notifiers}"
    );
}

/// Mirror entries and session pages are renamed with the folio map; the
/// traversal names them after IOMMU preregistrations, devices before
/// sessions; a migration entry names its folio like a present entry.
#[test]
fn device_tables_and_sessions_are_renamed_in_order() {
    use crate::op::{DevId, MigrateSelect, ProcId, SessionId};
    use crate::outcome::MigrateSrc;
    let fp = |f: u64, page: u32| PageRef::Folio {
        folio: FolioId(f),
        page,
    };
    let mut st = sample_state();
    // Raw ids 100 (session only), 200 (mirror only), 300 (migration entry).
    for id in [100, 200, 300] {
        let mut f = folio(id, 0);
        f.contents = vec![id];
        st.folios.insert(FolioId(id), f);
    }
    st.procs[0].entries.push(run(
        abs(2, 0),
        1,
        Entry::Migration {
            level: Level::Pte,
            target: Target::Folio {
                folio: FolioId(300),
                page: 0,
            },
            kind: MigKind::Write,
            young: false,
            dirty: false,
            soft_dirty: false,
            uffd_wp: false,
        },
    ));
    st.sessions.push(SessionState {
        id: SessionId(1),
        proc: ProcId(0),
        start: abs(0, 0),
        end: abs(0, 2),
        select: MigrateSelect::default(),
        owner: None,
        fault_page: None,
        phase: MigratePhase::Setup,
        cpages: 1,
        src: vec![
            MigrateSrc {
                page: Some(fp(100, 0)),
                migrate: true,
                ..MigrateSrc::default()
            },
            MigrateSrc::default(),
        ],
        dst: vec![None, None],
    });
    st.devices.push(DeviceState {
        id: DevId(0),
        pool_total: 2048,
        pool_free: 2048,
        pgmap_refs: 0,
        released: false,
        fail_alloc: false,
        mirrors: vec![MirrorState {
            proc: ProcId(0),
            entries: vec![
                MirrorEntry {
                    page: abs(0, 5),
                    target: fp(200, 0),
                    tag: MirrorTag::Read,
                },
                MirrorEntry {
                    page: abs(0, 1),
                    target: fp(0, 1),
                    tag: MirrorTag::Write,
                },
            ],
        }],
    });
    let (c, r) = canonicalize(&st);
    // The migration entry is p0's last entry: its folio comes right after
    // the sample's entry folios F0..F3 (and before the page-cache-only
    // sample folio, now F5); then the mirror's folio, then the session's.
    assert_eq!(r.folios[&FolioId(300)], FolioId(4));
    assert_eq!(r.folios[&FolioId(4)], FolioId(5));
    assert_eq!(r.folios[&FolioId(200)], FolioId(6));
    assert_eq!(r.folios[&FolioId(100)], FolioId(7));
    let m = &c.devices[0].mirrors[0];
    assert_eq!(m.entries[0].page, abs(0, 1), "entries sorted by address");
    assert_eq!(m.entries[1].target, fp(6, 0));
    assert_eq!(c.sessions[0].src[0].page, Some(fp(7, 0)));
    assert_eq!(canonicalize(&c).0, c);
    let text = render(&c);
    assert!(
        text.contains("    m2[0..1)         mig pte F4[0] w\n"),
        "{text}"
    );
    assert!(
        text.contains("dev0 free=2048/2048 refs=0\n  mirror p0\n    m0[1..2)         write F0[1]\n    m0[5..6)         read F6[0]\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "s1 p0 m0[0..2) setup select=none cpages=1\n  src [m:F7[0],-]\n  dst [2*-]\n"
        ),
        "{text}"
    );
}

#[test]
fn hmm_state_is_canonical_and_renders() {
    let st = hmm_state();
    let (c, _) = canonicalize(&st);
    assert_eq!(c, st, "\n{}", render(&c));
    let text = render(&st);
    let expected = "\
p0
  vma m0[0..1024) anon rw zone=normal anon-vma soft-dirty
    m0[0..1)         devpriv pte F0[0] w sd
    m0[1..2)         pte F1[0] w d a sd
    m0[2..3)         devexcl F2[0] sd
    m0[3..4)         pte F3[0] a sd
    m0[4..5)         mig pte F4[0] w d a sd
    m0[512..1024)    devpriv pmd F5[0..512) w
F0 order=0 dev0 ref=1 map=1 anon swapbacked excl data=7
F1 order=0 normal ref=1 map=1 lru anon swapbacked excl data=0
F2 order=0 normal ref=1 map=1 lru anon swapbacked excl data=0
F3 order=0 dev2 ref=1 map=1 anon swapbacked data=0
F4 order=0 normal ref=1 map=0 locked anon swapbacked data=4
F5 order=9 dev0 ref=1 map=1 entire=1 pin=0 anon swapbacked excl data=0
F6 order=0 dev0 ref=1 map=0 locked anon swapbacked data=4
zone normal free=16381/16384
zone movable free=4096/4096
zone cma free=4096/4096
dev0 free=1534/2048 refs=514
  mirror p0
    m0[0..1)         write F0[0]
    m0[1..2)         read F1[0]
    m0[2..3)         atomic F2[0]
    m0[4..5)         write F4[0]
dev1 free=2048/2048 refs=0
dev2 free=2047/2048 refs=1
s0 p0 m0[4..6) allocated select=system owner=dev0 cpages=2
  src [mw:F4[0],m]
  dst [F6[0],-]
n0 p0 m0[0..8) fresh
";
    assert_eq!(text, expected, "got:\n{text}");
}
