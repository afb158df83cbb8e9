//! `mmdiff`: see `mmdiff help`.

fn main() {
    let argv: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let code = mmdiff_triage::main_with_args(&argv, &mut std::io::stdout(), &mut std::io::stderr());
    std::process::exit(code);
}
