//! mmdiff's command line and triage tools, as a library: the `mmdiff`
//! binary is a thin wrapper around [`main_with_args`], and the corpus tests
//! call [`replay`] so that their failure messages are the ones `mmdiff
//! replay` prints.

pub mod args;
pub mod bench;
pub mod convert;
pub mod coverage;
pub mod explain;
pub mod files;
pub mod fuzz;
pub mod gen;
pub mod input;
pub mod kernel_artifact;
pub mod kernel_fuzz;
pub mod kernel_minimize;
pub mod kernel_replay;
pub mod kernel_summary;
pub mod kernel_target;
pub mod minimize;
pub mod planted;
pub mod profile;
pub mod promote;
pub mod replay;
pub mod state_machine;
pub mod zoo;

use std::io::Write;

use args::UsageError;

pub const USAGE: &str = "\
mmdiff: differential fuzzing of the Linux memory-management state machine

usage: mmdiff <command> [options]

commands:
  fuzz      run a differential campaign, oracle against subject (--time
            SECS, --seed N, --runs N, --max-ops N, --out DIR)
  replay    run scenarios (*.mms) and fuzz byte files on oracle and subject
            in lockstep (--model oracle|subject: one alone; --engine kernel:
            the oracle against the running kernel); exit 1 on any failure or
            divergence
  minimize  reduce a failing input to a shortest scenario with the same
            divergence signature (<input> [-o <output>])
  explain   run an input (scenario or fuzz bytes) in lockstep and explain
            its first divergence
  triage    minimize a directory of fuzz artifacts, group them by
            signature, promote new ones to corpus/regressions/
  convert   scenario text <-> fuzz bytes (<input> [-o <output>])
  bench     time oracle, subject and lockstep on fixed workloads
            (--quick, --json, --only NAME, --repeat N)
  coverage  entry-kind transitions each model goes through on scenarios
            and fuzz byte files, side by side (--json)
  zoo       the bug-finding benchmark: time for each engine to find each
            planted fault of corpus/zoo/ (needs --features planted)
  help      this text (`mmdiff help <command>` for one command)

From the repository root: cargo run --release -- <command> [options]";

/// Prints a usage error and the command's usage; returns exit code 2.
pub fn usage_error(err: &mut dyn Write, e: &UsageError, usage: &str) -> i32 {
    let _ = writeln!(err, "error: {e}\n\n{usage}");
    2
}

fn command_usage(command: &str) -> Option<&'static str> {
    match command {
        "fuzz" => Some(fuzz::USAGE),
        "replay" => Some(replay::USAGE),
        "convert" => Some(convert::USAGE),
        "minimize" => Some(minimize::USAGE),
        "explain" => Some(explain::USAGE),
        "triage" => Some(promote::USAGE),
        "bench" => Some(bench::USAGE),
        "coverage" => Some(coverage::USAGE),
        "zoo" => Some(zoo::USAGE),
        _ => None,
    }
}

/// Runs the command line `argv` (without the program name); returns the
/// exit code: 0 success, 1 failure, 2 usage error.
pub fn main_with_args(argv: &[String], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let Some((command, rest)) = argv.split_first() else {
        let _ = writeln!(err, "{USAGE}");
        return 2;
    };
    let wants_help = rest.iter().any(|a| a == "--help" || a == "-h");
    match planted::check_env() {
        Ok(None) => {}
        Ok(Some(name)) => {
            let _ = writeln!(
                err,
                "mmdiff: planted fault `{name}` is active in the subject"
            );
        }
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return 2;
        }
    }
    match command.as_str() {
        "help" | "--help" | "-h" => match rest.first() {
            None => {
                let _ = writeln!(out, "{USAGE}");
                0
            }
            Some(c) => match command_usage(c) {
                Some(u) => {
                    let _ = writeln!(out, "{u}");
                    0
                }
                None => usage_error(err, &UsageError(format!("unknown command `{c}`")), USAGE),
            },
        },
        c if wants_help && command_usage(c).is_some() => {
            let _ = writeln!(out, "{}", command_usage(c).unwrap_or(USAGE));
            0
        }
        "fuzz" => fuzz::command(rest, out, err),
        "replay" => replay::command(rest, out, err),
        "convert" => convert::command(rest, out, err),
        "minimize" => minimize::command(rest, out, err),
        "explain" => explain::command(rest, out, err),
        "triage" => promote::command(rest, out, err),
        "bench" => bench::command(rest, out, err),
        "coverage" => coverage::command(rest, out, err),
        "zoo" => zoo::command(rest, out, err),
        // Not in the usage: the peak-heap probe `bench` runs as a child.
        "bench-child" => bench::child_command(rest, out, err),
        other => usage_error(
            err,
            &UsageError(format!("unknown command `{other}`")),
            USAGE,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> (i32, String, String) {
        let argv: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = main_with_args(&argv, &mut out, &mut err);
        (
            code,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    #[test]
    fn help_and_usage_errors() {
        let (code, out, _) = run(&["help"]);
        assert_eq!(code, 0);
        for c in ["fuzz", "replay", "convert"] {
            assert!(out.contains(c), "{out}");
        }
        assert_eq!(run(&[]).0, 2);
        assert_eq!(run(&["frob"]).0, 2);
        let (code, out, _) = run(&["replay", "--help"]);
        assert_eq!(code, 0);
        assert!(out.starts_with("usage: mmdiff replay"), "{out}");
        assert_eq!(run(&["help", "fuzz"]).0, 0);
    }
}
