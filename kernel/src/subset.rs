//! Which ops the kernel engine can run: the system-call subset of the op
//! language, as user space can trigger it.
//!
//! Everything else is *not expressible* and is skipped explicitly, with a
//! reason and a count per op kind ([`crate::Report::skipped`]); nothing is
//! ever dropped silently.

use mmdiff_core::op::{
    Advice, DevId, FsKind, GupFlags, MapKind, Op, OpKind, ProcId, Zone, PMD_PAGES,
};
use mmdiff_core::state::{Entry, HugeHint, Memory, ObjId, State, Target, VmaKind, VmaState};
use mmdiff_core::Config;

use crate::env::Environment;

/// The system-call subset: what any Linux runs from user space.
const SYSCALL_KINDS: [OpKind; 14] = [
    OpKind::Mmap,
    OpKind::Munmap,
    OpKind::Mprotect,
    OpKind::Madvise,
    OpKind::Mremap,
    OpKind::Fork,
    OpKind::Exit,
    OpKind::File,
    OpKind::Read,
    OpKind::Write,
    OpKind::ClearSoftDirty,
    OpKind::Gup,
    OpKind::Release,
    OpKind::DmaRead,
];

/// The ioctls of the HMM test driver (where it exists, see
/// [`kind_available`]).
const DRIVER_KINDS: [OpKind; 9] = [
    OpKind::DevRead,
    OpKind::DevWrite,
    OpKind::DevSnapshot,
    OpKind::MigrateToDev,
    OpKind::MigrateToSys,
    OpKind::DevRelease,
    OpKind::DevClose,
    OpKind::DevExclusive,
    OpKind::DevCheckExclusive,
];

/// The op kinds the kernel engine can run (some only with certain
/// arguments, see [`support`]): the `--allow` list of a kernel campaign.
pub const EXPRESSIBLE_KINDS: [OpKind; 23] = {
    let mut all = [OpKind::Mmap; 23];
    let mut i = 0;
    while i < SYSCALL_KINDS.len() {
        all[i] = SYSCALL_KINDS[i];
        i += 1;
    }
    while i < all.len() {
        all[i] = DRIVER_KINDS[i - SYSCALL_KINDS.len()];
        i += 1;
    }
    all
};

/// Whether `env` can run some op of `kind` at all: the device ops need
/// the HMM test driver.
pub fn kind_available(kind: OpKind, env: &Environment) -> bool {
    let device = DRIVER_KINDS.contains(&kind);
    EXPRESSIBLE_KINDS.contains(&kind) && (!device || !env.hmm_devices.is_empty())
}

/// How the kernel engine takes a `gup` with these flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GupPath {
    /// `gup get fast`: `vmsplice` into pipes, which hold the references.
    Splice,
    /// `gup pin [write] longterm [fast]`: gup_test's long-term pin set
    /// (`PIN_LONGTERM_TEST_START`), held until `release`.
    LongtermPin,
    /// Any other valid combination: one gup_test request that takes the
    /// pages and puts them back (`GUP_BASIC_TEST`, `GUP_FAST_BENCHMARK`,
    /// `PIN_BASIC_TEST`, `PIN_FAST_BENCHMARK`); only a gup released by
    /// the very next op is compared ([`support_in`]).
    OneShot,
    /// Not run, and why.
    No(&'static str),
}

/// The way a `gup` with `flags` runs, whatever the machine has.
pub(crate) fn gup_path(flags: GupFlags) -> GupPath {
    let splice = GupFlags {
        fast: true,
        ..GupFlags::default()
    };
    if flags == splice {
        GupPath::Splice
    } else if flags.longterm && !flags.pin {
        GupPath::No("FOLL_LONGTERM without FOLL_PIN is refused by is_valid_gup_args with a warning; gup_test's requests would not report the EINVAL")
    } else if flags.longterm && (flags.force || flags.nofault) {
        GupPath::No("gup_test's long-term pin set (PIN_LONGTERM_TEST_START) takes only FOLL_WRITE and the fast variant, not FOLL_FORCE or FOLL_NOFAULT")
    } else if flags.longterm {
        GupPath::LongtermPin
    } else {
        GupPath::OneShot
    }
}

/// Why a one-shot gup without a releasing next op is not compared.
const HELD_GUP: &str = "a get or pin held across ops needs kernel code: gup_test's one-shot ioctls take and put back the pages in one call, so only a gup released by the next op (`release` of its handle, not dirty) is compared";

