//! The self-test of rules: each rule, alone in its own [`Detector`], must find every one of its
//! `examples` at its confidence and none of its `negative_examples` at that confidence or above.
//! It lives here, not in `rules`, so that the detector depends on rules and not the reverse.

use super::Detector;
use crate::rules::{ExampleProblem, RuleSet};

/// Checks every rule of `rules` against its own examples: each example must produce a finding
/// of that rule at the rule's confidence, and no negative example may produce one at that
/// confidence or above. Each rule is checked alone, so other rules cannot hide a problem (nor
/// lend it their decoding triggers).
pub fn check_examples(rules: &RuleSet) -> Vec<ExampleProblem> {
    let mut problems = Vec::new();
    for rule in rules.iter() {
        let syntax = &rule.syntax;
        let problem = |message: String| ExampleProblem { rule_id: syntax.id.clone(), message };
        if syntax.examples.is_empty() {
            problems.push(problem("has no examples".into()));
        }
        let single = match rules.single_with_pairing(rule) {
            Ok(set) => set,
            Err(e) => {
                problems.push(problem(e));
                continue;
            }
        };
        let detector = Detector::new(single);
        let mut scratch = detector.scratch();
        let want = syntax.confidence;
        let scan = |scratch: &mut super::Scratch, text: &str| {
            let mut found = detector.scan(text.as_bytes(), scratch);
            crate::pair::settle(detector.rules(), text.as_bytes(), &mut found);
            found
        };
        for example in &syntax.examples {
            let found = scan(&mut scratch, example);
            if !found.iter().any(|m| m.confidence >= want) {
                problems.push(problem(format!(
                    "example is not found at confidence {want}: {example:?}"
                )));
            }
        }
        for example in &syntax.negative_examples {
            let found = scan(&mut scratch, example);
            if let Some(m) = found.iter().find(|m| m.confidence >= want) {
                problems.push(problem(format!(
                    "negative example is found (confidence {}): {example:?}",
                    m.confidence
                )));
            }
        }
    }
    for ex in rules.extractors() {
        let problem = |message: String| ExampleProblem { rule_id: ex.id().to_string(), message };
        for example in &ex.syntax.examples {
            if crate::pair::extract_all(ex, example.as_bytes()).is_empty() {
                problems.push(problem(format!("pairing example yields no identity: {example:?}")));
            }
        }
        for example in &ex.syntax.negative_examples {
            let found = crate::pair::extract_all(ex, example.as_bytes());
            if !found.is_empty() {
                problems.push(problem(format!(
                    "pairing negative example yields {found:?}: {example:?}"
                )));
            }
        }
    }
    problems
}
