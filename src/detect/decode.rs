//! Secrets written in an encoding: percent-encoded (`%7E` for `~` in URLs and logs), JSON
//! `\u007e` escapes, and base64 (Kubernetes `data:`, `.env` files stored encoded). The detector
//! searches for a few trigger literals alongside the rules' keywords; around each trigger this
//! module finds the whole encoded run, decodes it, and maps positions in the decoded text back
//! to the original bytes. Rules then run on the decoded text as on any other.
//!
//! Decoding is linear in the input: a run is decoded once however many triggers it holds (the
//! detector skips triggers inside the last run of their encoding, and a run never reaches back
//! past the previous one), and a per-blob [`Budget`] bounds what all encodings decode together.

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};

use crate::rules::Rule;

pub use crate::rules::Encoding;

/// Encoded bytes a blob may have decoded, as a multiple of its size...
const BUDGET_PER_BYTE: usize = 2;
/// ... plus this many bytes, so that small files are never cut short.
const BUDGET_BASE: usize = 256 * 1024;

/// How many encoded bytes one blob may still have decoded. Each encoded run is decoded once,
/// so a blob's runs of one encoding add up to at most its size; the budget bounds the rest
/// (runs of several encodings over the same bytes) so that decoding stays linear in the blob.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    left: usize,
}

impl Budget {
    /// The budget of a blob of `len` bytes: twice its size plus 256 KiB.
    pub fn for_blob(len: usize) -> Budget {
        Budget { left: len.saturating_mul(BUDGET_PER_BYTE).saturating_add(BUDGET_BASE) }
    }

    /// Takes `bytes` from the budget; `false` (and nothing taken) if that would overspend it.
    pub fn spend(&mut self, bytes: usize) -> bool {
        match self.left.checked_sub(bytes) {
            Some(left) => {
                self.left = left;
                true
            }
            None => false,
        }
    }
}

