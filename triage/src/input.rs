//! Inputs of the triage commands: scenario text (`*.mms`) or raw fuzz
//! bytes (anything else, as OSS-Fuzz and cargo-fuzz name their testcases),
//! loaded into one form.
//!
//! The name alone decides, never the contents: a testcase downloaded from
//! a ClusterFuzz report (`clusterfuzz-testcase-minimized-differential-5712345`)
//! is the fuzzer's raw input whatever its bytes happen to look like, and
//! reading it any other way would run other ops than the fuzzer ran. Every
//! byte string decodes (`mmdiff_core::bytes`), so any such file loads.
//! The one exception is a testcase of the `scenario_parser` target, which
//! is text for the parser and not ops at all: [`load`] refuses it, with a
//! message pointing at `mmdiff explain`, which checks the parser on it.

use std::path::Path;

use mmdiff_core::text::{self, Scenario};
use mmdiff_core::{bytes, Config, KernelVersion};

use crate::{files, profile};

/// Where an input's ops came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Text,
    Bytes,
}

/// A loaded input: its ops (with expectations, for text) and its machine.
#[derive(Clone, Debug)]
pub struct Input {
    /// The path as given, for messages.
    pub path: String,
    pub source: Source,
    pub scenario: Scenario,
    pub config: Config,
}

/// The cargo-fuzz target whose inputs are scenario text, not fuzz bytes.
pub const PARSER_TARGET: &str = "scenario_parser";

/// The fuzz target a testcase was saved for, when its name says it:
/// ClusterFuzz (OSS-Fuzz) and ClusterFuzzLite name a testcase
/// `clusterfuzz-testcase-[minimized-]<target>-<id>`, and cargo fuzz saves
/// `artifacts/<target>/<kind>-<hash>` (`crash`, `oom`, `timeout`, `leak`,
/// `slow-unit`).
pub fn testcase_target(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    if let Some(rest) = name.strip_prefix("clusterfuzz-testcase-") {
        let rest = rest.strip_prefix("minimized-").unwrap_or(rest);
        let (target, id) = rest.rsplit_once('-')?;
        let is_id = !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit());
        return (is_id && !target.is_empty()).then(|| target.to_string());
    }
    let (kind, hash) = name.split_once('-')?;
    let is_artifact = ["crash", "oom", "timeout", "leak"].contains(&kind)
        || (kind == "slow" && hash.starts_with("unit-"));
    if !is_artifact {
        return None;
    }
    let target = path.parent()?;
    let in_artifacts = target
        .parent()
        .and_then(|p| p.file_name())
        .is_some_and(|n| n == "artifacts");
    if !in_artifacts {
        return None;
    }
    target.file_name()?.to_str().map(str::to_string)
}

/// Loads `path`: `*.mms` as scenario text, anything else as fuzz bytes
/// through the shared decoder, except a [`PARSER_TARGET`] testcase (an
/// error: it holds no ops). Errors are one line naming the file (and for
/// text the line and column).
pub fn load(path: &Path) -> Result<Input, String> {
    load_with(path, KernelVersion::BASELINE)
}

