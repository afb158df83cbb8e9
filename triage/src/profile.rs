//! `--kernel <major.minor>`: the semantics profile the models follow where
//! kernel versions differ (`docs/semantics.md`, "Kernel versions";
//! [`Config::kernel`]).
//!
//! The option sets the profile of everything a command runs that does not
//! name its own: generated inputs, fuzz byte files, and scenarios without
//! `kernel=` in their `#! config:` header. A scenario that names a kernel
//! keeps it: its expectations were written for that kernel. Without the
//! option the profile is [`KernelVersion::BASELINE`], and every output is
//! what it was before the option existed. What a command writes under
//! another profile records it (`#! config: kernel=6.12`, [`record`]), so
//! `mmdiff replay` reproduces it without the option.

use mmdiff_core::config::KernelVersion;
use mmdiff_core::text::{ParseError, Scenario};
use mmdiff_core::Config;

use crate::args::{Opt, UsageError};

/// The oldest profile the models know: their version rules start at 6.12.
pub const OLDEST: KernelVersion = KernelVersion::new(6, 12);

/// The newest profile: the models' baseline.
pub const NEWEST: KernelVersion = KernelVersion::BASELINE;

/// The option, for a command's option table.
pub const OPT: Opt = Opt {
    names: &["--kernel"],
    takes_value: true,
};

/// Parses `--kernel`'s value: `major.minor`, from [`OLDEST`] to [`NEWEST`];
/// `None` when the option was not given.
pub fn parse(value: Option<&str>) -> Result<Option<KernelVersion>, UsageError> {
    let Some(value) = value else {
        return Ok(None);
    };
    let version = KernelVersion::parse(value)
        .filter(|v| v.to_string() == value)
        .ok_or_else(|| {
            UsageError(format!(
                "--kernel: expected a version like 6.12, found `{value}`"
            ))
        })?;
    if !(OLDEST..=NEWEST).contains(&version) {
        return Err(UsageError(format!(
            "--kernel: {version} is not supported: the models know the rules of \
             Linux {OLDEST} to {NEWEST}"
        )));
    }
    Ok(Some(version))
}

/// The profile `--kernel` selects: its value, or the baseline.
pub fn or_baseline(kernel: Option<KernelVersion>) -> KernelVersion {
    kernel.unwrap_or(KernelVersion::BASELINE)
}

/// The default machine with profile `kernel`: the config of generated
/// inputs and fuzz byte files.
pub fn default_config(kernel: KernelVersion) -> Config {
    Config {
        kernel,
        ..Config::default()
    }
}

/// True when the scenario's `#! config:` header (the first, the one
/// [`Scenario::config`] reads) names a kernel.
pub fn names_kernel(s: &Scenario) -> bool {
    s.header
        .iter()
        .find(|(key, _)| key == "config")
        .is_some_and(|(_, value)| config_names_kernel(value))
}

fn config_names_kernel(value: &str) -> bool {
    value.split_whitespace().any(|w| w.starts_with("kernel="))
}

/// The machine scenario `s` runs on: its own config, with profile
/// `kernel` unless it names a kernel itself.
pub fn scenario_config(s: &Scenario, kernel: KernelVersion) -> Result<Config, ParseError> {
    let mut config = s.config()?;
    if !names_kernel(s) {
        config.kernel = kernel;
    }
    Ok(config)
}

/// Records profile `kernel` in a scenario header that is written out, so
/// the file replays on it: `kernel=V` added to the `#! config:` line, or a
/// `#! config: kernel=V` line appended. Nothing changes for the baseline
/// or when the header names a kernel already.
pub fn record(header: &mut Vec<(String, String)>, kernel: KernelVersion) {
    if kernel == KernelVersion::BASELINE {
        return;
    }
    match header.iter_mut().find(|(key, _)| key == "config") {
        Some((_, value)) if config_names_kernel(value) => {}
        Some((_, value)) if value.trim().is_empty() => *value = format!("kernel={kernel}"),
        Some((_, value)) => value.push_str(&format!(" kernel={kernel}")),
        None => header.push(("config".into(), format!("kernel={kernel}"))),
    }
}

