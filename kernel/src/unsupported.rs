//! The kernel engine on platforms it does not support: the same API,
//! every entry point answering [`ExecError::Unsupported`].

pub mod exec {
    use mmdiff_core::op::{Op, ProcId};
    use mmdiff_core::Config;

    use crate::env::Environment;
    pub use crate::kernel_outcome::{ExecError, KernelOutcome, DEFAULT_DEADLINE};

    /// Never constructed here.
    pub struct Executor {
        _never: std::convert::Infallible,
    }

    impl Executor {
        pub fn new(_config: &Config, _env: &Environment) -> Result<Executor, ExecError> {
            Err(ExecError::Unsupported(
                "the kernel engine needs Linux on x86-64".into(),
            ))
        }
        pub fn set_deadline(&mut self, _deadline: std::time::Duration) {}
        pub fn apply(&mut self, _op: &Op) -> Result<KernelOutcome, ExecError> {
            match self._never {}
        }
        pub fn pids(&self) -> Vec<(ProcId, i32)> {
            match self._never {}
        }
    }
}

pub mod observe {
    use crate::exec::{ExecError, Executor};
    use crate::view::View;

    pub fn observe(_exec: &mut Executor) -> Result<View, ExecError> {
        Err(ExecError::Unsupported(
            "the kernel engine needs Linux on x86-64".into(),
        ))
    }
}