/// Whether the kernel engine runs `op` on `env`: `Err(reason)` when it
/// cannot. A one-shot `gup` ([`GupPath::OneShot`]) passes here when the
/// machine has gup_test; whether the next op releases it is
/// [`support_in`]'s business.
pub fn support(op: &Op, env: &Environment) -> Result<(), &'static str> {
    match op {
        Op::Mmap { kind, zone, .. } => {
            if *kind == MapKind::Special {
                return Err("special (VM_IO|VM_PFNMAP) mappings need a driver");
            }
            if *zone != Zone::Normal {
                return Err("user space cannot choose the zone of new pages");
            }
            Ok(())
        }
        Op::Munmap { .. }
        | Op::Mprotect { .. }
        | Op::Madvise { .. }
        | Op::Mremap { .. }
        | Op::Fork { .. }
        | Op::Exit { .. }
        | Op::Read { .. }
        | Op::Write { .. }
        | Op::DmaRead { .. } => Ok(()),
        // Without CONFIG_MEM_SOFT_DIRTY `clear_refs` 4 write-protects
        // nothing (`clear_soft_dirty` is empty) but still invalidates
        // device mirrors; the models always write-protect.
        Op::ClearSoftDirty { .. } if env.soft_dirty => Ok(()),
        Op::ClearSoftDirty { .. } => {
            Err("CONFIG_MEM_SOFT_DIRTY is off: clear_refs write-protects nothing (the models always do)")
        }
        Op::File { fs, .. } => match fs {
            FsKind::Tmpfs => Ok(()),
            FsKind::Ext4 if env.disk_dir.is_some() => Ok(()),
            FsKind::Ext4 => Err("no disk filesystem for ext4 files"),
        },
        Op::Gup { flags, .. } => match gup_path(*flags) {
            GupPath::Splice => Ok(()),
            GupPath::LongtermPin | GupPath::OneShot if env.gup_test => Ok(()),
            GupPath::LongtermPin => {
                Err("long-term pins need the kernel's GUP test interface (CONFIG_GUP_TEST)")
            }
            GupPath::OneShot => Err("only `gup get fast` (vmsplice's read-only get_user_pages_fast) is user-space triggerable without the kernel's GUP test interface (CONFIG_GUP_TEST)"),
            GupPath::No(why) => Err(why),
        },
        Op::DevRead { d, .. }
        | Op::DevWrite { d, .. }
        | Op::DevSnapshot { d, .. }
        | Op::MigrateToDev { d, .. }
        | Op::MigrateToSys { d, .. }
        | Op::DevExclusive { d, .. }
        | Op::DevCheckExclusive { d, .. }
        | Op::DevRelease { d }
        | Op::DevClose { d, .. } => {
            if env.hmm_devices.contains(&d.0) {
                Ok(())
            } else {
                Err("no HMM test driver device (lib/test_hmm.c, /dev/hmm_dmirror<d>) here")
            }
        }
        Op::Release { dirty: false, .. } => Ok(()),
        Op::Release { dirty: true, .. } => {
            Err("dirtying released pages needs set_page_dirty_lock from kernel code")
        }
        other => Err(reason(other.kind())),
    }
}

