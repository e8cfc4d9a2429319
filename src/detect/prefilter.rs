//! The keyword prefilter: finds every position where a keyword starts, exactly as written
//! (case-sensitive), for every keyword: also a keyword that starts where a longer one does, or
//! that lies inside another. Hits come in order of start, then keyword index.
//!
//! The automaton's SIMD search (Teddy) slows down sharply with the number of patterns: past
//! 32 it needs its "fat" variant of half the throughput, and past 64 it gives up (so one
//! automaton becomes several, each a pass over the haystack). Rules list their keywords in a few
//! case spellings (`secret`, `Secret`, `SECRET`), and many keywords contain others (`AppKey`,
//! `AccountKey` and `search_api_key` all contain `key`). So the search runs over an ASCII
//! lowercase copy of the haystack with one pattern per *minimal* lowercase keyword: one that
//! contains no other. Each hit of one is then checked, by comparing bytes, against the exact
//! spellings it stands for and the longer keywords known to contain it at a given offset; on
//! the Azure rule set that takes 123 keywords down to 56 patterns.
//!
//! Which window of each minimal keyword is searched for, and in which of Teddy's buckets, is
//! planned by [`plan`] so that the search meets few false candidates on source code.
//!
//! This module knows nothing of rules: it maps keyword indices to positions.

mod plan;

use std::collections::VecDeque;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind, packed};
use memchr::memmem;

/// A keyword hit: where it starts and which keyword (its index in the list given to
/// [`Keywords::new`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Hit {
    pub start: usize,
    pub pattern: usize,
}

/// A lowercase form shared by one or more keywords.
#[derive(Debug)]
struct Form {
    bytes: Vec<u8>,
    /// The keywords (indices) spelled like this, case aside.
    spellings: Vec<usize>,
}

/// A minimal form: searched for, and standing for the longer forms that contain it.
#[derive(Debug)]
struct Minimal {
    form: usize,
    /// Longer forms, each with the offset in it of this one.
    longer: Vec<(usize, usize)>,
}

/// How an automaton searches: Teddy as planned, or, where the CPU lacks what that plan needs,
/// a general automaton over the same patterns.
#[derive(Debug)]
enum Engine {
    Teddy(packed::Searcher),
    General(AhoCorasick),
}

/// One pass over the lowercase haystack.
#[derive(Debug)]
struct Automaton {
    engine: Engine,
    /// Per pattern: the minimal forms (with the offset of the pattern in each) that can start
    /// where it is found. A leftmost-first search reports one pattern per position, so those
    /// of the other patterns that can match at the same position (a prefix of it, one it is a
    /// prefix of, or a repeat) are checked too.
    checks: Vec<Vec<(usize, usize)>>,
}

/// The compiled keyword search.
#[derive(Debug)]
pub(crate) struct Keywords {
    patterns: Vec<Vec<u8>>,
    forms: Vec<Form>,
    minimal: Vec<Minimal>,
    automata: Vec<Automaton>,
    /// How far before an automaton's hit a keyword hit may start: the offset of the pattern
    /// in its minimal form plus that of the minimal form in a longer one.
    reach: usize,
}

/// One search of a haystack, yielding its [`Hit`]s in order.
pub(crate) struct Search<'k, 'h> {
    keywords: &'k Keywords,
    hay: &'h [u8],
    lower: &'h [u8],
    /// The next hit of each automaton (start, pattern), found lazily.
    automata: Vec<Option<Option<(usize, usize)>>>,
    /// Where the automata search next.
    from: usize,
    /// Hits found, not yet yielded, in order: a keyword may start before its automaton's hit.
    pending: VecDeque<Hit>,
    done: bool,
}

impl Engine {
    fn new(patterns: &[&[u8]], fat: bool) -> Engine {
        let teddy = packed::Config::new()
            .match_kind(packed::MatchKind::LeftmostFirst)
            .only_teddy(true)
            .only_teddy_fat(Some(fat))
            .heuristic_pattern_limits(false)
            .builder()
            .extend(patterns)
            .build();
        match teddy {
            Some(teddy) => Engine::Teddy(teddy),
            None => Engine::General(
                AhoCorasickBuilder::new()
                    .match_kind(MatchKind::LeftmostFirst)
                    .build(patterns)
                    .expect("keyword automaton within size limits"),
            ),
        }
    }

