//! Where the keyword prefilter's automata look for each keyword, and in which Teddy bucket.
//!
//! Teddy, the SIMD search of the automata, finds candidates by the first bytes (its *mask*,
//! up to 4) of the patterns of each of its buckets (8, or 16 in its fat form, which searches
//! at half the speed): a byte passes a bucket at a position when its low nybble is the low
//! nybble of one of the bucket's patterns there and its high nybble that of one too (not
//! necessarily the same). Every candidate costs a comparison, and on source code candidates of
//! buckets crowded with common lowercase letters take most of the search time. So each
//! keyword is searched by one window of it, its *anchor* (the pattern is the keyword from
//! there on), and in one bucket: those that a model of byte frequencies in code says make
//! the fewest candidates. The patterns are then laid out in the order that makes Teddy put
//! each one in its planned bucket.
//!
//! Teddy (aho-corasick 1.1, `packed/teddy/generic.rs`) fills its buckets in pattern order
//! (leftmost-first: the order given): a pattern whose first mask bytes have the low nybbles
//! of an earlier one's joins that one's bucket, any other goes to bucket
//! `buckets - 1 - id % buckets`. The layout relies on that rule; were it to change, searches
//! would stay correct (every pattern is still searched) but could slow down, which the tests
//! of this module would show.

/// Frequencies of bytes in ASCII-lowercased source code and configuration, in parts per 2^24
/// (at least 1): counted over ~375 MB of Rust, Python, Perl and C sources and headers (the
/// crates.io registry, Debian's `/usr/lib/python3`, `/usr/share/perl` and `/usr/include`).
const FREQUENCY: [u32; 256] = [
    62, 11, 11, 13, 12, 10, 12, 14, 16, 48064, 458172, 12, 28, 5588, 14, 17, 12, 10, 12, 13, 13,
    12, 12, 15, 13, 11, 13, 1526, 12, 13, 12, 19, 2940315, 17142, 114283, 72243, 14903, 6956,
    21709, 49530, 175223, 174511, 101403, 8533, 234780, 80570, 111670, 163197, 199410, 120812,
    126466, 94458, 57543, 52665, 59252, 36792, 51863, 46002, 235694, 96202, 27273, 92082, 45700,
    3685, 6092, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    44796, 36469, 44679, 2510, 515667, 30946, 607020, 212649, 473924, 389855, 1117060, 303476,
    177587, 204233, 653350, 16659, 104576, 433867, 262266, 662116, 601877, 373949, 26824, 637717,
    736433, 873097, 369375, 112268, 107973, 134258, 140304, 27906, 42595, 8338, 42531, 1300, 29,
    1501, 963, 1073, 927, 1861, 1859, 1628, 857, 868, 848, 688, 683, 681, 709, 684, 1161, 1390,
    1479, 744, 666, 813, 933, 1307, 593, 626, 765, 733, 692, 704, 1080, 989, 1161, 977, 772, 661,
    728, 807, 740, 706, 719, 776, 775, 722, 760, 730, 739, 1031, 771, 859, 785, 848, 839, 979, 779,
    679, 830, 1087, 1040, 907, 793, 882, 1529, 765, 1512, 121, 119, 304, 560, 227, 232, 171, 193,
    184, 150, 137, 144, 1014, 259, 516, 389, 545, 315, 187, 200, 177, 138, 595, 272, 277, 306, 142,
    173, 141, 146, 123, 150, 1064, 4603, 2319, 804, 354, 1387, 1402, 1313, 1299, 1166, 914, 1133,
    1124, 617, 395, 1364, 2918, 190, 188, 236, 131, 125, 124, 124, 128, 141, 137, 137, 131, 111,
    109, 16,
];

/// Most patterns in one automaton: Teddy takes at most 64.
pub(super) const MAX_PATTERNS: usize = 64;
/// Most keywords planned into one automaton, below [`MAX_PATTERNS`] to leave room for the
/// patterns that pad buckets.
const MAX_FORMS: usize = 48;
/// Modelled cost of one Teddy pass, in nanoseconds per byte searched: slim, fat (measured on
/// a 2020s x86-64 core with AVX2, with patterns that never occur).
const PASS: [f64; 2] = [0.074, 0.128];
/// Modelled cost of one Teddy candidate, in nanoseconds.
const CANDIDATE: f64 = 30.0;

