//! Each op of the op language, as the system call or kernel event it
//! stands for: argument checks first, then the rules of the other modules.

use mmdiff_core::op::{Advice, MapKind, Op, PageAt, PageRange, Prot, Zone};
use mmdiff_core::outcome::{Errno, Outcome};
use mmdiff_core::state::{
    HugeHint, LockState, ObjId, ObjectState, PteBits, Target, VmaKind, VmaState,
};

use crate::pte::pte;
use crate::world::World;

/// An op's early exit: the outcome to return unchanged.
pub type Early<T> = Result<T, Outcome>;

impl World {
    pub fn apply(&mut self, op: &Op) -> Outcome {
        match self.apply_checked(op) {
            Ok(o) | Err(o) => o,
        }
    }

    fn apply_checked(&mut self, op: &Op) -> Early<Outcome> {
        Ok(match *op {
            Op::Mmap {
                p,
                slot,
                at,
                pages,
                kind,
                prot,
                zone,
                foff,
            } => {
                let p = self.proc_index(p.index())?;
                let range = PageRange::new(slot, at, at.saturating_add(pages));
                let (start, end) = self.abs_range(&range)?;
                self.mmap(p, start, end, kind, prot, zone, foff as u64)?
            }
            Op::Munmap { p, range } => {
                let p = self.proc_index(p.index())?;
                let (start, end) = self.abs_range(&range)?;
                self.munmap(p, start, end);
                Outcome::OK
            }
            Op::Mprotect { p, range, prot } => {
                let p = self.proc_index(p.index())?;
                let (start, end) = self.abs_range(&range)?;
                self.mprotect(p, start, end, prot)
            }
            Op::Madvise { p, range, advice } => {
                let p = self.proc_index(p.index())?;
                let (start, end) = self.abs_range(&range)?;
                self.madvise(p, start, end, advice)
            }
            Op::Mremap { p, range, to } => {
                let p = self.proc_index(p.index())?;
                let (start, end) = self.abs_range(&range)?;
                let dst = PageRange::new(to.slot, to.page, to.page.saturating_add(range.len()));
                let (dst_start, _) = self.abs_range(&dst)?;
                self.mremap(p, start, end, dst_start)
            }
            Op::Fork { p, child } => {
                let p = self.proc_index(p.index())?;
                if self.procs[child.index()].is_some() {
                    return Err(Outcome::Err(Errno::EEXIST));
                }
                self.fork(p, child.index())
            }
            Op::Exit { p } => {
                let p = self.proc_index(p.index())?;
                self.exit(p);
                Outcome::OK
            }
            Op::File { f, fs, pages } => {
                if self.file(f).is_some() {
                    return Err(Outcome::Err(Errno::EEXIST));
                }
                self.create_file(f, fs, pages);
                Outcome::OK
            }
            Op::Read { p, range } => {
                let p = self.proc_index(p.index())?;
                self.abs_range(&range)?;
                self.cpu_read(p, &range)
            }
            Op::Write { p, range, fill } => {
                let p = self.proc_index(p.index())?;
                self.abs_range(&range)?;
                self.cpu_write(p, &range, fill)
            }
            Op::ClearSoftDirty { p } => {
                let p = self.proc_index(p.index())?;
                self.clear_soft_dirty(p);
                Outcome::OK
            }
            Op::UffdWp { p, range, on } => {
                let p = self.proc_index(p.index())?;
                let (start, end) = self.abs_range(&range)?;
                self.uffd_wp(p, start, end, on)
            }
            Op::Gup { p, range, h, flags } => {
                let p = self.proc_index(p.index())?;
                let (start, end) = self.abs_range(&range)?;
                if self.handles[h.index()].is_some() {
                    return Err(Outcome::Err(Errno::EBUSY));
                }
                self.gup_op(p, start, end, range.start as u64, h, flags)
            }
            Op::Release { h, dirty } => {
                if self.handles[h.index()].is_none() {
                    return Err(Outcome::Err(Errno::ENOENT));
                }
                self.release_handle(h, dirty)
            }
            Op::DmaRead { h, start, end } => {
                if self.handles[h.index()].is_none() {
                    return Err(Outcome::Err(Errno::ENOENT));
                }
                self.dma_read(h, start, end)
            }
            Op::DmaWrite {
                h,
                start,
                end,
                fill,
            } => {
                if self.handles[h.index()].is_none() {
                    return Err(Outcome::Err(Errno::ENOENT));
                }
                self.dma_write(h, start, end, fill)
            }
            Op::Reclaim => Outcome::count(self.reclaim_all()),
            Op::SplitThp { p, at } => {
                let p = self.proc_index(p.index())?;
                let page = self.abs_page(&at)?;
                match self.split_thp_at(p, page) {
                    Ok(()) => Outcome::OK,
                    Err(e) => Outcome::Err(e),
                }
            }
            Op::Lock { x, p, at } => {
                let p = self.proc_index(p.index())?;
                let page = self.abs_page(&at)?;
                self.lock_folio(x.index(), p, page, at.page)?
            }
            Op::Unlock { x } => {
                let Some(l) = self.locks[x.index()].take() else {
                    return Err(Outcome::Err(Errno::ENOENT));
                };
                self.folio_mut(l.folio).locked = false;
                self.folio_put(l.folio, 1);
                Outcome::OK
            }
            Op::CmaEvacuate => self.cma_evacuate(),
            Op::FailAlloc { zone } => {
                self.fail_alloc[zone.index()] = true;
                Outcome::OK
            }
            Op::IommuPrereg { i, p, range } => {
                let p = self.proc_index(p.index())?;
                let (start, end) = self.abs_range(&range)?;
                if self.iommu[i.index()].is_some() {
                    return Err(Outcome::Err(Errno::EBUSY));
                }
                self.iommu_prereg(i, p, start, end)
            }
            Op::IommuTranslate { i, index } => {
                if self.iommu[i.index()].is_none() {
                    return Err(Outcome::Err(Errno::ENOENT));
                }
                self.iommu_translate(i, index)
            }
            Op::IommuUnreg { i } => {
                if self.iommu[i.index()].is_none() {
                    return Err(Outcome::Err(Errno::ENOENT));
                }
                self.iommu_unreg(i)
            }
            Op::HmmFault {
                p,
                range,
                req,
                page_req,
                owner,
                seq,
            } => {
                let p = self.proc_index(p.index())?;
                let (start, end) = self.abs_range(&range)?;
                let base = self.cfg.window_base(range.slot.0);
                let page_req = page_req.map(|(a, b, r)| (base + a as u64, base + b as u64, r));
                if let Some(n) = seq {
                    self.notifier_of(n.index(), p)?;
                }
                self.hmm_fault_op(p, start, end, req, page_req, owner, seq)
            }
            Op::Notifier { n, p, range } => {
                let p = self.proc_index(p.index())?;
                let (start, end) = self.abs_range(&range)?;
                if self.notifiers[n.index()].is_some() {
                    return Err(Outcome::Err(Errno::EBUSY));
                }
                self.notifier_insert(n, p, start, end);
                Outcome::OK
            }
            Op::ReadBegin { n } => {
                let Some(x) = self.notifiers[n.index()].as_mut() else {
                    return Err(Outcome::Err(Errno::ENOENT));
                };
                x.stale = false;
                Outcome::OK
            }
            Op::ReadRetry { n } => {
                let Some(x) = self.notifiers[n.index()].as_ref() else {
                    return Err(Outcome::Err(Errno::ENOENT));
                };
                Outcome::count(u64::from(x.stale))
            }
            Op::MigrateSetup {
                s,
                p,
                range,
                select,
                owner,
                fault_page,
            } => {
                let p = self.proc_index(p.index())?;
                let (start, end) = self.abs_range(&range)?;
                if self.sessions[s.index()].is_some() {
                    return Err(Outcome::Err(Errno::EBUSY));
                }
                let fault_page = match fault_page {
                    Some(fp) => Some(self.abs_page(&PageAt {
                        slot: range.slot,
                        page: fp,
                    })?),
                    None => None,
                };
                self.migrate_setup_op(s, p, start, end, select, owner, fault_page)
            }
            Op::MigrateAlloc {
                s,
                dest,
                fail,
                split,
            } => {
                self.session_exists(s.index())?;
                self.migrate_alloc_op(s, dest, fail, split)
            }
            Op::MigratePages { s } => {
                self.session_exists(s.index())?;
                self.migrate_pages_op(s)
            }
            Op::MigrateFinalize { s } => {
                self.session_exists(s.index())?;
                self.migrate_finalize_op(s)
            }
            Op::DevRead { d, p, range } => {
                let (p, start, end) = self.dev_args(p.index(), &range)?;
                self.dev_read(d, p, start, end, range.start as u64)
            }
            Op::DevWrite { d, p, range, fill } => {
                let (p, start, end) = self.dev_args(p.index(), &range)?;
                self.dev_write(d, p, start, end, range.start as u64, fill)
            }
            Op::MigrateToDev { d, p, range } => {
                let (p, start, end) = self.dev_args(p.index(), &range)?;
                self.migrate_to_dev(d, p, start, end, range.start as u64)
            }
            Op::MigrateToSys { d, p, range } => {
                let (p, start, end) = self.dev_args(p.index(), &range)?;
                self.migrate_to_sys(d, p, start, end)
            }
            Op::DevSnapshot { d, p, range } => {
                let (p, start, end) = self.dev_args(p.index(), &range)?;
                self.dev_snapshot(d, p, start, end)
            }
            Op::DevExclusive { d, p, range } => {
                let (p, start, end) = self.dev_args(p.index(), &range)?;
                self.dev_exclusive(d, p, start, end, range.start as u64)
            }
            Op::DevCheckExclusive { d, p, range } => {
                let (p, start, end) = self.dev_args(p.index(), &range)?;
                self.dev_check_exclusive(d, p, start, end)
            }
            Op::DevRelease { d } => self.dev_release(d),
            Op::DevFailAlloc { d } => {
                self.device_mut(d).fail_alloc = true;
                Outcome::OK
            }
            Op::DevClose { d, p } => {
                let p = self.proc_index(p.index())?;
                self.dev_close(d, p)
            }
        })
    }

