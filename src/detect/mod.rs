//! The detection engine. One keyword search over every rule's keywords (an Aho-Corasick
//! automaton plus `memmem` for keyword families that share a tail) finds candidate positions; each candidate rule's regex then runs only in a window around its keyword hits;
//! matches go through the rule's checksum, entropy, character-class and placeholder checks.
//!
//! The [`Detector`] is immutable and shared across threads; each thread owns a [`Scratch`].
//! This module knows nothing of files, git or output formats.

pub mod checksum;
pub mod decode;
mod examples;
pub mod filters;
pub(crate) mod prefilter;

use regex_automata::Input;
use regex_automata::meta::Cache;
use regex_automata::util::captures::Captures;

pub use decode::{Budget, Encoding};
pub use examples::check_examples;

use crate::finding::{ChecksumStatus, Confidence};
use crate::rules::{Rule, RuleSet, ValueRun};

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
    /// For a secret found in encoded text: the encoding and the decoded secret. `start..end`
    /// then spans its encoded form.
    pub decoded: Option<(Encoding, Vec<u8>)>,
}

/// Most bytes of lowercase copy a [`Scratch`] keeps between blobs.
const LOWER_KEEP: usize = 8 << 20;

/// The compiled engine for a rule set.
#[derive(Debug)]
pub struct Detector {
    rules: RuleSet,
    keywords: prefilter::Keywords,
    /// For each keyword pattern, the rules that listed it.
    keyword_rules: Vec<Vec<usize>>,
    /// For each keyword pattern, its length.
    keyword_len: Vec<usize>,
    /// For each pattern, the encoding it signals if it is a decoding trigger.
    trigger: Vec<Option<Encoding>>,
    /// For each pattern, whether it holds a rule's secret marker (`encoded_markers`), which may
    /// sit in a string literal that is concatenated with others.
    marker: Vec<bool>,
    /// The markers of the rules that join split literals.
    markers: decode::Markers,
    /// The fewest bytes any rule's secret has (0 when a rule's is not known): a blob shorter
    /// than that, like most file names, cannot hold one, decoded or not (decoding never
    /// lengthens text).
    shortest: usize,
}

/// Per-thread mutable state for [`Detector::scan`].
#[derive(Debug)]
pub struct Scratch {
    caches: Vec<Cache>,
    captures: Vec<Captures>,
    windows: Vec<Vec<(usize, usize)>>,
    triggers: Vec<(usize, Encoding)>,
    /// The haystack in ASCII lowercase, for the keyword search.
    lower: Vec<u8>,
    decode_limited: bool,
}

impl Scratch {
    /// Whether the last [`Detector::scan`] with this scratch space stopped decoding because the
    /// blob's decoding budget was spent: its plain matches are complete, its encoded ones may
    /// not be. Sources report this as a [`DecodeBudget`](crate::source::SkipReason) skip.
    pub fn decode_limited(&self) -> bool {
        self.decode_limited
    }
}

