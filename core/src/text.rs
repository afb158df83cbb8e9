//! The scenario text format (`.mms`). (Being written.)

use crate::expect::Expect;
use crate::op::Op;

/// A parsed scenario file.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Scenario {
    /// `#! key: value` provenance lines at the top, in order.
    pub header: Vec<(String, String)>,
    pub lines: Vec<Line>,
}

/// One line of a scenario after the header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    Op {
        op: Op,
        expect: Option<Expect>,
        /// Spaces between the op text and `=>` (1 when written by the printer).
        pad: u16,
        /// A trailing `# comment`, without the `#`.
        comment: Option<String>,
    },
    /// A full-line `# comment`, without the `#`.
    Comment(String),
    Blank,
}

/// A parse error: where, and what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    pub expected: String,
    pub found: String,
}

impl Scenario {
    pub fn ops(&self) -> Vec<Op> {
        self.lines
            .iter()
            .filter_map(|l| match l {
                Line::Op { op, .. } => Some(op.clone()),
                _ => None,
            })
            .collect()
    }
    pub fn from_ops(ops: &[Op]) -> Scenario {
        Scenario {
            header: Vec::new(),
            lines: ops
                .iter()
                .map(|op| Line::Op {
                    op: op.clone(),
                    expect: None,
                    pad: 1,
                    comment: None,
                })
                .collect(),
        }
    }
}

pub fn parse(_src: &str) -> Result<Scenario, ParseError> {
    unimplemented!("text::parse")
}

pub fn print(_s: &Scenario) -> String {
    unimplemented!("text::print")
}
