//! AFL++ driver (afl.rs, persistent mode): each input is fuzz bytes, run
//! by `mmdiff_harness::run_bytes` on the oracle and the subject in
//! lockstep, exactly as the cargo-fuzz targets and `mmdiff replay` run
//! them. A divergence panics with its explanation and scenario; afl.rs
//! turns the panic into an abort, which AFL records as a crash.
//!
//! `cargo afl build` compiles the AFL loop (it sets `--cfg fuzzing` and
//! links AFL's runtime). A plain `cargo build` has no AFL runtime to link
//! against, so it builds a replayer instead: it runs the files named on
//! the command line (or stdin) once each and exits 1 on a divergence. The
//! AFL build also reads one input from stdin when not run by AFL, so a
//! crash replays with either binary: `target/release/mmdiff-afl <
//! out/default/crashes/id:...`.
//!
//! With `--features planted`, `MMDIFF_PLANTED=<fault>` plants a fault in
//! the subject.

#[cfg(fuzzing)]
fn main() {
    afl::fuzz!(|data: &[u8]| {
        if let Err(failure) = mmdiff_harness::run_bytes(data) {
            panic!("{failure}");
        }
    });
}

#[cfg(not(fuzzing))]
fn main() {
    use std::io::Read;

    let paths: Vec<String> = std::env::args().skip(1).collect();
    let mut inputs = Vec::new();
    if paths.is_empty() {
        let mut data = Vec::new();
        if let Err(e) = std::io::stdin().read_to_end(&mut data) {
            eprintln!("mmdiff-afl: cannot read stdin: {e}");
            std::process::exit(2);
        }
        inputs.push(("<stdin>".to_string(), data));
    }
    for path in paths {
        match std::fs::read(&path) {
            Ok(data) => inputs.push((path, data)),
            Err(e) => {
                eprintln!("mmdiff-afl: cannot read {path}: {e}");
                std::process::exit(2);
            }
        }
    }
    let mut failed = 0;
    for (name, data) in &inputs {
        match mmdiff_harness::run_bytes(data) {
            Ok(()) => println!("PASS {name}"),
            Err(failure) => {
                failed += 1;
                println!("FAIL {name}\n{failure}");
            }
        }
    }
    println!("{} passed, {failed} failed", inputs.len() - failed);
    if failed > 0 {
        std::process::exit(1);
    }
}