/// The trigger literals of a set of rules, each with the encoding it signals: for every marker
/// of a rule ([`Rule::decodes`](crate::rules::Rule::decodes)), its base64 signatures at the
/// three alignments, and the percent (`%7E`, `%7e`) and JSON (`\u007e`, `\u007E`) escapes of
/// its non-alphanumeric bytes. Sorted, without duplicates.
pub fn triggers<'a>(rules: impl IntoIterator<Item = &'a Rule>) -> Vec<(Vec<u8>, Encoding)> {
    let mut out = Vec::new();
    for rule in rules {
        for marker in &rule.syntax.encoded_markers {
            let special = marker.bytes().filter(|b| !b.is_ascii_alphanumeric());
            for b in special {
                if rule.decodes(Encoding::Percent) {
                    out.push((format!("%{b:02X}").into_bytes(), Encoding::Percent));
                    out.push((format!("%{b:02x}").into_bytes(), Encoding::Percent));
                }
                if rule.decodes(Encoding::JsonEscape) {
                    out.push((format!("\\u{b:04x}").into_bytes(), Encoding::JsonEscape));
                    out.push((format!("\\u{b:04X}").into_bytes(), Encoding::JsonEscape));
                }
            }
            if rule.decodes(Encoding::Base64) {
                for signature in base64_signatures(marker.as_bytes()) {
                    out.push((signature, Encoding::Base64));
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The markers whose string literals are joined with the literals concatenated to them.
#[derive(Debug, Clone)]
pub struct Markers {
    finder: Option<AhoCorasick>,
    literals: Vec<Vec<u8>>,
}

impl Markers {
    /// The markers of the rules that ask for split-literal joining.
    pub fn of<'a>(rules: impl IntoIterator<Item = &'a Rule>) -> Markers {
        Markers::from_literals(
            rules
                .into_iter()
                .filter(|r| r.decodes(Encoding::Concat))
                .flat_map(|r| r.syntax.encoded_markers.iter().map(|m| m.as_bytes().to_vec())),
        )
    }

    /// These literals as markers.
    pub fn from_literals(literals: impl IntoIterator<Item = Vec<u8>>) -> Markers {
        let mut literals: Vec<Vec<u8>> = literals.into_iter().collect();
        literals.sort();
        literals.dedup();
        let finder = (!literals.is_empty())
            .then(|| AhoCorasick::new(&literals).expect("marker automaton within size limits"));
        Markers { finder, literals }
    }

    /// The marker literals, sorted.
    pub fn literals(&self) -> &[Vec<u8>] {
        &self.literals
    }

    /// Whether `bytes` holds a marker.
    pub fn found_in(&self, bytes: &[u8]) -> bool {
        self.finder.as_ref().is_some_and(|f| f.is_match(bytes))
    }
}

/// The base64 characters that depend only on `literal`, for each of the 3 alignments it can
/// have in the encoded data (the trick behind searching base64 for a known word).
fn base64_signatures(literal: &[u8]) -> Vec<Vec<u8>> {
    (0..3)
        .map(|align| {
            let mut bytes = vec![0u8; align];
            bytes.extend_from_slice(literal);
            bytes.resize(bytes.len().div_ceil(3) * 3 + 3, 0);
            let encoded = base64::engine::general_purpose::STANDARD.encode(&bytes);
            let (first_bit, end_bit) = (8 * align, 8 * (align + literal.len()));
            let chars: Vec<u8> = (0..encoded.len())
                .filter(|i| 6 * i >= first_bit && 6 * i + 6 <= end_bit)
                .map(|i| encoded.as_bytes()[i])
                .collect();
            chars
        })
        .collect()
}

/// Text decoded from an encoded run, with the original offset of every decoded byte.
pub struct Decoded {
    /// The decoded bytes.
    pub bytes: Vec<u8>,
    /// For each decoded byte, the offset in the original buffer where its encoding starts; one
    /// extra entry holds the end of the run.
    pub origin: Vec<usize>,
}

impl Decoded {
    /// Original span of the decoded span `start..end`.
    pub fn original_span(&self, start: usize, end: usize) -> (usize, usize) {
        (self.origin[start], self.origin[end])
    }

    /// The span of the original buffer that was decoded.
    pub fn extent(&self) -> (usize, usize) {
        (self.origin.first().copied().unwrap_or(0), self.origin.last().copied().unwrap_or(0))
    }
}

fn is_url_run(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'~' | b'-' | b'%')
}

fn is_escape_run(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'~' | b'-' | b'\\')
}

fn is_base64_body(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/')
}

/// The run of bytes around `at`, extending left while `left` holds (but not below `floor`) and
/// right while `right` holds.
fn run_around(
    hay: &[u8],
    at: usize,
    floor: usize,
    left: fn(u8) -> bool,
    right: fn(u8) -> bool,
) -> (usize, usize) {
    let at = at.min(hay.len());
    let lo = floor.min(at);
    let start = hay[lo..at].iter().rposition(|&b| !left(b)).map_or(lo, |i| lo + i + 1);
    let end = hay[at..].iter().position(|&b| !right(b)).map_or(hay.len(), |i| at + i);
    (start, end)
}

/// The whole encoded run around a trigger at `at`, as a span of `hay`, starting no lower than
/// `floor` (the end of the previous run of this encoding, so that no byte is visited twice).
pub fn run(hay: &[u8], at: usize, encoding: Encoding, floor: usize) -> (usize, usize) {
    match encoding {
        Encoding::Percent => run_around(hay, at, floor, is_url_run, is_url_run),
        Encoding::JsonEscape => run_around(hay, at, floor, is_escape_run, is_escape_run),
        // Padding ends a base64 string: `KEY_B64=...` must not pull `B64=` into the run, and
        // the run ends after at most two `=`.
        Encoding::Base64 => {
            let (start, body_end) = run_around(hay, at, floor, is_base64_body, is_base64_body);
            let pad = hay[body_end..].iter().take(2).take_while(|&&b| b == b'=').count();
            (start, body_end + pad)
        }
        // The literals are found by `decode`; the run is just the marker's own literal.
        Encoding::Concat => run_around(hay, at, floor, is_secret_char, is_secret_char),
    }
}

/// Decodes `hay[start..end]`; `None` if it does not decode to anything new.
/// `markers` tell which joined literals hold a secret marker.
pub fn decode(
    hay: &[u8],
    (start, end): (usize, usize),
    encoding: Encoding,
    markers: &Markers,
) -> Option<Decoded> {
    match encoding {
        Encoding::Percent => unescape(hay, start, end, b"%", 2),
        Encoding::JsonEscape => unescape(hay, start, end, b"\\u", 4),
        Encoding::Base64 => decode_base64(hay, start, end),
        Encoding::Concat => join_literals(hay, start, end, markers),
    }
}

fn is_secret_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'~' | b'-')
}

