//! The OSS-Fuzz and ClusterFuzzLite integration, checked without Docker or
//! the services: the project files hold what the services read, the
//! workflows run ClusterFuzzLite's actions in the three modes, the seed
//! corpora that oss-fuzz/build.sh zips are exactly what the encoder makes
//! of corpus/, and the build scripts fail loudly, naming the step.
//!
//!     cargo test -p mmdiff-triage --test oss_fuzz

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use mmdiff_core::op::OpKind;
use mmdiff_triage::files::TempDir;
use yaml_rust2::{Yaml, YamlLoader};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("the repository root")
}

fn read(rel: &str) -> String {
    let path = repo().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The one YAML document in `rel`.
fn yaml(rel: &str) -> Yaml {
    let docs = YamlLoader::load_from_str(&read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    assert_eq!(docs.len(), 1, "{rel}: one document");
    docs.into_iter().next().expect("one document")
}

fn strings(v: &Yaml) -> Vec<&str> {
    v.as_vec()
        .map(|a| a.iter().filter_map(Yaml::as_str).collect())
        .unwrap_or_default()
}

/// The targets build.sh builds: one per fuzz/fuzz_targets/*.rs.
fn targets() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo().join("fuzz/fuzz_targets"))
        .expect("fuzz/fuzz_targets")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .map(|p| {
            p.file_stem()
                .expect("a name")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    assert!(names.len() >= 3, "{names:?}");
    names
}

#[test]
fn project_yaml_holds_what_oss_fuzz_reads() {
    let p = yaml("oss-fuzz/project.yaml");
    assert_eq!(p["language"].as_str(), Some("rust"));
    for key in ["homepage", "main_repo"] {
        let url = p[key].as_str().unwrap_or_default();
        assert!(url.starts_with("https://"), "{key}: {url:?}");
    }
    let contact = p["primary_contact"].as_str().unwrap_or_default();
    assert!(contact.contains('@'), "primary_contact: {contact:?}");
    assert!(
        strings(&p["auto_ccs"]).iter().all(|cc| cc.contains('@')),
        "auto_ccs: {:?}",
        p["auto_ccs"]
    );
    // OSS-Fuzz's Rust integration (cargo fuzz) supports libFuzzer with
    // AddressSanitizer; anything else listed would be a build that fails
    // or checks nothing (see the comments in project.yaml).
    assert_eq!(strings(&p["fuzzing_engines"]), ["libfuzzer"]);
    assert_eq!(strings(&p["sanitizers"]), ["address"]);

    let c = yaml(".clusterfuzzlite/project.yaml");
    assert_eq!(c["language"].as_str(), Some("rust"));
}

/// The `ENV RUSTUP_TOOLCHAIN=` of a Dockerfile.
fn pinned_toolchain(dockerfile: &str) -> String {
    let line = dockerfile
        .lines()
        .find_map(|l| l.strip_prefix("ENV RUSTUP_TOOLCHAIN="))
        .expect("ENV RUSTUP_TOOLCHAIN=...");
    line.trim().to_string()
}

#[test]
fn dockerfiles_build_on_the_rust_image_with_a_dated_nightly() {
    let oss = read("oss-fuzz/Dockerfile");
    let cfl = read(".clusterfuzzlite/Dockerfile");
    for (name, d, build_sh) in [
        ("oss-fuzz", &oss, "COPY oss-fuzz/build.sh $SRC/build.sh"),
        (
            ".clusterfuzzlite",
            &cfl,
            "COPY .clusterfuzzlite/build.sh $SRC/",
        ),
    ] {
        let lines: Vec<&str> = d.lines().filter(|l| !l.starts_with('#')).collect();
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("FROM gcr.io/oss-fuzz-base/base-builder-rust")),
            "{name}: FROM base-builder-rust"
        );
        let toolchain = pinned_toolchain(d);
        let date = toolchain.strip_prefix("nightly-").unwrap_or_default();
        let dated = date.len() == 10
            && date.bytes().enumerate().all(|(i, b)| {
                if i == 4 || i == 7 {
                    b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            });
        assert!(dated, "{name}: a dated nightly, not {toolchain:?}");
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("RUN rustup toolchain install \"$RUSTUP_TOOLCHAIN\"")),
            "{name}: installs the pinned toolchain"
        );
        for want in ["COPY . $SRC/mmdiff", "WORKDIR $SRC/mmdiff", build_sh] {
            assert!(lines.contains(&want), "{name}: missing {want:?}");
        }
        let ignore = read(&format!("{name}/Dockerfile.dockerignore"));
        assert!(
            ignore.lines().any(|l| l == "**/target"),
            "{name}: target dirs stay out"
        );
    }
    assert_eq!(
        pinned_toolchain(&oss),
        pinned_toolchain(&cfl),
        "one nightly"
    );
    // ClusterFuzzLite's build is OSS-Fuzz's.
    assert!(
        read(".clusterfuzzlite/build.sh")
            .lines()
            .any(|l| l.starts_with("exec bash -eu \"$SRC/mmdiff/oss-fuzz/build.sh\"")),
        ".clusterfuzzlite/build.sh runs oss-fuzz/build.sh"
    );
}

