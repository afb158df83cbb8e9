//! The front end's side of the subject's planted faults: checking
//! `MMDIFF_PLANTED` against what this build has.

/// The environment variable naming a planted fault.
pub const ENV: &str = "MMDIFF_PLANTED";

/// The planted fault `MMDIFF_PLANTED` selects, if any (its name); an error
/// when it names no fault, or names one in a build without the `planted`
/// feature (which would otherwise silently test the unplanted subject).
pub fn check_env() -> Result<Option<&'static str>, String> {
    #[cfg(feature = "planted")]
    {
        Ok(mmdiff_subject::planted::from_env()?.map(|f| f.name()))
    }
    #[cfg(not(feature = "planted"))]
    {
        match std::env::var(ENV) {
            Ok(name) if !name.is_empty() => Err(format!(
                "{ENV}={name}, but this build has no planted faults \
                 (build with `--features planted`)"
            )),
            _ => Ok(None),
        }
    }
}

/// The planted fault called `name`, by its static name; `None` when this
/// build has no fault of that name (always without the `planted` feature).
pub fn lookup(name: &str) -> Option<&'static str> {
    #[cfg(feature = "planted")]
    {
        mmdiff_subject::planted::Fault::from_name(name).map(|f| f.name())
    }
    #[cfg(not(feature = "planted"))]
    {
        let _ = name;
        None
    }
}

/// The name of the planted fault active on this thread, if any (always
/// `None` in a build without the `planted` feature).
pub fn active() -> Option<&'static str> {
    #[cfg(feature = "planted")]
    {
        mmdiff_subject::planted::active().map(|f| f.name())
    }
    #[cfg(not(feature = "planted"))]
    {
        None
    }
}

/// Runs `body` with the fault named `name` active on this thread: how a
/// campaign carries its thread's selection into its worker threads.
pub fn with_active<R>(name: Option<&'static str>, body: impl FnOnce() -> R) -> R {
    #[cfg(feature = "planted")]
    {
        let fault = name.and_then(mmdiff_subject::planted::Fault::from_name);
        mmdiff_subject::planted::with(fault, body)
    }
    #[cfg(not(feature = "planted"))]
    {
        let _ = name;
        body()
    }
}

use mmdiff_core::ids::{for_each_id, IdKind};
use mmdiff_core::op::{DevId, Op, OpKind};
use mmdiff_core::run::Runner;
use mmdiff_core::Config;
use mmdiff_oracle::Oracle;

use crate::gen::Generator;
use mmdiff_core::rng::SplitMix64;

/// Op kinds noise never contains: ones that reach every process or every
/// page (fork, exit, global reclaim and migration, failed allocations,
/// clearing soft-dirty bits of the whole process), which would change
/// what a repro does instead of merely surrounding it.
const NOT_NOISE: [OpKind; 6] = [
    OpKind::Fork,
    OpKind::Exit,
    OpKind::Reclaim,
    OpKind::CmaEvacuate,
    OpKind::FailAlloc,
    OpKind::ClearSoftDirty,
];

/// `repro` with `count` unrelated ops around it: swarm-generated ops of
/// process `p0` that name only the upper half of every slot kind (windows
/// `m4..m7`, handles `h8..h15`, device `dev1` or `dev3`, ...), while a
/// repro uses the lower half. Nine in ten go before the repro's last op,
/// interleaved with the others; the rest after it. Deterministic in
/// `seed`. This is how minimization is measured: the known minimal repro
/// of a planted fault, buried in noise, must come back out.
pub fn wrap_in_noise(repro: &[Op], count: usize, seed: u64) -> Vec<Op> {
    let mut rng = SplitMix64::new(seed);
    let noise = noise(&mut rng, count);
    let last = repro.len().saturating_sub(1);
    // For each noise op, the repro op it goes before (`repro.len()`: after all).
    let mut slots: Vec<(usize, Op)> = noise
        .into_iter()
        .map(|op| {
            let at = if rng.below(10) == 0 {
                repro.len()
            } else {
                rng.below(last as u64 + 1) as usize
            };
            (at, op)
        })
        .collect();
    slots.sort_by_key(|(at, _)| *at);
    let mut out = Vec::with_capacity(repro.len() + slots.len());
    let mut pending = slots.into_iter().peekable();
    for (i, op) in repro.iter().enumerate() {
        while let Some((_, n)) = pending.next_if(|(at, _)| *at == i) {
            out.push(n);
        }
        out.push(op.clone());
    }
    out.extend(pending.map(|(_, n)| n));
    out
}

fn noise(rng: &mut SplitMix64, count: usize) -> Vec<Op> {
    let allowed: Vec<OpKind> = OpKind::ALL
        .iter()
        .copied()
        .filter(|k| !NOT_NOISE.contains(k))
        .collect();
    let config = Config::default();
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        let Ok(mut runner) = Runner::<Oracle>::with_invariants(&config, |_| Vec::new()) else {
            break;
        };
        let mut gen = Generator::spread(rng, &allowed);
        for _ in 0..count - out.len() {
            let op = gen.next_op(rng, runner.state());
            if runner.step(&op, None).is_err() {
                break;
            }
            out.push(upper_half(op));
        }
    }
    out
}

/// The op with every slot moved into the upper half of its kind.
fn upper_half(mut op: Op) -> Op {
    for_each_id(&mut op, |kind, id| {
        *id = match kind {
            // Noise has no fork, so it only ever names p0.
            IdKind::Proc => *id,
            IdKind::Dev if DevId(*id).coherent() => 3,
            IdKind::Dev => 1,
            _ => {
                let half = kind.count() / 2;
                half + *id % half
            }
        }
    });
    op
}
