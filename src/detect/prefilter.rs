//! The keyword prefilter: finds every position where a keyword starts, exactly as written
//! (case-sensitive), for every keyword: also a keyword that starts where a longer one does, or
//! that lies inside another. Hits come in order of start, then keyword index.
//!
//! The automaton's SIMD prefilter (Teddy) slows down sharply with the number of patterns: past
//! 32 it switches to a "fat" variant of half the throughput, and past 64 it gives up (so one
//! automaton becomes several, each a pass over the haystack). Rules list their keywords in a few
//! case spellings (`secret`, `Secret`, `SECRET`), and many keywords contain others (`AppKey`,
//! `AccountKey` and `search_api_key` all contain `key`). So the search runs over an ASCII
//! lowercase copy of the haystack with one pattern per *minimal* lowercase keyword: one that
//! contains no other. Each hit of one is then checked, by comparing bytes, against the exact
//! spellings it stands for and the longer keywords known to contain it at a given offset; on
//! the Azure rule set that takes 109 patterns (two fat automata) down to 46.
//!
//! Keywords that differ only in their first byte and share a tail of two bytes or more
//! (`0Q~`…`9Q~` share `Q~`) form a *family*, searched in the haystack as written with one
//! `memmem` for the tail and a byte lookup before it.
//!
//! This module knows nothing of rules: it maps keyword indices to positions.

use std::collections::VecDeque;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use memchr::memmem;

/// Keywords that share a tail are searched as a family when at least this many do.
const MIN_FAMILY: usize = 3;

/// Most patterns in one automaton: Teddy, its SIMD prefilter, takes at most 64.
const MAX_AUTOMATON: usize = 64;

/// A keyword hit: where it starts and which keyword (its index in the list given to
/// [`Keywords::new`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Hit {
    pub start: usize,
    pub pattern: usize,
}

/// Keywords that differ only in their first byte.
#[derive(Debug)]
struct Family {
    tail: memmem::Finder<'static>,
    /// For each first byte, the keyword it makes (or `usize::MAX`).
    heads: Box<[usize; 256]>,
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

/// The compiled keyword search.
#[derive(Debug)]
pub(crate) struct Keywords {
    patterns: Vec<Vec<u8>>,
    forms: Vec<Form>,
    minimal: Vec<Minimal>,
    /// The automata over the lowercase haystack, each with the index in `minimal` of each of
    /// its patterns.
    automata: Vec<(AhoCorasick, Vec<usize>)>,
    families: Vec<Family>,
    /// The greatest offset of a minimal form in a longer one: how far before a minimal hit a
    /// keyword hit may start.
    reach: usize,
}

/// One search of a haystack, yielding its [`Hit`]s in order.
pub(crate) struct Search<'k, 'h> {
    keywords: &'k Keywords,
    hay: &'h [u8],
    lower: &'h [u8],
    /// The next hit of each automaton (a minimal index), found lazily.
    automata: Vec<Option<Option<(usize, usize)>>>,
    families: Vec<Option<Option<usize>>>,
    /// Where the automata and families search next.
    from: usize,
    /// Hits found, not yet yielded, in order: a longer keyword starts before its minimal hit.
    pending: VecDeque<Hit>,
    done: bool,
}

impl Keywords {
    /// Compiles the search for `patterns` (non-empty, distinct).
    pub(crate) fn new(patterns: &[Vec<u8>]) -> Keywords {
        let mut by_tail: Vec<(&[u8], Vec<usize>)> = Vec::new();
        for (index, p) in patterns.iter().enumerate() {
            if p.len() < 3 {
                continue;
            }
            match by_tail.iter_mut().find(|(tail, _)| *tail == &p[1..]) {
                Some((_, members)) => members.push(index),
                None => by_tail.push((&p[1..], vec![index])),
            }
        }
        let mut in_family = vec![false; patterns.len()];
        let mut families = Vec::new();
        for (tail, members) in by_tail.into_iter().filter(|(_, m)| m.len() >= MIN_FAMILY) {
            let mut heads = Box::new([usize::MAX; 256]);
            for &m in &members {
                heads[patterns[m][0] as usize] = m;
                in_family[m] = true;
            }
            families.push(Family { tail: memmem::Finder::new(tail).into_owned(), heads });
        }
        let mut forms: Vec<Form> = Vec::new();
        for (index, p) in patterns.iter().enumerate().filter(|(i, _)| !in_family[*i]) {
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
        let mut reach = 0;
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
                reach = reach.max(at);
            }
        }
        // Case-sensitive over lowercase text, rather than ASCII case-insensitive: that keeps
        // the automaton's SIMD prefilter, which is most of the scanner's speed.
        let lowered: Vec<Vec<u8>> = minimal.iter().map(|m| forms[m.form].bytes.clone()).collect();
        // Teddy matches candidates on the first bytes of each pattern, as many as the shortest
        // pattern has (at most 4): one 3-byte keyword makes every candidate a 3-byte match, and
        // on real code those are several times more frequent. So the short keywords get an
        // automaton of their own (few patterns: a fast one), the others a 4-byte one.
        let (long, short): (Vec<usize>, Vec<usize>) =
            (0..lowered.len()).partition(|&i| lowered[i].len() >= 4);
        let automata = long
            .chunks(MAX_AUTOMATON)
            .chain(short.chunks(MAX_AUTOMATON))
            .map(|chunk| {
                let ids = bucket_order(&lowered, chunk);
                let automaton = AhoCorasickBuilder::new()
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(ids.iter().map(|&i| &lowered[i]))
                    .expect("keyword automaton within size limits");
                (automaton, ids)
            })
            .collect();
        Keywords { patterns: patterns.to_vec(), forms, minimal, automata, families, reach }
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
            families: vec![None; self.families.len()],
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
    out.extend(hay.iter().map(|&b| b | (u8::from(b.wrapping_sub(b'A') < 26) << 5)));
}

/// Inserts `hit` into the ordered `pending` (hits mostly arrive in order).
fn insert(pending: &mut VecDeque<Hit>, hit: Hit) {
    let at = pending.iter().rposition(|h| *h <= hit).map_or(0, |i| i + 1);
    if pending.get(at.wrapping_sub(1)) != Some(&hit) {
        pending.insert(at, hit);
    }
}

impl Search<'_, '_> {
    /// Finds, lazily, the next hit of each automaton and family at or after `self.from`, and
    /// returns the leftmost start among them.
    fn next_start(&mut self) -> Option<usize> {
        let k = self.keywords;
        let from = self.from;
        let mut best: Option<usize> = None;
        for ((automaton, ids), slot) in k.automata.iter().zip(&mut self.automata) {
            let next = match *slot {
                Some(Some(hit)) if hit.0 >= from => Some(hit),
                Some(None) => None,
                _ => automaton
                    .find(aho_corasick::Input::new(self.lower).range(from.min(self.lower.len())..))
                    .map(|m| (m.start(), ids[m.pattern().as_usize()])),
            };
            *slot = Some(next);
            if let Some((start, _)) = next {
                best = Some(best.map_or(start, |b| b.min(start)));
            }
        }
        for (family, slot) in k.families.iter().zip(&mut self.families) {
            let next = match *slot {
                Some(Some(start)) if start >= from => Some(start),
                Some(None) => None,
                _ => family.next(self.hay, from),
            };
            *slot = Some(next);
            if let Some(start) = next {
                best = Some(best.map_or(start, |b| b.min(start)));
            }
        }
        best
    }

