//! Files: atomic writes and deterministic directory walks.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Extension of scenario text files.
pub const SCENARIO_EXT: &str = "mms";
/// Extension of raw fuzz-byte files.
pub const BYTES_EXT: &str = "bin";

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `contents` to `path` atomically: into a hidden temporary file in
/// the same directory, fsync'ed, then renamed over `path` (and the directory
/// fsync'ed). A reader sees the old file or the new one, never a part; a
/// crash leaves at most a hidden `.<name>.tmp-*` file, which directory walks
/// skip. The directory must exist.
pub fn write_atomic(path: &Path, contents: &[u8]) -> io::Result<()> {
    let name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("`{}` names no file", path.display()),
        )
    })?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let temp = dir.join(format!(
        ".{}.tmp-{}-{}",
        name.to_string_lossy(),
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
        return result;
    }
    // Make the rename itself durable. Not every platform can open a
    // directory for this; the file is in place either way.
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// One thing a walk found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    File(PathBuf),
    /// A path that could not be read, with the reason.
    Error(PathBuf, String),
}

/// True for `*.mms`.
pub fn is_scenario(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == SCENARIO_EXT)
}

/// True for `*.mms` and `*.bin`: what `replay` picks up in directories.
pub fn is_test_file(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e == SCENARIO_EXT || e == BYTES_EXT)
}

/// What fuzzers name their failing inputs, without an extension:
/// libFuzzer's `crash-<sha1>` (and `leak-`, `timeout-`, `oom-`,
/// `slow-unit-`), ClusterFuzz's downloaded `clusterfuzz-testcase-...`,
/// AFL++'s `id:000000,sig:06,...`.
const FUZZER_ARTIFACT_PREFIXES: [&str; 7] = [
    "crash-",
    "leak-",
    "timeout-",
    "oom-",
    "slow-unit-",
    "clusterfuzz-testcase-",
    "id:",
];

/// [`is_test_file`], and the failing inputs fuzzers write under their own
/// names (raw bytes): what `triage` picks up in directories.
pub fn is_artifact(path: &Path) -> bool {
    is_test_file(path)
        || path.file_name().is_some_and(|n| {
            let n = n.to_string_lossy();
            FUZZER_ARTIFACT_PREFIXES.iter().any(|p| n.starts_with(p))
        })
}

/// Expands `paths` in order: a file is taken as it is (whatever its name);
/// a directory is walked recursively, in byte order of names, taking the
/// files `accept` allows and skipping hidden entries (names starting with
/// `.`, such as temporary files of [`write_atomic`]).
pub fn collect(paths: &[PathBuf], accept: fn(&Path) -> bool) -> Vec<Found> {
    let mut out = Vec::new();
    for p in paths {
        match fs::metadata(p) {
            Ok(m) if m.is_dir() => walk(p, accept, &mut out),
            Ok(_) => out.push(Found::File(p.clone())),
            Err(e) => out.push(Found::Error(p.clone(), e.to_string())),
        }
    }
    out
}

fn walk(dir: &Path, accept: fn(&Path) -> bool, out: &mut Vec<Found>) {
    let entries = match fs::read_dir(dir) {
        Ok(rd) => rd.collect::<Result<Vec<_>, _>>(),
        Err(e) => Err(e),
    };
    let mut entries = match entries {
        Ok(e) => e,
        Err(e) => {
            out.push(Found::Error(dir.to_path_buf(), e.to_string()));
            return;
        }
    };
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        if e.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = e.path();
        // Follows symlinks, like the paths given on the command line.
        match fs::metadata(&path) {
            Ok(m) if m.is_dir() => walk(&path, accept, out),
            Ok(_) if accept(&path) => out.push(Found::File(path)),
            Ok(_) => {}
            Err(err) => out.push(Found::Error(path, err.to_string())),
        }
    }
}

/// `path` relative to `base` with `/` separators (for test names); the
/// path itself when it is not under `base`.
pub fn relative_name(path: &Path, base: &Path) -> String {
    let rel = path.strip_prefix(base).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// A scratch directory for tests, removed on drop.
#[doc(hidden)]
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "mmdiff-{tag}-{}-{}",
            std::process::id(),
            TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create a temporary directory");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn atomic_write_creates_replaces_and_leaves_no_temp_files() {
        let t = TempDir::new("atomic");
        let p = t.path().join("a.mms");
        write_atomic(&p, b"first\n").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"first\n");
        write_atomic(&p, b"second\n").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"second\n");
        assert_eq!(names(t.path()), ["a.mms"]);
    }

    #[test]
    fn atomic_write_into_a_missing_directory_fails_cleanly() {
        let t = TempDir::new("atomic-missing");
        let p = t.path().join("nope").join("a.mms");
        assert!(write_atomic(&p, b"x").is_err());
        assert!(names(t.path()).is_empty());
    }

    #[test]
    fn walk_is_sorted_recursive_and_skips_hidden_and_other_files() {
        let t = TempDir::new("walk");
        let d = t.path();
        fs::create_dir_all(d.join("b/sub")).unwrap();
        fs::create_dir_all(d.join(".hidden")).unwrap();
        for f in [
            "z.mms",
            "a.bin",
            "README.md",
            "b/sub/c.mms",
            "b/a.mms",
            ".x.mms.tmp-1-2",
            ".hidden/h.mms",
        ] {
            fs::write(d.join(f), "").unwrap();
        }
        let found: Vec<String> = collect(&[d.to_path_buf()], is_test_file)
            .into_iter()
            .map(|f| match f {
                Found::File(p) => relative_name(&p, d),
                Found::Error(p, e) => panic!("{}: {e}", p.display()),
            })
            .collect();
        assert_eq!(found, ["a.bin", "b/a.mms", "b/sub/c.mms", "z.mms"]);
        let only_mms: Vec<Found> = collect(&[d.to_path_buf()], is_scenario);
        assert_eq!(only_mms.len(), 3);
        for (name, artifact) in [
            ("crash-da39a3ee", true),
            ("clusterfuzz-testcase-minimized-differential-5712345", true),
            (
                "id:000000,sig:06,src:000001,time:12,execs:34,op:havoc,rep:2",
                true,
            ),
            ("timeout-0a1b", true),
            ("x.bin", true),
            ("fuzz.log", false),
            ("README.md", false),
        ] {
            assert_eq!(is_artifact(Path::new(name)), artifact, "{name}");
        }
        // A file named on the command line is taken whatever its name.
        assert_eq!(
            collect(&[d.join("README.md")], is_scenario),
            [Found::File(d.join("README.md"))]
        );
        assert!(matches!(
            collect(&[d.join("missing")], is_scenario)[0],
            Found::Error(..)
        ));
    }
}
