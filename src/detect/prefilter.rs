//! The keyword prefilter: finds, left to right, every position where a keyword starts (the
//! longest keyword at each position), the way one leftmost-longest Aho-Corasick search restarted
//! one byte after each hit would, but faster on real code.
//!
//! The automaton's SIMD prefilter (Teddy) slows down sharply as the number of distinct keyword
//! prefixes grows past its 8 or 16 buckets: on the Azure SDK for Ruby, the ten `0Q~`…`9Q~`
//! markers alone doubled its cost. So keywords that differ only in their first byte and share a
//! tail of two bytes or more (`0Q~`…`9Q~` share `Q~`) form a *family*, searched with one
//! `memmem` for the tail and a byte lookup before it; the other keywords stay in the automaton.
//! The two searches are merged so callers see exactly the hits of the single automaton.
//!
//! This module knows nothing of rules: it maps keyword indices to positions.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use memchr::memmem;

/// Keywords that share a tail are searched as a family when at least this many do.
const MIN_FAMILY: usize = 3;

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
    automaton: Option<AhoCorasick>,
    /// For each automaton pattern, the keyword index.
    automaton_ids: Vec<usize>,
    families: Vec<Family>,
}

/// Where a [`Keywords`] search stands in one haystack: the next hit of each part, found lazily
/// and kept while it is still ahead, so restarting one byte further costs nothing.
#[derive(Debug)]
pub(crate) struct Cursor {
    automaton: Option<Option<(usize, usize, usize)>>,
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
        let automaton_ids: Vec<usize> = (0..patterns.len()).filter(|&i| !in_family[i]).collect();
        // Case-sensitive over a few case variants, rather than ASCII case-insensitive: that
        // keeps the automaton's SIMD prefilter, which is most of the scanner's speed.
        let automaton = (!automaton_ids.is_empty()).then(|| {
            AhoCorasickBuilder::new()
                .match_kind(MatchKind::LeftmostLongest)
                .build(automaton_ids.iter().map(|&i| &patterns[i]))
                .expect("keyword automaton within size limits")
        });
        Keywords { automaton, automaton_ids, families }
    }

    /// A fresh cursor for one haystack.
    pub(crate) fn cursor(&self) -> Cursor {
        Cursor { automaton: None, families: vec![None; self.families.len()] }
    }

    /// The first hit starting at or after `from`: the leftmost start, and there the longest
    /// keyword. `cursor` must be fresh for `hay`, and `from` must not decrease between calls.
    pub(crate) fn find(&self, hay: &[u8], from: usize, cursor: &mut Cursor) -> Option<Hit> {
        let mut best: Option<(usize, usize, usize)> = None; // (start, len, pattern)
        if let Some(automaton) = &self.automaton {
            let next = match cursor.automaton {
                Some(Some(hit)) if hit.0 >= from => Some(hit),
                Some(None) => None,
                _ => automaton
                    .find(aho_corasick::Input::new(hay).range(from.min(hay.len())..))
                    .map(|m| (m.start(), m.len(), self.automaton_ids[m.pattern().as_usize()])),
            };
            cursor.automaton = Some(next);
            best = next;
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
        assert_eq!(k.automaton_ids, vec![4, 5, 6]);
    }

    #[test]
    fn hits_are_those_of_one_automaton() {
        let sets = [
            patterns(&["0Q~", "7Q~", "8Q~", "9Q~", "secret", "Secret", "pwd", "%7E"]),
            patterns(&["1Q~", "2Q~", "3Q~", "Q~Q", "az login"]),
            patterns(&["aXY", "bXY", "cXY", "XYZW", "XY"]),
            patterns(&["aXY", "bXY", "cXY"]),
        ];
        let hays = [
            "abc8Q~def 9Q~Q~Q 7Q~7Q~ client_secret Secret=pwd 8Q8Q~ Q~ 0Q~",
            "8Q~", "Q~", "", "x9Q~", "aXYZW bXY cXYaXY XY aXYbXYcXY", "az login 3Q~Q 2Q~",
        ];
        for p in &sets {
            for hay in hays {
                assert_eq!(search(p, hay.as_bytes()), reference(p, hay.as_bytes()), "{hay:?}");
            }
        }
    }
}
