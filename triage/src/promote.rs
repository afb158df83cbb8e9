//! `mmdiff triage`: from a directory of fuzz artifacts to regression
//! tests. Every artifact is minimized ([`crate::minimize`]); artifacts are
//! grouped by divergence signature and the smallest repro of each kept; a
//! signature no scenario under the corpus records (`#! signature:`) is
//! new, and its repro is promoted to `<corpus>/regressions/<slug>.mms`
//! with its provenance. Every file is written atomically, so an
//! interrupted run leaves a valid corpus (at worst without some repros).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use mmdiff_core::{text, KernelVersion};

use crate::args::{self, Opt};
use crate::files::{self, Found};
use crate::input::{self, Input};
use crate::minimize::{self, Minimized};
use crate::profile;

/// One signature's outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Promoted to this path.
    New(PathBuf),
    /// Already in the corpus, at this path.
    Known(PathBuf),
}

/// What a triage run did.
#[derive(Debug, Default)]
pub struct Report {
    /// Per signature, in signature order: the verdict, the smallest repro's
    /// length, where it came from, and how many artifacts showed it.
    pub signatures: BTreeMap<String, (Verdict, usize, String, usize)>,
    /// Artifacts that could not be minimized: why, starting with the path
    /// (no longer diverging, unreadable).
    pub skipped: Vec<String>,
    /// Files that could not be written.
    pub errors: Vec<String>,
}