/// Every step of every job, with its job's name.
fn steps(workflow: &Yaml) -> Vec<(String, &Yaml)> {
    let mut out = Vec::new();
    for (name, job) in workflow["jobs"].as_hash().expect("jobs") {
        let name = name.as_str().unwrap_or_default().to_string();
        for step in job["steps"].as_vec().expect("steps") {
            out.push((name.clone(), step));
        }
    }
    out
}

const BUILD_FUZZERS: &str = "google/clusterfuzzlite/actions/build_fuzzers@v1";
const RUN_FUZZERS: &str = "google/clusterfuzzlite/actions/run_fuzzers@v1";

#[test]
fn workflows_run_clusterfuzzlite_in_its_three_modes() {
    for (file, trigger, mode) in [
        (
            ".github/workflows/cflite_pr.yml",
            "pull_request",
            "code-change",
        ),
        (".github/workflows/cflite_batch.yml", "schedule", "batch"),
        (".github/workflows/cflite_cron.yml", "schedule", "prune"),
    ] {
        let w = yaml(file);
        assert!(w["name"].as_str().is_some(), "{file}: name");
        assert!(!w["on"][trigger].is_badvalue(), "{file}: on {trigger}");
        if trigger == "schedule" {
            let crons: Vec<&str> = w["on"]["schedule"]
                .as_vec()
                .expect("a schedule list")
                .iter()
                .filter_map(|c| c["cron"].as_str())
                .collect();
            assert!(
                !crons.is_empty() && crons.iter().all(|c| c.split_whitespace().count() == 5),
                "{file}: cron {crons:?}"
            );
        }
        let steps = steps(&w);
        let uses = |action: &str| -> Vec<(String, &Yaml)> {
            steps
                .iter()
                .filter(|(_, s)| s["uses"].as_str() == Some(action))
                .map(|(j, s)| (j.clone(), *s))
                .collect()
        };
        let builds = uses(BUILD_FUZZERS);
        let runs = uses(RUN_FUZZERS);
        assert_eq!(
            (builds.len(), runs.len()),
            (1, 1),
            "{file}: one build, one run"
        );
        let ((build_job, build_step), (run_job, run_step)) = (&builds[0], &runs[0]);
        assert_eq!(
            build_job, run_job,
            "{file}: the run fuzzes that job's build"
        );
        let position = |s: &Yaml| steps.iter().position(|(_, x)| std::ptr::eq(*x, s));
        assert!(
            position(build_step) < position(run_step),
            "{file}: build, then run"
        );

        let (build, run) = (&build_step["with"], &run_step["with"]);
        assert_eq!(build["language"].as_str(), Some("rust"), "{file}");
        assert_eq!(build["sanitizer"].as_str(), Some("address"), "{file}");
        assert_eq!(run["mode"].as_str(), Some(mode), "{file}");
        assert_eq!(run["sanitizer"].as_str(), Some("address"), "{file}");
        let seconds = run["fuzz-seconds"].as_i64().unwrap_or(0);
        assert!(seconds >= 60, "{file}: fuzz-seconds {seconds}");
        assert!(
            run["github-token"]
                .as_str()
                .is_some_and(|t| t.contains("secrets.GITHUB_TOKEN")),
            "{file}: github-token"
        );
    }
}

#[test]
fn ci_workflow_runs_the_tests_and_the_corpus_replay() {
    let w = yaml(".github/workflows/ci.yml");
    for trigger in ["push", "pull_request"] {
        assert!(!w["on"][trigger].is_badvalue(), "ci.yml: on {trigger}");
    }
    let steps = steps(&w);
    assert!(
        steps.iter().any(|(_, s)| s["uses"]
            .as_str()
            .is_some_and(|u| u.starts_with("actions/checkout@"))),
        "ci.yml checks the tree out"
    );
    let runs: Vec<&str> = steps
        .iter()
        .filter_map(|(_, s)| s["run"].as_str())
        .flat_map(str::lines)
        .map(str::trim)
        .collect();
    // The README's commands, as written there.
    let readme = read("README.md");
    for cmd in [
        "cargo test --workspace",
        "cargo run --release -- replay corpus/",
    ] {
        assert!(readme.contains(cmd), "README.md shows `{cmd}`");
        assert!(runs.contains(&cmd), "ci.yml runs `{cmd}`: {runs:?}");
    }
}