    /// The first hit at or after `from`: its start and pattern.
    fn find(&self, hay: &[u8], from: usize) -> Option<(usize, usize)> {
        let m = match self {
            Engine::Teddy(teddy) => {
                teddy.find_in(hay, aho_corasick::Span::from(from..hay.len()))?
            }
            Engine::General(automaton) => {
                automaton.find(aho_corasick::Input::new(hay).range(from..))?
            }
        };
        Some((m.start(), m.pattern().as_usize()))
    }
}

impl Automaton {
    /// The automaton of a plan over the minimal `forms`.
    fn new(forms: &[&[u8]], planned: &plan::Planned) -> Automaton {
        let patterns: Vec<&[u8]> = planned.patterns.iter().map(|&(f, o)| &forms[f][o..]).collect();
        let checks = patterns
            .iter()
            .map(|p| {
                let mut checks: Vec<(usize, usize)> = patterns
                    .iter()
                    .zip(&planned.patterns)
                    .filter(|(q, _)| p.starts_with(q) || q.starts_with(p))
                    .map(|(_, &anchor)| anchor)
                    .collect();
                checks.sort_unstable();
                checks.dedup();
                checks
            })
            .collect();
        Automaton { engine: Engine::new(&patterns, planned.fat), checks }
    }
}

impl Keywords {
    /// Compiles the search for `patterns` (non-empty, distinct).
    pub(crate) fn new(patterns: &[Vec<u8>]) -> Keywords {
        let mut forms: Vec<Form> = Vec::new();
        for (index, p) in patterns.iter().enumerate() {
            let bytes = p.to_ascii_lowercase();
            match forms.iter_mut().find(|f| f.bytes == bytes) {
                Some(form) => form.spellings.push(index),
                None => forms.push(Form { bytes, spellings: vec![index] }),
            }
        }
        let contains = |outer: &[u8], inner: &[u8]| {
            outer.len() > inner.len() && memmem::find(outer, inner).is_some()
        };
        let mut minimal: Vec<Minimal> = (0..forms.len())
            .filter(|&f| !forms.iter().any(|g| contains(&forms[f].bytes, &g.bytes)))
            .map(|form| Minimal { form, longer: Vec::new() })
            .collect();
        // Each longer form is checked at the hits of the minimal form that occurs first in it.
        for (f, form) in forms.iter().enumerate() {
            let first = minimal
                .iter_mut()
                .filter(|m| m.form != f)
                .filter_map(|m| {
                    let at = memmem::find(&form.bytes, &forms[m.form].bytes)?;
                    Some((at, forms[m.form].bytes.len(), m))
                })
                .min_by_key(|(at, len, _)| (*at, usize::MAX - len));
            if let Some((at, _, m)) = first {
                m.longer.push((f, at));
            }
        }
        // Case-sensitive over lowercase text, rather than ASCII case-insensitive: that keeps
        // the automaton's SIMD search, which is most of the scanner's speed.
        let lowered: Vec<&[u8]> = minimal.iter().map(|m| forms[m.form].bytes.as_slice()).collect();
        let planned = plan::plan(&lowered);
        let reach = planned
            .iter()
            .flat_map(|p| &p.patterns)
            .map(|&(m, offset)| {
                offset + minimal[m].longer.iter().map(|&(_, at)| at).max().unwrap_or(0)
            })
            .max()
            .unwrap_or(0);
        let automata = planned.iter().map(|p| Automaton::new(&lowered, p)).collect();
        Keywords { patterns: patterns.to_vec(), forms, minimal, automata, reach }
    }

    /// Whether a search needs the haystack in lowercase ([`Keywords::search`]'s `lower`).
    pub(crate) fn needs_lowercase(&self) -> bool {
        !self.automata.is_empty()
    }

    /// Searches `hay`, with `lower` its ASCII lowercase copy (see [`lowercase_into`]); `lower`
    /// may be empty when [`Keywords::needs_lowercase`] is false.
    pub(crate) fn search<'k, 'h>(&'k self, hay: &'h [u8], lower: &'h [u8]) -> Search<'k, 'h> {
        debug_assert!(!self.needs_lowercase() || lower.len() == hay.len());
        Search {
            keywords: self,
            hay,
            lower,
            automata: vec![None; self.automata.len()],
            from: 0,
            pending: VecDeque::new(),
            done: false,
        }
    }