/// Lower-case words of the signature joined by `-`:
/// `fork/invariant:pinned-anon-exclusive@subject` ->
/// `fork-invariant-pinned-anon-exclusive-subject`.
pub fn slug(signature: &str) -> String {
    let mut out = String::new();
    for c in signature.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

/// The signatures the scenarios under `corpus` record, with the first file
/// recording each.
pub fn known_signatures(corpus: &Path) -> BTreeMap<String, PathBuf> {
    let mut known = BTreeMap::new();
    for found in files::collect(&[corpus.to_path_buf()], files::is_scenario) {
        let Found::File(path) = found else { continue };
        let Ok(input) = input::load(&path) else {
            continue;
        };
        if let Some(sig) = input.header("signature") {
            known.entry(sig.to_string()).or_insert(path);
        }
    }
    known
}

/// The artifacts below `paths`: scenarios, and byte files (`*.bin` and
/// what fuzzers name their crashes, [`files::is_artifact`]) that have no
/// scenario of the same name next to them (`mmdiff fuzz` saves both forms).
pub fn artifacts(paths: &[PathBuf]) -> Vec<Found> {
    let all = files::collect(paths, files::is_artifact);
    let scenarios: Vec<PathBuf> = all
        .iter()
        .filter_map(|f| match f {
            Found::File(p) if files::is_scenario(p) => Some(p.clone()),
            _ => None,
        })
        .collect();
    all.into_iter()
        .filter(|f| match f {
            Found::File(p) if !files::is_scenario(p) => {
                !scenarios.contains(&p.with_extension(files::SCENARIO_EXT))
            }
            _ => true,
        })
        .collect()
}

/// Triage of `paths` into `corpus`, each artifact run with profile
/// `kernel` unless it names its own; `log` gets one line per artifact.
pub fn triage(
    paths: &[PathBuf],
    corpus: &Path,
    dry_run: bool,
    kernel: KernelVersion,
    log: &mut dyn Write,
) -> Report {
    let mut report = Report::default();
    let found = artifacts(paths);
    let total = found.len();
    let mut best: BTreeMap<String, (Minimized, Input, usize)> = BTreeMap::new();
    for (i, f) in found.into_iter().enumerate() {
        let (path, input) = match f {
            Found::Error(p, e) => {
                report
                    .skipped
                    .push(format!("{}: cannot read: {e}", p.display()));
                continue;
            }
            Found::File(p) => match input::load_with(&p, kernel) {
                Ok(input) => (p, input),
                Err(e) => {
                    report.skipped.push(e);
                    continue;
                }
            },
        };
        let m = match minimize::minimize(&input, &mut |_, _, _| {}) {
            Ok(m) => m,
            Err(e) => {
                let _ = writeln!(log, "[{}/{total}] skipped: {e}", i + 1);
                report.skipped.push(e);
                continue;
            }
        };
        let _ = writeln!(
            log,
            "[{}/{total}] {}: {}",
            i + 1,
            path.display(),
            m.summary()
        );
        let sig = m.signature().to_string();
        let seen = best.get(&sig).map_or(0, |(_, _, n)| *n);
        let smaller = best.get(&sig).is_none_or(|(b, _, _)| smaller(&m, b));
        if smaller {
            best.insert(sig, (m, input, seen + 1));
        } else if let Some(entry) = best.get_mut(&sig) {
            entry.2 += 1;
        }
    }
    let known = known_signatures(corpus);
    let dir = corpus.join("regressions");
    for (sig, (m, input, count)) in best {
        let verdict = match known.get(&sig) {
            Some(path) => Verdict::Known(path.clone()),
            None => {
                let path = free_path(&dir, &slug(&sig));
                if !dry_run {
                    let written = std::fs::create_dir_all(&dir).and_then(|()| {
                        files::write_atomic(&path, text::print(&promoted(&m, &input)).as_bytes())
                    });
                    if let Err(e) = written {
                        report
                            .errors
                            .push(format!("cannot write {}: {e}", path.display()));
                        continue;
                    }
                }
                Verdict::New(path)
            }
        };
        report
            .signatures
            .insert(sig, (verdict, m.ops_after, input.path.clone(), count));
    }
    report
}

/// Fewer ops, then shorter text, then the earlier input name.
fn smaller(a: &Minimized, b: &Minimized) -> bool {
    let key = |m: &Minimized| (m.ops_after, text::print(&m.scenario).len());
    key(a) < key(b)
}

/// `<dir>/<slug>.mms`, or `<slug>-2.mms`, ... when taken.
fn free_path(dir: &Path, slug: &str) -> PathBuf {
    let mut n = 1;
    loop {
        let name = if n == 1 {
            format!("{slug}.{}", files::SCENARIO_EXT)
        } else {
            format!("{slug}-{n}.{}", files::SCENARIO_EXT)
        };
        let path = dir.join(name);
        if !path.exists() {
            return path;
        }
        n += 1;
    }
}

/// The regression file: the minimized scenario with the artifact's
/// provenance first and the planted fault, if one was active.
fn promoted(m: &Minimized, input: &Input) -> text::Scenario {
    let mut s = m.scenario.clone();
    let mut header = vec![(
        "title".to_string(),
        format!(
            "{} (found by fuzzing; minimized by mmdiff triage)",
            m.divergence
        ),
    )];
    header.extend(s.header.iter().filter(|(k, _)| k != "title").cloned());
    if let Some(name) = crate::planted::active() {
        if input.header("planted").is_none() {
            header.push(("planted".into(), name.into()));
        }
    }
    s.header = header;
    s
}

pub const USAGE: &str = "\
usage: mmdiff triage <artifact files or dirs...> [--corpus DIR] [--kernel V] [--dry-run]

Minimizes every artifact (*.mms scenarios; *.bin and other byte files
without a scenario of the same name), groups them by divergence signature,
keeps the smallest repro of each, and promotes signatures that no scenario
under the corpus records (`#! signature:`) into
<corpus>/regressions/<signature-slug>.mms, atomically. Reports each
signature as new or known.

  --corpus DIR  the corpus (default corpus)
  --kernel V    the models' semantics profile, 6.12 to 6.19 (default
                6.19), for byte files and scenarios without `kernel=` in
                their `#! config:` line (the others keep their own); a
                repro promoted under another profile than 6.19 records it
  --dry-run     report, write nothing

Exit status: 0 done, 1 a file could not be written, 2 usage error.";

