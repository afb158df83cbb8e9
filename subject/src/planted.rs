//! Planted faults: known bugs that can be switched on in the subject, to
//! measure what the harness finds and how well it minimizes (a
//! ground-truth benchmark, like Magma does for fuzzers).
//!
//! Only built with the `planted` cargo feature; the default build has none
//! of this code. Each fault is modelled on a real kernel bug class and
//! named after it. One fault at a time is active per thread: selected with
//! [`select`] / [`with`], or for a whole process by the environment
//! variable [`ENV`] (read once per thread, at first use). Selection is an
//! explicit input, like everything else that decides a result.
//!
//! Every hook in the subject is a `#[cfg(feature = "planted")]` statement
//! that asks [`on`] for its fault and, if so, takes the buggy path.

use std::cell::Cell;

/// The environment variable naming the active fault.
pub const ENV: &str = "MMDIFF_PLANTED";

macro_rules! faults {
    ($($(#[doc = $doc:literal])* $variant:ident = $name:literal,)*) => {
        /// A planted fault.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Fault {
            $($(#[doc = $doc])* $variant,)*
        }

        impl Fault {
            /// Every fault, in declaration order.
            pub const ALL: &'static [Fault] = &[$(Fault::$variant,)*];

            /// The fault's name, as [`ENV`] and `--planted` take it.
            pub fn name(self) -> &'static str {
                match self {
                    $(Fault::$variant => $name,)*
                }
            }

            /// What the fault does, and the real bug it is modelled on.
            pub fn about(self) -> &'static str {
                match self {
                    $(Fault::$variant => concat!($($doc, "\n"),*).trim_ascii(),)*
                }
            }
        }
    };
}

faults! {
    /// A CPU write to page 1 of a window stores the value plus one. Not a
    /// kernel bug: a fault any campaign finds at once, to check the harness.
    Canary = "canary",
    /// `try_grab_folio` counts a pin on a small folio as one plain
    /// reference instead of `GUP_PIN_COUNTING_BIAS`, so
    /// `folio_maybe_dma_pinned()` is false for a pinned page (seed 003;
    /// the class of bugs `GUP_PIN_COUNTING_BIAS` exists to prevent).
    Seed003PinWithoutBias = "seed003-pin-without-bias",
    /// `change_softleaf_pte()` leaves a writable device-private entry
    /// writable when mprotect removes write permission (seed 001).
    Seed001MprotectKeepsDeviceWrite = "seed001-mprotect-keeps-device-write",
    /// `copy_nonpresent_pte()` leaves a writable device-private entry
    /// writable in parent and child of a COW fork (seed 001).
    Seed001ForkKeepsDeviceWrite = "seed001-fork-keeps-device-write",
    /// `copy_present_pte()` shares a maybe-pinned exclusive anon page with
    /// the child instead of copying it (`folio_needs_cow_for_dma` ignored:
    /// the bug class of commit 70e806e4e645, "mm: Do early cow for pinned
    /// pages during fork() for ptes").
    ForkSharesPinnedPage = "fork-shares-pinned-page",
    /// `can_split_folio()` ignores pins: a pinned THP is split and its
    /// pieces lose the pincount.
    ThpSplitDropsPincount = "thp-split-drops-pincount",
    /// Device migration skips the expected-refcount checks
    /// (`migrate_vma_check_page()` and the freeze in
    /// `folio_migrate_mapping()`), so a page with extra references (a GUP
    /// reference, a lock holder) is migrated away under its user.
    MigrateIgnoresExtraRefs = "migrate-ignores-extra-refs",
    /// `gup_put_folio()` tells a pin from a plain reference by looking at
    /// the folio (`folio_maybe_dma_pinned()`) instead of at the FOLL_GET
    /// the reference was taken with: the `put_page()` that releases a
    /// `get_user_pages()` reference on a pinned small folio drops a whole
    /// `GUP_PIN_COUNTING_BIAS`, so an unrelated get_page/put_page pair
    /// releases somebody's DMA pin early (seed 003; before 5.7
    /// `put_user_page()` was `put_page()`, and a pin could not be told
    /// from a transient reference).
    Seed003PutPageUnpins = "seed003-put-page-unpins",
    /// `__gup_longterm_locked()` keeps FOLL_LONGTERM pins without
    /// `check_and_migrate_movable_pages()`: pages in CMA or ZONE_MOVABLE
    /// are pinned long-term where they are instead of being migrated to
    /// ZONE_NORMAL first, so the CMA area can no longer be allocated (seed
    /// 000: the `get_user_pages_longterm()` of before v5.1, "mm: update
    /// get_user_pages_longterm to migrate pages allocated from CMA
    /// region", which the powerpc IOMMU preregistration needed).
    Seed000LongtermKeepsCma = "seed000-longterm-keeps-cma",
    /// `mm_iommu_do_alloc()` does not count the pages of the chunk that
    /// came back short (the `if (ret > 0) pinned += ret;` of its pinning
    /// loop is missing), so `free_exit` unpins only the complete chunks
    /// before it and the short chunk's long-term pins leak (seed 000; the
    /// bug class of its error paths: every one must release exactly the
    /// pages pinned so far, with the matching release call).
    Seed000PreregLeaksOnShortPin = "seed000-prereg-leaks-on-short-pin",
    /// The HMM walk looks up the `dev_pagemap` of a device-private page
    /// to compare its owner and caches the reference in
    /// `hmm_vma_walk->pgmap`. When the page is another device's and must
    /// be faulted back, `hmm_vma_handle_pte()` (and the PMD path) goes to
    /// the fault and the `-EBUSY` restart straight from that branch,
    /// forgetting the cached pointer without `put_dev_pagemap()`: each
    /// such restart leaks one pgmap reference, and the device can never
    /// be torn down (seed 002; in the walk of before v5.7 the `fault:`
    /// exit of `hmm_vma_handle_pte()` had to drop the reference, as every
    /// exit did, the retry included).
    Seed002PgmapRefLeakOnRetry = "seed002-pgmap-ref-leak-on-retry",
    /// On the migrate-on-fault path (`MIGRATE_VMA_FAULT`, the `fault`
    /// select flag) the migrate collection inside the HMM walk
    /// (`hmm_vma_handle_migrate_prepare()`) builds the migration entry
    /// from the pfn and the write bit alone: the young and dirty bits of
    /// the PTE it replaces are not carried into the entry, and a dirty PTE
    /// does not `folio_mark_dirty()` the folio, so data written through
    /// the PTE can be treated as clean after the migration (seed 004 RFC
    /// v1; the bug class of "mm/migrate_device.c: copy pte dirty bit to
    /// page", v6.0).
    Seed004MigrationEntryDropsDirty = "seed004-migration-entry-drops-dirty",
    /// The migrate collection inside the HMM walk gives a candidate back
    /// with an unconditional `folio_unlock()`, also when it is the fault
    /// folio, whose lock belongs to the caller (`do_swap_page()`): seed
    /// 004 RFC v1 does this when `folio_try_share_anon_rmap_pte()` fails.
    /// That failure cannot happen to the fault folio (it is device-private,
    /// and device-private folios are never pinned), so the same mistake is
    /// made on the other give-back path, the split fallback of
    /// `migrate_vma_collect_huge_pmd()`, where it shows: the fault folio of
    /// a device-private THP is left unlocked in the middle of the
    /// migration.
    Seed004UnlocksFaultFolio = "seed004-unlocks-fault-folio",
    /// `gup_must_unshare()` never asks to unshare an anon page: a
    /// read-only `pin_user_pages()` of a COW-shared anon page (after fork)
    /// pins the shared page, so the pin stops seeing the pinning process's
    /// memory at its next write (CVE-2020-29374, the vmsplice "COW can
    /// break either way" bug; fixed for R/O pins in 5.19 by "mm/gup:
    /// trigger FAULT_FLAG_UNSHARE when R/O-pinning a possibly shared
    /// anonymous page").
    Cve202029374RoPinNoUnshare = "cve-2020-29374-ro-pin-no-unshare",
    /// `hmm_vma_handle_pte()` and `hmm_vma_walk_pmd()` report every
    /// device-private entry as a valid page without comparing its
    /// `pgmap->owner` with `range->dev_private_owner`: another device's
    /// private memory, which the caller cannot access, is handed out
    /// instead of being faulted back to system memory (or reported as not
    /// valid). The `hmm_range_fault()` of before v5.7, fixed by "mm/hmm:
    /// check the device private page owner in hmm_range_fault()".
    HmmForeignDevicePrivateValid = "hmm-foreign-device-private-valid",
}

impl Fault {
    /// The fault named `name`, if there is one.
    pub fn from_name(name: &str) -> Option<Fault> {
        Fault::ALL.iter().copied().find(|f| f.name() == name)
    }
}

/// The fault [`ENV`] names: `Ok(None)` when it is unset or empty, an error
/// listing the names when it names none.
pub fn from_env() -> Result<Option<Fault>, String> {
    match std::env::var(ENV) {
        Err(_) => Ok(None),
        Ok(name) if name.is_empty() => Ok(None),
        Ok(name) => Fault::from_name(&name).map(Some).ok_or_else(|| {
            let names: Vec<&str> = Fault::ALL.iter().map(|f| f.name()).collect();
            format!(
                "{ENV}={name}: no such planted fault (known: {})",
                names.join(", ")
            )
        }),
    }
}

thread_local! {
    // A bad name in the environment selects nothing here; front ends
    // check `from_env()` first and report it.
    static ACTIVE: Cell<Option<Fault>> = Cell::new(from_env().ok().flatten());
}

/// Makes `fault` (or none) the active fault of this thread.
pub fn select(fault: Option<Fault>) {
    ACTIVE.with(|a| a.set(fault));
}

/// The active fault of this thread.
pub fn active() -> Option<Fault> {
    ACTIVE.with(|a| a.get())
}

/// Runs `body` with `fault` active on this thread, then restores the
/// previous selection (also when `body` panics).
pub fn with<R>(fault: Option<Fault>, body: impl FnOnce() -> R) -> R {
    struct Restore(Option<Fault>);
    impl Drop for Restore {
        fn drop(&mut self) {
            select(self.0);
        }
    }
    let _restore = Restore(active());
    select(fault);
    body()
}

/// True when `fault` is the active one: the question every hook asks.
pub fn on(fault: Fault) -> bool {
    active() == Some(fault)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        for &f in Fault::ALL {
            assert_eq!(Fault::from_name(f.name()), Some(f));
            assert!(!f.about().is_empty(), "{f:?} is undocumented");
        }
        let mut names: Vec<&str> = Fault::ALL.iter().map(|f| f.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Fault::ALL.len());
        assert_eq!(Fault::from_name("no-such-fault"), None);
    }

    #[test]
    fn selection_is_scoped_to_the_thread_and_the_closure() {
        select(None);
        with(Some(Fault::Canary), || {
            assert!(on(Fault::Canary));
            assert!(!on(Fault::ForkSharesPinnedPage));
            std::thread::spawn(|| assert_eq!(active(), from_env().ok().flatten()))
                .join()
                .expect("thread runs");
        });
        assert_eq!(active(), None);
    }
}
