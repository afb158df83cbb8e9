//! What the end-to-end tests of the `mmdiff` binary share.

use std::process::Command;

/// Runs `mmdiff args`: exit code (-1 when killed), stdout, stderr.
pub fn mmdiff(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mmdiff"))
        .args(args)
        .output()
        .expect("run mmdiff");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).expect("UTF-8 stdout"),
        String::from_utf8(out.stderr).expect("UTF-8 stderr"),
    )
}