    /// A driver ioctl's process and range.
    fn dev_args(&self, p: usize, range: &PageRange) -> Early<(usize, u64, u64)> {
        let p = self.proc_index(p)?;
        let (start, end) = self.abs_range(range)?;
        Ok((p, start, end))
    }

    fn session_exists(&self, s: usize) -> Early<()> {
        if self.sessions[s].is_none() {
            return Err(Outcome::Err(Errno::ENOENT));
        }
        Ok(())
    }

    /// A notifier snapshot given to `hmm-fault` must exist and belong to
    /// the process walked.
    fn notifier_of(&self, n: usize, p: usize) -> Early<()> {
        match &self.notifiers[n] {
            Some(x) if x.proc.index() == p => Ok(()),
            Some(_) => Err(Outcome::Err(Errno::EINVAL)),
            None => Err(Outcome::Err(Errno::ENOENT)),
        }
    }

    /// An op naming an empty process slot: `ENOENT`, nothing changes.
    fn proc_index(&self, p: usize) -> Early<usize> {
        if self.procs[p].is_some() {
            Ok(p)
        } else {
            Err(Outcome::Err(Errno::ENOENT))
        }
    }

    /// Absolute pages of a window range ([`mmdiff_core::Config::abs_range`]);
    /// ranges beyond the window: `EINVAL`.
    pub fn abs_range(&self, r: &PageRange) -> Early<(u64, u64)> {
        self.cfg.abs_range(r).ok_or(Outcome::Err(Errno::EINVAL))
    }

