//! Text encodings beyond UTF-8, for the scan's expanders: recognising UTF-16 (LE/BE, with a
//! BOM or from its NUL pattern) and UTF-32 (with a BOM) and decoding it to UTF-8, and pulling
//! `strings`-style runs of printable ASCII out of binary bytes, both as plain bytes and as
//! UTF-16LE (how .NET assemblies store string literals), each with its byte offset.
//!
//! Pure functions over byte slices; nothing here knows about files, rules or findings. The
//! caller maps a position in decoded text back through [`Decoded::offsets`] when it needs the
//! byte offset in the original.

use encoding_rs::{UTF_16BE, UTF_16LE};

/// A text encoding other than UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WideEncoding {
    /// UTF-16, little-endian.
    Utf16Le,
    /// UTF-16, big-endian.
    Utf16Be,
    /// UTF-32, little-endian (recognised only with a BOM).
    Utf32Le,
    /// UTF-32, big-endian (recognised only with a BOM).
    Utf32Be,
}

impl WideEncoding {
    /// Bytes per code unit.
    pub fn unit(self) -> usize {
        match self {
            WideEncoding::Utf16Le | WideEncoding::Utf16Be => 2,
            WideEncoding::Utf32Le | WideEncoding::Utf32Be => 4,
        }
    }
}

/// An encoding and how many BOM bytes precede the text (0 when detected from the NUL pattern).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detected {
    /// The encoding.
    pub encoding: WideEncoding,
    /// Length of the byte-order mark, 0 if there is none.
    pub bom_len: usize,
}

/// Recognises UTF-32 and UTF-16 by their BOM, or BOM-less UTF-16 of mostly-ASCII text by its
/// NUL pattern: in the first 4 KiB (at least 16 bytes), at least 90% of the odd (LE) or even
/// (BE) bytes are NUL and almost none of the others are, with no NUL pair on a code unit
/// boundary. Returns `None` for UTF-8, ASCII and binary data.
pub fn detect(bytes: &[u8]) -> Option<Detected> {
    let bom = |encoding, bom_len| Some(Detected { encoding, bom_len });
    // UTF-32 LE's BOM starts with UTF-16 LE's, so it is checked first.
    if bytes.starts_with(&[0xff, 0xfe, 0, 0]) {
        return bom(WideEncoding::Utf32Le, 4);
    }
    if bytes.starts_with(&[0, 0, 0xfe, 0xff]) {
        return bom(WideEncoding::Utf32Be, 4);
    }
    if bytes.starts_with(&[0xff, 0xfe]) {
        return bom(WideEncoding::Utf16Le, 2);
    }
    if bytes.starts_with(&[0xfe, 0xff]) {
        return bom(WideEncoding::Utf16Be, 2);
    }
    let sample = &bytes[..bytes.len().min(4096) & !1];
    if sample.len() < 16 {
        return None;
    }
    let units = sample.len() / 2;
    let (mut even_nul, mut odd_nul) = (0, 0);
    for pair in sample.chunks_exact(2) {
        match (pair[0] == 0, pair[1] == 0) {
            (true, true) => return None,
            (true, false) => even_nul += 1,
            (false, true) => odd_nul += 1,
            (false, false) => {}
        }
    }
    let mostly = |n: usize| n * 10 >= units * 9;
    let rarely = |n: usize| n * 50 <= units;
    let detected = |encoding| Some(Detected { encoding, bom_len: 0 });
    if mostly(odd_nul) && rarely(even_nul) {
        detected(WideEncoding::Utf16Le)
    } else if mostly(even_nul) && rarely(odd_nul) {
        detected(WideEncoding::Utf16Be)
    } else {
        None
    }
}

/// Text decoded to UTF-8, with the way back to the original bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The text; malformed sequences become U+FFFD.
    pub text: String,
    /// For each char of `text`, in order, the byte offset in the original where it starts.
    pub offsets: Vec<usize>,
}

impl Decoded {
    /// The byte offset in the original of the char that starts at `utf8_index` in `text`, or
    /// the original's length past the end.
    pub fn original_offset(&self, utf8_index: usize, original_len: usize) -> usize {
        let char_index = self.text[..utf8_index.min(self.text.len())].chars().count();
        self.offsets.get(char_index).copied().unwrap_or(original_len)
    }
}

