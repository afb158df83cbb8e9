//! Round trips over generated ops, scenarios, outcomes and expectations.

use proptest::prelude::*;

use super::strategies::*;
use crate::expect::{DataPattern, ExpectedOutcome};
use crate::strategies::{arb_op, arb_ops};
use crate::text::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    /// print -> parse gives the same ops, and printing is a fixed point.
    #[test]
    fn op_sequences_round_trip(ops in arb_ops(12)) {
        let scenario = Scenario::from_ops(&ops);
        let text = print(&scenario);
        let parsed = parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(&parsed.ops(), &ops);
        prop_assert_eq!(&parsed, &scenario);
        prop_assert_eq!(print(&parsed), text);
    }

    /// Single ops: canonical text (single spaces, no reserved characters)
    /// parses back to the op.
    #[test]
    fn single_ops_round_trip(op in arb_op()) {
        let text = op_to_string(&op);
        prop_assert!(!text.contains("  ") && !text.contains('#') && !text.contains(';') && !text.contains("=>"), "{}", text);
        prop_assert_eq!(parse_op(&text), Ok(op));
    }

    /// Whole scenarios with header, comments, aligned expectations.
    #[test]
    fn scenarios_round_trip(scenario in arb_scenario()) {
        let text = print(&scenario);
        let parsed = parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(&parsed, &scenario, "{}", text);
        prop_assert_eq!(print(&parsed), text);
    }

    #[test]
    fn expectations_round_trip(expect in arb_expect()) {
        let text = expect.to_string();
        prop_assert_eq!(parse_expect(&text), Ok(expect), "{}", text);
    }

    /// Every outcome prints to text whose parse accepts exactly it back.
    #[test]
    fn outcomes_round_trip(outcome in arb_outcome()) {
        let text = outcome_to_string(&outcome);
        let parsed = parse_outcome(&text).map_err(|e| TestCaseError::fail(format!("{e}: {text}")))?;
        prop_assert!(parsed.matches(&outcome), "{} does not match {:?}", text, outcome);
        prop_assert_eq!(&parsed, &ExpectedOutcome::from_outcome(&outcome));
        prop_assert_eq!(expected_outcome_to_string(&parsed), text);
    }

    /// Compression: the pattern reproduces the same values at the same base
    /// (and at no other length).
    #[test]
    fn data_compression_keeps_values((base, values) in arb_values()) {
        let pattern = DataPattern::from_values(base, &values);
        prop_assert!(pattern.matches(base, &values));
        let text = format!("ok data={}", data_to_string(&pattern));
        prop_assert_eq!(parse_outcome(&text), Ok(ExpectedOutcome::Data(pattern.clone())));
        if let DataPattern::Runs(runs) = &pattern {
            prop_assert!(runs.len() != 1);
            let mut longer = values.clone();
            longer.push(0);
            prop_assert!(!pattern.matches(base, &longer));
        }
        // Changing any one value breaks the match.
        if let Some(first) = values.first() {
            let mut changed = values.clone();
            changed[0] = first.wrapping_add(1);
            prop_assert!(!pattern.matches(base, &changed));
        }
    }

    #[test]
    fn data_patterns_round_trip(pattern in arb_data_pattern()) {
        let text = format!("ok data={}", data_to_string(&pattern));
        prop_assert_eq!(parse_outcome(&text), Ok(ExpectedOutcome::Data(pattern)));
    }
}