    fn abs_page(&self, at: &PageAt) -> Early<u64> {
        self.cfg.abs_page(at).ok_or(Outcome::Err(Errno::EINVAL))
    }

    /// `mmap(MAP_FIXED)`: whatever was mapped in the range is unmapped
    /// first, then a new VMA is inserted and merged with its neighbours.
    #[allow(clippy::too_many_arguments)]
    fn mmap(
        &mut self,
        p: usize,
        start: u64,
        end: u64,
        kind: MapKind,
        prot: Prot,
        zone: Zone,
        foff: u64,
    ) -> Early<Outcome> {
        if let MapKind::FilePrivate(f) | MapKind::FileShared(f) = kind {
            if self.file(f).is_none() {
                return Err(Outcome::Err(Errno::ENOENT));
            }
        }
        // MAP_FIXED: the old mappings go first (which also releases objects
        // no VMA maps any more), then the new object and VMA are created.
        self.munmap(p, start, end);
        let (vma_kind, backing) = match kind {
            MapKind::Anon => (VmaKind::AnonPrivate, None),
            MapKind::FilePrivate(f) | MapKind::FileShared(f) => {
                let k = if matches!(kind, MapKind::FilePrivate(_)) {
                    VmaKind::FilePrivate
                } else {
                    VmaKind::FileShared
                };
                (k, Some((ObjId::File(f), foff)))
            }
            MapKind::AnonShared | MapKind::Special => {
                // shmem_zero_setup() / a driver's memory: a new object the
                // size of the mapping.
                let shm = matches!(kind, MapKind::AnonShared);
                let id = self.new_object_id(shm);
                self.objects.insert(
                    id,
                    ObjectState {
                        id,
                        fs: shm.then_some(mmdiff_core::op::FsKind::Tmpfs),
                        pages: end - start,
                        cache: Default::default(),
                        backing: Default::default(),
                    },
                );
                let k = if shm {
                    VmaKind::AnonShared
                } else {
                    VmaKind::Special
                };
                (k, Some((id, 0)))
            }
        };
        let vma = VmaState {
            start,
            end,
            kind: vma_kind,
            backing,
            prot,
            hint: HugeHint::None,
            dontfork: false,
            zone,
            uffd_wp: false,
            soft_dirty: true,
            anon_vma: false,
        };
        self.mm_mut(p).vmas.insert(start, vma);
        if vma_kind == VmaKind::Special {
            // remap_pfn_range(): every page is mapped at once.
            let bits = PteBits {
                young: true,
                write: prot.writable(),
                ..PteBits::default()
            };
            let obj = backing
                .map(|(o, _)| o)
                .expect("special mappings have an object");
            for (i, page) in (start..end).enumerate() {
                self.set_pte(
                    p,
                    page,
                    pte(
                        Target::Io {
                            obj,
                            page: i as u32,
                        },
                        bits,
                    ),
                );
            }
        }
        self.merge_vmas(p);
        Ok(Outcome::OK)
    }

