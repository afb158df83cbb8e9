//! Every scenario of `corpus/conformance/` run on the oracle and on the
//! real kernel side by side ([`mmdiff_kernel::compare`]), printed as a
//! table: agree, disagree (first op and diff), or not expressible (some of
//! its ops cannot run on a kernel from user space; those are skipped on
//! both sides and the rest is still compared).
//!
//! Disagreements are findings, not failures: the oracle may be wrong, or
//! the machine may differ from the models' machine (see the environment
//! printed first). What must hold is that the executor itself works on
//! every scenario.

use std::path::{Path, PathBuf};

use mmdiff_kernel::{compare, Options, Report};

fn scenarios(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("the conformance directory is readable")
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            scenarios(&p, out);
        } else if p.extension().is_some_and(|e| e == "mms") {
            out.push(p);
        }
    }
}

fn verdict(r: &Report) -> &'static str {
    match (r.agrees(), r.complete()) {
        (true, true) => "agree",
        (false, _) => "DISAGREE",
        (true, false) => "not expressible",
    }
}

#[test]
fn conformance_scenarios_on_the_kernel() {
    let env = mmdiff_kernel::probe();
    eprintln!("{env}");
    if let Some(why) = &env.unsupported {
        let r = compare(&env, &Default::default(), &[], &Options::default());
        assert!(r.is_err(), "an unsupported machine must refuse: {why}");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus/conformance");
    let mut files = Vec::new();
    scenarios(&root, &mut files);
    assert!(!files.is_empty(), "no scenarios under {}", root.display());

    let mut failures = Vec::new();
    let mut rows = Vec::new();
    let mut details = Vec::new();
    let (mut agree, mut disagree, mut inexpressible) = (0, 0, 0);
    for f in &files {
        let name = f.strip_prefix(&root).unwrap_or(f).display().to_string();
        let text = std::fs::read_to_string(f).expect("scenario readable");
        let scenario = mmdiff_core::text::parse(&text).expect("conformance scenarios parse");
        let config = scenario.config().expect("conformance configs are valid");
        match compare(&env, &config, &scenario.ops(), &Options::default()) {
            Err(e) => failures.push(format!("{name}: {e}")),
            Ok(r) => {
                let v = verdict(&r);
                match v {
                    "agree" => agree += 1,
                    "DISAGREE" => disagree += 1,
                    _ => inexpressible += 1,
                }
                let first = r.divergence.as_ref().map_or(String::new(), |d| {
                    d.index.map_or("before op 0".into(), |i| format!("op #{i}"))
                });
                rows.push(format!(
                    "{v:<16} {name:<58} {:>3}/{:<3} {first:<10} {} {}",
                    r.ops_run,
                    r.ops_total,
                    r.skipped_summary(),
                    r.explained_summary()
                ));
                if let Some(d) = &r.divergence {
                    details.push(format!("{name}:\n{}", d.render()));
                }
            }
        }
    }
    eprintln!(
        "{:<16} {:<58} {:>7} {:<10} skipped, explained",
        "verdict", "scenario", "ran", "first"
    );
    for r in &rows {
        eprintln!("{r}");
    }
    for d in &details {
        eprintln!("\n{d}");
    }
    eprintln!(
        "\n{agree} agree, {disagree} disagree, {inexpressible} not expressible (the rest agrees), {} executor errors",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "the executor failed:\n{}",
        failures.join("\n")
    );
    assert_eq!(agree + disagree + inexpressible, files.len());
}