fn is_quote(b: u8) -> bool {
    matches!(b, b'"' | b'\'' | b'`')
}

/// Longest literal piece, how many pieces are joined on either side of a piece holding a
/// secret marker, and the most bytes between two pieces.
const MAX_PIECE: usize = 64;
const MAX_PIECES_AROUND: usize = 5;
const MAX_GAP: usize = 16;

/// The string literal whose contents are `hay[start..end]`, with the literals concatenated to
/// it on either side (`"abc8Q~" + "rest"`, `'abc' . '8Q~...'`, `"a" & "b"`, adjacent literals),
/// joined: up to [`MAX_PIECES_AROUND`] literals before the first and after the last literal that
/// holds a secret marker, so a chain of literals is joined once, whatever its length. `None`
/// unless at least two literals were joined.
fn join_literals(hay: &[u8], start: usize, end: usize, markers: &Markers) -> Option<Decoded> {
    if start == 0 || end >= hay.len() || !is_quote(hay[start - 1]) || hay[end] != hay[start - 1] {
        return None;
    }
    let mut after = Vec::new();
    // Forward: CLOSE gap OPEN piece CLOSE ...
    let mut pos = end + 1;
    let mut since_marker = 0;
    while since_marker < MAX_PIECES_AROUND {
        let Some(open) = skip_joiner(hay, pos, true) else { break };
        let quote = hay[open];
        let body = open + 1;
        let close = (body..hay.len().min(body + MAX_PIECE + 1)).find(|&i| !is_secret_char(hay[i]));
        match close {
            Some(close) if hay[close] == quote && close > body => {
                after.push((body, close));
                pos = close + 1;
                since_marker =
                    if markers.found_in(&hay[body..close]) { 0 } else { since_marker + 1 };
            }
            _ => break,
        }
    }
    // Backward: ... OPEN piece CLOSE gap OPEN(start - 1)
    let mut before = Vec::new();
    let mut pos = start - 1;
    while before.len() < MAX_PIECES_AROUND {
        let Some(close) = skip_joiner(hay, pos, false) else { break };
        let quote = hay[close];
        let floor = close.saturating_sub(MAX_PIECE + 1);
        let open = (floor..close).rev().find(|&i| !is_secret_char(hay[i]));
        match open {
            Some(open) if hay[open] == quote && open + 1 < close => {
                before.push((open + 1, close));
                pos = open;
            }
            _ => break,
        }
    }
    if before.is_empty() && after.is_empty() {
        return None;
    }
    let marker = [(start, end)];
    let pieces = before.iter().rev().chain(&marker).chain(&after);
    let mut bytes = Vec::new();
    let mut origin = Vec::new();
    let mut last = end;
    for &(s, e) in pieces {
        bytes.extend_from_slice(&hay[s..e]);
        origin.extend(s..e);
        last = e;
    }
    origin.push(last);
    Some(Decoded { bytes, origin })
}

