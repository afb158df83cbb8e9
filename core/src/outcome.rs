//! What an operation returns. Outcomes are compared between models exactly,
//! so everything in them is canonical: folio references inside an outcome
//! are renamed with the same map as the canonical state.

pub use crate::runs::{PfnRun, PfnRuns};
use crate::state::{FolioId, PageRef, Renames};

/// An error number, as the kernel returns it (printed without the minus sign).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Errno {
    EPERM,
    ENOENT,
    EINTR,
    EIO,
    EBADF,
    EAGAIN,
    ENOMEM,
    EACCES,
    EFAULT,
    EBUSY,
    EEXIST,
    EINVAL,
    ENOSPC,
    ERANGE,
    EOPNOTSUPP,
    EHWPOISON,
}

impl Errno {
    pub const ALL: [Errno; 16] = [
        Errno::EPERM,
        Errno::ENOENT,
        Errno::EINTR,
        Errno::EIO,
        Errno::EBADF,
        Errno::EAGAIN,
        Errno::ENOMEM,
        Errno::EACCES,
        Errno::EFAULT,
        Errno::EBUSY,
        Errno::EEXIST,
        Errno::EINVAL,
        Errno::ENOSPC,
        Errno::ERANGE,
        Errno::EOPNOTSUPP,
        Errno::EHWPOISON,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Errno::EPERM => "EPERM",
            Errno::ENOENT => "ENOENT",
            Errno::EINTR => "EINTR",
            Errno::EIO => "EIO",
            Errno::EBADF => "EBADF",
            Errno::EAGAIN => "EAGAIN",
            Errno::ENOMEM => "ENOMEM",
            Errno::EACCES => "EACCES",
            Errno::EFAULT => "EFAULT",
            Errno::EBUSY => "EBUSY",
            Errno::EEXIST => "EEXIST",
            Errno::EINVAL => "EINVAL",
            Errno::ENOSPC => "ENOSPC",
            Errno::ERANGE => "ERANGE",
            Errno::EOPNOTSUPP => "EOPNOTSUPP",
            Errno::EHWPOISON => "EHWPOISON",
        }
    }
    pub fn from_name(s: &str) -> Option<Errno> {
        Errno::ALL.iter().copied().find(|e| e.name() == s)
    }
}

/// How a CPU access ended when it did not complete.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Signal {
    /// No VMA, or the VMA does not allow the access.
    Segv,
    /// The fault handler returned `VM_FAULT_SIGBUS` (e.g. beyond the end of a file).
    Bus,
    /// The fault handler returned `VM_FAULT_OOM`: no memory for the page.
    Oom,
}

impl Signal {
    pub fn name(self) -> &'static str {
        match self {
            Signal::Segv => "SIGSEGV",
            Signal::Bus => "SIGBUS",
            Signal::Oom => "OOM",
        }
    }
    pub fn from_name(s: &str) -> Option<Signal> {
        [Signal::Segv, Signal::Bus, Signal::Oom]
            .into_iter()
            .find(|x| x.name() == s)
    }
}

/// The payload of a successful operation.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Payload {
    #[default]
    None,
    /// A count: pages pinned, folios migrated, ...
    Count(u64),
    /// One value per page. `base` is the page number the first value belongs
    /// to (window-relative for CPU reads, handle base + index for DMA), so the
    /// text form can write an "index" pattern.
    Data { base: u64, values: Vec<u64> },
    /// A translated IOMMU entry: the page and the entry's page shift.
    Translate { page: PageRef, shift: u8 },
    /// `hmm_range_fault` output, one word per page, stored as runs: a
    /// PMD-mapped THP is one run, not 512 words.
    Pfns(PfnRuns),
    /// `migrate_vma_setup` / `migrate_vma_pages`: `cpages` and the `src[]`
    /// array as the driver sees it.
    Migrate { cpages: u64, src: Vec<MigrateSrc> },
    /// A `lib/test_hmm.c` ioctl's `{cpages, faults}` and, for ioctls that
    /// copy pages out to the user buffer, the values (for the "index"
    /// pattern, `base` is the window-relative page of the first value).
    Dev {
        cpages: u64,
        faults: u64,
        data: Option<(u64, Vec<u64>)>,
    },
    /// `HMM_DMIRROR_SNAPSHOT`: one `HMM_DMIRROR_PROT_*` byte per page.
    Snapshot(Vec<u8>),
}