/// [`support`], and then what depends on the state the op meets (the
/// oracle's `state` before it): an op the kernel would answer with
/// something the models do not have is not compared either.
///
/// - `MADV_COLLAPSE` over shmem (anonymous shared mappings, tmpfs files)
///   collapses the page cache into a shmem THP (`collapse_file`, even with
///   `shmem_enabled=never`); the models' shmem folios are small.
/// - `migrate-to-dev` needs device pages the models' pool may not have:
///   test_hmm adds a 256 MiB chunk whenever its free pages run out (also
///   after `HMM_DMIRROR_RELEASE`), the models' device has
///   `device_pages` and allocates nothing once released.
/// - `dev-read` / `dev-write` by device `d` that must fault (a page of
///   the range is not in `d`'s mirror of the process) over a page that is
///   `d`'s own device-private page: 6.12's `dmirror_do_fault` stores the
///   device-private page itself in the mirror (not its backing page), and
///   the copy that follows (`memcpy_from_page`) reads a pfn with no
///   kernel mapping: the guest oopses. The models read the page's data.
/// - A long-term pin through `gup_test` while another is held (one pin
///   set kernel-wide), or over a range not inside one VMA and its file's
///   size: gup_test
///   calls `pin_user_pages` again after a partial pin, fails, and unpins
///   everything, where the models' `gup` keeps the pages it got.
/// - Any other `gup` but `gup get fast` unless `next`, the op that follows
///   it in the scenario, releases its handle (not dirty): gup_test's
///   one-shot requests put the pages back in the same call, which is a
///   `gup` and that `release` together.
/// - `dev-exclusive` before Linux 6.15 over a page a large folio maps, or
///   that a fault could map by a THP: 6.12's `make_device_exclusive_range`
///   fails tail pages and converts every mapping of a large folio at its
///   head page, and later rmap walks meet those entries as if present;
///   only small folios are compared. Nor over a device-coherent page:
///   6.12's eviction restores a device-exclusive entry of the page it
///   evicts as if it were a migration entry (`remove_migration_ptes`).
pub fn support_in(
    op: &Op,
    next: Option<&Op>,
    env: &Environment,
    state: &State,
    config: &Config,
) -> Result<(), &'static str> {
    support(op, env)?;
    if let Op::Gup { h, flags, .. } = op {
        let released = matches!(next, Some(Op::Release { h: x, dirty: false }) if x == h);
        if gup_path(*flags) == GupPath::OneShot && !released {
            return Err(HELD_GUP);
        }
    }
    if let Op::DevExclusive { p, range, .. } = op {
        if !config.kernel.device_exclusive_keeps_mapcount() {
            if let Some((start, end)) = config.abs_range(range) {
                if may_meet_large_folio(state, env, *p, start, end) {
                    return Err("6.12's make_device_exclusive_range fails tail pages and converts every mapping of a large folio at its head page; later rmap walks meet those entries as if present (fixed by the 6.15 rework): only small folios are compared");
                }
                if maps_device_memory(state, *p, start, end) {
                    return Err("6.12's device eviction (migrate_device_range) restores a device-exclusive entry of the device page it evicts as if it were a migration entry (remove_migration_ptes, PVMW_MIGRATION; fixed by the 6.15 rework): only system memory is compared");
                }
            }
        }
    }
    if let Op::DevRead { d, p, range } | Op::DevWrite { d, p, range, .. } = op {
        if let Some((start, end)) = config.abs_range(range) {
            if faults_own_device_page(state, *d, *p, start, end) {
                return Err("6.12's test_hmm maps its own device-private page itself on a fault and oopses copying it (dmirror_do_fault)");
            }
        }
    }
    if let Op::Gup {
        p,
        range,
        flags:
            GupFlags {
                pin: true,
                longterm: true,
                ..
            },
        ..
    } = op
    {
        if state
            .handles
            .iter()
            .any(|x| x.flags.pin && x.flags.longterm)
        {
            return Err("gup_test holds one long-term pin set at a time, kernel-wide");
        }
        let whole = config.abs_range(range).is_some_and(|(start, end)| {
            state
                .procs
                .iter()
                .filter(|x| x.id == *p)
                .flat_map(|x| &x.vmas)
                .any(|v| v.start <= start && end <= v.end && within_eof(v, end, state))
        });
        if !whole {
            return Err("gup_test retries a partial pin and then unpins everything; the models keep the part pinned: only ranges inside one VMA (and a file's size) are compared");
        }
    }
    if let Op::MigrateToDev { d, range, .. } = op {
        let short = state.devices.iter().any(|x| {
            x.id == *d && (x.released || x.pool_free < u64::from(range.end - range.start))
        });
        if short {
            return Err("the models' device memory is short (released, or fewer free pages than the range); test_hmm would add a chunk");
        }
    }
    if let Op::Madvise {
        p,
        range,
        advice: Advice::Collapse,
    } = op
    {
        let (Some((start, end)), Some(proc)) = (
            config.abs_range(range),
            state.procs.iter().find(|x| x.id == *p),
        ) else {
            return Ok(());
        };
        let shmem = proc
            .vmas
            .iter()
            .any(|v| v.start < end && start < v.end && is_shmem(v, state));
        if shmem {
            return Err("MADV_COLLAPSE of shmem makes a shmem THP (collapse_file); the models' shmem folios are small");
        }
    }
    Ok(())
}

/// The entries of process `p` in `[start, end)`, page by page (pages
/// without one left out).
fn entries_in(state: &State, p: ProcId, start: u64, end: u64) -> Vec<Entry> {
    let Some(proc) = state.procs.iter().find(|x| x.id == p) else {
        return Vec::new();
    };
    proc.entries
        .iter()
        .flat_map(|run| {
            let first = run.start.max(start);
            let last = (run.start + u64::from(run.len)).min(end);
            (first..last).map(move |page| run.entry.advanced((page - run.start) as u32))
        })
        .collect()
}

