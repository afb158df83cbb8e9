//! `mmdiff bench --quick --json` end to end: one JSON object on stdout,
//! every workload in it with positive times and peaks (the peaks come from
//! child processes of the real binary, with its counting allocator).

use std::collections::BTreeMap;
use std::process::Command;

use mmdiff_triage::bench::workloads::WORKLOADS;

/// Just enough JSON for this test.
#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(BTreeMap<String, Json>),
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Result<(), String> {
        self.ws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            Ok(())
        } else {
            Err(format!("expected `{}` at byte {}", c as char, self.i))
        }
    }

    fn value(&mut self) -> Result<Json, String> {
        self.ws();
        match self.s.get(self.i) {
            Some(b'{') => {
                self.i += 1;
                let mut m = BTreeMap::new();
                self.ws();
                if self.s.get(self.i) == Some(&b'}') {
                    self.i += 1;
                    return Ok(Json::Obj(m));
                }
                loop {
                    self.ws();
                    let Json::Str(k) = self.value()? else {
                        return Err(format!("expected a key at byte {}", self.i));
                    };
                    self.eat(b':')?;
                    let v = self.value()?;
                    if m.insert(k.clone(), v).is_some() {
                        return Err(format!("duplicate key `{k}`"));
                    }
                    self.ws();
                    match self.s.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            return Ok(Json::Obj(m));
                        }
                        _ => return Err(format!("bad object at byte {}", self.i)),
                    }
                }
            }
            Some(b'[') => {
                self.i += 1;
                let mut v = Vec::new();
                self.ws();
                if self.s.get(self.i) == Some(&b']') {
                    self.i += 1;
                    return Ok(Json::Arr(v));
                }
                loop {
                    v.push(self.value()?);
                    self.ws();
                    match self.s.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(Json::Arr(v));
                        }
                        _ => return Err(format!("bad array at byte {}", self.i)),
                    }
                }
            }
            Some(b'"') => {
                self.i += 1;
                let mut out = String::new();
                loop {
                    let c = *self.s.get(self.i).ok_or("unterminated string")?;
                    self.i += 1;
                    match c {
                        b'"' => return Ok(Json::Str(out)),
                        b'\\' => {
                            let e = *self.s.get(self.i).ok_or("bad escape")?;
                            self.i += 1;
                            out.push(match e {
                                b'n' => '\n',
                                b't' => '\t',
                                b'r' => '\r',
                                b'u' => {
                                    let hex = std::str::from_utf8(&self.s[self.i..self.i + 4])
                                        .map_err(|e| e.to_string())?;
                                    self.i += 4;
                                    let n =
                                        u32::from_str_radix(hex, 16).map_err(|e| e.to_string())?;
                                    char::from_u32(n).ok_or("bad \\u escape")?
                                }
                                other => other as char,
                            });
                        }
                        c if c < 0x20 => return Err("control character in a string".into()),
                        _ => {
                            // Multi-byte UTF-8 passes through byte by byte.
                            let start = self.i - 1;
                            let len = match c {
                                0xf0.. => 4,
                                0xe0.. => 3,
                                0xc0.. => 2,
                                _ => 1,
                            };
                            self.i = start + len;
                            out.push_str(
                                std::str::from_utf8(&self.s[start..self.i])
                                    .map_err(|e| e.to_string())?,
                            );
                        }
                    }
                }
            }
            Some(_) => {
                for (lit, v) in [
                    ("true", Json::Bool(true)),
                    ("false", Json::Bool(false)),
                    ("null", Json::Null),
                ] {
                    if self.s[self.i..].starts_with(lit.as_bytes()) {
                        self.i += lit.len();
                        return Ok(v);
                    }
                }
                let start = self.i;
                while self
                    .s
                    .get(self.i)
                    .is_some_and(|c| b"+-0123456789.eE".contains(c))
                {
                    self.i += 1;
                }
                std::str::from_utf8(&self.s[start..self.i])
                    .ok()
                    .and_then(|t| t.parse::<f64>().ok())
                    .map(Json::Num)
                    .ok_or_else(|| format!("bad value at byte {start}"))
            }
            None => Err("unexpected end".into()),
        }
    }
}

fn parse(s: &str) -> Result<Json, String> {
    let mut p = Parser {
        s: s.as_bytes(),
        i: 0,
    };
    let v = p.value()?;
    p.ws();
    if p.i != s.len() {
        return Err(format!("trailing text at byte {}", p.i));
    }
    Ok(v)
}

#[test]
fn quick_json_has_every_workload_with_positive_figures() {
    let out = Command::new(env!("CARGO_BIN_EXE_mmdiff"))
        .args(["bench", "--quick", "--json"])
        .output()
        .expect("run mmdiff");
    let stdout = String::from_utf8(out.stdout).expect("utf-8 stdout");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let json = parse(&stdout).unwrap_or_else(|e| panic!("{e}:\n{stdout}"));
    let Json::Obj(top) = json else {
        panic!("not an object: {stdout}")
    };
    assert_eq!(top.get("errors"), Some(&Json::Arr(Vec::new())), "{stdout}");
    let Some(Json::Arr(workloads)) = top.get("workloads") else {
        panic!("no workloads array: {stdout}")
    };
    let mut names = Vec::new();
    for w in workloads {
        let Json::Obj(w) = w else {
            panic!("workload not an object: {stdout}")
        };
        let Some(Json::Str(name)) = w.get("name") else {
            panic!("workload without a name: {stdout}")
        };
        for key in [
            "oracle_s",
            "subject_s",
            "lockstep_s",
            "speedup",
            "oracle_peak_bytes",
            "subject_peak_bytes",
        ] {
            match w.get(key) {
                Some(Json::Num(v)) if *v > 0.0 && v.is_finite() => {}
                other => panic!("{name}: {key} = {other:?}"),
            }
        }
        names.push(name.clone());
    }
    let expected: Vec<String> = WORKLOADS.iter().map(|w| w.name.to_string()).collect();
    assert_eq!(names, expected);
    assert!(matches!(top.get("quick"), Some(Json::Bool(true))));
    let seq = workloads
        .iter()
        .find(|w| matches!(w, Json::Obj(o) if o.get("name") == Some(&Json::Str("seq64".into()))));
    let Some(Json::Obj(seq)) = seq else {
        panic!("no seq64")
    };
    assert!(matches!(seq.get("seqs_per_s"), Some(Json::Num(v)) if *v > 0.0));
    assert!(matches!(seq.get("seed"), Some(Json::Num(_))));
}

#[test]
fn usage_errors_exit_2() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_mmdiff"))
            .args(args)
            .output()
            .expect("run mmdiff")
            .status
            .code()
    };
    assert_eq!(run(&["bench", "--only", "nope"]), Some(2));
    assert_eq!(run(&["bench", "--repeat", "0"]), Some(2));
    assert_eq!(run(&["bench", "--help"]), Some(0));
}