    /// `munmap()`: zap the range and remove the VMAs (split at the edges).
    /// Unmapping nothing succeeds.
    pub fn munmap(&mut self, p: usize, start: u64, end: u64) {
        if self.vmas_in(p, start, end).is_empty() {
            return;
        }
        self.split_vmas_for(p, start, end);
        self.zap_range(p, start, end);
        let doomed: Vec<u64> = self
            .vmas_in(p, start, end)
            .iter()
            .map(|v| v.start)
            .collect();
        let mm = self.mm_mut(p);
        for s in doomed {
            mm.vmas.remove(&s);
        }
        self.release_unused_objects();
    }

    /// `exit_mmap()`: everything is unmapped; handles and pins survive.
    pub fn exit(&mut self, p: usize) {
        let vmas: Vec<(u64, u64)> = self.mm(p).vmas.values().map(|v| (v.start, v.end)).collect();
        for (s, e) in vmas {
            self.zap_range(p, s, e);
        }
        self.procs[p] = None;
        self.forget_process(p);
        self.release_unused_objects();
    }

    /// `mprotect()`. The range must be mapped throughout (`ENOMEM`
    /// otherwise, after changing the VMAs before the hole, as
    /// `do_mprotect_pkey` does).
    fn mprotect(&mut self, p: usize, start: u64, end: u64, prot: Prot) -> Outcome {
        let mut at = start;
        let mut result = Outcome::OK;
        for v in self.vmas_in(p, start, end) {
            if v.start > at {
                result = Outcome::Err(Errno::ENOMEM);
                break;
            }
            let (s, e) = (v.start.max(start), v.end.min(end));
            if v.prot != prot {
                self.split_vmas_for(p, s, e);
                if let Some(vm) = self.mm_mut(p).vmas.get_mut(&s) {
                    vm.prot = prot;
                }
                self.change_protection(p, s, e);
            }
            at = e;
        }
        if at < end && result == Outcome::OK {
            result = Outcome::Err(Errno::ENOMEM);
        }
        self.merge_vmas(p);
        result
    }