/// One automaton's patterns.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Planned {
    /// Teddy's fat form (16 buckets) rather than its slim one (8).
    pub fat: bool,
    /// The patterns in id order, each a keyword (its index in the list planned) from an offset
    /// on. A keyword may come more than once: repeats pad buckets.
    pub patterns: Vec<(usize, usize)>,
    /// The bucket planned for each pattern.
    pub buckets: Vec<usize>,
}

/// The frequency of `byte`, as a share of all bytes.
fn weight(byte: usize) -> f64 {
    f64::from(FREQUENCY[byte]) / f64::from(1u32 << 24)
}

/// The low nybbles of the first `mask` bytes: Teddy's grouping key.
fn key(pattern: &[u8], mask: usize) -> [u8; 4] {
    let mut key = [0xff; 4];
    for (k, b) in key.iter_mut().zip(&pattern[..mask]) {
        *k = b & 15;
    }
    key
}

/// Per mask position, the low and high nybbles (as bit sets) of a bucket's patterns there.
type Nybbles = [(u16, u16); 4];

/// The nybbles of one pattern's first `mask` bytes.
fn nybbles(pattern: &[u8], mask: usize) -> Nybbles {
    let mut n = [(0, 0); 4];
    for (slot, &b) in n.iter_mut().zip(&pattern[..mask]) {
        *slot = (1 << (b & 15), 1 << (b >> 4));
    }
    n
}

fn union(a: &Nybbles, b: &Nybbles) -> Nybbles {
    std::array::from_fn(|pos| (a[pos].0 | b[pos].0, a[pos].1 | b[pos].1))
}

/// The modelled share of positions at which a bucket of these nybbles gives a candidate.
fn share(n: &Nybbles, mask: usize) -> f64 {
    n[..mask]
        .iter()
        .map(|&(lo, hi)| {
            let mut share = 0.0;
            let mut h = hi;
            while h != 0 {
                let high = h.trailing_zeros() as usize;
                h &= h - 1;
                let mut l = lo;
                while l != 0 {
                    share += weight(high << 4 | l.trailing_zeros() as usize);
                    l &= l - 1;
                }
            }
            share
        })
        .product()
}

/// The modelled share of positions at which a bucket holding `patterns` gives a candidate.
fn accepts<'p>(patterns: impl Iterator<Item = &'p [u8]>, mask: usize) -> f64 {
    share(&patterns.fold([(0, 0); 4], |n, p| union(&n, &nybbles(p, mask))), mask)
}

/// Plans the automata that search for `forms` (distinct, non-empty, none inside another).
pub(super) fn plan(forms: &[&[u8]]) -> Vec<Planned> {
    // A keyword shorter than 4 bytes makes every candidate of its automaton a match of as few
    // bytes, several times more frequent: such keywords are searched apart, unless one
    // automaton over all keywords is modelled to cost less.
    let all: Vec<usize> = (0..forms.len()).collect();
    let (long, short): (Vec<usize>, Vec<usize>) = all.iter().partition(|&&f| forms[f].len() >= 4);
    let mut separate = automata(forms, &long);
    separate.extend(automata(forms, &short));
    if !long.is_empty() && !short.is_empty() {
        let together = automata(forms, &all);
        if cost(&together) < cost(&separate) {
            return together.into_iter().map(|(p, _)| p).collect();
        }
    }
    separate.into_iter().map(|(p, _)| p).collect()
}

fn cost(automata: &[(Planned, f64)]) -> f64 {
    automata.iter().map(|(_, c)| c).sum()
}

/// The automata for the keywords `ids` (indices into `forms`), each with its modelled cost.
fn automata(forms: &[&[u8]], ids: &[usize]) -> Vec<(Planned, f64)> {
    ids.chunks(MAX_FORMS)
        .map(|chunk| {
            let mask = chunk.iter().map(|&f| forms[f].len()).min().unwrap_or(1).min(4);
            [false, true]
                .into_iter()
                .filter_map(|fat| place(forms, chunk, mask, fat))
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .unwrap_or_else(|| (unplanned(forms, chunk), f64::MAX / 4.0))
        })
        .collect()
}

