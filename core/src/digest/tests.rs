use super::*;
use crate::canon::canonicalize;
use crate::canon::fixtures::{hmm_state, sample_state};
use crate::canon::scramble::{arb_abstract, realize, Rng};
use crate::op::{GupFlags, HandleId, LockId, MigrateSelect, Prot, Zone};
use crate::outcome::{Errno, HmmPfn, PfnRuns};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// The digest does not depend on raw id choices, on where runs are
    /// cut or on the order items are listed in, and it is the digest of
    /// the canonical state.
    #[test]
    fn of_state_ignores_ids_and_run_cuts(seed in any::<u64>(), s1 in any::<u64>(), s2 in any::<u64>()) {
        let abstract_state = arb_abstract(seed);
        let r1 = realize(&abstract_state, &mut Rng(s1));
        let r2 = realize(&abstract_state, &mut Rng(s2));
        let d = of_state(&abstract_state);
        prop_assert_eq!(of_state(&r1), d);
        prop_assert_eq!(of_state(&r2), d);
        let (c1, _) = canonicalize(&r1);
        prop_assert_eq!(of_state(&c1), d);
    }
}

#[test]
fn the_fixtures_digest_like_their_realizations() {
    for st in [sample_state(), hmm_state()] {
        let d = of_state(&st);
        assert_eq!(of_state(&canonicalize(&st).0), d);
        for seed in 0..50 {
            let raw = realize(&st, &mut Rng(seed));
            assert_eq!(of_state(&raw), d, "seed {seed}");
            assert_eq!(of_state(&canonicalize(&raw).0), d, "seed {seed}");
        }
    }
}

#[test]
fn digests_are_stable_across_runs() {
    // A fixed value: the digest must not depend on the process (no random
    // hasher state), so that saved digests stay comparable.
    assert_eq!(of_state(&sample_state()), of_state(&sample_state()));
    assert_eq!(hash_of(&(1u64, 2u8)), hash_of(&(1u64, 2u8)));
    assert_ne!(hash_of(&1u64), hash_of(&2u64));
}

#[test]
fn add_and_remove_are_inverse() {
    let st = sample_state();
    let mut d = of_state(&st);
    let f = &st.folios[&FolioId(3)];
    d.remove(folio_hash(f));
    let mut changed = f.clone();
    changed.dirty = !changed.dirty;
    d.folio(&changed);
    let mut expected = st.clone();
    expected.folios.insert(changed.id, changed);
    assert_eq!(d, of_state(&expected));
    let rest = of_rest(&st);
    assert_ne!(rest, of_state(&st));
}

