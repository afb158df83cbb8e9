//! The kernel of a qemu guest as the oracle's counterpart.
//!
//! The host's kernel has no HMM test driver and no `gup_test`; a small
//! guest kernel built with them (`scripts/guest/build.sh`) does. The guest
//! runs `mmdiff-guest` as its init ([`init`]): it mounts what the executor
//! needs, probes the guest kernel ([`crate::probe`]) and serves the same
//! [`crate::exec::Executor`] the host engine uses over a channel to the
//! host ([`server`]), one JSON record per op ([`protocol`]). The host side
//! ([`client::GuestKernel`]) is a [`crate::machine::Kernel`], so
//! [`crate::compare_on`] compares the oracle with the guest exactly as it
//! does with the host; [`qemu`] builds (or reuses) the guest image and
//! boots it.

pub mod client;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub mod init;
pub mod protocol;
#[cfg(unix)]
pub mod qemu;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub mod server;

pub use client::GuestKernel;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub use server::{serve, Served};