fn run(cmd: &mut Command) -> Output {
    cmd.env_remove("MMDIFF_PLANTED")
        .env_remove("FEATURES")
        .output()
        .expect("run the command")
}

/// oss-fuzz/build.sh as OSS-Fuzz runs it, given `OUT` and `WORK` under
/// `dir`, the repository as MMDIFF_SRC, and the test's mmdiff binary.
fn build_sh(dir: &Path, steps: &str) -> Command {
    let mut cmd = Command::new("bash");
    cmd.arg(repo().join("oss-fuzz/build.sh"))
        .env("MMDIFF_SRC", repo())
        .env("OUT", dir.join("out"))
        .env("WORK", dir.join("work"))
        .env("MMDIFF", env!("CARGO_BIN_EXE_mmdiff"))
        .env("MMDIFF_BUILD_STEPS", steps)
        .env_remove("SRC")
        .env_remove("MMDIFF_FUZZ_DIR")
        .env_remove("MMDIFF_CORPUS");
    cmd
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The entries of a zip archive, read here rather than by the writer's
/// code: the central directory, each local header, the stored contents and
/// their CRC-32.
fn unzip(path: &Path) -> BTreeMap<String, Vec<u8>> {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let u16_at = |at: usize| u16::from_le_bytes([data[at], data[at + 1]]) as usize;
    let u32_at = |at: usize| {
        u32::from_le_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]) as usize
    };
    let eocd = (0..=data.len() - 22)
        .rev()
        .find(|&i| u32_at(i) == 0x0605_4b50)
        .expect("an end of central directory record");
    let (count, mut at) = (u16_at(eocd + 10), u32_at(eocd + 16));
    assert_eq!(u16_at(eocd + 8), count, "one disk");
    let mut entries = BTreeMap::new();
    for _ in 0..count {
        assert_eq!(u32_at(at), 0x0201_4b50, "a central directory entry");
        let (method, crc, size) = (u16_at(at + 10), u32_at(at + 16) as u32, u32_at(at + 24));
        let name_len = u16_at(at + 28);
        let name = String::from_utf8(data[at + 46..at + 46 + name_len].to_vec()).expect("UTF-8");
        assert_eq!(method, 0, "{name}: stored");
        let local = u32_at(at + 42);
        assert_eq!(u32_at(local), 0x0403_4b50, "{name}: a local header");
        assert_eq!(&data[local + 30..local + 30 + name_len], name.as_bytes());
        let start = local + 30 + u16_at(local + 26) + u16_at(local + 28);
        let contents = data[start..start + size].to_vec();
        assert_eq!(crc32(&contents), crc, "{name}: CRC-32");
        assert!(!name.contains('/'), "{name}: a flat archive");
        assert!(
            entries.insert(name, contents).is_none(),
            "one entry per name"
        );
        at += 46 + name_len + u16_at(at + 30) + u16_at(at + 32);
    }
    entries
}

fn crc32(data: &[u8]) -> u32 {
    let table: Vec<u32> = (0..256u32)
        .map(|n| {
            (0..8).fold(n, |c, _| {
                if c & 1 == 1 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                }
            })
        })
        .collect();
    !data.iter().fold(!0u32, |c, &b| {
        table[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8)
    })
}

/// Every file of `dir`, by name.
fn files_in(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .expect("a directory")
        .map(|e| e.expect("entry").path())
        .map(|p| {
            let name = p
                .file_name()
                .expect("a name")
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read(&p).expect("readable"))
        })
        .collect()
}

/// The corpus scenarios, named as the seeds are: the path under corpus/
/// with `/` written `__`.
fn corpus_scenarios(dir: &Path, prefix: &str, out: &mut BTreeMap<String, Vec<u8>>) {
    for e in std::fs::read_dir(dir).expect("a directory") {
        let path = e.expect("entry").path();
        let name = path
            .file_name()
            .expect("a name")
            .to_string_lossy()
            .into_owned();
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            corpus_scenarios(&path, &format!("{prefix}{name}__"), out);
        } else if name.ends_with(".mms") {
            out.insert(
                format!("{prefix}{name}"),
                std::fs::read(&path).expect("readable"),
            );
        }
    }
}

