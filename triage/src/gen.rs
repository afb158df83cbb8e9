//! State-aware swarm generation of op sequences for the built-in campaign.
//!
//! Random bytes through the shared decoder are right for coverage-guided
//! fuzzers, which learn what matters; a blind random stream mostly names
//! processes that do not exist and pages nothing maps. The campaign instead
//! picks each op from the canonical state after the previous one: ranges
//! inside existing VMAs, handles and locks that exist, free slots for new
//! ones. Each sequence also draws a *swarm* configuration (Groce et al.,
//! ISSTA 2012): a random subset of op kinds with random weights, so that
//! ops which suppress interesting behaviour (an unpin before a migration,
//! an exit before a fork) are left out of some sequences entirely.
//!
//! Everything is decided by the PRNG and the state, so a seed reproduces a
//! campaign exactly.

use mmdiff_core::op::*;
use mmdiff_core::state::{Entry, Memory, ProcState, State, Target};

use mmdiff_core::rng::SplitMix64;

/// Base weight of each op kind: common operations first, ones that tear
/// state down rarely.
fn base_weight(kind: OpKind) -> u32 {
    match kind {
        OpKind::Write => 10,
        OpKind::Mmap | OpKind::Read => 8,
        OpKind::Gup => 6,
        OpKind::Madvise => 5,
        OpKind::Release => 4,
        OpKind::Mprotect | OpKind::Fork | OpKind::Reclaim => 3,
        OpKind::Exit | OpKind::CmaEvacuate | OpKind::FailAlloc => 1,
        OpKind::IommuTranslate | OpKind::IommuUnreg => 1,
        OpKind::MigrateToDev | OpKind::DevRead | OpKind::HmmFault => 4,
        OpKind::DevRelease | OpKind::DevClose | OpKind::DevFailAlloc => 1,
        _ => 2,
    }
}

/// The op kinds enabled for one sequence and their weights.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Swarm {
    weights: Vec<(OpKind, u32)>,
    total: u32,
}

impl Swarm {
    /// Every allowed kind is enabled with probability 3/4 (`mmap` and
    /// `write` always: without them nothing happens), with weight = base
    /// weight times 1..=4.
    pub fn draw(rng: &mut SplitMix64, allowed: &[OpKind]) -> Swarm {
        let mut weights = Vec::new();
        for &kind in allowed {
            let essential = matches!(kind, OpKind::Mmap | OpKind::Write);
            if essential || rng.below(4) != 0 {
                weights.push((kind, base_weight(kind) * (1 + rng.below(4) as u32)));
            }
        }
        if weights.is_empty() {
            weights.push((allowed.first().copied().unwrap_or(OpKind::Mmap), 1));
        }
        let total = weights.iter().map(|(_, w)| w).sum();
        Swarm { weights, total }
    }

    fn pick(&self, rng: &mut SplitMix64) -> OpKind {
        let mut x = rng.below(u64::from(self.total)) as u32;
        for &(kind, w) in &self.weights {
            if x < w {
                return kind;
            }
            x -= w;
        }
        self.weights[0].0
    }
}

/// How large a sequence's mappings are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scale {
    /// A few pages per mapping, and now and then exactly one PMD (a THP
    /// candidate): many ops meet on the same pages, and each op is cheap.
    Small,
    /// Sizes up to the whole window: PMD boundaries, partial THPs, mremap
    /// across blocks.
    Full,
}

/// Ranges the sequence touched last; the next range is often one of them
/// (hot), so that a pin, a fault, a migration and a fork meet on the
/// same pages instead of missing each other in a 2048-page window.
const HOT_RANGES: usize = 4;

/// A sequence generator: a swarm configuration, a mapping scale, the hot
/// ranges, and the follow-up ops some ops schedule (an anonymous mapping
/// is often advised `MADV_HUGEPAGE` right away, before anything populates
/// it, which is how applications get THPs).
#[derive(Clone, Debug)]
pub struct Generator {
    swarm: Swarm,
    scale: Scale,
    /// `None`: no hot ranges (see [`Generator::spread`]).
    hot: Option<Vec<PageRange>>,
    pending: Vec<Op>,
}

impl Generator {
    pub fn new(rng: &mut SplitMix64, allowed: &[OpKind]) -> Generator {
        let swarm = Swarm::draw(rng, allowed);
        let scale = if rng.below(3) == 0 {
            Scale::Full
        } else {
            Scale::Small
        };
        Generator {
            swarm,
            scale,
            hot: Some(Vec::new()),
            pending: Vec::new(),
        }
    }