/// Keywords as given, whole: Teddy makes its own buckets.
fn unplanned(forms: &[&[u8]], ids: &[usize]) -> Planned {
    let fat = ids.len() > 32;
    let buckets = if fat { 16 } else { 8 };
    let patterns: Vec<(usize, usize)> = ids.iter().map(|&f| (f, 0)).collect();
    let refs: Vec<&[u8]> = ids.iter().map(|&f| forms[f]).collect();
    Planned { fat, buckets: teddy_buckets(&refs, buckets), patterns }
}

/// The buckets Teddy gives `patterns`, in order (see the module documentation).
pub(super) fn teddy_buckets(patterns: &[&[u8]], buckets: usize) -> Vec<usize> {
    let mask = patterns.iter().map(|p| p.len()).min().unwrap_or(1).min(4);
    let mut seen: Vec<([u8; 4], usize)> = Vec::new();
    (0..patterns.len())
        .map(|id| {
            let k = key(patterns[id], mask);
            match seen.iter().find(|(s, _)| *s == k) {
                Some(&(_, bucket)) => bucket,
                None => {
                    let bucket = buckets - 1 - id % buckets;
                    seen.push((k, bucket));
                    bucket
                }
            }
        })
        .collect()
}

/// Places the keywords `ids` with a Teddy `mask` into the buckets of one automaton, and lays
/// them out; `None` if they do not fit.
fn place(forms: &[&[u8]], ids: &[usize], mask: usize, fat: bool) -> Option<(Planned, f64)> {
    let buckets = if fat { 16 } else { 8 };
    // Buckets are filled evenly: a Teddy bucket's place in the pattern order comes from its
    // patterns' ids, so a fuller bucket means repeats padding the others (each compared
    // with every candidate of its bucket).
    // One pattern over an even share leaves the plan room (measured: fewer candidates than
    // an exactly even share, and than two over it).
    let capacity = (ids.len().div_ceil(buckets) + 1).min(MAX_PATTERNS / buckets);
    let pattern = |f: usize, o: usize| &forms[f][o..];
    // Per keyword and anchor offset: its nybbles and Teddy key, computed once (the placing
    // below asks for them tens of thousands of times at every start of the scanner).
    let mut windows: Vec<Vec<(Nybbles, [u8; 4])>> = vec![Vec::new(); forms.len()];
    for &f in ids {
        windows[f] = (0..=forms[f].len() - mask)
            .map(|o| (nybbles(pattern(f, o), mask), key(pattern(f, o), mask)))
            .collect();
    }
    // Per keyword: its bucket and anchor offset, once placed.
    let mut at: Vec<Option<(usize, usize)>> = vec![None; forms.len()];
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); buckets];
    let bucket_nybbles = |members: &[usize], at: &[Option<(usize, usize)>]| {
        members
            .iter()
            .filter_map(|&f| at[f].map(|(_, o)| windows[f][o].0))
            .fold([(0, 0); 4], |n, w| union(&n, &w))
    };
    // The best place for keyword `f`: the (bucket, offset) adding the fewest candidates.
    let best = |f: usize, at: &[Option<(usize, usize)>], members: &[Vec<usize>]| {
        let mut best: Option<(f64, usize, usize)> = None;
        let now: Vec<Nybbles> = members.iter().map(|m| bucket_nybbles(m, at)).collect();
        let before: Vec<f64> = now.iter().map(|n| share(n, mask)).collect();
        for (o, (n, k)) in windows[f].iter().enumerate() {
            // A keyword of the same key is in the same bucket, whatever the plan says.
            let forced = ids
                .iter()
                .filter(|&&g| g != f)
                .find_map(|&g| at[g].filter(|&(_, go)| windows[g][go].1 == *k))
                .map(|(b, _)| b);
            for b in 0..buckets {
                if forced.is_some_and(|fb| fb != b) || members[b].len() >= capacity {
                    continue;
                }
                let delta = share(&union(&now[b], n), mask) - before[b];
                if best.is_none_or(|(d, _, _)| delta < d) {
                    best = Some((delta, b, o));
                }
            }
        }
        best.map(|(_, b, o)| (b, o))
    };
    // The keywords most likely to give candidates are placed first, while buckets are empty.
    let alone = |f: usize| windows[f].iter().map(|(n, _)| share(n, mask)).fold(f64::MAX, f64::min);
    let mut order = ids.to_vec();
    order.sort_by(|&a, &b| alone(b).total_cmp(&alone(a)).then(a.cmp(&b)));
    for &f in &order {
        let (b, o) = best(f, &at, &members)?;
        at[f] = Some((b, o));
        members[b].push(f);
    }
    // Then each is moved to its best place given all the others, until none moves.
    for _ in 0..4 {
        let mut moved = false;
        for &f in &order {
            let (b, o) = at[f].expect("placed");
            at[f] = None;
            members[b].retain(|&g| g != f);
            let (nb, no) = best(f, &at, &members).unwrap_or((b, o));
            at[f] = Some((nb, no));
            members[nb].push(f);
            moved |= (nb, no) != (b, o);
        }
        if !moved {
            break;
        }
    }
    let candidates: f64 = members.iter().map(|m| share(&bucket_nybbles(m, &at), mask)).sum();
    let cost = PASS[usize::from(fat)] + CANDIDATE * candidates;
    Some((layout(forms, &at, members, buckets), cost))
}

