//! The detection engine. One Aho-Corasick automaton over every rule's keywords finds candidate
//! positions; each candidate rule's regex then runs only in a window around its keyword hits;
//! matches go through the rule's checksum, entropy, character-class and placeholder checks.
//!
//! The [`Detector`] is immutable and shared across threads; each thread owns a [`Scratch`].
//! This module knows nothing of files, git or output formats.

pub mod checksum;
pub mod filters;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex_automata::Input;
use regex_automata::meta::Cache;
use regex_automata::util::captures::Captures;

use crate::finding::{ChecksumStatus, Confidence};
use crate::rules::{Rule, RuleSet};

/// A match of one rule in a byte buffer, before it is placed in a file.
#[derive(Debug, Clone, PartialEq)]
pub struct RawMatch {
    /// Index of the rule in the detector's rule set.
    pub rule: usize,
    /// Byte offset of the secret's first byte.
    pub start: usize,
    /// Byte offset just past the secret.
    pub end: usize,
    /// Confidence after all checks.
    pub confidence: Confidence,
    /// Shannon entropy of the secret.
    pub entropy: f32,
    /// Checksum result.
    pub checksum: ChecksumStatus,
}

/// The compiled engine for a rule set.
#[derive(Debug)]
pub struct Detector {
    rules: RuleSet,
    keywords: AhoCorasick,
    /// For each keyword pattern, the rules that listed it.
    keyword_rules: Vec<Vec<usize>>,
    /// For each keyword pattern, its length.
    keyword_len: Vec<usize>,
}

/// Per-thread mutable state for [`Detector::scan`].
#[derive(Debug)]
pub struct Scratch {
    caches: Vec<Cache>,
    captures: Vec<Captures>,
    windows: Vec<Vec<(usize, usize)>>,
}

impl Detector {
    /// Builds the keyword automaton for a rule set.
    pub fn new(rules: RuleSet) -> Detector {
        let mut patterns: Vec<String> = Vec::new();
        let mut keyword_rules: Vec<Vec<usize>> = Vec::new();
        for (index, rule) in rules.iter().enumerate() {
            for keyword in &rule.syntax.keywords {
                let lower = keyword.to_ascii_lowercase();
                match patterns.iter().position(|p| *p == lower) {
                    Some(at) => keyword_rules[at].push(index),
                    None => {
                        patterns.push(lower);
                        keyword_rules.push(vec![index]);
                    }
                }
            }
        }
        let keyword_len = patterns.iter().map(String::len).collect();
        let keywords = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(&patterns)
            .expect("keyword automaton within size limits");
        Detector { rules, keywords, keyword_rules, keyword_len }
    }

    /// The rules this detector runs.
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// Fresh per-thread scratch space.
    pub fn scratch(&self) -> Scratch {
        Scratch {
            caches: self.rules.iter().map(|r| r.regex.create_cache()).collect(),
            captures: self.rules.iter().map(|r| r.regex.create_captures()).collect(),
            windows: vec![Vec::new(); self.rules.len()],
        }
    }

    /// Finds every match in `hay`, ordered by position then rule.
    pub fn scan(&self, hay: &[u8], scratch: &mut Scratch) -> Vec<RawMatch> {
        for windows in &mut scratch.windows {
            windows.clear();
        }
        let mut any = false;
        for hit in self.keywords.find_overlapping_iter(hay) {
            let pattern = hit.pattern().as_usize();
            let (start, end) = (hit.start(), hit.start() + self.keyword_len[pattern]);
            for &rule in &self.keyword_rules[pattern] {
                let w = self.rules.rule(rule).syntax.window;
                let window = (start.saturating_sub(w), end.saturating_add(w).min(hay.len()));
                push_window(&mut scratch.windows[rule], window);
                any = true;
            }
        }
        let mut out = Vec::new();
        if !any {
            return out;
        }
        for (index, rule) in self.rules.iter().enumerate() {
            let windows = std::mem::take(&mut scratch.windows[index]);
            for &(ws, we) in &windows {
                self.search_window(index, rule, hay, ws, we, scratch, &mut out);
            }
            scratch.windows[index] = windows;
        }
        out.sort_by_key(|a| (a.start, a.rule, a.end));
        out.dedup_by(|a, b| (a.start, a.end, a.rule) == (b.start, b.end, b.rule));
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn search_window(
        &self,
        index: usize,
        rule: &Rule,
        hay: &[u8],
        ws: usize,
        we: usize,
        scratch: &mut Scratch,
        out: &mut Vec<RawMatch>,
    ) {
        let mut at = ws;
        while at < we {
            let input = Input::new(hay).range(at..we);
            let caps = &mut scratch.captures[index];
            rule.regex.search_captures_with(&mut scratch.caches[index], &input, caps);
            let Some(whole) = caps.get_match() else { break };
            let Some(span) = caps.get_group(rule.secret_group) else {
                at = whole.end().max(whole.start() + 1);
                continue;
            };
            at = span.end.max(whole.start() + 1);
            if let Some(m) = evaluate(index, rule, hay, span.start, span.end) {
                out.push(m);
            }
        }
    }
}

/// Appends a window, merging it with the last one when they overlap or touch.
fn push_window(windows: &mut Vec<(usize, usize)>, (start, end): (usize, usize)) {
    if let Some(last) = windows.last_mut() {
        if start <= last.1 && end >= last.0 {
            last.0 = last.0.min(start);
            last.1 = last.1.max(end);
            return;
        }
    }
    windows.push((start, end));
}

/// Runs a rule's checks on a captured secret and decides its confidence (or drops it).
fn evaluate(index: usize, rule: &Rule, hay: &[u8], start: usize, end: usize) -> Option<RawMatch> {
    let secret = &hay[start..end];
    if secret.is_empty() {
        return None;
    }
    let syntax = &rule.syntax;
    let excluded = rule.exclude.iter().any(|re| {
        let input = Input::new(secret).anchored(regex_automata::Anchored::No);
        re.is_match(input)
    });
    if excluded {
        return None;
    }
    let entropy = filters::shannon_entropy(secret);
    let checksum = match syntax.checksum {
        None => ChecksumStatus::NotApplicable,
        Some(kind) if kind.verify(secret) => ChecksumStatus::Valid,
        Some(_) => ChecksumStatus::Invalid,
    };
    let strong = checksum != ChecksumStatus::Invalid
        && entropy >= syntax.min_entropy
        && filters::char_classes(secret) >= syntax.min_char_classes
        && !(syntax.reject_placeholders && filters::is_placeholder(secret));
    // A valid checksum outweighs the statistical checks: Entra issued it.
    let confidence = if strong || checksum == ChecksumStatus::Valid {
        syntax.confidence
    } else {
        syntax.weak_confidence?
    };
    Some(RawMatch { rule: index, start, end, confidence, entropy, checksum })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_merge_when_they_overlap() {
        let mut w = Vec::new();
        push_window(&mut w, (0, 10));
        push_window(&mut w, (5, 20));
        push_window(&mut w, (30, 40));
        assert_eq!(w, vec![(0, 20), (30, 40)]);
    }
}
