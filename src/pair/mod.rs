//! Pairing: who a secret belongs to. After detection, on the same blob's bytes, the scan stage
//! looks near each match of a rule with a `pair` list for the identities that rule pairs with
//! (tenant and client ids for Entra secrets, account names and endpoints for keys), using the
//! `[[pairing]]` extractors of the rule files, and fills [`Finding::pairing`](crate::finding::Finding).
//!
//! "Near" is the secret's **block**: its own line and up to [`MAX_LINES`] lines before and
//! after (at most [`MAX_BYTES`] bytes each way), stopping at a blank line, a YAML document
//! separator (`---`), a Markdown fence or an INI/TOML section header; an identity inside a
//! sibling `{…}`/`[…]` object (one the secret is not in) is not taken. Identities are ordered
//! nearest first (by lines, then bytes). Work is bounded per match, and nothing runs when a blob
//! has no match.
//!
//! A rule with `pair_required` only reports matches whose block holds those identities (a plain
//! `secret = …` next to a client id and an authority), and only where no other rule matched the
//! same secret; otherwise the match is dropped, or kept at its `weak_confidence`.

mod extract;

use regex_automata::Input;

pub use extract::{Extractor, ExtractorSyntax, PairKind};

use crate::detect::RawMatch;
use crate::finding::Pairing;
use crate::rules::RuleSet;

/// Lines looked at on each side of the secret's line.
pub const MAX_LINES: usize = 8;
/// Bytes looked at on each side of the secret.
pub const MAX_BYTES: usize = 2048;

/// Pairs every match of `matches` (found in `hay`) with the identities near it, in match order,
/// and applies `pair_required`: matches of such rules that lack their identities, or whose
/// secret another rule also matched, are dropped or weakened. Returns one pairing per match left.
pub fn settle(rules: &RuleSet, hay: &[u8], matches: &mut Vec<RawMatch>) -> Vec<Option<Pairing>> {
    if matches.is_empty() || rules.extractors().is_empty() {
        return vec![None; matches.len()];
    }
    let mut keep = vec![true; matches.len()];
    let mut out = Vec::with_capacity(matches.len());
    for (i, m) in matches.iter_mut().enumerate() {
        let syntax = &rules.rule(m.rule).syntax;
        if syntax.pair.is_empty() {
            out.push(None);
            continue;
        }
        let pairing = pair(rules, &syntax.pair, hay, m.start, m.end);
        if !syntax.pair_required.is_empty() {
            let found = |k: &PairKind| pairing.as_ref().is_some_and(|p| has(p, *k));
            if !syntax.pair_required.iter().all(|any| any.iter().any(found)) {
                match syntax.weak_confidence {
                    Some(weak) if weak < m.confidence => m.confidence = weak,
                    Some(_) => {}
                    None => keep[i] = false,
                }
            }
        }
        out.push(pairing);
    }
    // A rule that needs pairing only adds what other rules missed.
    let spans: Vec<(usize, usize, bool)> = matches
        .iter()
        .map(|m| (m.start, m.end, rules.rule(m.rule).syntax.pair_required.is_empty()))
        .collect();
    for (i, m) in matches.iter().enumerate() {
        if !rules.rule(m.rule).syntax.pair_required.is_empty()
            && spans.iter().any(|&(s, e, plain)| plain && s < m.end && m.start < e)
        {
            keep[i] = false;
        }
    }
    if keep.iter().all(|k| *k) {
        return out;
    }
    let mut flags = keep.iter();
    matches.retain(|_| *flags.next().unwrap_or(&true));
    let mut flags = keep.iter();
    out.retain(|_| *flags.next().unwrap_or(&true));
    out
}

fn has(p: &Pairing, kind: PairKind) -> bool {
    match kind {
        PairKind::Tenant => !p.tenant_ids.is_empty(),
        PairKind::Client => !p.client_ids.is_empty(),
        PairKind::Authority => p.authority.is_some(),
        PairKind::Resource => p.resource.is_some(),
        PairKind::Endpoint => p.endpoint.is_some(),
    }
}

/// The identities of `kinds` near the secret at `start..end` of `hay`, nearest first; `None`
/// when there are none.
pub fn pair(
    rules: &RuleSet,
    kinds: &[PairKind],
    hay: &[u8],
    start: usize,
    end: usize,
) -> Option<Pairing> {
    let (from, to) = block(hay, start, end);
    // (kind, distance, value)
    let mut found: Vec<(PairKind, (usize, usize), String)> = Vec::new();
    for ex in rules.extractors().iter().filter(|e| e.captures_any(kinds)) {
        let mut caps = ex.regex.create_captures();
        let mut cache = ex.regex.create_cache();
        let mut at = from;
        while at < to {
            let input = Input::new(&hay[..to]).range(at..to);
            ex.regex.search_captures_with(&mut cache, &input, &mut caps);
            let Some(whole) = caps.get_match() else { break };
            at = whole.end().max(whole.start() + 1);
            for &(kind, group) in &ex.groups {
                if !kinds.contains(&kind) {
                    continue;
                }
                let Some(span) = caps.get_group(group) else { continue };
                if span.start < end && start < span.end {
                    continue; // the secret itself
                }
                if !same_object(hay, span.start, start, end) {
                    continue;
                }
                if let Some(value) = extract::normalize(kind, &hay[span.start..span.end]) {
                    found.push((kind, distance(hay, span.start, start, end), value));
                }
            }
        }
    }
    if found.is_empty() {
        return None;
    }
    found.sort();
    let mut p = Pairing::default();
    for (kind, _, value) in found {
        match kind {
            PairKind::Tenant => push_unique(&mut p.tenant_ids, value),
            PairKind::Client => push_unique(&mut p.client_ids, value),
            PairKind::Authority => {
                p.authority.get_or_insert(value);
            }
            PairKind::Resource => {
                p.resource.get_or_insert(value);
            }
            PairKind::Endpoint => {
                p.endpoint.get_or_insert(value);
            }
        }
    }
    Some(p)
}