/// From `pos` (just after a closing quote when `forward`, or at an opening quote when not),
/// skips whitespace and one joining operator (`+`, `.`, `..`, `&`, or none between adjacent
/// literals) and returns the position of the next literal's quote.
fn skip_joiner(hay: &[u8], pos: usize, forward: bool) -> Option<usize> {
    let mut operators = 0;
    let mut spaces = 0;
    for step in 0..MAX_GAP {
        let i = if forward { pos + step } else { pos.checked_sub(step + 1)? };
        match *hay.get(i)? {
            b' ' | b'\t' | b'\r' | b'\n' => spaces += 1,
            b'+' | b'.' | b'&' => operators += 1,
            b if is_quote(b) => {
                let adjacent_ok = operators > 0 || spaces > 0;
                return (operators <= 2 && adjacent_ok).then_some(i);
            }
            _ => return None,
        }
    }
    None
}

/// Replaces `PREFIX` + `digits` hex digits by the byte they encode (ASCII only).
fn unescape(hay: &[u8], start: usize, end: usize, prefix: &[u8], digits: usize) -> Option<Decoded> {
    let mut bytes = Vec::with_capacity(end - start);
    let mut origin = Vec::with_capacity(end - start + 1);
    let mut i = start;
    let mut changed = false;
    while i < end {
        let escape = &hay[i..end];
        if escape.starts_with(prefix) && escape.len() >= prefix.len() + digits {
            let hex = &escape[prefix.len()..prefix.len() + digits];
            if let Some(value) =
                std::str::from_utf8(hex).ok().and_then(|h| u32::from_str_radix(h, 16).ok())
            {
                if value < 0x80 {
                    bytes.push(value as u8);
                    origin.push(i);
                    i += prefix.len() + digits;
                    changed = true;
                    continue;
                }
            }
        }
        bytes.push(hay[i]);
        origin.push(i);
        i += 1;
    }
    origin.push(end);
    changed.then_some(Decoded { bytes, origin })
}

static BASE64: LazyLock<GeneralPurpose> = LazyLock::new(|| {
    GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    )
});

