//! Helpers shared by the azleak fuzz targets: the built-in detector (built once per process),
//! the span checks every detector target asserts, and the switches for properties that other
//! work is still bringing to `main`.
//!
//! The targets call only azleak's public, stable entry points (`Detector::scan`,
//! `scan::locate`, `RuleSet::add_text`, `config::parse`, `Baseline::parse`, the reporters), so
//! they keep building while the internals change.

use std::sync::OnceLock;

use azleak::detect::{Detector, RawMatch};
use azleak::finding::Finding;
use azleak::rules::RuleSet;

/// The detector over the built-in rules, shared by every run in the process.
pub fn detector() -> &'static Detector {
    static DETECTOR: OnceLock<Detector> = OnceLock::new();
    DETECTOR.get_or_init(|| Detector::new(RuleSet::builtin().expect("built-in rules load")))
}

/// Whether a property named by `name` is checked: on unless `AZLEAK_FUZZ_SKIP` lists it
/// (comma-separated, e.g. `AZLEAK_FUZZ_SKIP=escape,echo`). Properties that depend on work not
/// yet on `main` can so be turned off without editing a target.
pub fn checked(name: &str) -> bool {
    static SKIP: OnceLock<Vec<String>> = OnceLock::new();
    let skip = SKIP.get_or_init(|| {
        std::env::var("AZLEAK_FUZZ_SKIP")
            .unwrap_or_default()
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    });
    !skip.iter().any(|s| s == name)
}

/// Asserts that every match lies inside `hay`, is non-empty and refers to one of `rules` rules.
pub fn check_matches(hay: &[u8], matches: &[RawMatch], rules: usize) {
    for m in matches {
        assert!(
            m.start <= m.end && m.end <= hay.len(),
            "span {}..{} of {}",
            m.start,
            m.end,
            hay.len()
        );
        assert!(m.start < m.end, "empty span at {}", m.start);
        assert!(m.rule < rules, "rule index {} of {rules}", m.rule);
    }
}

/// Asserts that located findings have 1-based positions inside `hay`.
pub fn check_findings(hay: &[u8], findings: &[Finding]) {
    let lines = memchr_count(b'\n', hay) + 1;
    for f in findings {
        assert!(f.line >= 1 && f.line <= lines, "line {} of {lines}", f.line);
        assert!(f.column >= 1, "column {}", f.column);
        assert!(f.end_column > f.column, "end column {} <= column {}", f.end_column, f.column);
    }
}

fn memchr_count(needle: u8, hay: &[u8]) -> usize {
    hay.iter().filter(|&&b| b == needle).count()
}

/// The values in `text` (TOML or JSON) written as quoted strings after `=`, `:`, `[` or `,`
/// (so not table headers or keys) that are long enough to be recognised if an error message
/// echoed them: at least 12 characters, all ASCII alphanumeric.
pub fn quoted_values(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let quote = bytes[i];
        if quote != b'"' && quote != b'\'' {
            i += 1;
            continue;
        }
        let before = bytes[..i].iter().rev().find(|b| !b.is_ascii_whitespace());
        let Some(close) = bytes[i + 1..].iter().position(|&b| b == quote) else { break };
        let value = &text[i + 1..i + 1 + close];
        let after = bytes[i + 2 + close..].iter().find(|b| !b.is_ascii_whitespace());
        let value_position = matches!(before, Some(b'=' | b':' | b'[' | b','));
        let is_key = matches!(after, Some(b':' | b'='));
        if value_position
            && !is_key
            && value.len() >= 12
            && value.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            out.push(value.to_string());
        }
        i += close + 2;
    }
    out
}
