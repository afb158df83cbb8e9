//! `mmdiff convert`: scenario text <-> fuzz bytes, one file or a whole
//! directory of scenarios (how the fuzzers' seed corpora are made:
//! `scripts/fuzz-seeds.sh`).

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

/// The seed name of a scenario: its path under the converted directory,
/// `/` written as `__` and `.mms` as `.bin` (`conformance/hmm/x.mms` ->
/// `conformance__hmm__x.bin`), so that one flat directory (what cargo
/// fuzz and AFL take) keeps every name distinct and readable.
pub fn seed_name(relative: &str) -> String {
    let stem = relative.strip_suffix(".mms").unwrap_or(relative);
    format!("{}.{}", stem.replace('/', "__"), files::BYTES_EXT)
}

/// Converts every `*.mms` under `dir` (recursively, in sorted order,
/// hidden entries skipped) to `<out_dir>/<seed_name>`, each written
/// atomically; `out_dir` is created if missing. A scenario that does not
/// parse or encode is reported and skipped; the error lists them all.
/// Returns how many files were written.
pub fn convert_dir(dir: &Path, out_dir: &Path) -> Result<usize, Error> {
    std::fs::create_dir_all(out_dir)
        .map_err(|e| Error::Failed(format!("cannot create {}: {e}", out_dir.display())))?;
    let mut problems = Vec::new();
    let mut written = std::collections::BTreeMap::new();
    for found in files::collect(&[dir.to_path_buf()], files::is_scenario) {
        let path = match found {
            files::Found::File(p) => p,
            files::Found::Error(p, e) => {
                problems.push(format!("{}: {e}", p.display()));
                continue;
            }
        };
        let name = seed_name(&files::relative_name(&path, dir));
        if let Some(first) = written.get(&name) {
            problems.push(format!(
                "{} and {} both convert to {name}",
                Path::new(first).display(),
                path.display()
            ));
            continue;
        }
        let converted = std::fs::read(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))
            .and_then(|data| {
                String::from_utf8(data).map_err(|_| format!("{}: not UTF-8 text", path.display()))
            })
            .and_then(|src| scenario_to_bytes(&path.display().to_string(), &src));
        match converted {
            Ok(data) => {
                let out = out_dir.join(&name);
                files::write_atomic(&out, &data)
                    .map_err(|e| Error::Failed(format!("cannot write {}: {e}", out.display())))?;
                written.insert(name, path.display().to_string());
            }
            Err(e) => problems.push(e),
        }
    }
    if problems.is_empty() {
        Ok(written.len())
    } else {
        Err(Error::Failed(format!(
            "{} converted, {} failed:\n  {}",
            written.len(),
            problems.len(),
            problems.join("\n  ")
        )))
    }
}

pub const USAGE: &str = "\
usage: mmdiff convert <input> [-o <output>]
       mmdiff convert <dir> -o <out-dir>

  <input>.mms      scenario text -> fuzz bytes (needs -o)
  anything else    fuzz bytes -> scenario text (stdout without -o)
  <dir>            every *.mms under <dir> -> <out-dir>/<path>.bin, with
                   `/` in the path written `__` (a seed corpus)

Outputs are written atomically (temporary file, fsync, rename).";

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
    if input.is_dir() {
        let Some(out_dir) = output else {
            return crate::usage_error(
                err,
                &UsageError("converting a directory needs `-o <out-dir>`".into()),
                USAGE,
            );
        };
        return match convert_dir(&input, &out_dir) {
            Ok(n) => {
                let _ = writeln!(
                    out,
                    "converted {n} scenarios from {} to {}",
                    input.display(),
                    out_dir.display()
                );
                0
            }
            Err(Error::Usage(e)) => crate::usage_error(err, &e, USAGE),
            Err(Error::Failed(e)) => {
                let _ = writeln!(err, "mmdiff convert: {e}");
                1
            }
        };
    }
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
        let run = run_argv;
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

    fn run_argv(argv: &[&Path]) -> (i32, String, String) {
        let argv: Vec<String> = argv.iter().map(|p| p.display().to_string()).collect();
        let mut out = Vec::new();
        let mut err = Vec::new();
        let code = command(&argv, &mut out, &mut err);
        (
            code,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    #[test]
    fn seed_names_flatten_relative_paths() {
        assert_eq!(seed_name("a.mms"), "a.bin");
        assert_eq!(
            seed_name("conformance/hmm/x-y.mms"),
            "conformance__hmm__x-y.bin"
        );
    }

    #[test]
    fn a_directory_converts_to_one_seed_per_scenario() {
        let t = TempDir::new("convert-dir");
        let src = t.path().join("src");
        std::fs::create_dir_all(src.join("sub/deeper")).unwrap();
        std::fs::create_dir_all(src.join(".hidden")).unwrap();
        std::fs::write(src.join("top.mms"), SCENARIO).unwrap();
        std::fs::write(src.join("sub/deeper/d.mms"), "fork p0 -> p1\n").unwrap();
        std::fs::write(src.join("sub/notes.txt"), "not a scenario").unwrap();
        std::fs::write(src.join(".hidden/h.mms"), "reclaim\n").unwrap();
        // The output directory is created, nested.
        let out = t.path().join("seeds/differential");
        let (code, stdout, err) = run_argv(&[&src, Path::new("-o"), &out]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(
            stdout,
            format!(
                "converted 2 scenarios from {} to {}\n",
                src.display(),
                out.display()
            )
        );
        let mut names: Vec<String> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["sub__deeper__d.bin", "top.bin"]);
        // Each seed decodes to its scenario's ops.
        let top = std::fs::read(out.join("top.bin")).unwrap();
        assert_eq!(bytes::decode(&top), text::parse(SCENARIO).unwrap().ops());
        let d = std::fs::read(out.join("sub__deeper__d.bin")).unwrap();
        assert_eq!(
            bytes::decode(&d),
            text::parse("fork p0 -> p1").unwrap().ops()
        );
        // Converting again replaces the files in place.
        let (code, _, _) = run_argv(&[&src, Path::new("-o"), &out]);
        assert_eq!(code, 0);
        assert_eq!(std::fs::read_dir(&out).unwrap().count(), 2);
    }

    #[test]
    fn a_bad_scenario_in_a_directory_fails_after_converting_the_rest() {
        let t = TempDir::new("convert-dir-bad");
        let src = t.path().join("src");
        std::fs::create_dir_all(&src).unwrap();
        std::fs::write(src.join("a.mms"), "frobnicate\n").unwrap();
        std::fs::write(src.join("b.mms"), SCENARIO).unwrap();
        let out = t.path().join("out");
        let (code, _, err) = run_argv(&[&src, Path::new("-o"), &out]);
        assert_eq!(code, 1);
        assert!(err.contains("1 converted, 1 failed"), "{err}");
        assert!(err.contains("a.mms:1:1: expected"), "{err}");
        assert!(out.join("b.bin").exists());
        // And a directory without -o is a usage error.
        let (code, _, err) = run_argv(&[&src]);
        assert_eq!(code, 2, "{err}");
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
