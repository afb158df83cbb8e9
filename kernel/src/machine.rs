//! Where the kernel of a comparison runs.
//!
//! [`crate::compare_on`] needs a fresh kernel per scenario: something that
//! runs one op at a time and shows its state ([`Machine`]). A [`Kernel`]
//! makes them: [`HostKernel`] on the running Linux kernel (an
//! [`Executor`] in this process), [`crate::guest::GuestKernel`] in a qemu
//! guest over a channel. Both answer in the same form, so everything the
//! comparison does (projection, known differences, the report) is the same
//! for every kernel.

use std::time::Duration;

use mmdiff_core::op::Op;
use mmdiff_core::Config;

use crate::env::Environment;
use crate::exec::{ExecError, Executor, KernelOutcome};
use crate::view::View;

/// One kernel with the scenario's processes, as the oracle's counterpart.
pub trait Machine {
    /// Runs one op of the subset.
    fn apply(&mut self, op: &Op) -> Result<KernelOutcome, ExecError>;
    /// The observable state of every live scenario process.
    fn observe(&mut self) -> Result<View, ExecError>;
}

/// Makes fresh [`Machine`]s on one kernel.
pub trait Kernel {
    /// What the kernel decides (the oracle is configured from it).
    fn env(&self) -> &Environment;
    /// A fresh machine for a scenario: process `p0` with an empty address
    /// space; every op may take up to `deadline`.
    fn start(
        &mut self,
        config: &Config,
        deadline: Duration,
    ) -> Result<Box<dyn Machine + '_>, ExecError>;
}

/// The running kernel of this machine, as `env` describes it (the
/// oracle is configured from `env`; a test may shrink it).
pub struct HostKernel {
    pub env: Environment,
}

impl Kernel for HostKernel {
    fn env(&self) -> &Environment {
        &self.env
    }

    fn start(
        &mut self,
        config: &Config,
        deadline: Duration,
    ) -> Result<Box<dyn Machine + '_>, ExecError> {
        let mut exec = Executor::new(config, &self.env)?;
        exec.set_deadline(deadline);
        Ok(Box::new(exec))
    }
}

impl Machine for Executor {
    fn apply(&mut self, op: &Op) -> Result<KernelOutcome, ExecError> {
        Executor::apply(self, op)
    }

    fn observe(&mut self) -> Result<View, ExecError> {
        crate::observe::observe(self)
    }
}