    /// `madvise()`: each VMA part of the range gets the advice; unmapped
    /// parts make the call fail with `ENOMEM` after the rest was done
    /// (`madvise_walk_vmas`).
    fn madvise(&mut self, p: usize, start: u64, end: u64, advice: Advice) -> Outcome {
        if advice == Advice::Collapse {
            // The same walk: a VMA's error ends it at once, a hole makes
            // it fail with ENOMEM after the mapped parts were collapsed.
            let mapped = self.fully_mapped(p, start, end);
            return match self.madvise_collapse(p, start, end) {
                Ok(()) if !mapped => Outcome::Err(Errno::ENOMEM),
                Ok(()) => Outcome::OK,
                Err(e) => Outcome::Err(e),
            };
        }
        let mapped = self.fully_mapped(p, start, end);
        let mut result = Outcome::OK;
        for v in self.vmas_in(p, start, end) {
            let (s, e) = (v.start.max(start), v.end.min(end));
            if let Err(err) = self.madvise_vma(p, &v, s, e, advice) {
                result = Outcome::Err(err);
                break;
            }
        }
        self.merge_vmas(p);
        if result == Outcome::OK && !mapped {
            return Outcome::Err(Errno::ENOMEM);
        }
        result
    }

    fn madvise_vma(
        &mut self,
        p: usize,
        v: &VmaState,
        s: u64,
        e: u64,
        advice: Advice,
    ) -> Result<(), Errno> {
        let special = v.kind == VmaKind::Special;
        match advice {
            Advice::DontNeed => {
                // madvise_dontneed_free_valid_vma: no VM_PFNMAP.
                if special {
                    return Err(Errno::EINVAL);
                }
                self.zap_range(p, s, e);
            }
            Advice::Free => {
                if v.kind != VmaKind::AnonPrivate {
                    return Err(Errno::EINVAL);
                }
                self.madvise_free(p, s, e);
            }
            Advice::HugePage | Advice::NoHugePage => {
                // hugepage_madvise() ignores VM_SPECIAL mappings.
                if !special {
                    let hint = if advice == Advice::HugePage {
                        HugeHint::Huge
                    } else {
                        HugeHint::NoHuge
                    };
                    self.set_vma_attr(p, s, e, |vm| vm.hint = hint);
                }
            }
            Advice::DontFork | Advice::DoFork => {
                // VM_IO mappings may not change VM_DONTCOPY.
                if special {
                    return Err(Errno::EINVAL);
                }
                let dontfork = advice == Advice::DontFork;
                self.set_vma_attr(p, s, e, |vm| vm.dontfork = dontfork);
            }
            Advice::PageOut => {
                if special {
                    return Err(Errno::EINVAL);
                }
                self.madvise_pageout(p, s, e);
            }
            Advice::Collapse => unreachable!("handled by madvise"),
        }
        Ok(())
    }

    /// Changes an attribute of the VMAs in `[s, e)`
    /// (`madvise_update_vma`, `userfaultfd_register`): a VMA the change
    /// alters has the part in the range split off and changed; one it
    /// leaves as it is is not split at all (`new_flags == vma->vm_flags`),
    /// so a PMD mapping across the range stays whole.
    pub fn set_vma_attr(&mut self, p: usize, s: u64, e: u64, change: impl Fn(&mut VmaState)) {
        for v in self.vmas_in(p, s, e) {
            let mut changed = v;
            change(&mut changed);
            if changed == v {
                continue;
            }
            let (vs, ve) = (v.start.max(s), v.end.min(e));
            self.split_vmas_for(p, vs, ve);
            if let Some(vm) = self.mm_mut(p).vmas.get_mut(&vs) {
                change(vm);
            }
        }
    }

    /// The `lock` op: other kernel code takes a reference on the folio
    /// mapped at `page` and locks it; if the lock is already held it would
    /// sleep.
    fn lock_folio(&mut self, x: usize, p: usize, page: u64, rel: u32) -> Early<Outcome> {
        if self.locks[x].is_some() {
            return Err(Outcome::Err(Errno::EBUSY));
        }
        let Some((folio, _)) = self.entry(p, page).and_then(|e| e.folio_page()) else {
            return Err(Outcome::Err(Errno::EFAULT));
        };
        if self.folio(folio).locked {
            return Err(Outcome::Blocked { page: rel });
        }
        self.folio_get(folio, 1);
        self.folio_mut(folio).locked = true;
        self.locks[x] = Some(LockState {
            id: mmdiff_core::op::LockId(x as u8),
            folio,
        });
        Ok(Outcome::OK)
    }

    pub fn pmd_pages() -> u64 {
        mmdiff_core::op::PMD_PAGES as u64
    }
}