/// Decodes `bytes` (BOM included or not, as `detected` says) to UTF-8.
pub fn decode(bytes: &[u8], detected: Detected) -> Decoded {
    let body = &bytes[detected.bom_len.min(bytes.len())..];
    let mut text = String::with_capacity(body.len() / detected.encoding.unit());
    let mut offsets = Vec::with_capacity(body.len() / detected.encoding.unit());
    match detected.encoding {
        WideEncoding::Utf16Le | WideEncoding::Utf16Be => {
            let le = detected.encoding == WideEncoding::Utf16Le;
            let units = body.chunks_exact(2).map(|p| {
                if le { u16::from_le_bytes([p[0], p[1]]) } else { u16::from_be_bytes([p[0], p[1]]) }
            });
            let mut at = detected.bom_len;
            for c in char::decode_utf16(units) {
                let (ch, width) = match c {
                    Ok(ch) => (ch, ch.len_utf16() * 2),
                    Err(_) => (char::REPLACEMENT_CHARACTER, 2),
                };
                text.push(ch);
                offsets.push(at);
                at += width;
            }
            if body.len() % 2 == 1 {
                text.push(char::REPLACEMENT_CHARACTER);
                offsets.push(at);
            }
        }
        WideEncoding::Utf32Le | WideEncoding::Utf32Be => {
            let le = detected.encoding == WideEncoding::Utf32Le;
            for (i, q) in body.chunks(4).enumerate() {
                let ch = <[u8; 4]>::try_from(q)
                    .ok()
                    .map(|q| if le { u32::from_le_bytes(q) } else { u32::from_be_bytes(q) })
                    .and_then(char::from_u32)
                    .unwrap_or(char::REPLACEMENT_CHARACTER);
                text.push(ch);
                offsets.push(detected.bom_len + i * 4);
            }
        }
    }
    Decoded { text, offsets }
}

/// Decodes UTF-16 with `encoding_rs` when no offsets are needed (faster: SIMD for ASCII).
pub fn decode_text(bytes: &[u8], detected: Detected) -> String {
    let body = &bytes[detected.bom_len.min(bytes.len())..];
    match detected.encoding {
        WideEncoding::Utf16Le => UTF_16LE.decode_without_bom_handling(body).0.into_owned(),
        WideEncoding::Utf16Be => UTF_16BE.decode_without_bom_handling(body).0.into_owned(),
        WideEncoding::Utf32Le | WideEncoding::Utf32Be => decode(bytes, detected).text,
    }
}

/// The shortest run [`ascii_runs`] and [`utf16le_runs`] report by default (as `strings -n 8`).
pub const MIN_RUN: usize = 8;

/// A run of printable text found in binary bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// Byte offset of the run's first byte in the input.
    pub offset: usize,
    /// The run's text (printable ASCII: space to `~`, and tab).
    pub text: String,
}

fn printable(b: u8) -> bool {
    (0x20..=0x7e).contains(&b) || b == b'\t'
}

/// Runs of at least `min_len` printable ASCII bytes, like `strings -n min_len`.
pub fn ascii_runs(bytes: &[u8], min_len: usize) -> Vec<Run> {
    let mut runs = Vec::new();
    let mut start = None;
    for (i, &b) in bytes.iter().chain(std::iter::once(&0)).enumerate() {
        match (printable(b) && i < bytes.len(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                if i - s >= min_len.max(1) {
                    let text = String::from_utf8_lossy(&bytes[s..i]).into_owned();
                    runs.push(Run { offset: s, text });
                }
                start = None;
            }
            _ => {}
        }
    }
    runs
}

