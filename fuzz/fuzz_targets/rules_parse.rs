//! The rule-file parser on arbitrary text: `RuleSet::add_text` (TOML → `RuleSyntax` → compiled
//! `Rule`), then what `azleak rules check` does with a loaded set (`check_examples`), then a
//! detector built from it scanning a fixed sample and the rule's own examples.
//!
//! Asserts: no panic (a bad rule file is an error naming the file), error messages format.

#![no_main]

use std::path::Path;

use azleak::rules::RuleSet;
use azleak::{Detector, scan};
use azleak_fuzz::{check_findings, check_matches};
use libfuzzer_sys::fuzz_target;

const SAMPLE: &[u8] =
    b"client_secret=riG8Q~p-69WAm.dX4a6IDnOdcdbWB3dC5-DSDciR\nkey = \"abc\" + \"def\"\n"; // azleak:allow

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut set = RuleSet::default();
    match set.add_text(Path::new("fuzz-rules.toml"), text) {
        Err(e) => {
            let message = e.to_string();
            assert!(message.contains("fuzz-rules.toml"), "error does not name the file: {message}");
        }
        Ok(()) => {
            for problem in azleak::detect::check_examples(&set) {
                let _ = format!("{}: {}", problem.rule_id, problem.message);
            }
            let examples: Vec<Vec<u8>> = set
                .iter()
                .flat_map(|r| r.syntax.examples.iter().chain(&r.syntax.negative_examples))
                .map(|e| e.as_bytes().to_vec())
                .collect();
            let detector = Detector::new(set);
            let mut scratch = detector.scratch();
            for hay in std::iter::once(SAMPLE.to_vec()).chain(examples) {
                let matches = detector.scan(&hay, &mut scratch);
                check_matches(&hay, &matches, detector.rules().len());
                let findings = scan::locate(&detector, "sample.txt", &hay, &matches);
                check_findings(&hay, &findings);
            }
        }
    }
});