/// `mmdiff triage`.
pub fn command(argv: &[String], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let opts = [
        Opt {
            names: &["--corpus"],
            takes_value: true,
        },
        Opt {
            names: &["--dry-run"],
            takes_value: false,
        },
        profile::OPT,
    ];
    let parsed = match args::parse(argv, &opts) {
        Ok(p) => p,
        Err(e) => return crate::usage_error(err, &e, USAGE),
    };
    let kernel = match profile::parse(parsed.value("--kernel")) {
        Ok(k) => profile::or_baseline(k),
        Err(e) => return crate::usage_error(err, &e, USAGE),
    };
    if parsed.positional.is_empty() {
        let e = args::UsageError("triage needs artifact files or directories".into());
        return crate::usage_error(err, &e, USAGE);
    }
    let paths: Vec<PathBuf> = parsed.positional.iter().map(PathBuf::from).collect();
    let corpus = PathBuf::from(parsed.value("--corpus").unwrap_or("corpus"));
    let report = triage(&paths, &corpus, parsed.has("--dry-run"), kernel, err);
    let (mut new, mut known) = (0, 0);
    for (sig, (verdict, ops, from, count)) in &report.signatures {
        let seen = format!("{count} artifact{}", if *count == 1 { "" } else { "s" });
        match verdict {
            Verdict::New(p) => {
                new += 1;
                let _ = writeln!(
                    out,
                    "new    {sig}  {} ({ops} ops, from {from}; {seen})",
                    p.display()
                );
            }
            Verdict::Known(p) => {
                known += 1;
                let _ = writeln!(out, "known  {sig}  {} ({seen})", p.display());
            }
        }
    }
    for why in &report.skipped {
        let _ = writeln!(out, "skip   {why}");
    }
    for e in &report.errors {
        let _ = writeln!(err, "error: {e}");
    }
    let _ = writeln!(
        out,
        "{} signatures: {new} new, {known} known; {} artifacts skipped",
        report.signatures.len(),
        report.skipped.len()
    );
    i32::from(!report.errors.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::TempDir;

    #[test]
    fn artifacts_include_fuzzer_crash_files_once() {
        let d = TempDir::new("artifacts");
        for f in [
            "a.mms",
            "a.bin",
            "b.bin",
            "crash-0a1b",
            "fuzz.log",
            "id:000001,sig:06",
        ] {
            std::fs::write(d.path().join(f), "").expect("write");
        }
        let names: Vec<String> = artifacts(&[d.path().to_path_buf()])
            .into_iter()
            .map(|f| match f {
                Found::File(p) => files::relative_name(&p, d.path()),
                Found::Error(p, e) => panic!("{}: {e}", p.display()),
            })
            .collect();
        assert_eq!(names, ["a.mms", "b.bin", "crash-0a1b", "id:000001,sig:06"]);
    }

    #[test]
    fn slugs_are_lowercase_words() {
        assert_eq!(
            slug("fork/invariant:pinned-anon-exclusive@subject"),
            "fork-invariant-pinned-anon-exclusive-subject"
        );
        assert_eq!(
            slug("migrate-to-dev/outcome:ENOENT-vs-dev"),
            "migrate-to-dev-outcome-enoent-vs-dev"
        );
        assert_eq!(slug("new/state:?"), "new-state");
    }

    #[test]
    fn taken_names_get_a_number() {
        let t = TempDir::new("promote-names");
        let first = free_path(t.path(), "a-b");
        assert_eq!(first, t.path().join("a-b.mms"));
        std::fs::write(&first, "").expect("write");
        assert_eq!(free_path(t.path(), "a-b"), t.path().join("a-b-2.mms"));
    }

    #[test]
    fn byte_files_with_a_scenario_twin_are_one_artifact() {
        let t = TempDir::new("promote-artifacts");
        for name in ["x.mms", "x.bin", "y.bin", "notes.txt"] {
            std::fs::write(t.path().join(name), "").expect("write");
        }
        let found: Vec<String> = artifacts(&[t.path().to_path_buf()])
            .into_iter()
            .map(|f| match f {
                Found::File(p) | Found::Error(p, _) => files::relative_name(&p, t.path()),
            })
            .collect();
        assert_eq!(found, ["x.mms", "y.bin"]);
    }

    #[test]
    fn known_signatures_come_from_headers() {
        let t = TempDir::new("promote-known");
        std::fs::create_dir_all(t.path().join("regressions")).expect("mkdir");
        std::fs::write(
            t.path().join("regressions/a.mms"),
            "#! signature: fork/state:entry.write\nmmap p0 m0 anon rw pages=1\n",
        )
        .expect("write");
        std::fs::write(t.path().join("b.mms"), "mmap p0 m0 anon rw pages=1\n").expect("write");
        let known = known_signatures(t.path());
        assert_eq!(known.len(), 1);
        assert_eq!(
            known["fork/state:entry.write"],
            t.path().join("regressions/a.mms")
        );
    }
}
