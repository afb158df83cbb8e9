//! Inputs of the triage commands: scenario text (`*.mms`) or raw fuzz
//! bytes (anything else, as OSS-Fuzz and cargo-fuzz name their testcases),
//! loaded into one form.

use std::path::Path;

use mmdiff_core::text::{self, Scenario};
use mmdiff_core::{bytes, Config};

use crate::files;

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

/// Loads `path`: `*.mms` as scenario text, anything else as fuzz bytes
/// through the shared decoder. Errors are one line naming the file (and
/// for text the line and column).
pub fn load(path: &Path) -> Result<Input, String> {
    let shown = path.display().to_string();
    let data = std::fs::read(path).map_err(|e| format!("{shown}: cannot read: {e}"))?;
    if !files::is_scenario(path) {
        return Ok(Input {
            path: shown,
            source: Source::Bytes,
            scenario: Scenario::from_ops(&bytes::decode(&data)),
            config: Config::default(),
        });
    }
    let src = String::from_utf8(data).map_err(|e| {
        format!(
            "{shown}: not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })?;
    let scenario = text::parse(&src).map_err(|e| e.with_file(&shown))?;
    let config = scenario.config().map_err(|e| e.with_file(&shown))?;
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
