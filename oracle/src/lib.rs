//! mmdiff's oracle: the reference model of the Linux mm state machine
//! (Linux v6.19 semantics as written down in `docs/semantics.md`).
//!
//! Page by page, no caches, no cleverness: every rule is a short function
//! named after, and commented with, the kernel function it models. One
//! module per kernel concept: [`vma`] and [`pte`] (address space and page
//! tables), [`fault`], [`access`] (CPU loads and stores), [`file`](mod@file),
//! [`swap`], [`thp`], [`zap`], [`protect`], [`gup`], [`migrate`] (between
//! zones), [`fork`], [`mremap`], [`iommu`], and for device memory [`device`] (pools,
//! device tables, notifiers), [`hmm`], [`migrate_device`], [`exclusive`],
//! [`dmirror`] and [`dmirror_migrate`] (the `lib/test_hmm.c` driver);
//! [`ops`] turns each op into calls of those, and [`export`] exposes the
//! state.

#![forbid(unsafe_code)]

pub mod access;
pub mod device;
pub mod dmirror;
pub mod dmirror_migrate;
pub mod exclusive;
pub mod exclusive_range;
pub mod export;
pub mod fault;
pub mod file;
pub mod fork;
pub mod gup;
pub mod hmm;
pub mod iommu;
pub mod migrate;
pub mod migrate_device;
pub mod mremap;
pub mod ops;
pub mod protect;
pub mod pte;
pub mod swap;
pub mod thp;
pub mod vma;
pub mod world;
pub mod zap;

use mmdiff_core::{Config, Model, Op, Outcome, State};

/// The reference model.
#[derive(Clone, Debug)]
pub struct Oracle {
    world: world::World,
}

impl Model for Oracle {
    fn new(config: &Config) -> Self {
        Oracle {
            world: world::World::new(config),
        }
    }

    fn name(&self) -> &'static str {
        "oracle"
    }

    fn apply(&mut self, op: &Op) -> Outcome {
        self.world.apply(op)
    }

    fn raw_state(&self) -> State {
        self.world.export()
    }

    fn digest(&self) -> mmdiff_core::digest::Digest {
        self.world.digest()
    }
}