type Change = (&'static str, fn(&mut State));

fn folio_mut(st: &mut State, id: u64) -> &mut FolioState {
    st.folios.get_mut(&FolioId(id)).expect("fixture folio")
}

fn first_present_bits(st: &mut State) -> &mut PteBits {
    st.procs[0]
        .entries
        .iter_mut()
        .find_map(|r| match &mut r.entry {
            Entry::Present { bits, .. } => Some(bits),
            _ => None,
        })
        .expect("a present entry")
}

/// One change per field of the plain sample state.
const SAMPLE_CHANGES: &[Change] = &[
    ("folio.order", |s| folio_mut(s, 1).order = 9),
    ("folio.memory", |s| {
        folio_mut(s, 1).memory = Memory::Zone(Zone::Cma)
    }),
    ("folio.refcount", |s| folio_mut(s, 1).refcount += 1),
    ("folio.mapcount", |s| folio_mut(s, 1).mapcount += 1),
    ("folio.entire_mapcount", |s| {
        folio_mut(s, 0).entire_mapcount += 1
    }),
    ("folio.pincount", |s| folio_mut(s, 0).pincount += 1),
    ("folio.locked", |s| folio_mut(s, 1).locked ^= true),
    ("folio.lru", |s| folio_mut(s, 1).lru ^= true),
    ("folio.anon", |s| folio_mut(s, 1).anon ^= true),
    ("folio.swapbacked", |s| folio_mut(s, 1).swapbacked ^= true),
    ("folio.dirty", |s| folio_mut(s, 1).dirty ^= true),
    ("folio.swapcache", |s| folio_mut(s, 2).swapcache = None),
    ("folio.mapping", |s| {
        if let Some((_, i)) = &mut folio_mut(s, 3).mapping {
            *i += 1;
        }
    }),
    ("folio.anon_exclusive", |s| {
        folio_mut(s, 0).anon_exclusive[7] ^= true
    }),
    ("folio.contents", |s| folio_mut(s, 0).contents[100] += 1),
    ("folio removed", |s| {
        s.folios.remove(&FolioId(4));
    }),
    ("entry.write", |s| first_present_bits(s).write ^= true),
    ("entry.dirty", |s| first_present_bits(s).dirty ^= true),
    ("entry.young", |s| first_present_bits(s).young ^= true),
    ("entry.soft_dirty", |s| {
        first_present_bits(s).soft_dirty ^= true
    }),
    ("entry.uffd_wp", |s| first_present_bits(s).uffd_wp ^= true),
    ("entry.page", |s| s.procs[0].entries[1].start += 1),
    ("entry removed", |s| {
        s.procs[0].entries.pop();
    }),
    ("swap entry.exclusive", |s| {
        for r in &mut s.procs[0].entries {
            if let Entry::Swap { exclusive, .. } = &mut r.entry {
                *exclusive ^= true;
                return;
            }
        }
        panic!("no swap entry")
    }),
    ("proc.has_pinned", |s| s.procs[0].has_pinned ^= true),
    ("vma.start", |s| s.procs[0].vmas[0].start += 1),
    ("vma.end", |s| s.procs[0].vmas[0].end -= 1),
    ("vma.kind", |s| {
        s.procs[0].vmas[0].kind = VmaKind::AnonShared
    }),
    ("vma.backing", |s| {
        if let Some((_, off)) = &mut s.procs[0].vmas[2].backing {
            *off += 1;
        }
    }),
    ("vma.prot", |s| s.procs[0].vmas[0].prot = Prot::R),
    ("vma.hint", |s| s.procs[0].vmas[0].hint = HugeHint::NoHuge),
    ("vma.dontfork", |s| s.procs[0].vmas[0].dontfork ^= true),
    ("vma.zone", |s| s.procs[0].vmas[0].zone = Zone::Movable),
    ("vma.uffd_wp", |s| s.procs[0].vmas[0].uffd_wp ^= true),
    ("vma.soft_dirty", |s| s.procs[0].vmas[0].soft_dirty ^= true),
    ("vma.anon_vma", |s| s.procs[0].vmas[0].anon_vma ^= true),
    ("object.fs", |s| {
        s.objects[0].fs = Some(crate::op::FsKind::Tmpfs)
    }),
    ("object.pages", |s| s.objects[0].pages += 1),
    ("object.cache", |s| {
        let (f, k) = s.objects[0].cache.remove(&1).expect("cache[1]");
        s.objects[0].cache.insert(2, (f, k));
    }),
    ("object.backing", |s| {
        *s.objects[0].backing.values_mut().next().expect("backing") += 1
    }),
    ("swap.count", |s| {
        s.swap.values_mut().next().expect("slot").count += 1
    }),
    ("swap.cached", |s| {
        s.swap.values_mut().next().expect("slot").cached = None
    }),
    ("swap.contents", |s| {
        s.swap.values_mut().last().expect("slot").contents += 1
    }),
    ("zone_free", |s| s.zone_free[1] -= 1),
    ("handle.id", |s| s.handles[0].id = HandleId(9)),
    ("handle.flags", |s| {
        s.handles[0].flags = GupFlags {
            longterm: !s.handles[0].flags.longterm,
            ..s.handles[0].flags
        }
    }),
    ("handle.base", |s| s.handles[0].base += 1),
    ("handle.pages", |s| {
        s.handles[1].pages.pop();
    }),
    ("handle.page", |s| s.handles[1].pages[0] = PageRef::Zero),
    ("lock.id", |s| s.locks[0].id = LockId(3)),
    ("iommu.start", |s| s.iommu[0].start += 1),
    ("iommu.pageshift", |s| s.iommu[0].pageshift = 21),
    ("iommu.pages", |s| s.iommu[0].pages[0] = PageRef::Zero),
];

/// One change per device, session and notifier field of the HMM state.
const HMM_CHANGES: &[Change] = &[
    ("devpriv.write", |s| {
        if let Entry::DevicePrivate { write, .. } = &mut s.procs[0].entries[0].entry {
            *write ^= true;
        }
    }),
    ("devexcl.soft_dirty", |s| {
        if let Entry::DeviceExclusive { soft_dirty, .. } = &mut s.procs[0].entries[2].entry {
            *soft_dirty ^= true;
        }
    }),
    ("migration.kind", |s| {
        if let Entry::Migration { kind, .. } = &mut s.procs[0].entries[4].entry {
            *kind = MigKind::Read;
        }
    }),
    ("device.pool_total", |s| s.devices[0].pool_total += 1),
    ("device.pool_free", |s| s.devices[0].pool_free -= 1),
    ("device.pgmap_refs", |s| s.devices[0].pgmap_refs += 1),
    ("device.released", |s| s.devices[1].released ^= true),
    ("device.fail_alloc", |s| s.devices[1].fail_alloc ^= true),
    ("mirror.tag", |s| {
        s.devices[0].mirrors[0].entries[1].tag = MirrorTag::Write
    }),
    ("mirror.page", |s| {
        s.devices[0].mirrors[0].entries[3].page += 1
    }),
    ("mirror.target", |s| {
        s.devices[0].mirrors[0].entries[1].target = PageRef::Zero
    }),
    ("mirror removed", |s| s.devices[0].mirrors.clear()),
    ("session.phase", |s| {
        s.sessions[0].phase = MigratePhase::Migrated
    }),
    ("session.cpages", |s| s.sessions[0].cpages += 1),
    ("session.range", |s| s.sessions[0].end += 1),
    ("session.select", |s| {
        s.sessions[0].select = MigrateSelect {
            compound: true,
            ..s.sessions[0].select
        }
    }),
    ("session.owner", |s| s.sessions[0].owner = None),
    ("session.fault_page", |s| {
        s.sessions[0].fault_page = Some(PageRef::Zero)
    }),
    ("session.src", |s| s.sessions[0].src[1].write ^= true),
    ("session.dst", |s| s.sessions[0].dst[0] = None),
    ("notifier.stale", |s| s.notifiers[0].stale ^= true),
    ("notifier.range", |s| s.notifiers[0].start += 1),
];

#[test]
fn every_field_changes_the_digest() {
    for (base, changes) in [(sample_state(), SAMPLE_CHANGES), (hmm_state(), HMM_CHANGES)] {
        let d = of_state(&base);
        for (name, change) in changes {
            let mut st = base.clone();
            change(&mut st);
            assert_ne!(st, base, "{name}: the change must change the state");
            assert_ne!(of_state(&st), d, "{name}");
            // A change survives canonicalization, and so does its digest.
            assert_eq!(of_state(&canonicalize(&st).0), of_state(&st), "{name}");
        }
    }
}

/// The documented blind spot: which of two equal folios an entry maps.
#[test]
fn sharing_with_equal_counters_is_invisible() {
    let mut st = hmm_state();
    // F1 and F2 are equal small normal folios, each mapped once.
    for id in [1, 2] {
        folio_mut(&mut st, id).contents = vec![5];
    }
    let mut swapped = st.clone();
    let targets: Vec<Entry> = swapped.procs[0].entries[1..3]
        .iter()
        .map(|r| r.entry)
        .collect();
    // Swap the targets of m0[1] (present) and m0[2] (device-exclusive).
    swapped.procs[0].entries[1].entry = targets[0].with_target(Target::Folio {
        folio: FolioId(2),
        page: 0,
    });
    swapped.procs[0].entries[2].entry = targets[1].with_target(Target::Folio {
        folio: FolioId(1),
        page: 0,
    });
    assert_ne!(canonicalize(&st).0, canonicalize(&swapped).0);
    assert_eq!(of_state(&st), of_state(&swapped));
}

#[test]
fn outcome_hash_ignores_folio_ids_only() {
    let renames = Renames {
        folios: [(FolioId(70), FolioId(0)), (FolioId(9), FolioId(1))]
            .into_iter()
            .collect(),
        ..Renames::default()
    };
    let page = |folio, page| PageRef::Folio {
        folio: FolioId(folio),
        page,
    };
    let word = |p: Option<PageRef>| HmmPfn {
        valid: p.is_some(),
        write: true,
        error: false,
        order: 0,
        page: p,
    };
    let src = |p: Option<PageRef>| MigrateSrc {
        page: p,
        migrate: true,
        write: false,
        compound: false,
    };
    let raw = [
        Outcome::Ok(Payload::Translate {
            page: page(70, 3),
            shift: 12,
        }),
        Outcome::Ok(Payload::Pfns(
            vec![
                word(Some(page(9, 0))),
                word(None),
                word(Some(PageRef::Zero)),
            ]
            .into(),
        )),
        Outcome::Ok(Payload::Migrate {
            cpages: 2,
            src: vec![src(Some(page(70, 0))), src(None)],
        }),
        Outcome::count(3),
        Outcome::Err(Errno::EFAULT),
        Outcome::OK,
    ];
    for o in &raw {
        let renamed = o.renamed(&renames);
        assert_eq!(outcome_hash(o), outcome_hash(&renamed), "{o:?}");
    }
    // Anything but a folio id counts.
    let distinct = [
        Outcome::OK,
        Outcome::count(3),
        Outcome::count(4),
        Outcome::Err(Errno::EFAULT),
        Outcome::Err(Errno::ENOMEM),
        Outcome::Blocked { page: 1 },
        Outcome::Stuck,
        Outcome::Ok(Payload::Translate {
            page: page(70, 3),
            shift: 21,
        }),
        Outcome::Ok(Payload::Translate {
            page: page(70, 4),
            shift: 12,
        }),
        Outcome::Ok(Payload::Translate {
            page: PageRef::Zero,
            shift: 12,
        }),
        Outcome::Ok(Payload::Pfns(vec![word(Some(page(9, 0)))].into())),
        Outcome::Ok(Payload::Pfns(vec![word(Some(page(9, 1)))].into())),
        Outcome::Ok(Payload::Pfns(vec![word(None)].into())),
        Outcome::Ok(Payload::Migrate {
            cpages: 1,
            src: vec![src(Some(page(70, 0)))],
        }),
        Outcome::Ok(Payload::Migrate {
            cpages: 1,
            src: vec![src(None)],
        }),
        Outcome::Ok(Payload::Data {
            base: 0,
            values: vec![1, 2],
        }),
        Outcome::Ok(Payload::Data {
            base: 1,
            values: vec![1, 2],
        }),
    ];
    let hashes: std::collections::BTreeSet<u64> = distinct.iter().map(outcome_hash).collect();
    assert_eq!(hashes.len(), distinct.len());
}

#[test]
fn pfns_hash_is_a_function_of_the_words_without_folio_ids() {
    let word = |folio: u64, page: u32| HmmPfn {
        valid: true,
        write: true,
        error: false,
        order: 9,
        page: Some(PageRef::Folio {
            folio: FolioId(folio),
            page,
        }),
    };
    let pfns = |runs: &[(HmmPfn, u64)]| {
        let mut r = PfnRuns::new();
        runs.iter().for_each(|&(w, n)| r.push_run(w, n));
        Outcome::Ok(Payload::Pfns(r))
    };
    // One folio, or two whose pages continue each other: the same words
    // once the ids are gone, though not the same runs.
    let one = pfns(&[(word(1, 0), 1024)]);
    let two = pfns(&[(word(2, 0), 512), (word(3, 512), 512)]);
    let words: Vec<HmmPfn> = (0..1024).map(|i| word(4, i)).collect();
    let by_word = Outcome::Ok(Payload::Pfns(words.into()));
    assert_eq!(outcome_hash(&one), outcome_hash(&two));
    assert_eq!(outcome_hash(&one), outcome_hash(&by_word));
    // Any other word sequence differs: a page, a flag, the length.
    let distinct = [
        one,
        pfns(&[(word(1, 0), 1023)]),
        pfns(&[(word(1, 0), 512), (word(1, 513), 512)]),
        pfns(&[
            (word(1, 0), 512),
            (
                HmmPfn {
                    write: false,
                    ..word(1, 512)
                },
                512,
            ),
        ]),
        pfns(&[(word(1, 0), 512), (HmmPfn::default(), 512)]),
    ];
    let hashes: std::collections::BTreeSet<u64> = distinct.iter().map(outcome_hash).collect();
    assert_eq!(hashes.len(), distinct.len());
}