/// Decodes a base64 run; each decoded byte maps to the start of its 4-character group.
fn decode_base64(hay: &[u8], start: usize, end: usize) -> Option<Decoded> {
    let text = &hay[start..end];
    let body_len = text.iter().position(|&b| b == b'=').unwrap_or(text.len());
    let usable = body_len - body_len % 4 + if body_len % 4 >= 2 { body_len % 4 } else { 0 };
    if usable < 8 {
        return None;
    }
    let bytes = BASE64.decode(&text[..usable]).ok()?;
    let mut origin: Vec<usize> = (0..bytes.len()).map(|i| start + (i / 3) * 4 + (i % 3)).collect();
    origin.push(start + usable);
    Some(Decoded { bytes, origin })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn markers() -> Markers {
        Markers::from_literals([b"8Q~".to_vec(), b"7Q~".to_vec()])
    }

    #[test]
    fn base64_signatures_cover_every_alignment() {
        let sigs = base64_signatures(b"8Q~");
        assert_eq!(sigs[0], b"OFF+");
        for prefix in ["", "a", "ab", "abc", "abcd"] {
            let text = format!("{prefix}zzz8Q~zzzz");
            let encoded = base64::engine::general_purpose::STANDARD.encode(text);
            assert!(
                sigs.iter().any(|s| encoded.as_bytes().windows(s.len()).any(|w| w == s.as_slice())),
                "{prefix:?}: {encoded}"
            );
        }
    }

    #[test]
    fn the_builtin_rules_trigger_what_was_once_hard_coded() {
        let rules = crate::rules::RuleSet::builtin().expect("built-in rules");
        let mut expected = vec![
            (b"%7E".to_vec(), Encoding::Percent),
            (b"%7e".to_vec(), Encoding::Percent),
            (b"\\u007e".to_vec(), Encoding::JsonEscape),
            (b"\\u007E".to_vec(), Encoding::JsonEscape),
        ];
        for marker in [b"8Q~", b"7Q~"] {
            expected.extend(base64_signatures(marker).into_iter().map(|s| (s, Encoding::Base64)));
        }
        expected.sort();
        expected.dedup();
        assert_eq!(triggers(rules.iter()), expected);
        let markers = Markers::of(rules.iter());
        let digits: Vec<Vec<u8>> = (b'0'..=b'9').map(|d| vec![d, b'Q', b'~']).collect();
        assert_eq!(markers.literals(), digits.as_slice());
    }

    #[test]
    fn percent_runs_decode_with_origins() {
        let hay = b"secret=ab%7Ecd&x=1";
        let span = run(hay, 9, Encoding::Percent, 0);
        assert_eq!(span, (7, 14));
        let d = decode(hay, (7, 14), Encoding::Percent, &markers()).expect("decodes");
        assert_eq!(d.bytes, b"ab~cd");
        assert_eq!(d.original_span(2, 3), (9, 12));
        assert_eq!(d.original_span(0, 5), (7, 14));
    }

    #[test]
    fn json_escapes_decode() {
        let hay = br#""abc8Q\u007edef""#;
        let d = decode(hay, (1, hay.len() - 1), Encoding::JsonEscape, &markers()).expect("decodes");
        assert_eq!(d.bytes, b"abc8Q~def");
    }

    #[test]
    fn concatenated_literals_are_joined() {
        let hay = br#"secret = "abc8Q~defg" + 'hij' .
            "klm";"#;
        let at = 13;
        let span = run(hay, at, Encoding::Concat, 0);
        let d = decode(hay, span, Encoding::Concat, &markers()).expect("joins");
        assert_eq!(d.bytes, b"abc8Q~defghijklm");
        assert_eq!(d.original_span(0, 3), (10, 13));
        let before = br#"x = "ab" + "c8Q~def""#;
        let span = run(before, 14, Encoding::Concat, 0);
        assert_eq!(
            decode(before, span, Encoding::Concat, &markers()).expect("joins").bytes,
            b"abc8Q~def"
        );
        assert!(decode(b"\"abc8Q~def\", \"x\"", (1, 10), Encoding::Concat, &markers()).is_none());
    }

    #[test]
    fn runs_never_reach_back_past_the_floor() {
        let hay = b"ab%7Ecd%7Eef";
        assert_eq!(run(hay, 2, Encoding::Percent, 0), (0, 12));
        assert_eq!(run(hay, 7, Encoding::Percent, 5), (5, 12));
    }

    #[test]
    fn the_budget_is_twice_the_blob_plus_a_constant() {
        let mut b = Budget::for_blob(1000);
        assert!(b.spend(2000 + BUDGET_BASE));
        assert!(!b.spend(1));
        assert!(b.spend(0));
    }

    #[test]
    fn a_chain_of_literals_with_markers_is_joined_whole() {
        let piece = "\"ab8Q~cd\"";
        let hay = vec![piece; 20].join(" + ");
        let d = decode(hay.as_bytes(), (1, 8), Encoding::Concat, &markers()).expect("joins");
        assert_eq!(d.bytes, "ab8Q~cd".repeat(20).as_bytes());
        assert_eq!(d.extent(), (1, hay.len() - 1));
    }

    #[test]
    fn base64_run_stops_at_an_assignment() {
        let hay = b"SECRET_B64=cG5ROFF+Q2hv==\n";
        assert_eq!(run(hay, 15, Encoding::Base64, 0), (11, 25));
    }

    #[test]
    fn base64_decodes_with_or_without_padding() {
        let encoded = base64::engine::general_purpose::STANDARD.encode("hello world!?");
        let d = decode(encoded.as_bytes(), (0, encoded.len()), Encoding::Base64, &markers())
            .expect("decodes");
        assert_eq!(d.bytes, b"hello world!?");
        assert_eq!(*d.origin.last().expect("end"), encoded.trim_end_matches('=').len());
    }
}