/// One `hmm_pfns[]` word in canonical form: the flag bits, the map order
/// (0 or 9), and the page instead of a raw pfn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct HmmPfn {
    /// `HMM_PFN_VALID`.
    pub valid: bool,
    /// `HMM_PFN_WRITE`.
    pub write: bool,
    /// `HMM_PFN_ERROR`.
    pub error: bool,
    /// `hmm_pfn_to_map_order()`.
    pub order: u8,
    /// The page, when the word carries a pfn.
    pub page: Option<PageRef>,
}

/// One `migrate->src[]` entry in canonical form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MigrateSrc {
    /// The page (`MIGRATE_PFN_VALID` with its pfn); `None` for holes and
    /// the zero page.
    pub page: Option<PageRef>,
    /// `MIGRATE_PFN_MIGRATE`.
    pub migrate: bool,
    /// `MIGRATE_PFN_WRITE`.
    pub write: bool,
    /// `MIGRATE_PFN_COMPOUND`.
    pub compound: bool,
}

/// The result of one operation.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Outcome {
    Ok(Payload),
    Err(Errno),
    /// A CPU access stopped with a signal at window-relative page `page`
    /// (pages before it were accessed).
    Signal {
        sig: Signal,
        page: u32,
    },
    /// The operation would sleep in the kernel (migration entry, folio lock
    /// held by someone else, userfaultfd) at window-relative page `page`;
    /// pages before it were accessed, that page is unchanged.
    Blocked {
        page: u32,
    },
    /// The operation would wait forever: it waits on something (a folio
    /// lock or migration entry held by the op itself, or by a session that
    /// cannot end first) that nothing can release while it waits.
    Stuck,
}

impl Outcome {
    pub const OK: Outcome = Outcome::Ok(Payload::None);

    pub fn count(n: u64) -> Outcome {
        Outcome::Ok(Payload::Count(n))
    }

    /// Replace model-internal folio ids by canonical names.
    pub fn renamed(&self, renames: &Renames) -> Outcome {
        let page = |p: &Option<PageRef>| p.map(|p| p.renamed(renames));
        match self {
            Outcome::Ok(Payload::Translate { page, shift }) => Outcome::Ok(Payload::Translate {
                page: page.renamed(renames),
                shift: *shift,
            }),
            // Renaming keeps page indexes, so it commutes with advancing;
            // map_pages merges runs of folios that now share a name.
            Outcome::Ok(Payload::Pfns(words)) => {
                Outcome::Ok(Payload::Pfns(words.map_pages(|p| p.renamed(renames))))
            }
            Outcome::Ok(Payload::Migrate { cpages, src }) => Outcome::Ok(Payload::Migrate {
                cpages: *cpages,
                src: src
                    .iter()
                    .map(|e| MigrateSrc {
                        page: page(&e.page),
                        ..*e
                    })
                    .collect(),
            }),
            other => other.clone(),
        }
    }

    /// Folio ids mentioned by this outcome (raw ids before renaming), in
    /// order, possibly repeated (`pfns`: once per run, a run being inside
    /// one folio).
    pub fn folios(&self) -> Vec<FolioId> {
        let of = |p: &Option<PageRef>| match p {
            Some(PageRef::Folio { folio, .. }) => Some(*folio),
            _ => None,
        };
        match self {
            Outcome::Ok(Payload::Translate { page, .. }) => of(&Some(*page)).into_iter().collect(),
            Outcome::Ok(Payload::Pfns(words)) => words
                .runs()
                .iter()
                .filter_map(|r| of(&r.first.page))
                .collect(),
            Outcome::Ok(Payload::Migrate { src, .. }) => {
                src.iter().filter_map(|e| of(&e.page)).collect()
            }
            _ => Vec::new(),
        }
    }
}
