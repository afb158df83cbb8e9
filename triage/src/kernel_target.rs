//! The kernel a kernel-engine command compares the oracle with: this
//! machine's running kernel (`--engine kernel`) or a qemu guest's
//! (`--engine qemu`, [`mmdiff_kernel::guest`]).

use mmdiff_core::{Config, KernelVersion};
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

/// Checks `--kernel` (`requested`) against the kernel `engine` compares
/// with, described by `env`: the comparison always uses that kernel's own
/// profile ([`Environment::oracle_config`]), so the option may only name
/// it. `Err`: the message for the user.
pub fn check_kernel_option(
    requested: Option<KernelVersion>,
    engine: Engine,
    env: &Environment,
) -> Result<(), String> {
    let own = env.oracle_config(&Config::default()).kernel;
    match requested {
        Some(v) if v != own => {
            let which = match engine {
                Engine::Qemu => "the guest kernel",
                _ => "the running kernel",
            };
            Err(format!(
                "--kernel {v} does not match {which} {own}: the comparison always uses \
                 the kernel's own profile"
            ))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(release: &str) -> Environment {
        Environment {
            kernel_release: release.into(),
            ..Environment::default()
        }
    }

    #[test]
    fn kernel_option_must_name_the_engines_kernel() {
        let guest = env("6.12.48");
        let v612 = KernelVersion::new(6, 12);
        assert_eq!(check_kernel_option(None, Engine::Qemu, &guest), Ok(()));
        assert_eq!(
            check_kernel_option(Some(v612), Engine::Qemu, &guest),
            Ok(())
        );
        assert_eq!(
            check_kernel_option(Some(KernelVersion::BASELINE), Engine::Qemu, &guest),
            Err(
                "--kernel 6.19 does not match the guest kernel 6.12: the comparison \
                 always uses the kernel's own profile"
                    .into()
            )
        );
        let host = env("6.18.5-arch1-1");
        assert_eq!(
            check_kernel_option(Some(v612), Engine::Kernel, &host),
            Err(
                "--kernel 6.12 does not match the running kernel 6.18: the comparison \
                 always uses the kernel's own profile"
                    .into()
            )
        );
        let v618 = KernelVersion::new(6, 18);
        assert_eq!(
            check_kernel_option(Some(v618), Engine::Kernel, &host),
            Ok(())
        );
    }
}
