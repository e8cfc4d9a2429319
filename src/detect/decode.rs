//! Secrets written in an encoding: percent-encoded (`%7E` for `~` in URLs and logs), JSON
//! `\u007e` escapes, and base64 (Kubernetes `data:`, `.env` files stored encoded). The detector
//! searches for a few trigger literals alongside the rules' keywords; around each trigger this
//! module finds the encoded run, decodes it, and maps positions in the decoded text back to the
//! original bytes. Rules then run on the decoded text as on any other.

use std::sync::LazyLock;

use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use serde::{Deserialize, Serialize};

/// How a secret was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Encoding {
    /// Percent-encoding (`%7E`).
    Percent,
    /// JSON `\uXXXX` escapes.
    JsonEscape,
    /// Standard base64.
    Base64,
    /// Split into string literals joined by `+`, `.`, `&` or `..` (or adjacent literals).
    Concat,
}

impl Encoding {
    /// Short name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Percent => "percent",
            Encoding::JsonEscape => "json-escape",
            Encoding::Base64 => "base64",
            Encoding::Concat => "concat",
        }
    }
}

/// Markers of current and 7Q~ secrets, whose base64 forms are the base64 triggers.
const MARKERS: [&[u8; 3]; 2] = [b"8Q~", b"7Q~"];

/// The longest encoded run decoded around one trigger, in bytes each way.
const MAX_REACH: usize = 2048;

/// Every trigger literal with the encoding it signals.
pub fn triggers() -> Vec<(Vec<u8>, Encoding)> {
    let mut out = vec![
        (b"%7E".to_vec(), Encoding::Percent),
        (b"%7e".to_vec(), Encoding::Percent),
        (b"\\u007e".to_vec(), Encoding::JsonEscape),
        (b"\\u007E".to_vec(), Encoding::JsonEscape),
    ];
    for marker in MARKERS {
        for signature in base64_signatures(marker) {
            out.push((signature, Encoding::Base64));
        }
    }
    out
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
}

fn is_url_run(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'~' | b'-' | b'%')
}

fn is_escape_run(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'~' | b'-' | b'\\')
}

fn is_base64_run(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')
}

fn is_base64_body(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/')
}

/// The run of bytes around `at`, extending left while `left` holds and right while `right`
/// holds, at most [`MAX_REACH`] bytes each way.
fn run_around(
    hay: &[u8],
    at: usize,
    left: fn(u8) -> bool,
    right: fn(u8) -> bool,
) -> (usize, usize) {
    let floor = at.saturating_sub(MAX_REACH);
    let mut start = at;
    while start > floor && left(hay[start - 1]) {
        start -= 1;
    }
    let ceiling = (at + MAX_REACH).min(hay.len());
    let mut end = at;
    while end < ceiling && right(hay[end]) {
        end += 1;
    }
    (start, end)
}

/// The encoded run around a trigger at `at`, as a span of `hay`.
pub fn run(hay: &[u8], at: usize, encoding: Encoding) -> (usize, usize) {
    match encoding {
        Encoding::Percent => run_around(hay, at, is_url_run, is_url_run),
        Encoding::JsonEscape => run_around(hay, at, is_escape_run, is_escape_run),
        // Padding ends a base64 string: `KEY_B64=...` must not pull `B64=` into the run.
        Encoding::Base64 => {
            let (start, end) = run_around(hay, at, is_base64_body, is_base64_run);
            // A run longer than MAX_REACH was cut on the left: its start is not the string's,
            // so find the 4-character groups again, from the marker the trigger signals.
            if start > 0 && is_base64_body(hay[start - 1]) {
                let shift = (0..4).find(|&s| marker_decodes(hay, start + s, end, at));
                return (start + shift.unwrap_or(0), end);
            }
            (start, end)
        }
        // The literals are found by `decode`; the run is just the marker's own literal.
        Encoding::Concat => run_around(hay, at, is_secret_char, is_secret_char),
    }
}

/// Whether decoding in 4-character groups counted from `start` turns the base64 around `at`
/// (in `start..end`) into a secret marker.
fn marker_decodes(hay: &[u8], start: usize, end: usize, at: usize) -> bool {
    if at < start {
        return false;
    }
    let group = start + (at - start) / 4 * 4;
    let from = group.saturating_sub(4).max(start);
    let to = (group + 8).min(end);
    if to <= from {
        return false;
    }
    let chunk = &hay[from..from + (to - from) / 4 * 4];
    BASE64.decode(chunk).is_ok_and(|bytes| {
        MARKERS.iter().any(|m| bytes.windows(m.len()).any(|w| w == m.as_slice()))
    })
}

/// Decodes `hay[start..end]`; `None` if it does not decode to anything new.
pub fn decode(hay: &[u8], (start, end): (usize, usize), encoding: Encoding) -> Option<Decoded> {
    match encoding {
        Encoding::Percent => unescape(hay, start, end, b"%", 2),
        Encoding::JsonEscape => unescape(hay, start, end, b"\\u", 4),
        Encoding::Base64 => decode_base64(hay, start, end),
        Encoding::Concat => join_literals(hay, start, end),
    }
}

fn is_secret_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'~' | b'-')
}