    /// A generator that avoids collisions instead of seeking them: whole
    /// windows, no hot ranges. For noise around a repro, which must leave
    /// the repro's pages alone.
    pub fn spread(rng: &mut SplitMix64, allowed: &[OpKind]) -> Generator {
        Generator {
            swarm: Swarm::draw(rng, allowed),
            scale: Scale::Full,
            hot: None,
            pending: Vec::new(),
        }
    }

    /// Makes the last ranges of `ops` (ops already run) the hot ones, so
    /// that what follows them acts on their pages first.
    pub fn follow(&mut self, ops: &[Op]) {
        if let Some(hot) = &mut self.hot {
            for r in ops.iter().filter_map(Op::range) {
                if hot.len() == HOT_RANGES {
                    hot.remove(0);
                }
                hot.push(r);
            }
        }
    }

    /// The next op, drawn from the canonical state after the previous one.
    pub fn next_op(&mut self, rng: &mut SplitMix64, state: &State) -> Op {
        if let Some(op) = self.pending.pop() {
            return op;
        }
        // Nothing is mapped yet (a fresh machine, or everything unmapped):
        // most op kinds need a mapping to do anything but fail, so map
        // one first, nine times in ten. Drawn from the swarm weights
        // alone, the first mmap comes after about eleven ops, and half of
        // all sequences never map anything.
        let kind = if self.needs_mapping(state) && rng.below(10) != 0 {
            OpKind::Mmap
        } else {
            self.swarm.pick(rng)
        };
        let op = OpGen {
            rng,
            state,
            scale: self.scale,
            hot: self.hot.as_deref(),
        }
        .op(kind);
        debug_assert!(op.validate().is_ok(), "{op:?}");
        if let (Some(hot), Some(r)) = (&mut self.hot, op.range()) {
            if hot.len() == HOT_RANGES {
                hot.remove(0);
            }
            hot.push(r);
        }
        if let Op::Mmap {
            p,
            slot,
            at,
            pages,
            kind: MapKind::Anon,
            ..
        } = op
        {
            let allowed = self
                .swarm
                .weights
                .iter()
                .any(|(k, _)| *k == OpKind::Madvise);
            if allowed && pages >= 512 && rng.below(3) == 0 {
                let range = PageRange::new(slot, at, at + pages);
                self.pending.push(Op::Madvise {
                    p,
                    range,
                    advice: Advice::HugePage,
                });
            }
        }
        op
    }

    /// True when a live process could map something and none maps
    /// anything (and this sequence's swarm has `mmap`).
    fn needs_mapping(&self, state: &State) -> bool {
        self.swarm.weights.iter().any(|(k, _)| *k == OpKind::Mmap)
            && !state.procs.is_empty()
            && state.procs.iter().all(|p| p.vmas.is_empty())
    }
}

struct OpGen<'a> {
    rng: &'a mut SplitMix64,
    state: &'a State,
    scale: Scale,
    hot: Option<&'a [PageRange]>,
}

