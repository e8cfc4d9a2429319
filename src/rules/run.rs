//! What a rule's secret must look like, read from its regex: every match of the secret group is
//! a run of at least `min` bytes, all of one byte class (`[^\s"'<>;,|\\]{32,44}` is a run of 32
//! bytes that are not delimiters). A keyword window with no such run cannot hold a match, so the
//! detector passes over it without running the regex: in SDK code most `key`, `secret` and
//! `password` hits name a value that is a variable, a call or a short word.
//!
//! The run is derived from the pattern itself, never declared, so it cannot disagree with it.

use regex_syntax::hir::{Class, Hir, HirKind};

/// Runs shorter than this are not worth checking: they occur nearly everywhere.
const MIN_USEFUL: usize = 12;

/// A run of `min` bytes of `class` that every secret the rule finds consists of.
#[derive(Debug, Clone)]
pub struct ValueRun {
    class: [bool; 256],
    min: usize,
}

impl ValueRun {
    /// The run the capture group `group` of `pattern` always matches, if it is long enough to
    /// tell windows apart. `None` when the pattern cannot be analysed (it compiled already, so
    /// this only loses the shortcut).
    pub(crate) fn of(pattern: &str, group: usize) -> Option<ValueRun> {
        let hir = regex_syntax::ParserBuilder::new()
            .utf8(false)
            .unicode(false)
            .build()
            .parse(pattern)
            .ok()?;
        let secret = find_capture(&hir, group)?;
        let (class, min) = run(secret);
        (min >= MIN_USEFUL).then_some(ValueRun { class, min })
    }

    /// The fewest bytes of the run.
    pub fn min(&self) -> usize {
        self.min
    }

    /// Whether `bytes` hold `min` consecutive bytes of the class. Probes every `min`-th byte
    /// and measures the run around a probe that is in the class, so it reads a fraction of
    /// the bytes where runs are short.
    pub fn occurs_in(&self, bytes: &[u8]) -> bool {
        let (class, min) = (&self.class, self.min);
        // No run of `min` starts before `from` unless it covers the probe at `from + min - 1`.
        let mut from = 0;
        let mut probe = min - 1;
        while probe < bytes.len() {
            if !class[bytes[probe] as usize] {
                from = probe + 1;
                probe = from + min - 1;
                continue;
            }
            let mut start = probe;
            while start > from && class[bytes[start - 1] as usize] {
                start -= 1;
            }
            let mut end = probe + 1;
            while end < bytes.len() && end - start < min && class[bytes[end] as usize] {
                end += 1;
            }
            if end - start >= min {
                return true;
            }
            from = end + 1;
            probe = from + min - 1;
        }
        false
    }
}

fn find_capture(hir: &Hir, group: usize) -> Option<&Hir> {
    match hir.kind() {
        HirKind::Capture(c) if c.index as usize == group => Some(&c.sub),
        HirKind::Capture(c) => find_capture(&c.sub, group),
        HirKind::Repetition(r) => find_capture(&r.sub, group),
        HirKind::Concat(subs) | HirKind::Alternation(subs) => {
            subs.iter().find_map(|s| find_capture(s, group))
        }
        HirKind::Empty | HirKind::Literal(_) | HirKind::Class(_) | HirKind::Look(_) => None,
    }
}

/// The bytes every match of `hir` is made of, and the fewest of them it has.
fn run(hir: &Hir) -> ([bool; 256], usize) {
    let mut class = [false; 256];
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => (class, 0),
        HirKind::Literal(lit) => {
            for &b in lit.0.iter() {
                class[b as usize] = true;
            }
            (class, lit.0.len())
        }
        HirKind::Class(Class::Bytes(set)) => {
            for r in set.ranges() {
                for b in r.start()..=r.end() {
                    class[b as usize] = true;
                }
            }
            (class, 1)
        }
        HirKind::Class(Class::Unicode(set)) => {
            // Not produced with Unicode off; if it were, any non-ASCII byte may be part of it.
            for r in set.ranges() {
                for c in r.start()..=r.end().min('\u{7f}') {
                    class[c as usize] = true;
                }
                if r.end() > '\u{7f}' {
                    class[0x80..].fill(true);
                }
            }
            (class, 1)
        }
        HirKind::Repetition(r) => {
            let (class, min) = run(&r.sub);
            (class, min.saturating_mul(r.min as usize))
        }
        HirKind::Capture(c) => run(&c.sub),
        HirKind::Concat(subs) => {
            let mut total = 0usize;
            for sub in subs {
                let (c, min) = run(sub);
                union(&mut class, &c);
                total = total.saturating_add(min);
            }
            (class, total)
        }
        HirKind::Alternation(subs) => {
            let mut least = usize::MAX;
            for sub in subs {
                let (c, min) = run(sub);
                union(&mut class, &c);
                least = least.min(min);
            }
            (class, if subs.is_empty() { 0 } else { least })
        }
    }
}

fn union(into: &mut [bool; 256], from: &[bool; 256]) {
    for (a, b) in into.iter_mut().zip(from) {
        *a |= *b;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_of(pattern: &str) -> Option<(Vec<u8>, usize)> {
        ValueRun::of(pattern, 1).map(|r| {
            let bytes = (0..=255u8).filter(|&b| r.class[b as usize]).collect();
            (bytes, r.min)
        })
    }

    #[test]
    fn the_run_is_read_from_the_secret_group() {
        let (class, min) = run_of(r#"key\s*=\s*"?([^\s"'<>]{32,44})"#).unwrap();
        assert_eq!(min, 32);
        assert!(class.contains(&b'a') && class.contains(&b'~'));
        assert!(!class.contains(&b' ') && !class.contains(&b'"') && !class.contains(&b'<'));
        // Case folding widens the class; an alternation takes its shortest branch.
        let (class, min) = run_of(r"(?i)x([a-f]{20}(?:zz|q))").unwrap();
        assert_eq!(min, 21);
        assert!(class.contains(&b'A') && class.contains(&b'Z') && class.contains(&b'Q'));
        // A named group is found among others.
        let r = ValueRun::of(r"(a+)=(?P<secret>[0-9]{16})", 2).unwrap();
        assert_eq!(r.min, 16);
    }

    #[test]
    fn short_or_optional_secrets_give_no_run() {
        assert!(run_of(r"key=([a-z]{4,44})").is_none());
        assert!(run_of(r"key=([a-z]*)").is_none());
    }

    #[test]
    fn a_run_is_found_wherever_it_lies() {
        let r = ValueRun::of(r"=([a-z]{12,})", 1).unwrap();
        let twelve = "abcdefghijkl";
        for before in 0..30 {
            for after in 0..30 {
                let text = format!("{}{twelve}{}", "x y ".repeat(before / 4), " .".repeat(after));
                assert!(r.occurs_in(text.as_bytes()), "{text:?}");
                let short = text.replacen("l", " ", 1);
                assert!(!r.occurs_in(short.as_bytes()), "{short:?}");
            }
        }
        assert!(!r.occurs_in(b""));
        assert!(r.occurs_in("z".repeat(40).as_bytes()));
        assert!(!r.occurs_in("abcdefghijk abcdefghijk.".as_bytes()));
    }
}
