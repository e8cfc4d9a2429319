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
///
/// Each extractor runs once over the union of the matches' blocks, however many matches share
/// them; each match then takes the identities inside its own block.
pub fn settle(rules: &RuleSet, hay: &[u8], matches: &mut Vec<RawMatch>) -> Vec<Option<Pairing>> {
    let pairs = |m: &RawMatch| !rules.rule(m.rule).syntax.pair.is_empty();
    if rules.extractors().is_empty() || !matches.iter().any(pairs) {
        return vec![None; matches.len()];
    }
    let blocks: Vec<Option<(usize, usize)>> =
        matches.iter().map(|m| pairs(m).then(|| block(hay, m.start, m.end))).collect();
    let mut wanted: Vec<PairKind> =
        matches.iter().flat_map(|m| rules.rule(m.rule).syntax.pair.iter().copied()).collect();
    wanted.sort();
    wanted.dedup();
    let found = candidates(rules, &wanted, hay, &regions(&blocks));
    let mut keep = vec![true; matches.len()];
    let mut out = Vec::with_capacity(matches.len());
    for (i, m) in matches.iter_mut().enumerate() {
        let syntax = &rules.rule(m.rule).syntax;
        let Some(block) = blocks[i] else {
            out.push(None);
            continue;
        };
        let pairing = nearest(&found, &syntax.pair, hay, block, m.start, m.end);
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
    let needs = |m: &RawMatch| !rules.rule(m.rule).syntax.pair_required.is_empty();
    for (i, m) in matches.iter().enumerate() {
        if needs(m) && matches.iter().any(|o| !needs(o) && o.start < m.end && m.start < o.end) {
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

/// An identity found in the blob: its span, kind and reported value.
#[derive(Debug)]
struct Candidate {
    start: usize,
    end: usize,
    kind: PairKind,
    value: String,
}

/// The blocks merged where they overlap, in order.
fn regions(blocks: &[Option<(usize, usize)>]) -> Vec<(usize, usize)> {
    let mut spans: Vec<(usize, usize)> = blocks.iter().flatten().copied().collect();
    spans.sort_unstable();
    let mut out: Vec<(usize, usize)> = Vec::new();
    for (from, to) in spans {
        match out.last_mut() {
            Some(last) if from <= last.1 => last.1 = last.1.max(to),
            _ => out.push((from, to)),
        }
    }
    out
}

/// Every identity of the `wanted` kinds in the regions, sorted by position.
fn candidates(
    rules: &RuleSet,
    wanted: &[PairKind],
    hay: &[u8],
    regions: &[(usize, usize)],
) -> Vec<Candidate> {
    let mut out = Vec::new();
    for ex in rules.extractors().iter().filter(|e| e.captures_any(wanted)) {
        let mut caps = ex.regex.create_captures();
        let mut cache = ex.regex.create_cache();
        for &(from, to) in regions {
            let mut at = from;
            while at < to {
                let input = Input::new(&hay[..to]).range(at..to);
                ex.regex.search_captures_with(&mut cache, &input, &mut caps);
                let Some(whole) = caps.get_match() else { break };
                at = whole.end().max(whole.start() + 1);
                for &(kind, group) in &ex.groups {
                    let Some(span) = caps.get_group(group) else { continue };
                    if !wanted.contains(&kind) {
                        continue;
                    }
                    if let Some(value) = extract::normalize(kind, &hay[span.start..span.end]) {
                        out.push(Candidate { start: span.start, end: span.end, kind, value });
                    }
                }
            }
        }
    }
    out.sort_by_key(|c| (c.start, c.end, c.kind));
    out
}

/// Identities of one kind kept per finding, nearest first.
const PER_KIND: usize = 8;

/// The identities of `kinds` in `block` near the secret at `start..end`, nearest first (lines,
/// then bytes); `None` when there are none. At most [`PER_KIND`] of each kind are looked at,
/// the nearest in bytes, so a block dense with ids costs a bounded amount per finding.
fn nearest(
    found: &[Candidate],
    kinds: &[PairKind],
    hay: &[u8],
    (from, to): (usize, usize),
    start: usize,
    end: usize,
) -> Option<Pairing> {
    let lo = found.partition_point(|c| c.start < from);
    let bytes = |c: &Candidate| if c.start < start { start - c.start } else { c.start - end };
    let mut near: Vec<&Candidate> = found[lo..]
        .iter()
        .take_while(|c| c.start < to)
        .filter(|c| c.end <= to && kinds.contains(&c.kind))
        .filter(|c| !(c.start < end && start < c.end))
        .collect();
    if near.is_empty() {
        return None;
    }
    near.sort_by_key(|c| (bytes(c), c.start));
    let mut taken: Vec<((usize, usize), &Candidate)> = Vec::new();
    let mut per_kind = [0usize; PairKind::ALL.len()];
    for c in near {
        let n = &mut per_kind[c.kind as usize];
        if *n >= PER_KIND || !same_object(hay, c.start, start, end) {
            continue;
        }
        *n += 1;
        taken.push((distance(hay, c.start, start, end), c));
    }
    if taken.is_empty() {
        return None;
    }
    taken.sort_by(|a, b| (a.0, a.1.kind, &a.1.value).cmp(&(b.0, b.1.kind, &b.1.value)));
    let mut p = Pairing::default();
    for (_, c) in taken {
        let value = c.value.clone();
        match c.kind {
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
    let floor = start.saturating_sub(MAX_BYTES);
    let ceil = end.saturating_add(MAX_BYTES).min(hay.len());
    // Within the byte bounds only: a secret on a 50 MB line costs its window, not its line.
    let line_start = memchr::memrchr(b'\n', &hay[floor..start]).map_or(0, |i| floor + i + 1);
    let line_end = memchr::memchr(b'\n', &hay[end..ceil]).map_or(hay.len(), |i| end + i);
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