/// The memory of the folio a present or device-private entry maps.
fn folio_memory(state: &State, entry: &Entry) -> Option<Memory> {
    match entry {
        Entry::Present {
            target: Target::Folio { folio, .. },
            ..
        }
        | Entry::DevicePrivate {
            target: Target::Folio { folio, .. },
            ..
        } => state.folios.get(folio).map(|f| f.memory),
        _ => None,
    }
}

/// Whether device `d`'s access to `[start, end)` of process `p` faults
/// (a page without an entry in `d`'s mirror of `p`) over one of `d`'s own
/// device-private pages.
fn faults_own_device_page(state: &State, d: DevId, p: ProcId, start: u64, end: u64) -> bool {
    let Some(dev) = state.devices.iter().find(|x| x.id == d) else {
        return false;
    };
    let mirrored = dev
        .mirrors
        .iter()
        .filter(|m| m.proc == p)
        .flat_map(|m| m.entries.iter().map(|e| e.page))
        .filter(|page| (start..end).contains(page))
        .count();
    if mirrored as u64 == end - start {
        return false;
    }
    entries_in(state, p, start, end).iter().any(|e| {
        matches!(e, Entry::DevicePrivate { .. })
            && folio_memory(state, e) == Some(Memory::Device(d))
    })
}

/// Whether process `p` maps a device page (device-coherent memory) in
/// `[start, end)`.
fn maps_device_memory(state: &State, p: ProcId, start: u64, end: u64) -> bool {
    entries_in(state, p, start, end).iter().any(|e| {
        matches!(e, Entry::Present { .. })
            && matches!(folio_memory(state, e), Some(Memory::Device(_)))
    })
}

/// Whether `[start, end)` of process `p` has a page that a large folio
/// maps (a THP, the huge zero page), or that lies in an aligned block,
/// wholly inside an anonymous private VMA, where a fault could map a THP or
/// a multi-size THP ([`large_fault_blocks`]).
fn may_meet_large_folio(state: &State, env: &Environment, p: ProcId, start: u64, end: u64) -> bool {
    let Some(proc) = state.procs.iter().find(|x| x.id == p) else {
        return false;
    };
    let mapped_large = entries_in(state, p, start, end).iter().any(|e| match e {
        Entry::Present {
            target: Target::HugeZero { .. },
            ..
        } => true,
        Entry::Present {
            target: Target::Folio { folio, .. },
            ..
        } => state.folios.get(folio).is_some_and(|f| f.order > 0),
        _ => false,
    });
    let fault_large = proc
        .vmas
        .iter()
        .filter(|v| v.kind == VmaKind::AnonPrivate && v.start < end && start < v.end)
        .any(|v| {
            large_fault_blocks(env, v.hint).into_iter().any(|n| {
                (start / n..end.div_ceil(n)).any(|b| v.start <= b * n && (b + 1) * n <= v.end)
            })
        });
    mapped_large || fault_large
}

/// The sizes in pages of the large folios an anonymous fault could map in
/// a VMA with `hint`: each THP size whose mode allows it (`always`: unless
/// `MADV_NOHUGEPAGE`; `madvise`: with `MADV_HUGEPAGE`; `inherit`: as the
/// top-level `enabled`; `never`: no), or, where the sizes are not known,
/// the PMD size under `enabled`. An unknown mode (not probed) allows it
/// unless the VMA says `MADV_NOHUGEPAGE`.
fn large_fault_blocks(env: &Environment, hint: HugeHint) -> Vec<u64> {
    let enabled = env.thp.enabled.as_str();
    let allows = |mode: &str| {
        let mode = if mode == "inherit" { enabled } else { mode };
        match mode {
            "never" => false,
            "madvise" => hint == HugeHint::Huge,
            _ => hint != HugeHint::NoHuge,
        }
    };
    let page_kb = (env.page_size / 1024).max(4);
    if env.thp.sizes.is_empty() {
        return if allows(enabled) {
            vec![u64::from(PMD_PAGES)]
        } else {
            Vec::new()
        };
    }
    env.thp
        .sizes
        .iter()
        .filter(|(_, mode)| allows(mode))
        .map(|(kb, _)| (kb / page_kb).max(1))
        .collect()
}

/// Whether the pages of `v` before `end` lie within its file (a file
/// page past the end of the file cannot be pinned: SIGBUS); mappings of
/// anything else always do.
fn within_eof(v: &VmaState, end: u64, state: &State) -> bool {
    match (v.kind, v.backing) {
        (VmaKind::FilePrivate | VmaKind::FileShared, Some((obj, first))) => state
            .objects
            .iter()
            .find(|o| o.id == obj)
            .is_some_and(|o| first + (end - v.start) <= o.pages),
        _ => true,
    }
}

