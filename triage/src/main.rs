//! `mmdiff`: see `mmdiff help`.

/// Counts heap bytes for `mmdiff bench`'s peak figures; inert (one relaxed
/// load per allocation) until the bench's child process turns it on.
#[global_allocator]
static ALLOC: mmdiff_triage::bench::alloc::Counting = mmdiff_triage::bench::alloc::Counting;

fn main() {
    let argv: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let code = mmdiff_triage::main_with_args(&argv, &mut std::io::stdout(), &mut std::io::stderr());
    std::process::exit(code);
}