/// Every identity one extractor takes from `text` (to check its examples).
pub fn extract_all(ex: &Extractor, text: &[u8]) -> Vec<(PairKind, String)> {
    let mut out = Vec::new();
    let mut caps = ex.regex.create_captures();
    let mut cache = ex.regex.create_cache();
    let mut at = 0;
    while at < text.len() {
        let input = Input::new(text).range(at..);
        ex.regex.search_captures_with(&mut cache, &input, &mut caps);
        let Some(whole) = caps.get_match() else { break };
        at = whole.end().max(whole.start() + 1);
        for &(kind, group) in &ex.groups {
            let Some(span) = caps.get_group(group) else { continue };
            if let Some(value) = extract::normalize(kind, &text[span.start..span.end]) {
                out.push((kind, value));
            }
        }
    }
    out
}

fn push_unique(list: &mut Vec<String>, value: String) {
    if !list.iter().any(|v| v.eq_ignore_ascii_case(&value)) {
        list.push(value);
    }
}

/// (lines, bytes) between a position and the secret.
fn distance(hay: &[u8], at: usize, start: usize, end: usize) -> (usize, usize) {
    let (lo, hi) = if at < start { (at, start) } else { (end, at.max(end)) };
    let lines = memchr::memchr_iter(b'\n', &hay[lo..hi]).count();
    (lines, hi - lo)
}

/// Whether an identity at `at` is in the secret's object, or one enclosing it, rather than in
/// a sibling: between the two, brackets never close the object one is in and then open another.
fn same_object(hay: &[u8], at: usize, start: usize, end: usize) -> bool {
    let segment = if at < start { &hay[at..start] } else { &hay[end..at.max(end)] };
    let (mut depth, mut min) = (0i64, 0i64);
    for &b in segment {
        match b {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth -= 1;
                min = min.min(depth);
            }
            _ => {}
        }
    }
    !(min < 0 && depth > min)
}

/// The byte range of the secret's block (see the module docs).
fn block(hay: &[u8], start: usize, end: usize) -> (usize, usize) {
    let line_start = memchr::memrchr(b'\n', &hay[..start]).map_or(0, |i| i + 1);
    let line_end = memchr::memchr(b'\n', &hay[end..]).map_or(hay.len(), |i| end + i);
    let floor = start.saturating_sub(MAX_BYTES);
    let ceil = end.saturating_add(MAX_BYTES).min(hay.len());
    let mut from = line_start.max(floor);
    if from == line_start {
        for _ in 0..MAX_LINES {
            if from == 0 {
                break;
            }
            // `from` is a line start: take the line before it unless it ends the block.
            let prev_end = from - 1;
            let prev_start = memchr::memrchr(b'\n', &hay[..prev_end]).map_or(0, |i| i + 1);
            if prev_start < floor || boundary(&hay[prev_start..prev_end]) {
                break;
            }
            from = prev_start;
        }
    }
    let mut to = line_end.min(ceil);
    if to == line_end {
        for _ in 0..MAX_LINES {
            if to >= hay.len() {
                break;
            }
            let next_start = to + 1;
            let next_end =
                memchr::memchr(b'\n', &hay[next_start..]).map_or(hay.len(), |i| next_start + i);
            if next_end > ceil || boundary(&hay[next_start..next_end]) {
                break;
            }
            to = next_end;
        }
    }
    (from, to)
}

/// A line that separates blocks: blank, `---`, a Markdown fence, a `[section]` header.
fn boundary(line: &[u8]) -> bool {
    let t = line.trim_ascii();
    t.is_empty()
        || t == b"---"
        || t.starts_with(b"```")
        || t.starts_with(b"~~~")
        || (line.first() == Some(&b'[')
            && t.ends_with(b"]")
            && !t.contains(&b'"')
            && !t.contains(&b','))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_stop_at_blank_lines_and_headers() {
        let hay = b"a=1\n\nb=2\nSECRET\nc=3\n[next]\nd=4";
        let s = hay.windows(6).position(|w| w == b"SECRET").unwrap();
        let (from, to) = block(hay, s, s + 6);
        assert_eq!(&hay[from..to], b"b=2\nSECRET\nc=3");
    }

    #[test]
    fn siblings_are_other_objects() {
        let hay = br#"[{"t": "A"}, {"s": "SECRET", "t": "B"}, {"t": "C"}]"#;
        let s = hay.windows(6).position(|w| w == b"SECRET").unwrap();
        let at = |x: &[u8]| hay.windows(3).position(|w| w == x).unwrap();
        assert!(!same_object(hay, at(b"\"A\""), s, s + 6));
        assert!(same_object(hay, at(b"\"B\""), s, s + 6));
        assert!(!same_object(hay, at(b"\"C\""), s, s + 6));
        let nested = br#"{"t": "A", "s": {"value": "SECRET"}}"#;
        let s = nested.windows(6).position(|w| w == b"SECRET").unwrap();
        assert!(same_object(nested, 6, s, s + 6));
    }
}