fn is_quote(b: u8) -> bool {
    matches!(b, b'"' | b'\'' | b'`')
}

/// Longest literal piece and most pieces joined, and the most bytes between two pieces.
const MAX_PIECE: usize = 64;
const MAX_PIECES: usize = 6;
const MAX_GAP: usize = 16;

/// The string literal whose contents are `hay[start..end]`, with the literals concatenated to
/// it on either side (`"abc8Q~" + "rest"`, `'abc' . '8Q~...'`, `"a" & "b"`, adjacent literals),
/// joined. `None` unless at least two literals were joined.
fn join_literals(hay: &[u8], start: usize, end: usize) -> Option<Decoded> {
    if start == 0 || end >= hay.len() || !is_quote(hay[start - 1]) || hay[end] != hay[start - 1] {
        return None;
    }
    let mut pieces = vec![(start, end)];
    // Forward: CLOSE gap OPEN piece CLOSE ...
    let mut pos = end + 1;
    while pieces.len() < MAX_PIECES {
        let Some(open) = skip_joiner(hay, pos, true) else { break };
        let quote = hay[open];
        let body = open + 1;
        let close = (body..hay.len().min(body + MAX_PIECE + 1)).find(|&i| !is_secret_char(hay[i]));
        match close {
            Some(close) if hay[close] == quote && close > body => {
                pieces.push((body, close));
                pos = close + 1;
            }
            _ => break,
        }
    }
    // Backward: ... OPEN piece CLOSE gap OPEN(start - 1)
    let mut pos = start - 1;
    while pieces.len() < MAX_PIECES {
        let Some(close) = skip_joiner(hay, pos, false) else { break };
        let quote = hay[close];
        let floor = close.saturating_sub(MAX_PIECE + 1);
        let open = (floor..close).rev().find(|&i| !is_secret_char(hay[i]));
        match open {
            Some(open) if hay[open] == quote && open + 1 < close => {
                pieces.insert(0, (open + 1, close));
                pos = open;
            }
            _ => break,
        }
    }
    if pieces.len() < 2 {
        return None;
    }
    let mut bytes = Vec::new();
    let mut origin = Vec::new();
    for &(s, e) in &pieces {
        bytes.extend_from_slice(&hay[s..e]);
        origin.extend(s..e);
    }
    origin.push(pieces[pieces.len() - 1].1);
    Some(Decoded { bytes, origin })
}

/// From `pos` (just after a closing quote when `forward`, or at an opening quote when not),
/// skips whitespace and one joining operator (`+`, `.`, `..`, `&`, or none between adjacent
/// literals) and returns the position of the next literal's quote.
fn skip_joiner(hay: &[u8], pos: usize, forward: bool) -> Option<usize> {
    let gap: Vec<usize> = if forward {
        (pos..hay.len().min(pos + MAX_GAP)).collect()
    } else {
        (pos.saturating_sub(MAX_GAP)..pos).rev().collect()
    };
    let mut operators = 0;
    let mut spaces = 0;
    for i in gap {
        match hay[i] {
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
    fn percent_runs_decode_with_origins() {
        let hay = b"secret=ab%7Ecd&x=1";
        let span = run(hay, 9, Encoding::Percent);
        assert_eq!(span, (7, 14));
        let d = decode(hay, (7, 14), Encoding::Percent).expect("decodes");
        assert_eq!(d.bytes, b"ab~cd");
        assert_eq!(d.original_span(2, 3), (9, 12));
        assert_eq!(d.original_span(0, 5), (7, 14));
    }

    #[test]
    fn json_escapes_decode() {
        let hay = br#""abc8Q\u007edef""#;
        let d = decode(hay, (1, hay.len() - 1), Encoding::JsonEscape).expect("decodes");
        assert_eq!(d.bytes, b"abc8Q~def");
    }

    #[test]
    fn concatenated_literals_are_joined() {
        let hay = br#"secret = "abc8Q~defg" + 'hij' .
            "klm";"#;
        let at = 13;
        let span = run(hay, at, Encoding::Concat);
        let d = decode(hay, span, Encoding::Concat).expect("joins");
        assert_eq!(d.bytes, b"abc8Q~defghijklm");
        assert_eq!(d.original_span(0, 3), (10, 13));
        let before = br#"x = "ab" + "c8Q~def""#;
        let span = run(before, 14, Encoding::Concat);
        assert_eq!(decode(before, span, Encoding::Concat).expect("joins").bytes, b"abc8Q~def");
        assert!(decode(b"\"abc8Q~def\", \"x\"", (1, 10), Encoding::Concat).is_none());
    }

    #[test]
    fn base64_run_stops_at_an_assignment() {
        let hay = b"SECRET_B64=cG5ROFF+Q2hv==\n";
        assert_eq!(run(hay, 15, Encoding::Base64), (11, 25));
    }

    #[test]
    fn base64_decodes_with_or_without_padding() {
        let encoded = base64::engine::general_purpose::STANDARD.encode("hello world!?");
        let d = decode(encoded.as_bytes(), (0, encoded.len()), Encoding::Base64).expect("decodes");
        assert_eq!(d.bytes, b"hello world!?");
        assert_eq!(*d.origin.last().expect("end"), encoded.trim_end_matches('=').len());
    }
}
