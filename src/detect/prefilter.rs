//! The keyword prefilter: finds, left to right, every position where a keyword starts (the
//! longest keyword at each position), the way one leftmost-longest Aho-Corasick search restarted
//! one byte after each hit would, but faster on real code.
//!
//! The automaton's SIMD prefilter (Teddy) slows down sharply as the number of distinct keyword
//! prefixes grows past its 8 or 16 buckets: on the Azure SDK for Ruby, the ten `0Q~`…`9Q~`
//! markers alone doubled its cost. So keywords that differ only in their first byte and share a
//! tail of two bytes or more (`0Q~`…`9Q~` share `Q~`) form a *family*, searched with one
//! `memmem` for the tail and a byte lookup before it; the other keywords stay in the automaton.
//! Teddy also refuses more than 64 patterns (the automaton then falls back to a much slower
//! prefilter), so the remaining keywords are split, in order, into automata of at most
//! [`MAX_AUTOMATON`] patterns each. The searches are merged so callers see exactly the hits of
//! the single automaton.
//!
//! This module knows nothing of rules: it maps keyword indices to positions.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use memchr::memmem;

/// Keywords that share a tail are searched as a family when at least this many do.
const MIN_FAMILY: usize = 3;

/// Most patterns in one automaton: Teddy, its SIMD prefilter, takes at most 64.
const MAX_AUTOMATON: usize = 64;

/// A keyword hit: where it starts and which keyword (its index in the list given to
/// [`Keywords::new`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    len: usize,
}

/// The compiled keyword search.
#[derive(Debug)]
pub(crate) struct Keywords {
    /// The automata, each with the keyword index of each of its patterns.
    automata: Vec<(AhoCorasick, Vec<usize>)>,
    families: Vec<Family>,
}

