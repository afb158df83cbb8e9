//! mmdiff's third engine: the real Linux kernel.
//!
//! The system-call subset of a scenario (`mmap`, `munmap`, `mprotect`,
//! `madvise`, `mremap`, `fork`, `exit`, `file`, CPU `read`/`write`,
//! `clear-soft-dirty`, and `gup get fast` as `vmsplice` with `dma-read`
//! and `release` of its handle; with the kernel's GUP test interface also
//! long-term pins and gets or pins that the next op releases; with the HMM
//! test driver its ioctls) runs for real in scenario processes forked
//! for the purpose ([`Executor`]); after every op the kernel's observable
//! state of every process is read from `/proc` ([`observe`]) and compared
//! with the oracle's canonical state projected onto the same observables
//! ([`project`]). [`compare_with_oracle`] / [`compare`] report the first
//! op where the two disagree, with both views and a diff, and what could
//! not be run ([`Report`]).
//!
//! The engine exists on Linux x86-64 (the models' page and PMD sizes); the
//! machine facts that decide what it can observe and how the kernel is
//! configured are read by [`env::probe`]. Elsewhere every entry point
//! returns [`ExecError::Unsupported`].
//!
//! Modules: [`env`] (machine facts, the oracle config), [`subset`] (what
//! is expressible), [`view`] (the observable state), [`project`] (oracle
//! state → view), [`explained`] (known differences and how they are taken
//! out), [`compare`] (side by side), and on Linux `exec` (the
//! controller), `child` (a scenario process), `wire` (their protocol),
//! `observe` (reading `/proc`), `sys` (every `unsafe`), [`layout`] (where
//! windows live in memory).

#![cfg_attr(
    not(all(target_os = "linux", target_arch = "x86_64")),
    forbid(unsafe_code)
)]

pub mod compare;
pub mod env;
pub mod explained;
pub mod guest;
pub mod kernel_outcome;
pub mod layout;
pub mod machine;
pub mod project;
pub mod subset;
pub mod view;

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod child;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub mod exec;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub mod observe;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod sys;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod wire;

#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
mod unsupported;
#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
pub use unsupported::{exec, observe};

pub use compare::{
    compare, compare_on, compare_with_oracle, DivergenceKind, KernelDivergence, Options, Report,
    Unexpressible,
};
pub use env::{probe, Environment, Probe};
pub use exec::Executor;
pub use explained::Explained;
pub use kernel_outcome::{ExecError, KernelOutcome};
pub use view::View;