    /// The keywords of `form` spelled exactly as in `hay` at `start`, into `pending`.
    fn spellings_at(&self, form: usize, hay: &[u8], start: usize, pending: &mut VecDeque<Hit>) {
        for &pattern in &self.forms[form].spellings {
            if hay[start..].starts_with(&self.patterns[pattern]) {
                insert(pending, Hit { start, pattern });
            }
        }
    }
}

/// Writes the ASCII lowercase of `hay` into `out` (resized to fit).
pub(crate) fn lowercase_into(hay: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.resize(hay.len(), 0);
    // A plain loop over equal lengths, which the compiler turns into SIMD.
    for (o, &b) in out.iter_mut().zip(hay) {
        *o = b | (u8::from(b.wrapping_sub(b'A') < 26) << 5);
    }
}

/// Inserts `hit` into the ordered `pending` (hits mostly arrive in order).
fn insert(pending: &mut VecDeque<Hit>, hit: Hit) {
    let at = pending.iter().rposition(|h| *h <= hit).map_or(0, |i| i + 1);
    if pending.get(at.wrapping_sub(1)) != Some(&hit) {
        pending.insert(at, hit);
    }
}

impl Search<'_, '_> {
    /// Finds, lazily, the next hit of each automaton at or after `self.from`, and returns the
    /// leftmost start among them.
    fn next_start(&mut self) -> Option<usize> {
        let k = self.keywords;
        let from = self.from.min(self.lower.len());
        let mut best: Option<usize> = None;
        for (automaton, slot) in k.automata.iter().zip(&mut self.automata) {
            let next = match *slot {
                Some(Some(hit)) if hit.0 >= from => Some(hit),
                Some(None) => None,
                _ => automaton.engine.find(self.lower, from),
            };
            *slot = Some(next);
            if let Some((start, _)) = next {
                best = Some(best.map_or(start, |b| b.min(start)));
            }
        }
        best
    }

    /// Turns every automaton hit at `start` into keyword hits.
    fn expand(&mut self, start: usize) {
        let k = self.keywords;
        for (automaton, slot) in k.automata.iter().zip(&self.automata) {
            let Some(Some((at, pattern))) = *slot else { continue };
            if at != start {
                continue;
            }
            for &(m, offset) in &automaton.checks[pattern] {
                let Some(begin) = start.checked_sub(offset) else { continue };
                let minimal = &k.minimal[m];
                if !self.lower[begin..].starts_with(&k.forms[minimal.form].bytes) {
                    continue;
                }
                k.spellings_at(minimal.form, self.hay, begin, &mut self.pending);
                for &(form, offset) in &minimal.longer {
                    let Some(outer) = begin.checked_sub(offset) else { continue };
                    if self.lower[outer..].starts_with(&k.forms[form].bytes) {
                        k.spellings_at(form, self.hay, outer, &mut self.pending);
                    }
                }
            }
        }
    }
}

impl Iterator for Search<'_, '_> {
    type Item = Hit;

