//! A small command-line parser: positional arguments and `--flag [value]`
//! options (`--flag value` or `--flag=value`); `--` ends the options.

use std::collections::BTreeMap;
use std::fmt;

/// A usage error: the command line does not say what to do. Exit code 2.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// One option a command accepts.
#[derive(Clone, Copy, Debug)]
pub struct Opt {
    /// Spellings, e.g. `["--out", "-o"]`; the first is the canonical name.
    pub names: &'static [&'static str],
    /// True when the option takes a value.
    pub takes_value: bool,
}

/// The parsed command line of one command.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    pub positional: Vec<String>,
    /// Canonical option name -> value (`None` for switches). A repeated
    /// option keeps its last value.
    options: BTreeMap<&'static str, Option<String>>,
}

impl Parsed {
    /// True when switch or option `name` (canonical spelling) was given.
    pub fn has(&self, name: &str) -> bool {
        self.options.contains_key(name)
    }

    /// The value of option `name`, if given.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.options.get(name).and_then(|v| v.as_deref())
    }

    /// The value of option `name` as a number (decimal, or hex with `0x`).
    pub fn number(&self, name: &str) -> Result<Option<u64>, UsageError> {
        self.value(name).map(|v| parse_number(name, v)).transpose()
    }
}

/// Parses `args` (the words after the command name) against `opts`.
pub fn parse(args: &[String], opts: &[Opt]) -> Result<Parsed, UsageError> {
    let mut parsed = Parsed::default();
    let mut i = 0;
    let mut options_done = false;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if options_done || arg == "-" || !arg.starts_with('-') {
            parsed.positional.push(arg.clone());
            continue;
        }
        if arg == "--" {
            options_done = true;
            continue;
        }
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let Some(opt) = opts.iter().find(|o| o.names.contains(&name)) else {
            return Err(UsageError(format!("unknown option `{name}`")));
        };
        let canonical = opt.names[0];
        let value = if opt.takes_value {
            match inline {
                Some(v) => Some(v),
                None if i < args.len() => {
                    i += 1;
                    Some(args[i - 1].clone())
                }
                None => return Err(UsageError(format!("option `{name}` needs a value"))),
            }
        } else if inline.is_some() {
            return Err(UsageError(format!("option `{name}` takes no value")));
        } else {
            None
        };
        parsed.options.insert(canonical, value);
    }
    Ok(parsed)
}

/// Parses a non-negative number: decimal, or hexadecimal after `0x`.
pub fn parse_number(name: &str, v: &str) -> Result<u64, UsageError> {
    let v = v.trim();
    let parsed = match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => v.parse::<u64>(),
    };
    parsed.map_err(|_| {
        UsageError(format!(
            "option `{name}`: `{v}` is not a number (decimal, or hex with 0x)"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTS: &[Opt] = &[
        Opt {
            names: &["--out", "-o"],
            takes_value: true,
        },
        Opt {
            names: &["--quiet", "-q"],
            takes_value: false,
        },
    ];

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn positional_and_options() {
        let p = parse(&words("a -o x b --quiet"), OPTS).unwrap();
        assert_eq!(p.positional, ["a", "b"]);
        assert_eq!(p.value("--out"), Some("x"));
        assert!(p.has("--quiet"));
        let p = parse(&words("--out=y -- --quiet"), OPTS).unwrap();
        assert_eq!(p.value("--out"), Some("y"));
        assert!(!p.has("--quiet"));
        assert_eq!(p.positional, ["--quiet"]);
    }

    #[test]
    fn errors() {
        assert!(parse(&words("--nope"), OPTS).is_err());
        assert!(parse(&words("-o"), OPTS).is_err());
        assert!(parse(&words("--quiet=1"), OPTS).is_err());
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_number("n", "42").unwrap(), 42);
        assert_eq!(parse_number("n", "0xff").unwrap(), 255);
        assert_eq!(parse_number("n", "0xffffffffffffffff").unwrap(), u64::MAX);
        assert!(parse_number("n", "-1").is_err());
        assert!(parse_number("n", "ten").is_err());
    }
}