/// `--kernel V` for a command line that reproduces a run, or nothing for
/// the baseline.
pub fn flag(kernel: KernelVersion) -> String {
    if kernel == KernelVersion::BASELINE {
        String::new()
    } else {
        format!(" --kernel {kernel}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mmdiff_core::text;

    const V612: KernelVersion = KernelVersion::new(6, 12);

    #[test]
    fn versions_in_the_supported_range_parse() {
        assert_eq!(parse(None), Ok(None));
        assert_eq!(parse(Some("6.12")), Ok(Some(V612)));
        assert_eq!(parse(Some("6.15")), Ok(Some(KernelVersion::new(6, 15))));
        assert_eq!(parse(Some("6.19")), Ok(Some(KernelVersion::BASELINE)));
    }

    #[test]
    fn malformed_versions_are_usage_errors() {
        for bad in [
            "6", "abc", "", "6.", ".12", "v6.12", "6.12.1", "6.012", "6,12", "6.300",
        ] {
            let e = parse(Some(bad)).expect_err(bad);
            assert_eq!(
                e.0,
                format!("--kernel: expected a version like 6.12, found `{bad}`")
            );
        }
    }

    #[test]
    fn versions_outside_the_models_rules_are_refused_naming_the_range() {
        for bad in ["6.11", "5.15", "6.20", "7.0"] {
            let e = parse(Some(bad)).expect_err(bad);
            assert_eq!(
                e.0,
                format!(
                    "--kernel: {bad} is not supported: the models know the rules of \
                     Linux 6.12 to 6.19"
                )
            );
        }
    }

    #[test]
    fn a_scenario_that_names_its_kernel_keeps_it() {
        let own = text::parse("#! config: window_pages=4096 kernel=6.15\nreclaim\n").unwrap();
        assert!(names_kernel(&own));
        let c = scenario_config(&own, V612).unwrap();
        assert_eq!(
            (c.kernel, c.window_pages),
            (KernelVersion::new(6, 15), 4096)
        );
        let sized = text::parse("#! config: window_pages=4096\nreclaim\n").unwrap();
        assert!(!names_kernel(&sized));
        let c = scenario_config(&sized, V612).unwrap();
        assert_eq!((c.kernel, c.window_pages), (V612, 4096));
        let bare = text::parse("reclaim\n").unwrap();
        assert_eq!(scenario_config(&bare, V612), Ok(default_config(V612)));
        assert_eq!(
            scenario_config(&bare, KernelVersion::BASELINE),
            Ok(Config::default())
        );
    }

    #[test]
    fn written_headers_record_a_profile_other_than_the_baseline() {
        let h = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let mut none = h(&[("title", "t")]);
        record(&mut none, KernelVersion::BASELINE);
        assert_eq!(none, h(&[("title", "t")]));
        record(&mut none, V612);
        assert_eq!(none, h(&[("title", "t"), ("config", "kernel=6.12")]));
        let mut sized = h(&[("config", "window_pages=4096")]);
        record(&mut sized, V612);
        assert_eq!(sized, h(&[("config", "window_pages=4096 kernel=6.12")]));
        let mut own = h(&[("config", "kernel=6.15")]);
        record(&mut own, V612);
        assert_eq!(own, h(&[("config", "kernel=6.15")]));
        // What is recorded reads back as the same profile.
        let s = text::Scenario {
            header: sized,
            lines: Vec::new(),
        };
        assert_eq!(s.config().map(|c| c.kernel), Ok(V612));
        assert_eq!(
            (flag(V612).as_str(), flag(KernelVersion::BASELINE).as_str()),
            (" --kernel 6.12", "")
        );
    }
}
