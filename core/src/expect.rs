//! Expectations written after `=>` in scenarios. (Being written.)

use crate::outcome::Outcome;

/// What a scenario line expects: the op's outcome and facts about the
/// canonical state after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expect {
    pub outcome: Option<Outcome>,
    pub facts: Vec<Fact>,
}

/// A fact about the canonical state. (Being written.)
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fact {}