    fn next(&mut self) -> Option<Hit> {
        loop {
            // A pending hit is final once no later search can find one that starts before it.
            if let Some(first) = self.pending.front() {
                if self.done || first.start + self.keywords.reach < self.from {
                    return self.pending.pop_front();
                }
            }
            if self.done {
                return None;
            }
            match self.next_start() {
                Some(start) => {
                    self.expand(start);
                    self.from = start + 1;
                }
                None => self.done = true,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference: every position where each keyword starts, as written.
    fn reference(patterns: &[Vec<u8>], hay: &[u8]) -> Vec<Hit> {
        let mut out = Vec::new();
        for start in 0..hay.len() {
            for (pattern, p) in patterns.iter().enumerate() {
                if hay[start..].starts_with(p) {
                    out.push(Hit { start, pattern });
                }
            }
        }
        out
    }

    fn search(patterns: &[Vec<u8>], hay: &[u8]) -> Vec<Hit> {
        let keywords = Keywords::new(patterns);
        let mut lower = Vec::new();
        lowercase_into(hay, &mut lower);
        keywords.search(hay, &lower).collect()
    }

    fn patterns(words: &[&str]) -> Vec<Vec<u8>> {
        words.iter().map(|w| w.as_bytes().to_vec()).collect()
    }

    #[test]
    fn hits_are_those_of_one_automaton() {
        let sets = [
            patterns(&["0Q~", "7Q~", "8Q~", "9Q~", "secret", "Secret", "pwd", "%7E"]),
            patterns(&["1Q~", "2Q~", "3Q~", "Q~Q", "az login"]),
            patterns(&["aXY", "bXY", "cXY", "XYZW", "XY"]),
            patterns(&["aXY", "bXY", "cXY"]),
            // More prefix groups than Teddy has buckets: some share one.
            patterns(&[
                "secret",
                "Secret",
                "SECRET",
                "password",
                "Password",
                "pwd",
                "credential",
                "appkey",
                "AppKey",
                "app_key",
                "principalkey",
                "az login",
                "\"appId\"",
                "%7E",
                "%7e",
                "\\u007e",
                "OFF+",
                "hRf",
                "4UX",
                "N1F+",
                "dRf",
                "3UX",
                "Convert",
                "convert",
                "Client",
                "tenant",
                "Tenant",
                "TENANT",
                "zone",
                "Zone",
                "ZONE",
                "queue",
                "Queue",
                "QUEUE",
            ]),
        ];
        let hays = [
            "abc8Q~def 9Q~Q~Q 7Q~7Q~ client_secret Secret=pwd 8Q8Q~ Q~ 0Q~",
            "8Q~",
            "Q~",
            "",
            "x9Q~",
            "aXYZW bXY cXYaXY XY aXYbXYcXY",
            "az login 3Q~Q 2Q~",
            "client_secret = Secret; PASSWORD pwd xZone queue4UXhRf %7e\\u007e \"appId\" y",
        ];
        for p in &sets {
            for hay in hays {
                assert_eq!(search(p, hay.as_bytes()), reference(p, hay.as_bytes()), "{hay:?}");
            }
        }
    }

    #[test]
    fn more_keywords_than_one_teddy_takes_are_split_and_give_the_same_hits() {
        // 200 keywords, some containing others, some sharing prefixes across chunks.
        let mut p: Vec<Vec<u8>> = (0..200).map(|i| format!("k{i:03}x").into_bytes()).collect();
        p.push(b"k01".to_vec());
        p.push(b"x k".to_vec());
        p.push(b"K05".to_vec());
        let k = Keywords::new(&p);
        assert!(k.automata.len() >= 3 && k.automata.iter().all(|a| a.checks.len() <= 64));
        let hay: Vec<u8> =
            (0..400).flat_map(|i| format!("k{:03}x K{:03}y ", i % 230, i).into_bytes()).collect();
        assert_eq!(search(&p, &hay), reference(&p, &hay));
    }

    #[test]
    fn spellings_and_contained_keywords_are_all_found() {
        let p = patterns(&[
            "secret",
            "Secret",
            "SECRET",
            "key",
            "Key",
            "KEY",
            "AccountKey",
            "appkey",
            "AppKey",
            "app_key",
            "_key\": \"",
            "SharedAccessKey=",
            "ClientSecretCredential",
            "8Q~",
            "7Q~",
            "9Q~",
            "8Q~x",
            "pat=",
            "pat =",
        ]);
        let k = Keywords::new(&p);
        // secret, key, 7q~, 8q~ (for 8q~x too), 9q~, pat=, pat =
        assert_eq!(k.minimal.len(), 7, "{:?}", k.minimal);
        let hays = [
            "AccountKey=abc; SharedAccessKey=x; sEcReT ClientSecretCredential(appKey, AppKey)",
            "\"app_key\": \"v\" KEY Key key kEY 8Q~x 8Q~ 88Q~~ pat = pat=",
            "Key",
            "xAccountKeY",
        ];
        for hay in hays {
            assert_eq!(search(&p, hay.as_bytes()), reference(&p, hay.as_bytes()), "{hay:?}");
        }
    }

    #[test]
    fn hits_match_the_reference_on_generated_text() {
        // Small alphabets make every kind of overlap frequent.
        let p = patterns(&["ab", "aB", "AB", "bab", "Abab", "aQ~", "bQ~", "cQ~", "Q~a", "ca"]);
        let alphabet = b"abABQ~c";
        let mut state = 0x2545_f491_u32;
        for len in [0usize, 1, 2, 7, 64, 500] {
            for _ in 0..40 {
                let hay: Vec<u8> = (0..len)
                    .map(|_| {
                        state ^= state << 13;
                        state ^= state >> 17;
                        state ^= state << 5;
                        alphabet[state as usize % alphabet.len()]
                    })
                    .collect();
                assert_eq!(
                    search(&p, &hay),
                    reference(&p, &hay),
                    "{:?}",
                    String::from_utf8_lossy(&hay)
                );
            }
        }
    }
}