#[test]
fn seed_corpora_are_what_the_encoder_makes_of_the_corpus() {
    let dir = TempDir::new("oss-fuzz-seeds");
    let out = run(&mut build_sh(dir.path(), "seeds options"));
    assert!(out.status.success(), "build.sh: {}", text(&out.stderr));

    // What `mmdiff convert corpus -o DIR` writes, byte for byte.
    let converted = dir.path().join("converted");
    let conv = run(Command::new(env!("CARGO_BIN_EXE_mmdiff"))
        .arg("convert")
        .arg(repo().join("corpus"))
        .arg("-o")
        .arg(&converted));
    assert!(conv.status.success(), "convert: {}", text(&conv.stderr));
    let byte_seeds = files_in(&converted);
    let mut text_seeds = BTreeMap::new();
    corpus_scenarios(&repo().join("corpus"), "", &mut text_seeds);
    assert!(byte_seeds.len() >= 100, "{} byte seeds", byte_seeds.len());
    assert_eq!(byte_seeds.len(), text_seeds.len(), "one seed per scenario");

    let out_dir = dir.path().join("out");
    let unzip_tool = Command::new("unzip")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success());
    for t in targets() {
        let zip = out_dir.join(format!("{t}_seed_corpus.zip"));
        let want = if t == "scenario_parser" {
            &text_seeds
        } else {
            &byte_seeds
        };
        let got = unzip(&zip);
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>(),
            "{t}: entry names"
        );
        for (name, data) in &got {
            assert!(want[name] == *data, "{t}: {name} differs from its seed");
        }
        // Where an unzip program is installed, it must agree too.
        if unzip_tool {
            let test = Command::new("unzip")
                .arg("-tq")
                .arg(&zip)
                .output()
                .expect("unzip");
            assert!(
                test.status.success(),
                "unzip -t {t}: {}",
                text(&test.stdout)
            );
        }

        // Options as ClusterFuzz reads them, with the dictionary they name.
        let options = std::fs::read_to_string(out_dir.join(format!("{t}.options")))
            .unwrap_or_else(|e| panic!("{t}.options: {e}"));
        assert!(
            options.lines().any(|l| l.trim() == "[libfuzzer]"),
            "{t}.options"
        );
        let dict = options
            .lines()
            .find_map(|l| l.trim().strip_prefix("dict = "))
            .unwrap_or_else(|| panic!("{t}.options names a dictionary"));
        assert!(out_dir.join(dict).is_file(), "{t}: {dict} is installed");
    }
    assert_eq!(
        std::fs::read(out_dir.join("differential.dict")).expect("installed"),
        std::fs::read(repo().join("fuzz/differential.dict")).expect("fuzz/differential.dict"),
    );

    // The same corpus gives the same archives, byte for byte.
    let again = TempDir::new("oss-fuzz-seeds-again");
    let out = run(&mut build_sh(again.path(), "seeds"));
    assert!(out.status.success(), "build.sh: {}", text(&out.stderr));
    for t in targets() {
        let name = format!("{t}_seed_corpus.zip");
        assert!(
            std::fs::read(out_dir.join(&name)).ok()
                == std::fs::read(again.path().join("out").join(&name)).ok(),
            "{name} is not reproducible"
        );
    }
}

#[test]
fn parser_dictionary_holds_every_op_keyword() {
    let dict = read("oss-fuzz/scenario_parser.dict");
    let mut entries = Vec::new();
    for line in dict
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        // libFuzzer's format: a quoted string, with \\, \" and \xHH escapes.
        let body = line
            .strip_prefix('"')
            .and_then(|l| l.strip_suffix('"'))
            .unwrap_or_else(|| panic!("not a dictionary entry: {line}"));
        let mut chars = body.chars();
        while let Some(c) = chars.next() {
            assert!(c != '"', "unescaped quote in {line}");
            if c == '\\' {
                match chars.next() {
                    Some('\\' | '"') => {}
                    Some('x') => {
                        let hex: String = chars.by_ref().take(2).collect();
                        assert!(
                            hex.len() == 2 && hex.chars().all(|h| h.is_ascii_hexdigit()),
                            "bad \\x escape in {line}"
                        );
                    }
                    _ => panic!("bad escape in {line}"),
                }
            }
        }
        entries.push(body.to_string());
    }
    for kind in OpKind::ALL {
        let word = format!("{} ", kind.keyword());
        assert!(entries.contains(&word), "no entry for `{}`", kind.keyword());
    }
}

