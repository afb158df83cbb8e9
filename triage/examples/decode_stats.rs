//! How much state the two input modes of `mmdiff fuzz` reach on the oracle:
//! random bytes through the shared decoder (`--gen bytes`) versus the
//! state-aware swarm generator (`--gen swarm`). Prints, per mode, the share
//! of ops that succeed and how many inputs ever create a folio, a THP, a
//! swap slot or a device page.
//!
//! `cargo run --release -p mmdiff-triage --example decode_stats [inputs] [seed]`

use mmdiff_core::op::OpKind;
use mmdiff_core::rng::SplitMix64;
use mmdiff_core::state::{Memory, State};
use mmdiff_core::{bytes, Config, Model, Op, Outcome};
use mmdiff_oracle::Oracle;
use mmdiff_triage::fuzz::next_input;
use mmdiff_triage::gen::Generator;

#[derive(Default)]
struct Reach {
    ops: u64,
    ok: u64,
    folio: u64,
    thp: u64,
    swap: u64,
    device: u64,
}

impl Reach {
    /// Runs one input's ops, drawing each from `next` with the state so far.
    fn run(&mut self, mut next: impl FnMut(&State) -> Option<Op>) {
        let mut o = Oracle::new(&Config::default());
        let (mut folio, mut thp, mut swap, mut device) = (false, false, false, false);
        let mut state = o.raw_state();
        while let Some(op) = next(&state) {
            self.ops += 1;
            self.ok += u64::from(matches!(o.apply(&op), Outcome::Ok(_)));
            state = o.raw_state();
            folio |= !state.folios.is_empty();
            thp |= state.folios.values().any(|f| f.order == 9);
            swap |= !state.swap.is_empty();
            device |= state
                .folios
                .values()
                .any(|f| matches!(f.memory, Memory::Device(_)));
        }
        self.folio += u64::from(folio);
        self.thp += u64::from(thp);
        self.swap += u64::from(swap);
        self.device += u64::from(device);
    }

    fn print(&self, mode: &str, inputs: u64) {
        println!(
            "{mode:6} ops {:8}  ok {:5.1}%  inputs reaching: folio {}/{inputs}  THP {}  swap {}  device page {}",
            self.ops,
            100.0 * self.ok as f64 / self.ops.max(1) as f64,
            self.folio,
            self.thp,
            self.swap,
            self.device,
        );
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let inputs: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let seed: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1);
    println!("inputs: {inputs}, seed: {seed}");

    let mut rng = SplitMix64::new(seed);
    let mut bytes_reach = Reach::default();
    for _ in 0..inputs {
        let mut ops = bytes::decode(&next_input(&mut rng)).into_iter();
        bytes_reach.run(|_| ops.next());
    }
    bytes_reach.print("bytes", inputs);

    let mut rng = SplitMix64::new(seed);
    let mut swarm_reach = Reach::default();
    for _ in 0..inputs {
        let mut gen = Generator::new(&mut rng, &OpKind::ALL);
        let mut left = 1 + rng.below(bytes::MAX_OPS as u64);
        swarm_reach.run(|state| {
            left = left.checked_sub(1)?;
            Some(gen.next_op(&mut rng, state))
        });
    }
    swarm_reach.print("swarm", inputs);
}