/// The patterns of planned buckets, in an order in which Teddy puts each in its bucket.
fn layout(
    forms: &[&[u8]],
    at: &[Option<(usize, usize)>],
    mut members: Vec<Vec<usize>>,
    buckets: usize,
) -> Planned {
    // The non-empty buckets first, so that the first pattern leads one of its own; in each,
    // one pattern of each key first: the others join it whatever their place.
    members.sort_by_key(|m| m.is_empty());
    let patterns: Vec<&[u8]> =
        at.iter().enumerate().filter_map(|(f, a)| a.map(|(_, o)| &forms[f][o..])).collect();
    let mask = patterns.iter().map(|p| p.len()).min().unwrap_or(1).min(4);
    let of = |f: usize| {
        let (_, o) = at[f].expect("placed");
        (f, o)
    };
    for m in &mut members {
        let mut leaders: Vec<usize> = Vec::new();
        let mut rest = Vec::new();
        for &f in m.iter() {
            let (_, o) = of(f);
            let k = key(&forms[f][o..], mask);
            if leaders.iter().any(|&l| key(&forms[l][of(l).1..], mask) == k) {
                rest.push(f);
            } else {
                leaders.push(f);
            }
        }
        leaders.extend(rest);
        *m = leaders;
    }
    // Slot `residue + level * buckets` is in Teddy's bucket `buckets - 1 - residue`.
    let levels = members.iter().map(Vec::len).max().unwrap_or(0);
    let mut slots: Vec<Option<(usize, usize)>> = vec![None; levels * buckets];
    for (residue, m) in members.iter().enumerate() {
        for (level, &f) in m.iter().enumerate() {
            slots[residue + level * buckets] = Some(of(f));
        }
    }
    while slots.last().is_some_and(Option::is_none) {
        slots.pop();
    }
    // Holes are padded with repeats of the first pattern of the bucket that gives the fewest
    // candidates (each candidate is compared with every pattern of its bucket), among those
    // led by an earlier pattern.
    let share: Vec<f64> =
        members.iter().map(|m| accepts(m.iter().map(|&f| &forms[f][of(f).1..]), mask)).collect();
    let mut patterns = Vec::with_capacity(slots.len());
    let mut planned = Vec::with_capacity(slots.len());
    for (id, slot) in slots.iter().enumerate() {
        let residue = match slot {
            Some(_) => id % buckets,
            None => (0..buckets.min(id))
                .filter(|&r| slots[r].is_some())
                .min_by(|&a, &b| share[a].total_cmp(&share[b]))
                .expect("the first bucket holds a pattern"),
        };
        patterns.push(slot.or(slots[residue]).expect("a pattern"));
        planned.push(buckets - 1 - residue);
    }
    Planned { fat: buckets == 16, patterns, buckets: planned }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks a plan of `forms`: each keyword searched once, by a window of it; every
    /// automaton within Teddy's limits; every pattern in the bucket planned for it.
    fn check(forms: &[&[u8]]) -> Vec<Planned> {
        let plans = plan(forms);
        let mut searched: Vec<usize> = Vec::new();
        for p in &plans {
            assert!(p.patterns.len() <= MAX_PATTERNS, "{p:?}");
            let buckets = if p.fat { 16 } else { 8 };
            let patterns: Vec<&[u8]> = p.patterns.iter().map(|&(f, o)| &forms[f][o..]).collect();
            assert!(patterns.iter().all(|q| !q.is_empty()));
            assert_eq!(teddy_buckets(&patterns, buckets), p.buckets, "{p:?}");
            let mut own: Vec<usize> = p.patterns.iter().map(|&(f, _)| f).collect();
            own.sort_unstable();
            own.dedup();
            for f in own {
                let offsets: Vec<usize> =
                    p.patterns.iter().filter(|&&(g, _)| g == f).map(|&(_, o)| o).collect();
                assert!(offsets.iter().all(|&o| o == offsets[0]), "one anchor per keyword");
                searched.push(f);
            }
        }
        searched.sort_unstable();
        assert_eq!(searched, (0..forms.len()).collect::<Vec<_>>());
        plans
    }

    fn words(list: &[&'static str]) -> Vec<&'static [u8]> {
        list.iter().map(|w| w.as_bytes()).collect()
    }

    #[test]
    fn every_keyword_is_searched_once_in_its_planned_bucket() {
        let azure = words(&[
            "secret",
            "password",
            "passwd",
            "pwd",
            "credential",
            "az login",
            "appid",
            "key",
            "convertto-securestring",
            "accountendpoint",
            "redis.cache.windows.net",
            "sig=",
            "dapi",
            "openai",
            "azconfig.io",
            "+ast",
            "acdb",
            "+aba",
            "+amc",
            "apim",
            "+asb",
            "+aeh",
            "+arm",
            "aiot",
            "azca",
            "azeg",
            "azfu",
            "azse",
            "+acr",
            "jqqj",
            "pat=",
            "pat:",
            "pat =",
            "devops",
            "vsts",
            "token",
            "azdo",
            "%7e",
            "3ux",
            "4ux",
            "n1f+",
            "off+",
            "\\u007e",
            "drf",
            "hrf",
            "0q~",
            "1q~",
            "2q~",
            "3q~",
            "4q~",
            "5q~",
            "6q~",
            "7q~",
            "8q~",
            "9q~",
        ]);
        let plans = check(&azure);
        assert!(plans.len() <= 2, "{plans:?}");
        // Few, fewer and one keyword; keywords of one and two bytes; keys shared by many.
        check(&words(&["secret"]));
        check(&words(&["secret", "token", "pwd"]));
        check(&words(&["a", "bc", "def", "ghij"]));
        let shared: Vec<String> = (0..120).map(|i| format!("k{i:03}x")).collect();
        let shared: Vec<&[u8]> = shared.iter().map(|s| s.as_bytes()).collect();
        check(&shared);
    }

    #[test]
    fn the_plan_models_fewer_candidates_than_teddy_alone() {
        // Common words of code, which crowd Teddy's buckets with the same few nybbles.
        let forms = words(&[
            "secret",
            "password",
            "credential",
            "client",
            "tenant",
            "token",
            "account",
            "connection",
            "string",
            "endpoint",
            "subscription",
            "principal",
            "certificate",
            "storage",
            "access",
            "shared",
            "signature",
            "service",
            "resource",
            "directory",
        ]);
        let ids: Vec<usize> = (0..forms.len()).collect();
        let share = |p: &Planned| -> f64 {
            let buckets = if p.fat { 16 } else { 8 };
            (0..buckets)
                .map(|b| {
                    let members = p
                        .patterns
                        .iter()
                        .zip(&p.buckets)
                        .filter(|&(_, &pb)| pb == b)
                        .map(|(&(f, o), _)| &forms[f][o..]);
                    let mask = p.patterns.iter().map(|&(f, o)| forms[f].len() - o).min().unwrap();
                    accepts(members, mask.min(4))
                })
                .sum()
        };
        let planned = plan(&forms);
        assert_eq!(planned.len(), 1);
        let unplanned = unplanned(&forms, &ids);
        assert!(share(&planned[0]) < share(&unplanned) / 2.0, "{planned:?}");
    }
}
