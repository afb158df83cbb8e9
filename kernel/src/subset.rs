//! Which ops the kernel engine can run: the system-call subset of the op
//! language, as user space can trigger it.
//!
//! Everything else is *not expressible* and is skipped explicitly, with a
//! reason and a count per op kind ([`crate::Report::skipped`]); nothing is
//! ever dropped silently.

use mmdiff_core::op::{Advice, DevId, FsKind, GupFlags, MapKind, Op, OpKind, ProcId, Zone};
use mmdiff_core::state::{Entry, Memory, ObjId, State, Target, VmaKind, VmaState};
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
const DRIVER_KINDS: [OpKind; 7] = [
    OpKind::DevRead,
    OpKind::DevWrite,
    OpKind::DevSnapshot,
    OpKind::MigrateToDev,
    OpKind::MigrateToSys,
    OpKind::DevRelease,
    OpKind::DevClose,
];

/// The op kinds the kernel engine can run (some only with certain
/// arguments, see [`support`]): the `--allow` list of a kernel campaign.
pub const EXPRESSIBLE_KINDS: [OpKind; 21] = {
    let mut all = [OpKind::Mmap; 21];
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

/// Whether the kernel engine runs `op` on `env`: `Err(reason)` when it
/// cannot.
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
        Op::Gup { flags, .. } => {
            let splice = GupFlags {
                fast: true,
                ..GupFlags::default()
            };
            let longterm_pin = flags.pin && flags.longterm && !flags.force && !flags.nofault;
            if *flags == splice || (longterm_pin && env.gup_test) {
                Ok(())
            } else if longterm_pin {
                Err("long-term pins need the kernel's GUP test interface (CONFIG_GUP_TEST)")
            } else {
                Err("only `gup get fast` (vmsplice's read-only get_user_pages_fast) and long-term pins through gup_test are user-space triggerable")
            }
        }
        Op::DevRead { d, .. }
        | Op::DevWrite { d, .. }
        | Op::DevSnapshot { d, .. }
        | Op::MigrateToDev { d, .. }
        | Op::MigrateToSys { d, .. }
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
pub fn support_in(
    op: &Op,
    env: &Environment,
    state: &State,
    config: &Config,
) -> Result<(), &'static str> {
    support(op, env)?;
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
        flags: GupFlags { pin: true, .. },
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

/// Whether device `d`'s access to `[start, end)` of process `p` faults
/// (a page without an entry in `d`'s mirror of `p`) over one of `d`'s own
/// device-private pages.
fn faults_own_device_page(state: &State, d: DevId, p: ProcId, start: u64, end: u64) -> bool {
    let Some(dev) = state.devices.iter().find(|x| x.id == d) else {
        return false;
    };
    let mirrored: Vec<u64> = dev
        .mirrors
        .iter()
        .filter(|m| m.proc == p)
        .flat_map(|m| m.entries.iter().map(|e| e.page))
        .filter(|page| (start..end).contains(page))
        .collect();
    if mirrored.len() as u64 == end - start {
        return false;
    }
    let Some(proc) = state.procs.iter().find(|x| x.id == p) else {
        return false;
    };
    proc.entries.iter().any(|run| {
        (0..u64::from(run.len)).any(|i| {
            let page = run.start + i;
            let own = match run.entry.advanced(i as u32) {
                Entry::DevicePrivate {
                    target: Target::Folio { folio, .. },
                    ..
                } => state
                    .folios
                    .get(&folio)
                    .is_some_and(|f| f.memory == Memory::Device(d)),
                _ => false,
            };
            own && (start..end).contains(&page)
        })
    })
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
        OpKind::DevExclusive | OpKind::DevCheckExclusive => {
            "device-exclusive entries before the 6.15 rework drop the mapcount; not modelled"
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
        assert!(support_in(&collapse(0), &env, &state, &config).is_err());
        assert_eq!(support_in(&collapse(1), &env, &state, &config), Ok(()));
        assert!(support_in(&collapse(2), &env, &state, &config).is_err());
        let dontneed = Op::Madvise {
            p: ProcId(0),
            range: PageRange::new(SlotId(0), 0, 512),
            advice: Advice::DontNeed,
        };
        assert_eq!(support_in(&dontneed, &env, &state, &config), Ok(()));
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
        assert_eq!(support_in(&read, &env, &migrated, &config), Ok(()));
        // After fork the mirror is emptied (COW write-protection): the read
        // must fault, over dev0's own device-private pages.
        let forked = state_after(
            "mmap p0 m0 anon rw pages=2\nwrite p0 m0[0..2] = 1\nmigrate-to-dev dev0 p0 m0[0..2]\nfork p0 -> p1\n",
        );
        assert!(support_in(&read, &env, &forked, &config).is_err());
        assert!(support_in(&op("dev-write dev0 p0 m0[1] = 3\n"), &env, &forked, &config).is_err());
        // Another device faults the page back to RAM: fine.
        assert_eq!(
            support_in(&op("dev-read dev1 p0 m0[0..2]\n"), &env, &forked, &config),
            Ok(())
        );
        // More pages than the models' device has free.
        let big = op("migrate-to-dev dev1 p0 m0[0..4096]\n");
        assert!(support_in(&big, &env, &forked, &config).is_err());
        let released = state_after("mmap p0 m0 anon rw pages=1\ndev-release dev1\n");
        let small = op("migrate-to-dev dev1 p0 m0[0]\n");
        assert!(support_in(&small, &env, &released, &config).is_err());
        assert_eq!(support_in(&small, &env, &forked, &config), Ok(()));
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
        assert_eq!(support_in(&inside, &env, &two_vmas, &config), Ok(()));
        let across = op("gup p0 m0[0..4] pin write longterm -> h0\n");
        assert!(support_in(&across, &env, &two_vmas, &config).is_err());
        let file = state_after("file f0 tmpfs pages=1\nmmap p0 m0 file-shared f0 rw pages=4\n");
        let first = op("gup p0 m0[0] pin write longterm -> h0\n");
        assert_eq!(support_in(&first, &env, &file, &config), Ok(()));
        let past_eof = op("gup p0 m0[0..2] pin write longterm -> h0\n");
        assert!(support_in(&past_eof, &env, &file, &config).is_err());
        let pinned = state_after(
            "mmap p0 m0 anon rw pages=2\nwrite p0 m0[0..2] = 1\ngup p0 m0[0..2] pin longterm -> h0\n",
        );
        let second = op("gup p0 m0[0..1] pin longterm -> h1\n");
        assert!(support_in(&second, &env, &pinned, &config).is_err());
        // vmsplice handles are not gup_test's.
        let spliced = state_after(
            "mmap p0 m0 anon rw pages=2\nwrite p0 m0[0..2] = 1\ngup p0 m0[0..2] get fast -> h0\n",
        );
        assert_eq!(support_in(&second, &env, &spliced, &config), Ok(()));
    }
}