/// Where a [`Keywords`] search stands in one haystack: the next hit of each part, found lazily
/// and kept while it is still ahead, so restarting one byte further costs nothing.
#[derive(Debug)]
pub(crate) struct Cursor {
    automata: Vec<Option<Option<(usize, usize, usize)>>>,
    families: Vec<Option<Option<usize>>>,
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
            families.push(Family {
                tail: memmem::Finder::new(tail).into_owned(),
                heads,
                len: tail.len() + 1,
            });
        }
        let rest: Vec<usize> = (0..patterns.len()).filter(|&i| !in_family[i]).collect();
        // Case-sensitive over a few case variants, rather than ASCII case-insensitive: that
        // keeps the automaton's SIMD prefilter, which is most of the scanner's speed.
        let automata = rest
            .chunks(MAX_AUTOMATON)
            .map(|chunk| {
                let ids = bucket_order(patterns, chunk);
                let automaton = AhoCorasickBuilder::new()
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(ids.iter().map(|&i| &patterns[i]))
                    .expect("keyword automaton within size limits");
                (automaton, ids)
            })
            .collect();
        Keywords { automata, families }
    }

    /// A fresh cursor for one haystack.
    pub(crate) fn cursor(&self) -> Cursor {
        Cursor {
            automata: vec![None; self.automata.len()],
            families: vec![None; self.families.len()],
        }
    }

    /// The first hit starting at or after `from`: the leftmost start, and there the longest
    /// keyword. `cursor` must be fresh for `hay`, and `from` must not decrease between calls.
    pub(crate) fn find(&self, hay: &[u8], from: usize, cursor: &mut Cursor) -> Option<Hit> {
        let mut best: Option<(usize, usize, usize)> = None; // (start, len, pattern)
        for ((automaton, ids), slot) in self.automata.iter().zip(&mut cursor.automata) {
            let next = match *slot {
                Some(Some(hit)) if hit.0 >= from => Some(hit),
                Some(None) => None,
                _ => automaton
                    .find(aho_corasick::Input::new(hay).range(from.min(hay.len())..))
                    .map(|m| (m.start(), m.len(), ids[m.pattern().as_usize()])),
            };
            *slot = Some(next);
            if let Some(hit) = next {
                let better = match best {
                    None => true,
                    Some((s, len, _)) => hit.0 < s || (hit.0 == s && hit.1 > len),
                };
                if better {
                    best = Some(hit);
                }
            }
        }
        for (family, slot) in self.families.iter().zip(&mut cursor.families) {
            let next = match *slot {
                Some(Some(start)) if start >= from => Some(start),
                Some(None) => None,
                _ => family.next(hay, from),
            };
            *slot = Some(next);
            if let Some(start) = next {
                let pattern = family.heads[hay[start] as usize];
                let better = match best {
                    None => true,
                    Some((s, len, _)) => start < s || (start == s && family.len > len),
                };
                if better {
                    best = Some((start, family.len, pattern));
                }
            }
        }
        best.map(|(start, _, pattern)| Hit { start, pattern })
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

    /// The reference: one leftmost-longest automaton restarted after each hit's start.
    fn reference(patterns: &[Vec<u8>], hay: &[u8]) -> Vec<Hit> {
        let ac = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .build(patterns)
            .expect("automaton");
        let mut out = Vec::new();
        let mut from = 0;
        while let Some(m) = ac.find(aho_corasick::Input::new(hay).range(from..)) {
            out.push(Hit { start: m.start(), pattern: m.pattern().as_usize() });
            from = m.start() + 1;
        }
        out
    }

    fn search(patterns: &[Vec<u8>], hay: &[u8]) -> Vec<Hit> {
        let keywords = Keywords::new(patterns);
        let mut cursor = keywords.cursor();
        let mut out = Vec::new();
        let mut from = 0;
        while let Some(hit) = keywords.find(hay, from, &mut cursor) {
            out.push(hit);
            from = hit.start + 1;
        }
        out
    }

    fn patterns(words: &[&str]) -> Vec<Vec<u8>> {
        words.iter().map(|w| w.as_bytes().to_vec()).collect()
    }

    #[test]
    fn a_family_is_searched_by_its_tail() {
        let p = patterns(&["0Q~", "7Q~", "8Q~", "9Q~", "secret", "Secret", "pwd"]);
        let k = Keywords::new(&p);
        assert_eq!(k.families.len(), 1);
        let mut ids: Vec<usize> = k.automata.iter().flat_map(|(_, ids)| ids.clone()).collect();
        ids.sort();
        assert_eq!(ids, vec![4, 5, 6]);
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
}

#[cfg(test)]
mod many {
    use super::tests_support::reference;
    use super::*;

    #[test]
    fn more_keywords_than_one_teddy_takes_are_split_and_give_the_same_hits() {
        // 150 keywords, some containing others, some sharing prefixes across chunks.
        let mut p: Vec<Vec<u8>> = (0..150).map(|i| format!("k{i}x").into_bytes()).collect();
        p.push(b"k1".to_vec());
        p.push(b"x k".to_vec());
        let k = Keywords::new(&p);
        assert!(k.automata.len() >= 3 && k.automata.iter().all(|(_, ids)| ids.len() <= 64));
        let hay: Vec<u8> =
            (0..400).flat_map(|i| format!("k{}x k{}y ", i % 170, i).into_bytes()).collect();
        let mut got = Vec::new();
        let (mut from, mut cursor) = (0, k.cursor());
        while let Some(hit) = k.find(&hay, from, &mut cursor) {
            got.push(hit);
            from = hit.start + 1;
        }
        assert_eq!(got, reference(&p, &hay));
    }
}

#[cfg(test)]
mod tests_support {
    use super::*;

    /// One leftmost-longest automaton restarted after each hit's start.
    pub(super) fn reference(patterns: &[Vec<u8>], hay: &[u8]) -> Vec<Hit> {
        let ac = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .build(patterns)
            .expect("automaton");
        let mut out = Vec::new();
        let mut from = 0;
        while let Some(m) = ac.find(aho_corasick::Input::new(hay).range(from..)) {
            out.push(Hit { start: m.start(), pattern: m.pattern().as_usize() });
            from = m.start() + 1;
        }
        out
    }
}