/// What a failed build script printed, for messages.
fn failure(out: &Output) -> (i32, String) {
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    (out.status.code().unwrap_or(-1), all)
}

#[test]
fn build_script_fails_loudly_naming_the_step() {
    let dir = TempDir::new("oss-fuzz-fail");
    let missing = dir.path().join("no-such-fuzz-dir");
    let (code, out) = failure(&run(
        build_sh(dir.path(), "seeds").env("MMDIFF_FUZZ_DIR", &missing)
    ));
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("build.sh: FAILED in step `targets`: no directory")
            && out.contains(&missing.display().to_string()),
        "{out}"
    );

    let (code, out) = failure(&run(
        build_sh(dir.path(), "seeds").env("MMDIFF", "/nonexistent/mmdiff")
    ));
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("build.sh: FAILED in step `seeds`: no mmdiff binary at /nonexistent/mmdiff"),
        "{out}"
    );

    // A command that fails rather than a check: the step is still named.
    let (code, out) = failure(&run(
        build_sh(dir.path(), "seeds").env("MMDIFF", "/bin/false")
    ));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("build.sh: FAILED in step `seeds` (a command exited with status 1"),
        "{out}"
    );

    let empty = dir.path().join("empty-corpus");
    std::fs::create_dir_all(&empty).expect("mkdir");
    let (code, out) = failure(&run(
        build_sh(dir.path(), "seeds").env("MMDIFF_CORPUS", &empty)
    ));
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("FAILED in step `seeds`: no seeds for "),
        "{out}"
    );

    let (code, out) = failure(&run(&mut build_sh(dir.path(), "seeds fuzz")));
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("unknown step `fuzz`"), "{out}");

    let (code, out) = failure(&run(build_sh(dir.path(), "seeds").env_remove("OUT")));
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("FAILED in step `setup`: OUT is not set"),
        "{out}"
    );
}

/// scripts/oss-fuzz-local.sh with its state under `dir`, never installing
/// anything.
fn local_sh(dir: &Path) -> Command {
    let mut cmd = Command::new("bash");
    cmd.arg(repo().join("scripts/oss-fuzz-local.sh"))
        .arg("1")
        .env("OSS_FUZZ_LOCAL_DIR", dir.join("local"))
        .env("OSS_FUZZ_LOCAL_INSTALL", "0")
        .env("MMDIFF", env!("CARGO_BIN_EXE_mmdiff"))
        .env("MMDIFF_FUZZ_TARGET_DIR", dir.join("fuzz-target"))
        .env_remove("MMDIFF_FUZZ_DIR");
    cmd
}

#[test]
fn local_run_fails_loudly_naming_the_step() {
    let dir = TempDir::new("oss-fuzz-local-fail");
    let has_cargo_fuzz = Command::new("cargo-fuzz")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_cargo_fuzz {
        // The first step, before anything is built: it would install
        // cargo-fuzz, and is told not to.
        let (code, out) = failure(&run(&mut local_sh(dir.path())));
        assert_eq!(code, 1, "{out}");
        assert!(
            out.contains("oss-fuzz-local: FAILED in step `tools`: cargo-fuzz is not installed"),
            "{out}"
        );
        return;
    }

    let missing = dir.path().join("no-such-fuzz-dir");
    let (code, out) = failure(&run(local_sh(dir.path()).env("MMDIFF_FUZZ_DIR", &missing)));
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("build.sh: FAILED in step `targets`")
            && out.contains("oss-fuzz-local: FAILED in step `build`"),
        "{out}"
    );

    // A fuzz crate that cannot build: cargo fuzz itself fails.
    let broken = dir.path().join("broken-fuzz");
    std::fs::create_dir_all(broken.join("fuzz_targets")).expect("mkdir");
    std::fs::write(broken.join("fuzz_targets/t.rs"), "#![no_main]\n").expect("write");
    std::fs::write(broken.join("Cargo.toml"), "[package\nname = \n").expect("write");
    let (code, out) = failure(&run(local_sh(dir.path()).env("MMDIFF_FUZZ_DIR", &broken)));
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("build.sh: FAILED in step `fuzzers` (a command exited with status")
            && out.contains("oss-fuzz-local: FAILED in step `build`"),
        "{out}"
    );
    assert!(
        !dir.path().join("local/out/t").exists(),
        "no fuzzer left behind by a failed build"
    );

    let (code, out) = failure(&run(local_sh(dir.path()).arg("-s").arg("memory")));
    assert_eq!(code, 2, "a usage error: {out}");
    assert!(out.contains("-s takes none or address"), "{out}");
}
