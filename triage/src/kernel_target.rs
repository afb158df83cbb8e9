//! The kernel a kernel-engine command compares the oracle with: this
//! machine's running kernel (`--engine kernel`) or a qemu guest's
//! (`--engine qemu`, [`mmdiff_kernel::guest`]).

use mmdiff_kernel::guest::qemu::{self, Guest, Image};
use mmdiff_kernel::machine::{HostKernel, Kernel};
use mmdiff_kernel::Environment;

use crate::kernel_replay::Engine;

/// Where fresh kernels come from.
#[derive(Clone, Debug)]
pub enum Target {
    /// The running kernel, as probed.
    Host(Box<Environment>),
    /// A guest booted from this image for every [`Target::open`].
    Qemu(Image),
}

/// A kernel to compare with; a guest is powered off when it is dropped.
pub type Opened = Box<dyn Kernel + Send>;

impl Target {
    /// The target of `engine` (`Kernel` or `Qemu`): the probed machine,
    /// or the guest image built or found in the cache. `Err`: why the
    /// engine cannot run here.
    pub fn for_engine(engine: Engine) -> Result<Target, String> {
        match engine {
            Engine::Qemu => qemu::image()
                .map(Target::Qemu)
                .map_err(|e| format!("the qemu engine cannot run here: {e}")),
            _ => crate::kernel_replay::usable_environment().map(|env| Target::Host(Box::new(env))),
        }
    }

    /// A fresh kernel: this machine's, or a newly booted guest.
    pub fn open(&self) -> Result<Opened, String> {
        match self {
            Target::Host(env) => Ok(Box::new(HostKernel {
                env: env.as_ref().clone(),
            })),
            Target::Qemu(image) => {
                let guest = Guest::boot(image).map_err(|e| e.to_string())?;
                Ok(Box::new(guest))
            }
        }
    }

    /// The engine's name in reports and provenance.
    pub fn engine_name(&self) -> &'static str {
        match self {
            Target::Host(_) => "kernel",
            Target::Qemu(_) => "qemu",
        }
    }
}