/// [`load`], with profile `kernel` (`--kernel`) for fuzz bytes and for
/// scenarios that do not name a kernel in their `#! config:` header.
pub fn load_with(path: &Path, kernel: KernelVersion) -> Result<Input, String> {
    let shown = path.display().to_string();
    let data = std::fs::read(path).map_err(|e| format!("{shown}: cannot read: {e}"))?;
    if testcase_target(path).as_deref() == Some(PARSER_TARGET) {
        return Err(format!(
            "{shown}: a {PARSER_TARGET} testcase is text for the parser, not ops to run; \
             `mmdiff explain {shown}` checks the parser on it"
        ));
    }
    if !files::is_scenario(path) {
        return Ok(Input {
            path: shown,
            source: Source::Bytes,
            scenario: Scenario::from_ops(&bytes::decode(&data)),
            config: profile::default_config(kernel),
        });
    }
    let src = String::from_utf8(data).map_err(|e| {
        format!(
            "{shown}: not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })?;
    let scenario = text::parse(&src).map_err(|e| e.with_file(&shown))?;
    let config = profile::scenario_config(&scenario, kernel).map_err(|e| e.with_file(&shown))?;
    Ok(Input {
        path: shown,
        source: Source::Text,
        scenario,
        config,
    })
}

impl Input {
    /// The value of header `key`, if the input has one.
    pub fn header(&self, key: &str) -> Option<&str> {
        self.scenario
            .header
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::TempDir;

    #[test]
    fn text_and_bytes_load_to_the_same_ops() {
        let dir = TempDir::new("input");
        let ops = text::parse("mmap p0 m0 anon rw pages=2\nwrite p0 m0[0..2] = 7\n")
            .expect("parses")
            .ops();
        let mms = dir.path().join("a.mms");
        std::fs::write(
            &mms,
            "#! config: window_pages=1024\nmmap p0 m0 anon rw pages=2\nwrite p0 m0[0..2] = 7\n",
        )
        .expect("write");
        let raw = dir.path().join("crash-0123");
        std::fs::write(&raw, bytes::encode(&ops).expect("encodes")).expect("write");
        let t = load(&mms).expect("text loads");
        let b = load(&raw).expect("bytes load");
        assert_eq!((t.source, b.source), (Source::Text, Source::Bytes));
        assert_eq!(t.scenario.ops(), ops);
        assert_eq!(b.scenario.ops(), ops);
        assert_eq!(t.config.window_pages, 1024);
        assert_eq!(b.config, Config::default());
        assert_eq!(t.header("config"), Some("window_pages=1024"));
    }

    #[test]
    fn the_profile_applies_to_inputs_that_name_none() {
        let dir = TempDir::new("input-kernel");
        let v612 = KernelVersion::new(6, 12);
        let own = dir.path().join("own.mms");
        std::fs::write(&own, "#! config: kernel=6.15\nreclaim\n").expect("write");
        let sized = dir.path().join("sized.mms");
        std::fs::write(&sized, "#! config: window_pages=1024\nreclaim\n").expect("write");
        let raw = dir.path().join("crash-01");
        std::fs::write(&raw, [0u8; 8]).expect("write");
        let kernel = |p: &Path, k| load_with(p, k).expect("loads").config.kernel;
        assert_eq!(kernel(&own, v612), KernelVersion::new(6, 15));
        assert_eq!(kernel(&sized, v612), v612);
        assert_eq!(
            load_with(&sized, v612).expect("loads").config.window_pages,
            1024
        );
        assert_eq!(kernel(&raw, v612), v612);
        assert_eq!(
            kernel(&raw, KernelVersion::BASELINE),
            KernelVersion::BASELINE
        );
        // The header is the input's own: the profile is not written into it.
        let input = load_with(&sized, v612).expect("loads");
        assert_eq!(input.header("config"), Some("window_pages=1024"));
    }

    #[test]
    fn testcase_names_give_their_target() {
        let target = |p: &str| testcase_target(Path::new(p));
        for (path, want) in [
            (
                "dl/clusterfuzz-testcase-minimized-differential-5712345",
                Some("differential"),
            ),
            (
                "clusterfuzz-testcase-differential_bytes-6543210987654321",
                Some("differential_bytes"),
            ),
            (
                "clusterfuzz-testcase-minimized-scenario_parser-1",
                Some("scenario_parser"),
            ),
            (
                "fuzz/artifacts/scenario_parser/crash-0a1b2c",
                Some("scenario_parser"),
            ),
            ("fuzz/artifacts/differential/oom-ff00", Some("differential")),
            ("artifacts/differential/slow-unit-99", Some("differential")),
            // Not an id: the digits are what tells the name apart.
            ("clusterfuzz-testcase-minimized-differential", None),
            ("clusterfuzz-testcase-minimized-differential-12a", None),
            ("clusterfuzz-testcase-minimized--5", None),
            ("crash-0a1b2c", None),
            ("fuzz/seeds/differential/crash-0a1b2c", None),
            ("artifacts/differential/seed-1", None),
            ("a.mms", None),
        ] {
            assert_eq!(target(path).as_deref(), want, "{path}");
        }
    }

    #[test]
    fn testcases_without_an_extension_are_fuzz_bytes() {
        let dir = TempDir::new("input-testcase");
        let ops = text::parse("mmap p0 m0 anon rw pages=2\nfork p0 -> p1\n")
            .expect("parses")
            .ops();
        let raw = dir
            .path()
            .join("clusterfuzz-testcase-minimized-differential-5712345");
        std::fs::write(&raw, bytes::encode(&ops).expect("encodes")).expect("write");
        let t = load(&raw).expect("a raw testcase loads");
        assert_eq!((t.source, t.scenario.ops()), (Source::Bytes, ops));

        // Text is bytes too when the name says fuzzer input: the fuzzer ran
        // the ops these bytes decode to, not the ones the text names.
        let src = "mmap p0 m0 anon rw pages=2\n";
        let textual = dir.path().join("clusterfuzz-testcase-differential-1");
        std::fs::write(&textual, src).expect("write");
        let t = load(&textual).expect("loads");
        assert_eq!(t.source, Source::Bytes);
        assert_eq!(t.scenario.ops(), bytes::decode(src.as_bytes()));

        // Not UTF-8, and no ops at all: both still inputs.
        for (name, data) in [("crash-ff", &[0xff, 0xfe, 0x80][..]), ("crash-00", &[][..])] {
            let p = dir.path().join(name);
            std::fs::write(&p, data).expect("write");
            let t = load(&p).expect("any bytes load");
            assert_eq!(t.scenario.ops(), bytes::decode(data), "{name}");
        }

        let parser = dir
            .path()
            .join("clusterfuzz-testcase-minimized-scenario_parser-42");
        std::fs::write(&parser, src).expect("write");
        let e = load(&parser).expect_err("parser testcases hold no ops");
        assert!(
            e.contains("scenario_parser testcase is text for the parser")
                && e.contains("mmdiff explain"),
            "{e}"
        );
    }

    #[test]
    fn bad_inputs_are_errors_naming_the_place() {
        let dir = TempDir::new("input-bad");
        let bad = dir.path().join("bad.mms");
        std::fs::write(&bad, "mmap p0 m0 anon rw pages=2\nwrite q9\n").expect("write");
        let e = load(&bad).expect_err("bad text");
        assert!(e.contains("bad.mms:2:7: expected"), "{e}");
        let missing = load(&dir.path().join("nope.mms")).expect_err("missing");
        assert!(missing.contains("nope.mms: cannot read"), "{missing}");
    }
}
