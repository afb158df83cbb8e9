//! mmdiff's subject: the optimized model of the Linux mm state machine
//! (Linux v6.19 semantics as written down in `docs/semantics.md`), built
//! the way the kernel is built. It must behave exactly like the oracle
//! (same outcome and canonical state after every op) and never depends on
//! it; the lockstep runner checks that.
//!
//! Where it differs from the oracle, and why:
//! - [`pt`]: a radix page table per process (PGD/PUD/PMD/PTE, 512 entries
//!   per table, freed when empty) where a PMD leaf (THP, huge zero page,
//!   PMD migration or device-private entry) is one slot; range walks skip
//!   empty subtrees; a reverse map answers "who maps this folio".
//! - [`folios`]: a folio arena with a free list instead of a map keyed by
//!   id, with ids that never name a freed folio's successor.
//! - Run-length stores ([`runs`]) where the oracle keeps a vector per
//!   page: folio contents and `PageAnonExclusive` flags, the pages of GUP
//!   handles and IOMMU preregistrations ([`gup`], [`iommu`]), and the
//!   device page tables ([`device`]). A THP written with one value or the
//!   `index+K` pattern, pinned, or mapped by a device is a handful of runs,
//!   so memory follows folios and runs, not pages; the per-page vectors of
//!   the canonical state are built only on export.
//! - Batched paths that handle a PMD leaf in one step: CPU access
//!   ([`access`]), GUP grabbing a run of one folio with one
//!   `try_grab_folio(folio, refs)` and releasing runs ([`gup`]), zap,
//!   mprotect, soft-dirty and uffd-wp ranges, fork copy and mremap
//!   ([`zap`], [`protect`], [`fork`], [`mremap`]), the HMM walk ([`hmm`]).
//! - The HMM walk caches its `dev_pagemap` reference across the walk
//!   (seed 002) and migration collection runs inside it (seed 004).
//! - An incremental digest of the canonical state ([`export`]), kept by
//!   the page tables and the arena, so lockstep comparison costs what an
//!   op changed.
//!
//! Each fast path's comment names the oracle rule it must preserve. The
//! module split follows the oracle's: [`vma`], [`pte`], [`fault`],
//! [`file`](mod@file), [`swap`], [`thp`], [`migrate`] (between zones),
//! [`iommu`], [`device`], [`migrate_device`], [`exclusive`], [`dmirror`]
//! and [`dmirror_migrate`] (the `lib/test_hmm.c` driver); [`ops`] turns
//! each op into calls of those.

#![forbid(unsafe_code)]

/// True when the planted fault `Fault::$f` is active (see [`planted`]).
/// Only `#[cfg(feature = "planted")]` statements use it.
#[cfg(feature = "planted")]
macro_rules! planted {
    ($f:ident) => {
        $crate::planted::on($crate::planted::Fault::$f)
    };
}

pub mod access;
pub mod device;
pub mod dmirror;
pub mod dmirror_migrate;
pub mod exclusive;
pub mod exclusive_range;
pub mod export;
pub mod fault;
pub mod file;
pub mod folios;
pub mod fork;
pub mod gup;
pub mod hmm;
pub mod iommu;
pub mod migrate;
pub mod migrate_device;
pub mod mremap;
pub mod ops;
#[cfg(feature = "planted")]
pub mod planted;
pub mod protect;
pub mod pt;
pub mod pte;
pub mod runs;
pub mod swap;
pub mod thp;
pub mod vma;
pub mod world;
pub mod zap;

use mmdiff_core::{Config, Model, Op, Outcome, State};

/// The optimized model.
pub struct Subject {
    world: world::World,
}

impl Model for Subject {
    fn new(config: &Config) -> Self {
        Subject {
            world: world::World::new(config),
        }
    }

    fn name(&self) -> &'static str {
        "subject"
    }

    fn apply(&mut self, op: &Op) -> Outcome {
        self.world.apply(op)
    }

    fn raw_state(&self) -> State {
        self.world.export()
    }

    /// Kept up to date by the page tables and the folio arena; see
    /// [`world::World::digest`].
    fn digest(&self) -> mmdiff_core::digest::Digest {
        self.world.digest()
    }
}
