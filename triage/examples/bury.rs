//! Buries a scenario in unrelated noise ops, for measuring minimizers:
//! writes `<out>.mms` (scenario text) and, when the byte format can hold
//! them, `<out>.bin` (the same ops as fuzz bytes, for byte-level
//! minimizers such as `cargo fuzz tmin`).
//!
//!     cargo run --release --example bury -- corpus/zoo/canary.mms 1000 7 /tmp/canary-1000

use std::path::PathBuf;
use std::process::ExitCode;

use mmdiff_core::bytes;
use mmdiff_core::text::{self, Scenario};
use mmdiff_triage::{files, input, planted};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [path, count, seed, out] = args.as_slice() else {
        eprintln!("usage: bury <scenario.mms> <noise ops> <seed> <output stem>");
        return ExitCode::from(2);
    };
    match run(path, count, seed, out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(path: &str, count: &str, seed: &str, out: &str) -> Result<(), String> {
    let input = input::load(&PathBuf::from(path))?;
    let count: usize = count
        .parse()
        .map_err(|_| format!("`{count}` is not a number"))?;
    let seed: u64 = seed
        .parse()
        .map_err(|_| format!("`{seed}` is not a number"))?;
    let ops = planted::wrap_in_noise(&input.scenario.ops(), count, seed);
    let mut scenario = Scenario::from_ops(&ops);
    scenario.header = input
        .scenario
        .header
        .iter()
        .filter(|(k, _)| k == "config" || k == "planted")
        .cloned()
        .collect();
    scenario.header.push((
        "buried".into(),
        format!("{path} in {count} noise ops, seed {seed}"),
    ));
    let write = |ext: &str, contents: &[u8]| {
        let p = PathBuf::from(format!("{out}.{ext}"));
        files::write_atomic(&p, contents).map_err(|e| format!("cannot write {}: {e}", p.display()))
    };
    write("mms", text::print(&scenario).as_bytes())?;
    match bytes::encode(&ops) {
        Ok(data) => {
            write("bin", &data)?;
            eprintln!("{} ops: {out}.mms, {out}.bin", ops.len());
        }
        Err(e) => eprintln!("{} ops: {out}.mms (no .bin: {e})", ops.len()),
    }
    Ok(())
}
