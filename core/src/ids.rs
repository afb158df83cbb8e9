//! The slot ids an op names, visited in one place: minimization renumbers
//! them by first use, and anything else that rewrites ids (a structure-aware
//! mutator) goes through the same visitor so that no op field is forgotten.

use crate::op::*;

/// The kinds of slot an op can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IdKind {
    Proc,
    Window,
    File,
    Handle,
    Lock,
    Iommu,
    Dev,
    Notifier,
    Session,
}

impl IdKind {
    pub const ALL: [IdKind; 9] = [
        IdKind::Proc,
        IdKind::Window,
        IdKind::File,
        IdKind::Handle,
        IdKind::Lock,
        IdKind::Iommu,
        IdKind::Dev,
        IdKind::Notifier,
        IdKind::Session,
    ];

    /// How many slots of this kind exist.
    pub fn count(self) -> u8 {
        match self {
            IdKind::Proc => ProcId::COUNT,
            IdKind::Window => SlotId::COUNT,
            IdKind::File => FileId::COUNT,
            IdKind::Handle => HandleId::COUNT,
            IdKind::Lock => LockId::COUNT,
            IdKind::Iommu => IommuId::COUNT,
            IdKind::Dev => DevId::COUNT,
            IdKind::Notifier => NotifierId::COUNT,
            IdKind::Session => SessionId::COUNT,
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

fn range(r: &mut PageRange, f: &mut impl FnMut(IdKind, &mut u8)) {
    f(IdKind::Window, &mut r.slot.0);
}

fn at(a: &mut PageAt, f: &mut impl FnMut(IdKind, &mut u8)) {
    f(IdKind::Window, &mut a.slot.0);
}

/// Calls `f` on every slot id `op` names, in the order the op's text
/// shows them.
pub fn for_each_id(op: &mut Op, mut f: impl FnMut(IdKind, &mut u8)) {
    let f = &mut f;
    match op {
        Op::Mmap { p, slot, kind, .. } => {
            f(IdKind::Proc, &mut p.0);
            f(IdKind::Window, &mut slot.0);
            if let MapKind::FilePrivate(file) | MapKind::FileShared(file) = kind {
                f(IdKind::File, &mut file.0);
            }
        }
        Op::Munmap { p, range: r }
        | Op::Mprotect { p, range: r, .. }
        | Op::Madvise { p, range: r, .. }
        | Op::Read { p, range: r }
        | Op::Write { p, range: r, .. }
        | Op::UffdWp { p, range: r, .. } => {
            f(IdKind::Proc, &mut p.0);
            range(r, f);
        }
        Op::Mremap { p, range: r, to } => {
            f(IdKind::Proc, &mut p.0);
            range(r, f);
            at(to, f);
        }
        Op::Fork { p, child } => {
            f(IdKind::Proc, &mut p.0);
            f(IdKind::Proc, &mut child.0);
        }
        Op::Exit { p } | Op::ClearSoftDirty { p } => f(IdKind::Proc, &mut p.0),
        Op::File { f: file, .. } => f(IdKind::File, &mut file.0),
        Op::Gup { p, range: r, h, .. } => {
            f(IdKind::Proc, &mut p.0);
            range(r, f);
            f(IdKind::Handle, &mut h.0);
        }
        Op::Release { h, .. } | Op::DmaRead { h, .. } | Op::DmaWrite { h, .. } => {
            f(IdKind::Handle, &mut h.0)
        }
        Op::Reclaim | Op::CmaEvacuate | Op::FailAlloc { .. } => {}
        Op::SplitThp { p, at: a } => {
            f(IdKind::Proc, &mut p.0);
            at(a, f);
        }
        Op::Lock { x, p, at: a } => {
            f(IdKind::Lock, &mut x.0);
            f(IdKind::Proc, &mut p.0);
            at(a, f);
        }
        Op::Unlock { x } => f(IdKind::Lock, &mut x.0),
        Op::IommuPrereg { i, p, range: r } => {
            f(IdKind::Iommu, &mut i.0);
            f(IdKind::Proc, &mut p.0);
            range(r, f);
        }
        Op::IommuTranslate { i, .. } | Op::IommuUnreg { i } => f(IdKind::Iommu, &mut i.0),
        Op::HmmFault {
            p,
            range: r,
            owner,
            seq,
            ..
        } => {
            f(IdKind::Proc, &mut p.0);
            range(r, f);
            if let Some(d) = owner {
                f(IdKind::Dev, &mut d.0);
            }
            if let Some(n) = seq {
                f(IdKind::Notifier, &mut n.0);
            }
        }
        Op::Notifier { n, p, range: r } => {
            f(IdKind::Notifier, &mut n.0);
            f(IdKind::Proc, &mut p.0);
            range(r, f);
        }
        Op::ReadBegin { n } | Op::ReadRetry { n } => f(IdKind::Notifier, &mut n.0),
        Op::MigrateSetup {
            s,
            p,
            range: r,
            owner,
            ..
        } => {
            f(IdKind::Session, &mut s.0);
            f(IdKind::Proc, &mut p.0);
            range(r, f);
            if let Some(d) = owner {
                f(IdKind::Dev, &mut d.0);
            }
        }
        Op::MigrateAlloc { s, dest, .. } => {
            f(IdKind::Session, &mut s.0);
            if let MigrateDest::Device(d) = dest {
                f(IdKind::Dev, &mut d.0);
            }
        }
        Op::MigratePages { s } | Op::MigrateFinalize { s } => f(IdKind::Session, &mut s.0),
        Op::DevRead { d, p, range: r }
        | Op::DevWrite { d, p, range: r, .. }
        | Op::MigrateToDev { d, p, range: r }
        | Op::MigrateToSys { d, p, range: r }
        | Op::DevSnapshot { d, p, range: r }
        | Op::DevExclusive { d, p, range: r }
        | Op::DevCheckExclusive { d, p, range: r } => {
            f(IdKind::Dev, &mut d.0);
            f(IdKind::Proc, &mut p.0);
            range(r, f);
        }
        Op::DevRelease { d } | Op::DevFailAlloc { d } => f(IdKind::Dev, &mut d.0),
        Op::DevClose { d, p } => {
            f(IdKind::Dev, &mut d.0);
            f(IdKind::Proc, &mut p.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text;

    fn ids(line: &str) -> Vec<(IdKind, u8)> {
        let mut op = text::parse_op(line).expect("test op parses");
        let mut out = Vec::new();
        for_each_id(&mut op, |k, id| out.push((k, *id)));
        out
    }

    #[test]
    fn every_id_of_an_op_is_visited_in_text_order() {
        use IdKind::*;
        assert_eq!(
            ids("mmap p1 m3 file-shared f2 rw pages=4"),
            [(Proc, 1), (Window, 3), (File, 2)]
        );
        assert_eq!(
            ids("mremap p2 m1[0..4] -> m5[8]"),
            [(Proc, 2), (Window, 1), (Window, 5)]
        );
        assert_eq!(
            ids("gup p0 m2[0..4] pin -> h7"),
            [(Proc, 0), (Window, 2), (Handle, 7)]
        );
        assert_eq!(ids("lock x3 p1 m4[2]"), [(Lock, 3), (Proc, 1), (Window, 4)]);
        assert_eq!(ids("migrate-alloc s2 dev1"), [(Session, 2), (Dev, 1)]);
        assert_eq!(ids("migrate-alloc s2 sys"), [(Session, 2)]);
        assert_eq!(ids("dev-close dev3 p2"), [(Dev, 3), (Proc, 2)]);
        assert_eq!(ids("reclaim"), []);
    }

    #[test]
    fn rewriting_ids_changes_exactly_those_fields() {
        let mut op = text::parse_op("hmm-fault p1 m2[0..4] write owner=dev1 seq=n3")
            .expect("test op parses");
        for_each_id(&mut op, |k, id| {
            if k != IdKind::Window {
                *id = 0;
            }
        });
        assert_eq!(
            text::op_to_string(&op),
            "hmm-fault p0 m2[0..4] write owner=dev0 seq=n0"
        );
    }
}
