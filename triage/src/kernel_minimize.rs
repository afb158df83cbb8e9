//! Minimizing a disagreement between the oracle and the running kernel.
//!
//! The kernel is not a [`mmdiff_core::Model`], so the lockstep minimizer
//! ([`crate::minimize`]) cannot drive it; the reduction itself is the same
//! ([`Reducer`]): cut after the divergent op, ddmin over ops, then single-op
//! deletion to a fixpoint. A candidate is kept when [`compare_on`] still
//! disagrees with exactly the input's signature; the result is run once
//! more, and that run's report (with the kernel's view) is returned.

use mmdiff_core::{Config, Op};
use mmdiff_kernel::machine::Kernel;
use mmdiff_kernel::{compare_on, Options, Report};

use crate::minimize::reduce::{Progress, Reducer};

/// A minimized disagreement.
#[derive(Clone, Debug)]
pub struct Minimized {
    /// The ops up to and including the divergent one.
    pub ops: Vec<Op>,
    /// The confirming run's report on `ops`.
    pub report: Report,
    /// Kernel runs the reduction took.
    pub tests: u64,
}

/// How many leading ops of `ops` a disagreement with `signature` needs,
/// or `None` when the comparison agrees, disagrees otherwise, or fails.
fn disagrees(
    kernel: &mut dyn Kernel,
    config: &Config,
    ops: &[Op],
    signature: &str,
) -> Option<(usize, Report)> {
    let report = compare_on(kernel, config, ops, &Options::default()).ok()?;
    let d = report.divergence.as_ref()?;
    if d.signature() != signature {
        return None;
    }
    let keep = d.index.map_or(0, |i| i + 1);
    Some((keep, report))
}

/// The shortest sequence found that still disagrees with `signature`;
/// `Err` when `ops` itself does not (any more: the kernel may not repeat
/// a disagreement that depends on timing or memory pressure).
pub fn minimize(
    kernel: &mut dyn Kernel,
    config: &Config,
    ops: &[Op],
    signature: &str,
    progress: Progress,
) -> Result<Minimized, String> {
    let Some((keep, _)) = disagrees(kernel, config, ops, signature) else {
        return Err(format!(
            "the input did not disagree with `{signature}` again"
        ));
    };
    let mut reducer = Reducer::new(
        |candidate: &[Op]| disagrees(kernel, config, candidate, signature).map(|(k, _)| k),
        progress,
    );
    reducer.set_phase("ddmin");
    let items = reducer.ddmin(ops[..keep.min(ops.len())].to_vec());
    reducer.set_phase("one-op deletion");
    let items = reducer.delete_each(items);
    let tests = reducer.tests() + 1;
    drop(reducer);
    match disagrees(kernel, config, &items, signature) {
        Some((keep, report)) => Ok(Minimized {
            ops: items[..keep.min(items.len())].to_vec(),
            report,
            tests: tests + 1,
        }),
        None => Err(format!(
            "the minimized sequence ({} ops) did not disagree with `{signature}` when run again",
            items.len()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mmdiff_core::text;
    use mmdiff_kernel::machine::HostKernel;
    use mmdiff_kernel::Environment;

    #[test]
    fn a_disagreement_is_cut_to_the_ops_it_needs() {
        let env = mmdiff_kernel::probe();
        let ops = text::parse(
            "mmap p0 m1 anon rw pages=4\nmmap p0 m0 anon rw pages=2\nread p0 m1[0..4]\n\
             fork p0 -> p1\nwrite p0 m0[0..2] = 1\nread p0 m0[0..2]\nexit p1\n",
        )
        .unwrap()
        .ops();
        let mut quiet = |_: &'static str, _: usize, _: u64| {};
        let config = Config::default();
        if env.unsupported.is_some() {
            let mut kernel = HostKernel { env };
            let m = minimize(
                &mut kernel,
                &config,
                &ops,
                "write/kernel-outcome",
                &mut quiet,
            );
            assert!(m.is_err());
            return;
        }
        // An oracle told the machine has one page of memory runs out at
        // the second page of the write.
        let mut tiny = HostKernel {
            env: Environment {
                mem_pages: 1,
                ..env
            },
        };
        let m = minimize(&mut tiny, &config, &ops, "write/kernel-outcome", &mut quiet)
            .expect("the disagreement reproduces");
        let kept: Vec<String> = m.ops.iter().map(text::op_to_string).collect();
        assert_eq!(
            kept,
            ["mmap p0 m0 anon rw pages=2", "write p0 m0[0..2] = 1"]
        );
        let d = m.report.divergence.as_ref().expect("the confirming run");
        assert_eq!(d.signature(), "write/kernel-outcome");
        assert!(m.tests > 2, "{}", m.tests);
        let other = minimize(&mut tiny, &config, &ops, "read/kernel-outcome", &mut quiet);
        assert!(other.is_err(), "another signature is not this input's");
    }
}