    /// Turns every automaton and family hit at `start` into keyword hits.
    fn expand(&mut self, start: usize) {
        let k = self.keywords;
        for slot in &self.automata {
            let Some(Some((at, minimal))) = *slot else { continue };
            if at != start {
                continue;
            }
            let m = &k.minimal[minimal];
            k.spellings_at(m.form, self.hay, start, &mut self.pending);
            for &(form, offset) in &m.longer {
                let Some(begin) = start.checked_sub(offset) else { continue };
                if self.lower[begin..].starts_with(&k.forms[form].bytes) {
                    k.spellings_at(form, self.hay, begin, &mut self.pending);
                }
            }
        }
        for (family, slot) in k.families.iter().zip(&self.families) {
            if *slot == Some(Some(start)) {
                let pattern = family.heads[self.hay[start] as usize];
                insert(&mut self.pending, Hit { start, pattern });
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

/// Orders the automaton's patterns so that its Teddy prefilter spreads them over its buckets.
///
/// Teddy puts patterns whose first bytes (its mask length, at most 4) have the same low nybbles
/// in one bucket, and gives each new such group the bucket of its id: the id of its longest
/// pattern, the lowest one among equals, modulo the bucket count (8, or 16 above 32 patterns).
/// In the order given, groups collided while buckets stayed empty, and each crowded bucket
/// admits many false candidates. So each group's leader (a longest pattern) gets an id of its
/// own residue; where there are more groups than buckets, the groups that differ least share.
fn bucket_order(patterns: &[Vec<u8>], ids: &[usize]) -> Vec<usize> {
    let Some(mask) = ids.iter().map(|&i| patterns[i].len()).min().map(|m| m.min(4)) else {
        return Vec::new();
    };
    let buckets = if ids.len() > 32 { 16 } else { 8 };
    let key = |i: usize| -> Vec<u8> { patterns[i][..mask].iter().map(|b| b & 15).collect() };
    let mut groups: Vec<(Vec<u8>, Vec<usize>)> = Vec::new();
    for &i in ids {
        match groups.iter_mut().find(|(k, _)| *k == key(i)) {
            Some((_, members)) => members.push(i),
            None => groups.push((key(i), vec![i])),
        }
    }
    // Sets of groups, one per bucket: merge the pair that least widens the masks.
    let mut sets: Vec<Vec<usize>> = (0..groups.len()).map(|g| vec![g]).collect();
    let accepts = |set: &[usize]| -> f64 {
        (0..mask)
            .map(|pos| {
                let (mut lo, mut hi) = (0u16, 0u16);
                for &g in set {
                    for &m in &groups[g].1 {
                        lo |= 1 << (patterns[m][pos] & 15);
                        hi |= 1 << (patterns[m][pos] >> 4);
                    }
                }
                f64::from(lo.count_ones() * hi.count_ones())
            })
            .product()
    };
    while sets.len() > buckets {
        let mut best = (f64::MAX, 0, 1);
        for a in 0..sets.len() {
            for b in a + 1..sets.len() {
                let union: Vec<usize> = sets[a].iter().chain(&sets[b]).copied().collect();
                let cost = accepts(&union) - accepts(&sets[a]) - accepts(&sets[b]);
                if cost < best.0 {
                    best = (cost, a, b);
                }
            }
        }
        let merged = sets.remove(best.2);
        sets[best.1].extend(merged);
    }
    // Leaders at slots of their set's residue; shorter members fill the free slots first, the
    // other longest members last (an earlier one would lead its group instead).
    let mut slots: Vec<Option<usize>> = vec![None; ids.len()];
    let (mut shorter, mut longest) = (Vec::new(), Vec::new());
    for (residue, set) in sets.iter().enumerate() {
        for (round, &g) in set.iter().enumerate() {
            let members = &groups[g].1;
            let max = members.iter().map(|&m| patterns[m].len()).max().unwrap_or(0);
            let leader =
                *members.iter().find(|&&m| patterns[m].len() == max).unwrap_or(&members[0]);
            match slots.get_mut(residue + round * buckets) {
                Some(slot @ None) => *slot = Some(leader),
                _ => longest.push(leader),
            }
            for &m in members.iter().filter(|&&m| m != leader) {
                if patterns[m].len() == max { longest.push(m) } else { shorter.push(m) }
            }
        }
    }
    let mut fill = shorter.into_iter().chain(longest);
    slots
        .into_iter()
        .map(|s| s.or_else(|| fill.next()))
        .collect::<Option<Vec<_>>>()
        .unwrap_or_else(|| ids.to_vec())
}

impl Family {
    /// The first start at or after `from` of a member keyword.
    fn next(&self, hay: &[u8], from: usize) -> Option<usize> {
        let mut at = from + 1;
        while at < hay.len() {
            let found = at + self.tail.find(&hay[at..])?;
            if self.heads[hay[found - 1] as usize] != usize::MAX {
                return Some(found - 1);
            }
            at = found + 1;
        }
        None
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
    fn a_family_is_searched_by_its_tail() {
        let p = patterns(&["0Q~", "7Q~", "8Q~", "9Q~", "secret", "Secret", "pwd"]);
        let k = Keywords::new(&p);
        assert_eq!(k.families.len(), 1);
        // The others are searched in lowercase: `secret` for `secret` and `Secret`, and `pwd`.
        let mut ids: Vec<usize> = k
            .automata
            .iter()
            .flat_map(|(_, ids)| {
                ids.iter().flat_map(|&m| k.forms[k.minimal[m].form].spellings.clone())
            })
            .collect();
        ids.sort();
        assert_eq!(ids, vec![4, 5, 6]);
        assert_eq!(k.automata.iter().map(|(_, ids)| ids.len()).sum::<usize>(), 2);
    }

    #[test]
    fn each_pattern_keeps_its_place_in_the_bucket_order() {
        let p = patterns(&[
            "secret",
            "Secret",
            "SECRET",
            "password",
            "pwd",
            "credential",
            "appkey",
            "app_key",
            "az login",
            "%7E",
            "OFF+",
            "hRf",
            "4UX",
            "N1F+",
            "dRf",
            "3UX",
            "Convert",
            "Client",
            "tenant",
            "zone",
            "queue",
        ]);
        let all: Vec<usize> = (0..p.len()).collect();
        let mut order = bucket_order(&p, &all);
        order.sort();
        assert_eq!(order, all);
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
        assert!(k.automata.len() >= 3 && k.automata.iter().all(|(_, ids)| ids.len() <= 64));
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
        // secret, key, 8q~x, pat=, pat = (and the family 7Q~ 8Q~ 9Q~ apart)
        assert_eq!(k.minimal.len(), 5, "{:?}", k.minimal);
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