/// Runs of at least `min_len` printable ASCII characters stored as UTF-16LE (`X\0X\0…`), like
/// `strings -el -n min_len`: how a .NET assembly's `#US` heap and most Windows binaries hold
/// string literals. Runs at both byte alignments are found.
pub fn utf16le_runs(bytes: &[u8], min_len: usize) -> Vec<Run> {
    let min_len = min_len.max(1);
    let mut runs = Vec::new();
    for align in 0..2 {
        let mut start: Option<usize> = None;
        let mut text = String::new();
        let mut i = align;
        loop {
            let unit = bytes.get(i..i + 2);
            let ch = unit.filter(|u| u[1] == 0 && printable(u[0])).map(|u| u[0]);
            match ch {
                Some(c) => {
                    start.get_or_insert(i);
                    text.push(char::from(c));
                }
                None => {
                    if let Some(s) = start.take() {
                        if text.len() >= min_len {
                            runs.push(Run { offset: s, text: std::mem::take(&mut text) });
                        }
                        text.clear();
                    }
                    if unit.is_none() {
                        break;
                    }
                }
            }
            i += 2;
        }
    }
    runs.sort_by_key(|r| r.offset);
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16le(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    fn utf16be(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_be_bytes).collect()
    }

    const TEXT: &str = "$secret = \"abc\"\r\nWrite-Host 'done'\r\n";

    #[test]
    fn bom_detection_and_decoding() {
        let mut le = vec![0xff, 0xfe];
        le.extend(utf16le(TEXT));
        let d = detect(&le).unwrap();
        assert_eq!(d, Detected { encoding: WideEncoding::Utf16Le, bom_len: 2 });
        assert_eq!(decode(&le, d).text, TEXT);
        assert_eq!(decode_text(&le, d), TEXT);

        let mut be = vec![0xfe, 0xff];
        be.extend(utf16be(TEXT));
        let d = detect(&be).unwrap();
        assert_eq!(d.encoding, WideEncoding::Utf16Be);
        assert_eq!(decode(&be, d).text, TEXT);
        assert_eq!(decode_text(&be, d), TEXT);

        let mut le32 = vec![0xff, 0xfe, 0, 0];
        le32.extend(TEXT.chars().flat_map(|c| (c as u32).to_le_bytes()));
        let d = detect(&le32).unwrap();
        assert_eq!(d, Detected { encoding: WideEncoding::Utf32Le, bom_len: 4 });
        assert_eq!(decode(&le32, d).text, TEXT);

        let mut be32 = vec![0, 0, 0xfe, 0xff];
        be32.extend(TEXT.chars().flat_map(|c| (c as u32).to_be_bytes()));
        assert_eq!(decode_text(&be32, detect(&be32).unwrap()), TEXT);
    }

    #[test]
    fn bomless_utf16_from_the_nul_pattern() {
        let le = utf16le(TEXT);
        assert_eq!(detect(&le), Some(Detected { encoding: WideEncoding::Utf16Le, bom_len: 0 }));
        let be = utf16be(TEXT);
        assert_eq!(detect(&be), Some(Detected { encoding: WideEncoding::Utf16Be, bom_len: 0 }));
        assert_eq!(decode(&be, detect(&be).unwrap()).text, TEXT);
    }

    #[test]
    fn utf8_ascii_and_binary_are_not_utf16() {
        assert_eq!(detect(TEXT.as_bytes()), None);
        assert_eq!(detect("naïve café ünïcödé text here".as_bytes()), None);
        assert_eq!(detect(&[0u8; 64]), None);
        let binary: Vec<u8> = (0..=255u8).cycle().take(1024).collect();
        assert_eq!(detect(&binary), None);
        assert_eq!(detect(&utf16le("short")), None); // too little to tell
    }

    #[test]
    fn offsets_map_back_to_the_original_bytes() {
        let mut le = vec![0xff, 0xfe];
        le.extend(utf16le("a😀b"));
        let d = decode(&le, detect(&le).unwrap());
        assert_eq!(d.text, "a😀b");
        assert_eq!(d.offsets, [2, 4, 8]);
        assert_eq!(d.original_offset("a😀".len(), le.len()), 8);
        assert_eq!(d.original_offset(d.text.len(), le.len()), le.len());
    }

    #[test]
    fn malformed_utf16_becomes_replacement_characters() {
        let mut bytes = vec![0xff, 0xfe];
        bytes.extend([0x00, 0xd8, b'x', 0]); // lone high surrogate, then 'x'
        bytes.push(b'!'); // odd trailing byte
        let d = decode(&bytes, detect(&bytes).unwrap());
        assert_eq!(d.text, "\u{fffd}x\u{fffd}");
    }

    #[test]
    fn ascii_runs_with_offsets() {
        let mut bin = vec![0u8, 1, 2];
        bin.extend(b"short\x00");
        bin.extend(b"ClientSecret=abc\x01\x02");
        bin.extend(b"tail run at end");
        let runs = ascii_runs(&bin, MIN_RUN);
        assert_eq!(
            runs,
            [
                Run { offset: 9, text: "ClientSecret=abc".into() },
                Run { offset: 27, text: "tail run at end".into() },
            ]
        );
    }

    #[test]
    fn utf16le_runs_as_in_a_dotnet_assembly() {
        // A #US heap entry: a length byte, the UTF-16LE string, a terminal flag byte.
        let literal = "Zk~8Q~abcdefghijklmnopqrstuvwxyz0123456";
        let mut dll = b"MZ\x90\x00\x03\x00".to_vec();
        dll.extend([0u8; 10]);
        dll.push((literal.len() * 2 + 1) as u8);
        let at = dll.len();
        dll.extend(utf16le(literal));
        dll.push(0);
        dll.extend(utf16le("tiny"));
        dll.extend([0xff, 0xff]);
        dll.push(0x41); // shift alignment by one
        let odd_at = dll.len();
        dll.extend(utf16le("OddAlignedString"));
        dll.extend([0xff, 0xff]);
        let runs = utf16le_runs(&dll, MIN_RUN);
        assert_eq!(
            runs,
            [
                Run { offset: at, text: literal.into() },
                Run { offset: odd_at, text: "OddAlignedString".into() },
            ]
        );
        // The same bytes as plain ASCII runs hold nothing of it.
        assert!(ascii_runs(&dll, MIN_RUN).iter().all(|r| !r.text.contains("8Q~")));
    }
}