/// Whether `v` maps shmem: an anonymous shared mapping or a tmpfs file.
fn is_shmem(v: &VmaState, state: &State) -> bool {
    match (v.kind, v.backing) {
        (VmaKind::AnonShared, _) => true,
        (VmaKind::FilePrivate | VmaKind::FileShared, Some((ObjId::File(f), _))) => state
            .objects
            .iter()
            .any(|o| o.id == ObjId::File(f) && o.fs == Some(FsKind::Tmpfs)),
        _ => false,
    }
}

fn reason(kind: OpKind) -> &'static str {
    match kind {
        OpKind::UffdWp => "userfaultfd write-protect is not driven by the kernel engine yet",
        OpKind::DmaWrite => "vmsplice references are read-only: nothing can write through them",
        OpKind::Reclaim => "global reclaim cannot be triggered deterministically from user space",
        OpKind::SplitThp => "split-thp (debugfs split_huge_pages) is not driven yet",
        OpKind::Lock | OpKind::Unlock => "an external folio-lock holder is kernel code",
        OpKind::CmaEvacuate => "CMA evacuation is kernel-internal",
        OpKind::FailAlloc => "allocation-failure injection needs fault-injection hooks",
        OpKind::IommuPrereg | OpKind::IommuTranslate | OpKind::IommuUnreg => {
            "powerpc IOMMU preregistration (VFIO SPAPR) is not available"
        }
        OpKind::DevFailAlloc => {
            "HMM_DMIRROR_FLAGS (fail-alloc) is newer than the 6.12 guest's test_hmm"
        }
        k if DRIVER_KINDS.contains(&k) => "needs the lib/test_hmm.c driver (/dev/hmm_dmirror*)",
        _ => "a kernel-internal API (hmm_range_fault, interval notifiers, the migrate_vma_* phases): test_hmm reaches it only inside its ioctls",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The oracle's canonical state after `text` (default config).
    fn state_after(text: &str) -> State {
        use mmdiff_core::Model;
        let mut o = mmdiff_oracle::Oracle::new(&Config::default());
        for op in mmdiff_core::text::parse(text)
            .expect("scenario parses")
            .ops()
        {
            o.apply(&op);
        }
        mmdiff_core::canon::canonicalize(&o.raw_state()).0
    }

    /// The one op of `text`.
    fn op(text: &str) -> Op {
        mmdiff_core::text::parse(text).expect("op parses").ops()[0].clone()
    }
    use mmdiff_core::op::{HandleId, PageRange, ProcId, Prot, SlotId};

    #[test]
    fn the_subset_is_the_syscall_ops_and_vmsplice() {
        let env = Environment::default();
        let range = PageRange::new(SlotId(0), 0, 1);
        let mmap = |kind, zone| Op::Mmap {
            p: ProcId(0),
            slot: SlotId(0),
            at: 0,
            pages: 1,
            kind,
            prot: Prot::RW,
            zone,
            foff: 0,
        };
        assert_eq!(support(&mmap(MapKind::Anon, Zone::Normal), &env), Ok(()));
        assert!(support(&mmap(MapKind::Special, Zone::Normal), &env).is_err());
        assert!(support(&mmap(MapKind::Anon, Zone::Cma), &env).is_err());
        let gup = |flags| Op::Gup {
            p: ProcId(0),
            range,
            h: HandleId(0),
            flags,
        };
        let fast = GupFlags {
            fast: true,
            ..GupFlags::default()
        };
        assert_eq!(support(&gup(fast), &env), Ok(()));
        assert!(support(&gup(GupFlags { pin: true, ..fast }), &env).is_err());
        let longterm = GupFlags {
            pin: true,
            longterm: true,
            write: true,
            ..GupFlags::default()
        };
        assert!(support(&gup(longterm), &env).is_err(), "no gup_test here");
        let gup_test = Environment {
            gup_test: true,
            ..Environment::default()
        };
        assert_eq!(support(&gup(longterm), &gup_test), Ok(()));
        assert!(support(
            &gup(GupFlags {
                write: true,
                ..fast
            }),
            &env
        )
        .is_err());
        let ext4 = Op::File {
            f: mmdiff_core::op::FileId(0),
            fs: FsKind::Ext4,
            pages: 1,
        };
        assert!(support(&ext4, &env).is_err(), "no disk directory known");
        let with_disk = Environment {
            disk_dir: Some(("/var/tmp".into(), "ext4".into())),
            ..Environment::default()
        };
        assert_eq!(support(&ext4, &with_disk), Ok(()));
        assert!(support(&Op::Reclaim, &env).is_err());
        assert!(!EXPRESSIBLE_KINDS.contains(&OpKind::Reclaim));
        assert!(EXPRESSIBLE_KINDS.contains(&OpKind::Gup));
    }

    #[test]
    fn collapse_of_shmem_is_not_compared() {
        use mmdiff_core::Model;
        let env = Environment::default();
        let config = Config::default();
        let text = "mmap p0 m0 anon-shared rw pages=512\nmmap p0 m1 anon rw pages=512\n\
                    file f0 tmpfs pages=512\nmmap p0 m2 file-private f0 rw pages=512\n";
        let mut oracle = mmdiff_oracle::Oracle::new(&config);
        for op in mmdiff_core::text::parse(text).expect("parses").ops() {
            oracle.apply(&op);
        }
        let (state, _) = mmdiff_core::canon::canonicalize(&oracle.raw_state());
        let collapse = |slot| Op::Madvise {
            p: ProcId(0),
            range: PageRange::new(SlotId(slot), 0, 512),
            advice: Advice::Collapse,
        };
        assert!(support_in(&collapse(0), None, &env, &state, &config).is_err());
        assert_eq!(
            support_in(&collapse(1), None, &env, &state, &config),
            Ok(())
        );
        assert!(support_in(&collapse(2), None, &env, &state, &config).is_err());
        let dontneed = Op::Madvise {
            p: ProcId(0),
            range: PageRange::new(SlotId(0), 0, 512),
            advice: Advice::DontNeed,
        };
        assert_eq!(support_in(&dontneed, None, &env, &state, &config), Ok(()));
    }

    #[test]
    fn device_ops_the_guest_cannot_take_are_skipped_by_state() {
        let env = Environment {
            hmm_devices: vec![0, 1, 2, 3],
            ..Environment::default()
        };
        let config = Config::default();
        let migrated = state_after(
            "mmap p0 m0 anon rw pages=2\nwrite p0 m0[0..2] = 1\nmigrate-to-dev dev0 p0 m0[0..2]\n",
        );
        // The mirror holds both pages: a read copies their backing pages.
        let read = op("dev-read dev0 p0 m0[0..2]\n");
        assert_eq!(support_in(&read, None, &env, &migrated, &config), Ok(()));
        // After fork the mirror is emptied (COW write-protection): the read
        // must fault, over dev0's own device-private pages.
        let forked = state_after(
            "mmap p0 m0 anon rw pages=2\nwrite p0 m0[0..2] = 1\nmigrate-to-dev dev0 p0 m0[0..2]\nfork p0 -> p1\n",
        );
        assert!(support_in(&read, None, &env, &forked, &config).is_err());
        assert!(support_in(
            &op("dev-write dev0 p0 m0[1] = 3\n"),
            None,
            &env,
            &forked,
            &config
        )
        .is_err());
        // Another device faults the page back to RAM: fine.
        assert_eq!(
            support_in(
                &op("dev-read dev1 p0 m0[0..2]\n"),
                None,
                &env,
                &forked,
                &config
            ),
            Ok(())
        );
        // More pages than the models' device has free.
        let big = op("migrate-to-dev dev1 p0 m0[0..4096]\n");
        assert!(support_in(&big, None, &env, &forked, &config).is_err());
        let released = state_after("mmap p0 m0 anon rw pages=1\ndev-release dev1\n");
        let small = op("migrate-to-dev dev1 p0 m0[0]\n");
        assert!(support_in(&small, None, &env, &released, &config).is_err());
        assert_eq!(support_in(&small, None, &env, &forked, &config), Ok(()));
        // Without the driver nothing of it runs.
        assert!(support(&small, &Environment::default()).is_err());
    }

    #[test]
    fn long_term_pins_run_one_at_a_time_inside_one_vma() {
        let env = Environment {
            gup_test: true,
            ..Environment::default()
        };
        let config = Config::default();
        let two_vmas = state_after("mmap p0 m0 anon rw pages=2\nmmap p0 m0 anon r pages=2 at=2\n");
        let inside = op("gup p0 m0[0..2] pin write longterm -> h0\n");
        assert_eq!(support_in(&inside, None, &env, &two_vmas, &config), Ok(()));
        let across = op("gup p0 m0[0..4] pin write longterm -> h0\n");
        assert!(support_in(&across, None, &env, &two_vmas, &config).is_err());
        let file = state_after("file f0 tmpfs pages=1\nmmap p0 m0 file-shared f0 rw pages=4\n");
        let first = op("gup p0 m0[0] pin write longterm -> h0\n");
        assert_eq!(support_in(&first, None, &env, &file, &config), Ok(()));
        let past_eof = op("gup p0 m0[0..2] pin write longterm -> h0\n");
        assert!(support_in(&past_eof, None, &env, &file, &config).is_err());
        let pinned = state_after(
            "mmap p0 m0 anon rw pages=2\nwrite p0 m0[0..2] = 1\ngup p0 m0[0..2] pin longterm -> h0\n",
        );
        let second = op("gup p0 m0[0..1] pin longterm -> h1\n");
        assert!(support_in(&second, None, &env, &pinned, &config).is_err());
        // vmsplice handles are not gup_test's.
        let spliced = state_after(
            "mmap p0 m0 anon rw pages=2\nwrite p0 m0[0..2] = 1\ngup p0 m0[0..2] get fast -> h0\n",
        );
        assert_eq!(support_in(&second, None, &env, &spliced, &config), Ok(()));
    }
    #[test]
    fn a_one_shot_gup_runs_only_when_the_next_op_releases_it() {
        let env = Environment {
            gup_test: true,
            ..Environment::default()
        };
        let config = Config::default();
        let state = state_after(
            "mmap p0 m0 anon rw pages=2\nmmap p0 m0 anon r pages=2 at=2\nwrite p0 m0[0..2] = 1\n",
        );
        let gup = op("gup p0 m0[0..2] pin write -> h0\n");
        let release = op("release h0\n");
        let check = |gup: &Op, next: Option<&Op>| support_in(gup, next, &env, &state, &config);
        assert_eq!(check(&gup, Some(&release)), Ok(()));
        assert_eq!(check(&gup, None), Err(HELD_GUP));
        assert_eq!(check(&gup, Some(&op("release h1\n"))), Err(HELD_GUP));
        assert_eq!(check(&gup, Some(&op("release h0 dirty\n"))), Err(HELD_GUP));
        assert_eq!(check(&gup, Some(&op("dma-read h0[0..2]\n"))), Err(HELD_GUP));
        // Every valid combination but `get fast` and long-term pins goes
        // one-shot: get or pin, slow or fast, write, force, nofault.
        for flags in [
            "get",
            "get write",
            "get fast write",
            "get force",
            "get nofault",
            "pin",
            "pin fast",
            "pin write force",
            "pin fast nofault",
        ] {
            let g = op(&format!("gup p0 m0[0..4] {flags} -> h0\n"));
            assert_eq!(check(&g, Some(&release)), Ok(()), "{flags}");
            assert_eq!(check(&g, None), Err(HELD_GUP), "{flags}");
            // Without gup_test nothing of it runs.
            assert!(
                support_in(&g, Some(&release), &Environment::default(), &state, &config).is_err(),
                "{flags}"
            );
        }
        // `get fast` keeps its pipes, a long-term pin its pin set: held
        // across ops, whatever follows.
        assert_eq!(check(&op("gup p0 m0[0..2] get fast -> h0\n"), None), Ok(()));
        assert_eq!(
            check(&op("gup p0 m0[0..2] pin write longterm -> h0\n"), None),
            Ok(())
        );
        // Never run: FOLL_LONGTERM without FOLL_PIN, and long-term pins
        // with flags PIN_LONGTERM_TEST_START cannot pass.
        for flags in ["get longterm", "pin longterm force", "pin longterm nofault"] {
            let g = op(&format!("gup p0 m0[0] {flags} -> h0\n"));
            assert!(check(&g, Some(&release)).is_err(), "{flags}");
        }
        // One-shot pins are not gup_test's pin set: a range across VMAs
        // (the count is exact) and a long-term pin held meanwhile are fine.
        let pinned = state_after(
            "mmap p0 m0 anon rw pages=2\nwrite p0 m0[0..2] = 1\ngup p0 m0[0..2] pin longterm -> h0\n",
        );
        let one_shot = op("gup p0 m0[0..4] pin -> h1\n");
        assert_eq!(
            support_in(&one_shot, Some(&op("release h1\n")), &env, &pinned, &config),
            Ok(())
        );
    }

    #[test]
    fn device_exclusive_before_6_15_is_compared_on_small_folios_only() {
        let env = Environment {
            hmm_devices: vec![0],
            thp: crate::env::ThpFacts {
                enabled: "madvise".into(),
                sizes: vec![(64, "never".into()), (2048, "inherit".into())],
                ..Default::default()
            },
            page_size: 4096,
            ..Environment::default()
        };
        let old = Config {
            kernel: mmdiff_core::KernelVersion::new(6, 12),
            ..Config::default()
        };
        let new = Config::default();
        let small = state_after("mmap p0 m0 anon rw pages=1024\nwrite p0 m0[0..1024] = 1\n");
        let excl = op("dev-exclusive dev0 p0 m0[0..1024]\n");
        assert_eq!(support_in(&excl, None, &env, &small, &old), Ok(()));
        assert_eq!(
            support_in(
                &op("dev-check-exclusive dev0 p0 m0[0..4]\n"),
                None,
                &env,
                &small,
                &old
            ),
            Ok(())
        );
        // A THP mapped in the range.
        let thp = state_after(
            "mmap p0 m0 anon rw pages=1024\nmadvise p0 m0[0..512] hugepage\nwrite p0 m0[0] = 1\n\
             mmap p0 m1 anon rw pages=1\n",
        );
        let over_thp = op("dev-exclusive dev0 p0 m0[3]\n");
        assert!(support_in(&over_thp, None, &env, &thp, &old).is_err());
        assert_eq!(support_in(&over_thp, None, &env, &thp, &new), Ok(()));
        // A hole in a MADV_HUGEPAGE block wholly inside the VMA: the fault
        // could map a THP. Outside that block, under `madvise`, it cannot.
        let advised =
            state_after("mmap p0 m0 anon rw pages=1024\nmadvise p0 m0[0..512] hugepage\n");
        assert!(support_in(
            &op("dev-exclusive dev0 p0 m0[7]\n"),
            None,
            &env,
            &advised,
            &old
        )
        .is_err());
        assert_eq!(
            support_in(
                &op("dev-exclusive dev0 p0 m0[600]\n"),
                None,
                &env,
                &advised,
                &old
            ),
            Ok(())
        );
        // Under `always` any block wholly inside an anonymous VMA could get
        // one, unless the VMA says MADV_NOHUGEPAGE; a block the VMA only
        // partly covers cannot.
        let always = Environment {
            thp: crate::env::ThpFacts {
                enabled: "always".into(),
                ..Default::default()
            },
            ..env.clone()
        };
        assert!(support_in(&excl, None, &always, &small, &old).is_err());
        let partial = state_after("mmap p0 m0 anon rw pages=100\n");
        assert_eq!(
            support_in(
                &op("dev-exclusive dev0 p0 m0[0..100]\n"),
                None,
                &always,
                &partial,
                &old
            ),
            Ok(())
        );
        let nohuge =
            state_after("mmap p0 m0 anon rw pages=512\nmadvise p0 m0[0..512] nohugepage\n");
        assert_eq!(
            support_in(
                &op("dev-exclusive dev0 p0 m0[0..512]\n"),
                None,
                &always,
                &nohuge,
                &old
            ),
            Ok(())
        );
        // An enabled multi-size THP (64 KiB) makes 16-page blocks count.
        let mthp = Environment {
            thp: crate::env::ThpFacts {
                enabled: "madvise".into(),
                sizes: vec![(64, "always".into()), (2048, "inherit".into())],
                ..Default::default()
            },
            ..env.clone()
        };
        assert!(support_in(
            &op("dev-exclusive dev0 p0 m0[0..100]\n"),
            None,
            &mthp,
            &partial,
            &old
        )
        .is_err());
        // A device-coherent page in the range (dev2: coherent memory).
        let coherent = state_after(
            "mmap p0 m0 anon rw pages=4\nwrite p0 m0[0..4] = 1\nmigrate-to-dev dev2 p0 m0[2]\n",
        );
        let over_coherent = op("dev-exclusive dev0 p0 m0[0..4]\n");
        assert!(support_in(&over_coherent, None, &env, &coherent, &old)
            .is_err_and(|why| why.contains("remove_migration_ptes")));
        assert_eq!(
            support_in(
                &op("dev-exclusive dev0 p0 m0[0..2]\n"),
                None,
                &env,
                &coherent,
                &old
            ),
            Ok(())
        );
        assert_eq!(
            support_in(&over_coherent, None, &env, &coherent, &new),
            Ok(())
        );
        // Without the driver it does not run at all.
        assert!(support(&excl, &Environment::default()).is_err());
        assert!(kind_available(OpKind::DevExclusive, &env));
        assert!(EXPRESSIBLE_KINDS.contains(&OpKind::DevCheckExclusive));
    }
}