impl OpGen<'_> {
    fn below(&mut self, n: u64) -> u64 {
        self.rng.below(n.max(1))
    }

    /// True with probability `num/den`.
    fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> Option<T> {
        (!items.is_empty()).then(|| items[self.below(items.len() as u64) as usize])
    }

    fn window(&self) -> u32 {
        self.state.window_pages
    }

    /// An existing process most of the time (`p0` if there is none).
    fn proc(&mut self) -> ProcId {
        let live: Vec<ProcId> = self.state.procs.iter().map(|p| p.id).collect();
        if self.chance(19, 20) {
            if let Some(p) = self.pick(&live) {
                return p;
            }
        }
        ProcId(self.below(u64::from(ProcId::COUNT)) as u8)
    }

    fn proc_state(&self, p: ProcId) -> Option<&ProcState> {
        self.state.procs.iter().find(|x| x.id == p)
    }

    /// A free slot of `count` given the used ones, or any slot.
    fn free_slot(&mut self, used: &[u8], count: u8) -> u8 {
        let free: Vec<u8> = (0..count).filter(|i| !used.contains(i)).collect();
        if self.chance(9, 10) {
            if let Some(s) = self.pick(&free) {
                return s;
            }
        }
        self.below(u64::from(count)) as u8
    }

    fn used<T>(items: &[T], id: impl Fn(&T) -> u8) -> Vec<u8> {
        items.iter().map(id).collect()
    }

    /// A page count: small, one or two PMDs, just over a PMD, or anything
    /// (at [`Scale::Small`]: a few pages, or one PMD).
    fn size(&mut self, room: u32) -> u32 {
        if self.scale == Scale::Small {
            let n = if self.chance(1, 6) {
                512
            } else {
                1 + self.below(16) as u32
            };
            return n.clamp(1, room.max(1));
        }
        let n = match self.below(8) {
            0..=2 => 1 + self.below(8) as u32,
            3 => 512,
            4 => 1024,
            5 => 513 + self.below(88) as u32,
            6 => 1 + self.below(64) as u32,
            _ => 1 + self.below(u64::from(room)) as u32,
        };
        n.clamp(1, room.max(1))
    }

    /// A page offset: 0, small, PMD-aligned, or anywhere in the window.
    fn offset(&mut self) -> u32 {
        match self.below(10) {
            0..=5 => 0,
            6 | 7 => self.below(16) as u32,
            8 => 512 * self.below(u64::from(self.window() / 512)) as u32,
            _ => self.below(u64::from(self.window())) as u32,
        }
    }

    /// A range of process `p`: mostly inside one of its VMAs (all of it,
    /// one page, a PMD block, a piece, or running past its end), otherwise
    /// anywhere.
    fn range(&mut self, p: ProcId) -> PageRange {
        if let Some(hot) = self.hot {
            if self.chance(1, 3) {
                if let Some(r) = self.pick(hot) {
                    return r;
                }
            }
        }
        let w = u64::from(self.window());
        let vmas: Vec<(u64, u64)> = self
            .proc_state(p)
            .map(|ps| ps.vmas.iter().map(|v| (v.start, v.end)).collect())
            .unwrap_or_default();
        if let (true, Some((start, end))) = (self.chance(7, 8), self.pick(&vmas)) {
            let slot = SlotId((start / w - 1) as u8);
            let (vs, ve) = ((start % w) as u32, ((end - 1) % w) as u32 + 1);
            let len = ve - vs;
            let (a, b) = match self.below(10) {
                0 | 1 => (vs, ve),
                2..=4 => {
                    let a = vs + self.below(u64::from(len)) as u32;
                    (a, a + 1)
                }
                5 => {
                    let a = vs + self.below(u64::from(len)) as u32;
                    let blk = a - a % 512;
                    (blk, (blk + 512).min(self.window()))
                }
                6..=8 => {
                    let a = vs + self.below(u64::from(len)) as u32;
                    let n = 1 + self.below(u64::from(ve - a).min(64)) as u32;
                    (a, a + n)
                }
                _ => (vs, (ve + 1 + self.below(8) as u32).min(self.window())),
            };
            return PageRange::new(slot, a, b.max(a + 1));
        }
        let slot = SlotId(self.below(u64::from(SlotId::COUNT)) as u8);
        let a = self.offset();
        let n = self.size(self.window() - a);
        PageRange::new(slot, a, a + n)
    }

    /// A protection for `mprotect` of `range`: mostly one that differs
    /// from the VMA's at the range's start (the same one changes nothing),
    /// otherwise any.
    fn new_prot(&mut self, p: ProcId, range: PageRange) -> Prot {
        let w = u64::from(self.window());
        let at = w * (u64::from(range.slot.0) + 1) + u64::from(range.start);
        let current = self
            .proc_state(p)
            .and_then(|ps| ps.vmas.iter().find(|v| v.start <= at && at < v.end))
            .map(|v| v.prot);
        match current {
            Some(c) if self.chance(4, 5) => {
                let others: Vec<Prot> = [Prot::R, Prot::None, Prot::RW]
                    .into_iter()
                    .filter(|x| *x != c)
                    .collect();
                others[self.below(others.len() as u64) as usize]
            }
            _ => self.prot(),
        }
    }

    /// One whole VMA of process `p`, if it has any.
    fn whole_vma(&mut self, p: ProcId) -> Option<PageRange> {
        let w = u64::from(self.window());
        let vmas: Vec<(u64, u64)> = self
            .proc_state(p)
            .map(|ps| ps.vmas.iter().map(|v| (v.start, v.end)).collect())
            .unwrap_or_default();
        let (start, end) = self.pick(&vmas)?;
        let slot = SlotId((start / w - 1) as u8);
        Some(PageRange::new(
            slot,
            (start % w) as u32,
            ((end - 1) % w) as u32 + 1,
        ))
    }

    /// The first page of each device-private run of `p` inside `range`
    /// (window-relative), with the device whose memory it is.
    fn device_private_pages(&self, p: ProcId, range: PageRange) -> Vec<(u32, DevId)> {
        let base = u64::from(self.window()) * (u64::from(range.slot.0) + 1);
        let (lo, hi) = (base + u64::from(range.start), base + u64::from(range.end));
        let Some(ps) = self.proc_state(p) else {
            return Vec::new();
        };
        ps.entries
            .iter()
            .filter(|r| r.start < hi && r.start + u64::from(r.len) > lo)
            .filter_map(|r| match r.entry {
                Entry::DevicePrivate {
                    target: Target::Folio { folio, .. },
                    ..
                } => match self.state.folios.get(&folio)?.memory {
                    Memory::Device(dev) => Some(((r.start.max(lo) - base) as u32, dev)),
                    Memory::Zone(_) => None,
                },
                _ => None,
            })
            .collect()
    }

    /// A page of process `p`, preferring pages that map something.
    fn page(&mut self, p: ProcId, large_only: bool) -> PageAt {
        let w = u64::from(self.window());
        let pages: Vec<u64> = self
            .proc_state(p)
            .map(|ps| {
                ps.entries
                    .iter()
                    .filter(|r| match r.entry {
                        Entry::Present {
                            target: Target::Folio { folio, .. },
                            ..
                        } => {
                            !large_only
                                || self.state.folios.get(&folio).is_some_and(|f| f.order > 0)
                        }
                        _ => !large_only,
                    })
                    .map(|r| r.start)
                    .collect()
            })
            .unwrap_or_default();
        if let (true, Some(start)) = (self.chance(7, 8), self.pick(&pages)) {
            return PageAt {
                slot: SlotId((start / w - 1) as u8),
                page: (start % w) as u32,
            };
        }
        let r = self.range(p);
        PageAt {
            slot: r.slot,
            page: r.start,
        }
    }

    fn fill(&mut self) -> Fill {
        let k = self.below(64);
        if self.chance(1, 2) {
            Fill::Const(k)
        } else {
            Fill::Index(k)
        }
    }

    fn zone(&mut self) -> Zone {
        match self.below(10) {
            0..=6 => Zone::Normal,
            7 | 8 => Zone::Movable,
            _ => Zone::Cma,
        }
    }

    fn prot(&mut self) -> Prot {
        match self.below(20) {
            0..=14 => Prot::RW,
            15..=17 => Prot::R,
            _ => Prot::None,
        }
    }

    fn existing_file(&mut self) -> Option<FileId> {
        let files: Vec<FileId> = self
            .state
            .objects
            .iter()
            .filter_map(|o| match o.id {
                mmdiff_core::state::ObjId::File(f) => Some(f),
                _ => None,
            })
            .collect();
        self.pick(&files)
    }

    fn op(mut self, kind: OpKind) -> Op {
        match kind {
            OpKind::Mmap => self.mmap(),
            OpKind::Munmap => {
                let p = self.proc();
                Op::Munmap {
                    p,
                    range: self.range(p),
                }
            }
            OpKind::Mprotect => {
                let p = self.proc();
                let range = self.range(p);
                Op::Mprotect {
                    p,
                    range,
                    prot: self.new_prot(p, range),
                }
            }
            OpKind::Madvise => {
                let p = self.proc();
                let weights = [3, 2, 6, 1, 3, 2, 1, 1];
                let mut x = self.below(weights.iter().sum());
                let mut advice = Advice::DontNeed;
                for (a, w) in Advice::ALL.iter().zip(weights) {
                    if x < w {
                        advice = *a;
                        break;
                    }
                    x -= w;
                }
                // THP advice matters on whole PMD blocks: mostly give it a
                // whole VMA.
                let range = match (advice, self.whole_vma(p)) {
                    (Advice::HugePage | Advice::Collapse, Some(r)) if self.chance(3, 4) => r,
                    _ => self.range(p),
                };
                Op::Madvise { p, range, advice }
            }
            OpKind::Mremap => {
                let p = self.proc();
                let range = self.range(p);
                let room = self.window() - range.len().min(self.window());
                let page = if self.chance(1, 2) {
                    512 * self.below(u64::from(room / 512 + 1)) as u32
                } else {
                    self.below(u64::from(room) + 1) as u32
                };
                let to = PageAt {
                    slot: SlotId(self.below(u64::from(SlotId::COUNT)) as u8),
                    page,
                };
                Op::Mremap { p, range, to }
            }
            OpKind::Fork => {
                let p = self.proc();
                let used = Self::used(&self.state.procs, |x| x.id.0);
                Op::Fork {
                    p,
                    child: ProcId(self.free_slot(&used, ProcId::COUNT)),
                }
            }
            OpKind::Exit => {
                let others: Vec<ProcId> = self
                    .state
                    .procs
                    .iter()
                    .map(|x| x.id)
                    .filter(|x| x.0 != 0)
                    .collect();
                let p = match self.pick(&others) {
                    Some(p) if self.chance(4, 5) => p,
                    _ => self.proc(),
                };
                Op::Exit { p }
            }
            OpKind::File => {
                let used: Vec<u8> = (0..FileId::COUNT)
                    .filter(|&f| {
                        self.state
                            .objects
                            .iter()
                            .any(|o| o.id == mmdiff_core::state::ObjId::File(FileId(f)))
                    })
                    .collect();
                let f = FileId(self.free_slot(&used, FileId::COUNT));
                let fs = if self.chance(1, 2) {
                    FsKind::Tmpfs
                } else {
                    FsKind::Ext4
                };
                Op::File {
                    f,
                    fs,
                    pages: self.size(self.window()),
                }
            }
            OpKind::Read => {
                let p = self.proc();
                Op::Read {
                    p,
                    range: self.range(p),
                }
            }
            OpKind::Write => {
                let p = self.proc();
                Op::Write {
                    p,
                    range: self.range(p),
                    fill: self.fill(),
                }
            }
            OpKind::ClearSoftDirty => Op::ClearSoftDirty { p: self.proc() },
            OpKind::UffdWp => {
                let p = self.proc();
                Op::UffdWp {
                    p,
                    range: self.range(p),
                    on: self.chance(3, 5),
                }
            }
            OpKind::Gup => self.gup(),
            OpKind::Release => Op::Release {
                h: self.handle(),
                dirty: self.chance(1, 2),
            },
            OpKind::DmaRead | OpKind::DmaWrite => {
                let h = self.handle();
                let len = self
                    .state
                    .handles
                    .iter()
                    .find(|x| x.id == h)
                    .map_or(1, |x| x.pages.len().max(1) as u32);
                let start = self.below(u64::from(len)) as u32;
                let end = start + 1 + self.below(u64::from(len - start)) as u32;
                if kind == OpKind::DmaRead {
                    Op::DmaRead { h, start, end }
                } else {
                    Op::DmaWrite {
                        h,
                        start,
                        end,
                        fill: self.fill(),
                    }
                }
            }
            OpKind::Reclaim => Op::Reclaim,
            OpKind::SplitThp => {
                let p = self.proc();
                Op::SplitThp {
                    p,
                    at: self.page(p, true),
                }
            }
            OpKind::Lock => {
                let used = Self::used(&self.state.locks, |l| l.id.0);
                let x = LockId(self.free_slot(&used, LockId::COUNT));
                let p = self.proc();
                Op::Lock {
                    x,
                    p,
                    at: self.page(p, false),
                }
            }
            OpKind::Unlock => {
                let used = Self::used(&self.state.locks, |l| l.id.0);
                let x = self.pick(&used).filter(|_| self.chance(9, 10));
                Op::Unlock {
                    x: LockId(x.unwrap_or_else(|| self.below(u64::from(LockId::COUNT)) as u8)),
                }
            }
            OpKind::CmaEvacuate => Op::CmaEvacuate,
            OpKind::FailAlloc => Op::FailAlloc { zone: self.zone() },
            OpKind::IommuPrereg => {
                let used = Self::used(&self.state.iommu, |i| i.id.0);
                let i = IommuId(self.free_slot(&used, IommuId::COUNT));
                let p = self.proc();
                Op::IommuPrereg {
                    i,
                    p,
                    range: self.range(p),
                }
            }
            OpKind::IommuTranslate => {
                let i = self.iommu();
                let len = self
                    .state
                    .iommu
                    .iter()
                    .find(|x| x.id == i)
                    .map_or(1, |x| x.pages.len() as u64 + 1);
                Op::IommuTranslate {
                    i,
                    index: self.below(len) as u32,
                }
            }
            OpKind::IommuUnreg => Op::IommuUnreg { i: self.iommu() },
            OpKind::HmmFault => {
                let p = self.proc();
                let range = self.short_range(p);
                let req = self.hmm_req();
                let page_req = if self.chance(1, 5) {
                    let a = range.start + self.below(u64::from(range.len())) as u32;
                    Some((
                        a,
                        a + 1 + self.below(u64::from(range.end - a)) as u32,
                        self.hmm_req(),
                    ))
                } else {
                    None
                };
                let owner = self.chance(7, 10).then(|| self.dev());
                let mine: Vec<u8> = self
                    .state
                    .notifiers
                    .iter()
                    .filter(|n| n.proc == p)
                    .map(|n| n.id.0)
                    .collect();
                let seq = if self.chance(3, 10) {
                    self.pick(&mine).map(NotifierId)
                } else {
                    None
                };
                Op::HmmFault {
                    p,
                    range,
                    req,
                    page_req,
                    owner,
                    seq,
                }
            }
            OpKind::Notifier => {
                let used = Self::used(&self.state.notifiers, |n| n.id.0);
                let n = NotifierId(self.free_slot(&used, NotifierId::COUNT));
                let p = self.proc();
                Op::Notifier {
                    n,
                    p,
                    range: self.range(p),
                }
            }
            OpKind::ReadBegin | OpKind::ReadRetry => {
                let used = Self::used(&self.state.notifiers, |n| n.id.0);
                let n = NotifierId(match self.pick(&used) {
                    Some(n) if self.chance(9, 10) => n,
                    _ => self.below(u64::from(NotifierId::COUNT)) as u8,
                });
                if kind == OpKind::ReadBegin {
                    Op::ReadBegin { n }
                } else {
                    Op::ReadRetry { n }
                }
            }
            OpKind::MigrateSetup => {
                let used = Self::used(&self.state.sessions, |x| x.id.0);
                let s = SessionId(self.free_slot(&used, SessionId::COUNT));
                let p = self.proc();
                let range = self.range(p);
                let mut select = MigrateSelect {
                    system: self.chance(7, 10),
                    private: self.chance(3, 10),
                    coherent: self.chance(2, 10),
                    compound: self.chance(2, 5),
                    fault: self.chance(1, 8),
                };
                let mut owner = self.chance(4, 5).then(|| self.dev());
                let private = self.device_private_pages(p, range);
                let fault_page = match self.pick(&private) {
                    // The call a device's migrate_to_ram() makes from
                    // do_swap_page(): its own private pages, the faulting
                    // one as fault_page.
                    Some((page, dev)) if self.chance(1, 3) => {
                        select.private = true;
                        owner = Some(dev);
                        Some(page)
                    }
                    _ => self
                        .chance(1, 10)
                        .then(|| range.start + self.below(u64::from(range.len())) as u32),
                };
                Op::MigrateSetup {
                    s,
                    p,
                    range,
                    select,
                    owner,
                    fault_page,
                }
            }
            OpKind::MigrateAlloc | OpKind::MigratePages | OpKind::MigrateFinalize => {
                let used = Self::used(&self.state.sessions, |x| x.id.0);
                let s = SessionId(match self.pick(&used) {
                    Some(s) if self.chance(9, 10) => s,
                    _ => self.below(u64::from(SessionId::COUNT)) as u8,
                });
                match kind {
                    OpKind::MigrateAlloc => {
                        let dest = if self.chance(1, 3) {
                            MigrateDest::System
                        } else {
                            MigrateDest::Device(self.dev())
                        };
                        let fail = self.chance(1, 6).then(|| {
                            let a = self.below(16) as u32;
                            (a, a + 1 + self.below(16) as u32)
                        });
                        Op::MigrateAlloc {
                            s,
                            dest,
                            fail,
                            split: self.chance(1, 5),
                        }
                    }
                    OpKind::MigratePages => Op::MigratePages { s },
                    _ => Op::MigrateFinalize { s },
                }
            }
            OpKind::DevRead
            | OpKind::MigrateToDev
            | OpKind::MigrateToSys
            | OpKind::DevSnapshot
            | OpKind::DevExclusive
            | OpKind::DevCheckExclusive => {
                let d = self.dev();
                let p = self.proc();
                let range = if kind == OpKind::MigrateToDev || kind == OpKind::MigrateToSys {
                    self.range(p)
                } else {
                    self.short_range(p)
                };
                match kind {
                    OpKind::DevRead => Op::DevRead { d, p, range },
                    OpKind::MigrateToDev => Op::MigrateToDev { d, p, range },
                    OpKind::MigrateToSys => Op::MigrateToSys { d, p, range },
                    OpKind::DevSnapshot => Op::DevSnapshot { d, p, range },
                    OpKind::DevExclusive => Op::DevExclusive { d, p, range },
                    _ => Op::DevCheckExclusive { d, p, range },
                }
            }
            OpKind::DevWrite => {
                let d = self.dev();
                let p = self.proc();
                let range = self.short_range(p);
                Op::DevWrite {
                    d,
                    p,
                    range,
                    fill: self.fill(),
                }
            }
            OpKind::DevRelease => Op::DevRelease { d: self.dev() },
            OpKind::DevFailAlloc => Op::DevFailAlloc { d: self.dev() },
            OpKind::DevClose => Op::DevClose {
                d: self.dev(),
                p: self.proc(),
            },
        }
    }

    /// A device, favouring the device-private `dev0`.
    fn dev(&mut self) -> DevId {
        match self.below(6) {
            0..=2 => DevId(0),
            3 => DevId(1),
            4 => DevId(2),
            _ => DevId(3),
        }
    }

    fn hmm_req(&mut self) -> HmmReq {
        match self.below(3) {
            0 => HmmReq::None,
            1 => HmmReq::Fault,
            _ => HmmReq::Write,
        }
    }

    /// A range as [`Self::range`] gives, cut to at most 64 pages most of
    /// the time (device ioctls touch every page).
    fn short_range(&mut self, p: ProcId) -> PageRange {
        let mut r = self.range(p);
        if r.len() > 64 && self.chance(3, 4) {
            r.end = r.start + 1 + self.below(64) as u32;
        }
        r
    }

    fn mmap(&mut self) -> Op {
        let p = self.proc();
        let mapped: Vec<u8> = self
            .proc_state(p)
            .map(|ps| {
                ps.vmas
                    .iter()
                    .map(|v| (v.start / u64::from(self.window()) - 1) as u8)
                    .collect()
            })
            .unwrap_or_default();
        let slot = SlotId(self.free_slot(&mapped, SlotId::COUNT));
        let at = self.offset();
        let pages = self.size(self.window() - at);
        let kind = match (self.below(20), self.existing_file()) {
            (0..=10, _) => MapKind::Anon,
            (11 | 12, _) => MapKind::AnonShared,
            (13..=15, Some(f)) => MapKind::FilePrivate(f),
            (16..=18, Some(f)) => MapKind::FileShared(f),
            (19, _) => MapKind::Special,
            _ => MapKind::Anon,
        };
        let foff = if self.chance(1, 4) {
            self.below(4) as u32
        } else {
            0
        };
        Op::Mmap {
            p,
            slot,
            at,
            pages,
            kind,
            prot: self.prot(),
            zone: self.zone(),
            foff,
        }
    }

    fn gup(&mut self) -> Op {
        let p = self.proc();
        let mut range = self.range(p);
        if range.len() > 64 && self.chance(3, 4) {
            range.end = range.start + 1 + self.below(64) as u32;
        }
        let used = Self::used(&self.state.handles, |h| h.id.0);
        let h = HandleId(self.free_slot(&used, HandleId::COUNT));
        let pin = self.chance(3, 5);
        let flags = GupFlags {
            pin,
            write: self.chance(1, 2),
            longterm: if pin {
                self.chance(2, 5)
            } else {
                self.chance(1, 20)
            },
            fast: self.chance(3, 10),
            force: self.chance(1, 10),
            nofault: self.chance(1, 10),
        };
        Op::Gup { p, range, h, flags }
    }

    fn handle(&mut self) -> HandleId {
        let used = Self::used(&self.state.handles, |h| h.id.0);
        match self.pick(&used) {
            Some(h) if self.chance(9, 10) => HandleId(h),
            _ => HandleId(self.below(u64::from(HandleId::COUNT)) as u8),
        }
    }

    fn iommu(&mut self) -> IommuId {
        let used = Self::used(&self.state.iommu, |i| i.id.0);
        match self.pick(&used) {
            Some(i) if self.chance(9, 10) => IommuId(i),
            _ => IommuId(self.below(u64::from(IommuId::COUNT)) as u8),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mmdiff_core::run::Runner;
    use mmdiff_core::{Config, Outcome};
    use mmdiff_oracle::Oracle;

    /// Runs `n` generated sequences of `len` ops on the oracle; returns the
    /// fraction of ops that succeeded and how many sequences built a THP.
    fn exercise(seed: u64, n: usize, len: usize) -> (f64, usize, usize) {
        let mut rng = SplitMix64::new(seed);
        let (mut ok, mut total, mut thp, mut swap) = (0, 0, 0, 0);
        for _ in 0..n {
            let mut gen = Generator::new(&mut rng, &OpKind::ALL);
            let mut runner = Runner::<Oracle>::new(&Config::default()).expect("oracle starts");
            let (mut saw_thp, mut saw_swap) = (false, false);
            for _ in 0..len {
                let op = gen.next_op(&mut rng, runner.state());
                let step = runner.step(&op, None).expect("no panic");
                assert!(!step.failed(), "{:?}", step);
                total += 1;
                ok += usize::from(matches!(step.outcome, Outcome::Ok(_)));
                saw_thp |= runner.state().folios.values().any(|f| f.order == 9);
                saw_swap |= !runner.state().swap.is_empty();
            }
            thp += usize::from(saw_thp);
            swap += usize::from(saw_swap);
        }
        (ok as f64 / total as f64, thp, swap)
    }

    #[test]
    fn generated_sequences_reach_deep_state() {
        let (ok_rate, thp, swap) = exercise(7, 60, 100);
        eprintln!("ok rate {ok_rate:.2}, THP in {thp}/60, swap in {swap}/60");
        assert!(ok_rate > 0.35, "only {ok_rate:.2} of generated ops succeed");
        assert!(thp >= 5, "only {thp}/60 sequences built a THP");
        assert!(swap >= 5, "only {swap}/60 sequences swapped");
    }

    #[test]
    fn generation_depends_on_the_seed_only() {
        let run = |seed| {
            let mut rng = SplitMix64::new(seed);
            let mut gen = Generator::new(&mut rng, &OpKind::ALL);
            let mut runner = Runner::<Oracle>::new(&Config::default()).expect("oracle starts");
            (0..30)
                .map(|_| {
                    let op = gen.next_op(&mut rng, runner.state());
                    runner.step(&op, None).expect("no panic");
                    op
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(run(3), run(3));
        assert_ne!(run(3), run(4));
    }

    /// Share of range ops that repeat one of the last four ranges, and the
    /// mean mapping size, over generated sequences.
    fn collisions(make: fn(&mut SplitMix64, &[OpKind]) -> Generator) -> (f64, f64) {
        let mut rng = SplitMix64::new(11);
        let (mut repeats, mut ranged, mut mapped, mut mmaps) = (0, 0, 0u64, 0u64);
        for _ in 0..40 {
            let mut gen = make(&mut rng, &OpKind::ALL);
            let mut runner = Runner::<Oracle>::new(&Config::default()).expect("oracle starts");
            let mut recent: Vec<PageRange> = Vec::new();
            for _ in 0..40 {
                let op = gen.next_op(&mut rng, runner.state());
                if let Op::Mmap { pages, .. } = op {
                    mapped += u64::from(pages);
                    mmaps += 1;
                }
                if let Some(r) = op.range() {
                    ranged += 1;
                    repeats += usize::from(recent.iter().rev().take(HOT_RANGES).any(|x| *x == r));
                    recent.push(r);
                }
                runner.step(&op, None).expect("no panic");
            }
        }
        (repeats as f64 / ranged as f64, mapped as f64 / mmaps as f64)
    }

    #[test]
    fn sequences_aim_at_hot_ranges_and_small_mappings_unless_spread() {
        let (hot, size) = collisions(Generator::new);
        let (spread_hot, spread_size) = collisions(Generator::spread);
        eprintln!("repeats {hot:.2} vs {spread_hot:.2}, mmap pages {size:.0} vs {spread_size:.0}");
        assert!(hot > 0.25, "only {hot:.2} of ranges reuse a hot one");
        assert!(hot > 2.0 * spread_hot, "{hot:.2} vs {spread_hot:.2}");
        assert!(
            size * 1.5 < spread_size,
            "{size:.0} vs {spread_size:.0} pages"
        );
    }

    #[test]
    fn sequences_map_something_first_and_mprotect_changes_protections() {
        let mut rng = SplitMix64::new(2);
        let (mut first_mmaps, mut mprotects, mut changes) = (0, 0, 0);
        for _ in 0..200 {
            let mut gen = Generator::new(&mut rng, &OpKind::ALL);
            let mut runner = Runner::<Oracle>::new(&Config::default()).expect("oracle starts");
            for i in 0..20 {
                let op = gen.next_op(&mut rng, runner.state());
                first_mmaps += usize::from(i == 0 && op.kind() == OpKind::Mmap);
                if let Op::Mprotect { p, range, prot } = op {
                    let w = u64::from(runner.state().window_pages);
                    let at = w * (u64::from(range.slot.0) + 1) + u64::from(range.start);
                    let vma = runner
                        .state()
                        .procs
                        .iter()
                        .filter(|x| x.id == p)
                        .flat_map(|x| &x.vmas)
                        .find(|v| v.start <= at && at < v.end);
                    if let Some(v) = vma {
                        mprotects += 1;
                        changes += usize::from(v.prot != prot);
                    }
                }
                runner.step(&op, None).expect("no panic");
            }
        }
        assert!(
            first_mmaps > 160,
            "{first_mmaps}/200 sequences start with mmap"
        );
        assert!(
            changes * 4 > mprotects * 3,
            "{changes}/{mprotects} change the protection"
        );
    }

    #[test]
    fn swarm_respects_the_allowed_kinds() {
        let mut rng = SplitMix64::new(1);
        let allowed = [OpKind::Mmap, OpKind::Read];
        let swarm = Swarm::draw(&mut rng, &allowed);
        for _ in 0..200 {
            assert!(allowed.contains(&swarm.pick(&mut rng)));
        }
    }
}