impl Detector {
    /// Builds the keyword automaton for a rule set.
    pub fn new(rules: RuleSet) -> Detector {
        let mut patterns: Vec<String> = Vec::new();
        let mut keyword_rules: Vec<Vec<usize>> = Vec::new();
        for (index, rule) in rules.iter().enumerate() {
            for keyword in &rule.syntax.keywords {
                let variants = if rule.syntax.case_sensitive_keywords {
                    vec![keyword.clone()]
                } else {
                    case_variants(keyword)
                };
                for variant in variants {
                    match patterns.iter().position(|p| *p == variant) {
                        Some(at) => keyword_rules[at].push(index),
                        None => {
                            patterns.push(variant);
                            keyword_rules.push(vec![index]);
                        }
                    }
                }
            }
        }
        // The rules' literal markers start split-literal joining wherever they are found: as a
        // keyword, inside a longer keyword, or alone (then as a pattern of no rule of its own).
        let markers = decode::Markers::of(rules.iter());
        for marker in markers.literals() {
            let marker = String::from_utf8_lossy(marker).into_owned();
            if !patterns.contains(&marker) {
                patterns.push(marker);
                keyword_rules.push(Vec::new());
            }
        }
        // Each keyword also carries the rules of every keyword it contains (compared
        // case-insensitively): the search reports the contained keyword on its own too, but
        // this keeps the windows those rules had when only the longest keyword at a position
        // was reported (a `key` rule's window reaching from the start of `AccountKey`).
        let lower: Vec<String> = patterns.iter().map(|p| p.to_ascii_lowercase()).collect();
        let keyword_rules = lower
            .iter()
            .map(|outer| {
                let mut rules: Vec<usize> = lower
                    .iter()
                    .zip(&keyword_rules)
                    .filter(|(inner, _)| outer.contains(inner.as_str()))
                    .flat_map(|(_, r)| r.iter().copied())
                    .collect();
                rules.sort_unstable();
                rules.dedup();
                rules
            })
            .collect();
        let mut keyword_rules: Vec<Vec<usize>> = keyword_rules;
        let mut patterns: Vec<Vec<u8>> = patterns.into_iter().map(String::into_bytes).collect();
        let mut trigger = vec![None; patterns.len()];
        // The rules' own decoding triggers: their markers' base64 signatures and escapes.
        for (literal, encoding) in decode::triggers(rules.iter()) {
            patterns.push(literal);
            keyword_rules.push(Vec::new());
            trigger.push(Some(encoding));
        }
        let keyword_len = patterns.iter().map(Vec::len).collect();
        let marker = patterns
            .iter()
            .zip(&trigger)
            .map(|(p, t)| t.is_none() && markers.found_in(p))
            .collect();
        // Case-sensitive over a few case variants, rather than ASCII case-insensitive: that
        // keeps the automaton's SIMD prefilter, which is most of the scanner's speed.
        let keywords = prefilter::Keywords::new(&patterns);
        let shortest =
            rules.iter().map(|r| r.run.as_ref().map_or(0, ValueRun::min)).min().unwrap_or(0);
        Detector { rules, keywords, keyword_rules, keyword_len, trigger, marker, markers, shortest }
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
            triggers: Vec::new(),
            lower: Vec::new(),
            decode_limited: false,
        }
    }

    /// Finds every match in `hay`, ordered by position then rule, including secrets written
    /// percent-encoded, JSON-escaped, in base64 or split into concatenated literals.
    ///
    /// Each encoded run is decoded once, within the blob's decoding [`Budget`]; when that is
    /// spent, decoding stops (plain matches are still all found) and
    /// [`Scratch::decode_limited`] says so until the next scan.
    pub fn scan(&self, hay: &[u8], scratch: &mut Scratch) -> Vec<RawMatch> {
        scratch.decode_limited = false;
        if hay.len() < self.shortest {
            return Vec::new();
        }
        let plain = self.scan_plain(hay, scratch, true);
        let triggers = std::mem::take(&mut scratch.triggers);
        let mut decoded = Vec::new();
        let mut budget = Budget::for_blob(hay.len());
        // Per encoding, the end of the last run decoded: triggers inside it are skipped, and
        // the next run starts no lower.
        let mut reach = [0usize; 4];
        for &(at, encoding) in &triggers {
            let floor = &mut reach[encoding as usize];
            if at < *floor {
                continue;
            }
            let span = decode::run(hay, at, encoding, *floor);
            *floor = span.1.max(at + 1);
            if !budget.spend(span.1 - span.0) {
                scratch.decode_limited = true;
                break;
            }
            let Some(text) = decode::decode(hay, span, encoding, &self.markers) else { continue };
            let extent = text.extent();
            if extent.1 > *floor {
                *floor = extent.1;
            }
            // Joined literals reach beyond the marker's own literal.
            let extra = (extent.1 - extent.0).saturating_sub(span.1 - span.0);
            if !budget.spend(extra) {
                scratch.decode_limited = true;
                break;
            }
            for m in self.scan_plain(&text.bytes, scratch, false) {
                let (start, end) = text.original_span(m.start, m.end);
                let secret = text.bytes[m.start..m.end].to_vec();
                decoded.push(RawMatch { start, end, decoded: Some((encoding, secret)), ..m });
            }
        }
        scratch.triggers = triggers;
        scratch.triggers.clear();
        let mut out = supersede(plain, decoded);
        out.sort_by_key(|m| (m.start, m.rule, m.end));
        out.dedup_by(|a, b| (a.start, a.end, a.rule) == (b.start, b.end, b.rule));
        drop_outranked(&mut out);
        out
    }

    /// One pass: keywords, then each hit rule's regex in its windows. Decoding triggers are
    /// collected in the scratch space when `triggers` is set.
    fn scan_plain(&self, hay: &[u8], scratch: &mut Scratch, triggers: bool) -> Vec<RawMatch> {
        for windows in &mut scratch.windows {
            windows.clear();
        }
        let mut any = false;
        let mut lower = std::mem::take(&mut scratch.lower);
        if self.keywords.needs_lowercase() {
            prefilter::lowercase_into(hay, &mut lower);
        }
        for hit in self.keywords.search(hay, &lower) {
            let pattern = hit.pattern;
            if let Some(encoding) = self.trigger[pattern] {
                if triggers {
                    scratch.triggers.push((hit.start, encoding));
                }
                continue;
            }
            if triggers && self.marker[pattern] {
                scratch.triggers.push((hit.start, Encoding::Concat));
            }
            let (start, end) = (hit.start, hit.start + self.keyword_len[pattern]);
            for &rule in &self.keyword_rules[pattern] {
                let w = self.rules.rule(rule).syntax.window;
                let window = (start.saturating_sub(w), end.saturating_add(w).min(hay.len()));
                push_window(&mut scratch.windows[rule], window);
                any = true;
            }
        }
        // Keep the copy's space for the next blob, unless a large blob made it large.
        if lower.capacity() > LOWER_KEEP {
            lower = Vec::new();
        }
        scratch.lower = lower;
        let mut out = Vec::new();
        if !any {
            return out;
        }
        for (index, rule) in self.rules.iter().enumerate() {
            let windows = std::mem::take(&mut scratch.windows[index]);
            for &(ws, we) in &windows {
                // A window without the run of bytes the secret is made of cannot hold it.
                if rule.run.as_ref().is_some_and(|run| !run.occurs_in(&hay[ws..we])) {
                    continue;
                }
                self.search_window(index, rule, hay, ws, we, scratch, &mut out);
            }
            scratch.windows[index] = windows;
        }
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

/// The spellings a keyword is searched in: as written, lowercase, UPPERCASE and Capitalized
/// (`clientSecret`, `client_secret`, `CLIENT_SECRET`, `ClientSecret` all contain one of
/// `secret`, `SECRET`, `Secret`).
pub fn case_variants(keyword: &str) -> Vec<String> {
    let lower = keyword.to_ascii_lowercase();
    let mut capital = lower.clone();
    if let Some(first) = capital.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    let mut variants = vec![keyword.to_string(), lower, keyword.to_ascii_uppercase(), capital];
    variants.sort();
    variants.dedup();
    variants
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

/// Settles plain and decoded matches over the same bytes. A decoded match gives way to a plain
/// match of its own rule (the secret is there as written) or of a higher confidence; otherwise
/// it supersedes the plain matches it overlaps: those saw the encoded text (a legacy rule
/// matching `abc8Q%7E...` after `client_secret=`), the decoded match the secret itself.
fn supersede(mut plain: Vec<RawMatch>, mut decoded: Vec<RawMatch>) -> Vec<RawMatch> {
    if decoded.is_empty() {
        return plain;
    }
    plain.sort_by_key(|m| (m.start, m.end, m.rule));
    let longest = plain.iter().map(|m| m.end - m.start).max().unwrap_or(0);
    let mut superseded = vec![false; plain.len()];
    let mut losers = Vec::new();
    decoded.retain(|d| {
        // Plain matches overlapping `d` start in `d.start - longest .. d.end`.
        let lo = plain.partition_point(|p| p.start + longest <= d.start);
        let hi = plain.partition_point(|p| p.start < d.end);
        losers.clear();
        for (i, p) in plain.iter().enumerate().take(hi).skip(lo) {
            if p.end <= d.start {
                continue;
            }
            if p.rule == d.rule || p.confidence > d.confidence {
                return false;
            }
            losers.push(i);
        }
        for &i in &losers {
            superseded[i] = true;
        }
        true
    });
    let mut out: Vec<RawMatch> =
        plain.into_iter().zip(superseded).filter(|(_, s)| !s).map(|(m, _)| m).collect();
    out.append(&mut decoded);
    out
}

/// Where rules share a shape (Search query and admin keys, one signature with different seeds),
/// the same bytes pass one rule's checksum and fail the others': the failing matches of those
/// bytes are dropped, so a query key is not also reported as a made-up admin key. `out` is
/// sorted by start.
fn drop_outranked(out: &mut Vec<RawMatch>) {
    let proven: Vec<(usize, usize)> = out
        .iter()
        .filter(|m| m.checksum == ChecksumStatus::Valid)
        .map(|m| (m.start, m.end))
        .collect();
    if proven.is_empty() {
        return;
    }
    out.retain(|m| m.checksum != ChecksumStatus::Invalid || !proven.contains(&(m.start, m.end)));
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
    let checksum = match &syntax.checksum {
        None => ChecksumStatus::NotApplicable,
        Some(kind) if checksum::verify(kind, secret) => ChecksumStatus::Valid,
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
    Some(RawMatch { rule: index, start, end, confidence, entropy, checksum, decoded: None })
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

    fn detector() -> Detector {
        Detector::new(RuleSet::builtin().expect("built-in rules"))
    }

    // Microsoft's published example, not a live secret.
    const SECRET: &str = "riG8Q~p-69WAm.dX4a6IDnOdcdbWB3dC5-DSDciR"; // azleak:allow

    #[test]
    fn a_percent_encoded_secret_supersedes_the_legacy_match_of_its_encoded_text() {
        let d = detector();
        let hay = format!("client_secret={}\n", SECRET.replace('~', "%7E"));
        let found = d.scan(hay.as_bytes(), &mut d.scratch());
        assert_eq!(found.len(), 1, "{found:?}");
        let rule = d.rules().rule(found[0].rule).id();
        assert_eq!(rule, "azure.entra.client-secret");
        assert_eq!(found[0].decoded, Some((Encoding::Percent, SECRET.as_bytes().to_vec())));
    }

    #[test]
    fn a_dense_run_is_decoded_once_within_the_budget() {
        let d = detector();
        let mut scratch = d.scratch();
        for (escape, encoding) in [("%7E", Encoding::Percent), ("\\u007e", Encoding::JsonEscape)] {
            // A dense run of triggers, then the secret written encoded in its own run.
            let hay = format!("{} k={}\n", escape.repeat(40_000), SECRET.replace('~', escape));
            let found = d.scan(hay.as_bytes(), &mut scratch);
            assert!(!scratch.decode_limited());
            assert_eq!(found.len(), 1, "{found:?}");
            let m = &found[0];
            assert_eq!(
                m.decoded.as_ref().map(|(e, s)| (*e, s.as_slice())),
                Some((encoding, SECRET.as_bytes()))
            );
            assert_eq!(&hay.as_bytes()[m.start..m.end], SECRET.replace('~', escape).as_bytes());
        }
    }

    #[test]
    fn overlapping_runs_of_three_encodings_spend_the_budget() {
        let d = detector();
        let mut scratch = d.scratch();
        let run = "A".repeat(200_000);
        let hay = format!("\\u007e{run}4UX{run}%7E");
        d.scan(hay.as_bytes(), &mut scratch);
        assert!(scratch.decode_limited());
        // The flag is per scan.
        d.scan(b"nothing here", &mut scratch);
        assert!(!scratch.decode_limited());
    }

    #[test]
    fn keywords_are_searched_in_common_cases() {
        assert_eq!(case_variants("secret"), vec!["SECRET", "Secret", "secret"]);
        assert_eq!(case_variants("8Q~"), vec!["8Q~", "8q~"]);
    }
}
