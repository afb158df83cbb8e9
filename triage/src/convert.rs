//! `mmdiff convert`: scenario text <-> fuzz bytes.

use std::io::Write;
use std::path::{Path, PathBuf};

use mmdiff_core::bytes;
use mmdiff_core::text::{self, Scenario};

use crate::args::{self, Opt, UsageError};
use crate::files;

/// Scenario text to fuzz bytes (expectations, comments and the header are
/// not part of the bytes). `path` is used in parse errors.
pub fn scenario_to_bytes(path: &str, src: &str) -> Result<Vec<u8>, String> {
    let scenario = text::parse(src).map_err(|e| e.with_file(path))?;
    bytes::encode(&scenario.ops()).map_err(|e| format!("{path}: cannot encode: {e}"))
}

/// Fuzz bytes to scenario text: one op per line, no header.
pub fn bytes_to_scenario(data: &[u8]) -> String {
    text::print(&Scenario::from_ops(&bytes::decode(data)))
}

/// What went wrong with a conversion.
#[derive(Debug)]
pub enum Error {
    Usage(UsageError),
    Failed(String),
}

/// Converts `input` by its name: `*.mms` to bytes (needs `output`), anything
/// else to scenario text (to `output`, or to `stdout` without one). The
/// output file is written atomically.
pub fn convert(input: &Path, output: Option<&Path>, stdout: &mut dyn Write) -> Result<(), Error> {
    let data = std::fs::read(input)
        .map_err(|e| Error::Failed(format!("cannot read {}: {e}", input.display())))?;
    let converted = if files::is_scenario(input) {
        if output.is_none() {
            return Err(Error::Usage(UsageError(
                "converting a scenario to bytes needs `-o <file>`".into(),
            )));
        }
        let src = String::from_utf8(data)
            .map_err(|_| Error::Failed(format!("{}: not UTF-8 text", input.display())))?;
        scenario_to_bytes(&input.display().to_string(), &src).map_err(Error::Failed)?
    } else {
        bytes_to_scenario(&data).into_bytes()
    };
    match output {
        Some(out) => files::write_atomic(out, &converted)
            .map_err(|e| Error::Failed(format!("cannot write {}: {e}", out.display()))),
        None => stdout
            .write_all(&converted)
            .and_then(|()| stdout.flush())
            .map_err(|e| Error::Failed(format!("cannot write to stdout: {e}"))),
    }
}

pub const USAGE: &str = "\
usage: mmdiff convert <input> [-o <output>]

  <input>.mms      scenario text -> fuzz bytes (needs -o)
  anything else    fuzz bytes -> scenario text (stdout without -o)

The output is written atomically (temporary file, fsync, rename).";

const OPTS: &[Opt] = &[Opt {
    names: &["--output", "-o"],
    takes_value: true,
}];

/// `mmdiff convert ...`; returns the exit code.
pub fn command(argv: &[String], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let parsed = match args::parse(argv, OPTS) {
        Ok(p) if p.positional.len() == 1 => p,
        Ok(_) => {
            return crate::usage_error(err, &UsageError("give exactly one input".into()), USAGE)
        }
        Err(e) => return crate::usage_error(err, &e, USAGE),
    };
    let input = PathBuf::from(&parsed.positional[0]);
    let output = parsed.value("--output").map(PathBuf::from);
    match convert(&input, output.as_deref(), out) {
        Ok(()) => 0,
        Err(Error::Usage(e)) => crate::usage_error(err, &e, USAGE),
        Err(Error::Failed(e)) => {
            let _ = writeln!(err, "mmdiff convert: {e}");
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::TempDir;

    const SCENARIO: &str = "\
# comments and expectations are not part of the bytes
mmap p0 m0 anon rw pages=4
write p0 m0[0..4] = index
fork p0 -> p1
write p1 m0[1] = 9   => ok
read p0 m0[0..4]     => ok data=index
";

    #[test]
    fn scenario_bytes_scenario_round_trip() {
        let t = TempDir::new("convert");
        let mms = t.path().join("s.mms");
        let bin = t.path().join("s.bin");
        let back = t.path().join("back.mms");
        std::fs::write(&mms, SCENARIO).unwrap();
        let run = |a: &[&Path]| {
            let argv: Vec<String> = a.iter().map(|p| p.display().to_string()).collect();
            let mut out = Vec::new();
            let mut err = Vec::new();
            let code = command(&argv, &mut out, &mut err);
            (
                code,
                String::from_utf8(out).unwrap(),
                String::from_utf8(err).unwrap(),
            )
        };
        let (code, _, err) = run(&[&mms, Path::new("-o"), &bin]);
        assert_eq!(code, 0, "{err}");
        let (code, _, err) = run(&[&bin, Path::new("-o"), &back]);
        assert_eq!(code, 0, "{err}");
        let original = text::parse(SCENARIO).unwrap().ops();
        let back_text = std::fs::read_to_string(&back).unwrap();
        assert_eq!(text::parse(&back_text).unwrap().ops(), original);
        // Without -o, text goes to stdout.
        let (code, stdout, _) = run(&[&bin]);
        assert_eq!(code, 0);
        assert_eq!(stdout, back_text);
        assert_eq!(stdout.lines().next(), Some("mmap p0 m0 anon rw pages=4"));
    }

    #[test]
    fn scenario_to_bytes_needs_an_output() {
        let t = TempDir::new("convert-noout");
        let mms = t.path().join("s.mms");
        std::fs::write(&mms, SCENARIO).unwrap();
        let code = command(
            &[mms.display().to_string()],
            &mut Vec::new(),
            &mut Vec::new(),
        );
        assert_eq!(code, 2);
    }

    #[test]
    fn parse_errors_name_the_file() {
        let e = scenario_to_bytes("x.mms", "mmap p0 m0 anon rw pages=4\nfrobnicate\n").unwrap_err();
        assert!(e.starts_with("x.mms:2:1: expected "), "{e}");
    }

    #[test]
    fn every_byte_string_converts() {
        let s = bytes_to_scenario(&[0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8]);
        let ops = text::parse(&s).unwrap().ops();
        assert_eq!(
            ops,
            bytes::decode(&[0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8])
        );
    }
}
