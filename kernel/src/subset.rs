//! Which ops the kernel engine can run: the system-call subset of the op
//! language, as user space can trigger it.
//!
//! Everything else is *not expressible* and is skipped explicitly, with a
//! reason and a count per op kind ([`crate::Report::skipped`]); nothing is
//! ever dropped silently.

use mmdiff_core::op::{Advice, FsKind, GupFlags, MapKind, Op, OpKind, Zone};
use mmdiff_core::state::{ObjId, State, VmaKind, VmaState};
use mmdiff_core::Config;

use crate::env::Environment;

/// The op kinds the kernel engine can run (some only with certain
/// arguments, see [`support`]): the `--allow` list of a kernel campaign.
pub const EXPRESSIBLE_KINDS: [OpKind; 17] = [
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
    OpKind::DevRead,
    OpKind::DevWrite,
    OpKind::DevSnapshot,
];

/// Whether `env` can run some op of `kind` at all: the device ops need
/// the HMM test driver.
pub fn kind_available(kind: OpKind, env: &Environment) -> bool {
    let device = matches!(
        kind,
        OpKind::DevRead | OpKind::DevWrite | OpKind::DevSnapshot
    );
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
            if *flags == splice {
                Ok(())
            } else {
                Err("only `gup get fast` (vmsplice's read-only get_user_pages_fast) is user-space triggerable")
            }
        }
        Op::DevRead { d, .. } | Op::DevWrite { d, .. } | Op::DevSnapshot { d, .. } => {
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
pub fn support_in(
    op: &Op,
    env: &Environment,
    state: &State,
    config: &Config,
) -> Result<(), &'static str> {
    support(op, env)?;
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
        _ => "needs the lib/test_hmm.c driver (HMM, device memory, migrate_vma)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
}
