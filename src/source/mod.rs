//! Where bytes come from: the file-system walk (`fs`), standard input and git repositories
//! (`git`). Every source yields [`Blob`]s (bytes and their [`Origin`]) and what it reports
//! besides content: paths it skipped (with the reason) and paths or objects it could not read.
//! A source never sees the detector: it hands each blob to the scan stage through the
//! [`BlobScan`] trait (the scan stage implements it, ripgrep's `Sink` in reverse) and gets back
//! a [`Scanned`] value, findings, skips and errors. Also what every source shares about
//! content: whether bytes are text ([`classify`], which decodes UTF-16 and UTF-32 text to
//! UTF-8) and how a path is written in reports ([`display_path`], invalid UTF-8 escaped as
//! `\xFF`).

pub mod fs;
pub mod git;
mod ignores;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::finding::Finding;

/// Where a blob came from: a root (a file, standard input, a git blob, a staged index entry),
/// then, for a blob read out of an archive, the member path inside each enclosing archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A file of a directory walk, by its display path.
    File(String),
    /// Standard input (shown as `-`).
    Stdin,
    /// A git blob: the commit it is first seen in (short id) and its path there.
    Git {
        /// Short commit id.
        commit: String,
        /// Path in that commit's tree.
        path: String,
    },
    /// A staged index entry, by its path.
    Index(String),
    /// A member of the archive `0`, by its path inside that archive.
    Member(Box<Origin>, String),
}

impl Origin {
    /// The outermost path: the file, `-`, the git path or the index path.
    pub fn path(&self) -> &str {
        match self {
            Origin::File(p) | Origin::Index(p) | Origin::Git { path: p, .. } => p,
            Origin::Stdin => "-",
            Origin::Member(outer, _) => outer.path(),
        }
    }

    /// The member names from the outermost archive in, empty for a root.
    pub fn members(&self) -> Vec<&str> {
        let mut out = Vec::new();
        let mut at = self;
        while let Origin::Member(outer, name) = at {
            out.push(name.as_str());
            at = outer;
        }
        out.reverse();
        out
    }

    /// The member chain joined by `!` (`inner.zip!config/app.env`), `None` for a root.
    pub fn member(&self) -> Option<String> {
        matches!(self, Origin::Member(..)).then(|| self.members().join("!"))
    }

    /// This origin extended by a member of it.
    pub fn child(&self, name: impl Into<String>) -> Origin {
        Origin::Member(Box::new(self.clone()), name.into())
    }

    /// How messages (skips, errors) name it: `path`, `commit:path`, then `!member` for each
    /// member, e.g. `artifacts/release.zip!config/app.env`.
    pub fn label(&self) -> String {
        match self {
            Origin::Git { commit, path } => format!("{commit}:{path}"),
            Origin::Member(outer, name) => format!("{}!{name}", outer.label()),
            other => other.path().to_string(),
        }
    }
}

/// Bytes to scan and where they came from.
#[derive(Debug, Clone, Copy)]
pub struct Blob<'a> {
    /// The content, as read (not yet classified or decoded).
    pub bytes: &'a [u8],
    /// Where it came from.
    pub origin: &'a Origin,
}

/// What the scan stage gives back for one blob (and everything inside it).
#[derive(Debug, Default, Clone)]
pub struct Scanned {
    /// Findings, located in the blob (or in the member they are in).
    pub findings: Vec<Finding>,
    /// Blobs scanned: 1, plus the archive members read out of it.
    pub files: u64,
    /// Bytes scanned, archive members counted uncompressed.
    pub bytes: u64,
    /// Blobs or members not scanned (or not all of them), with the reason.
    pub skipped: Vec<Skipped>,
    /// Archives or members that could not be read.
    pub errors: Vec<ScanError>,
    /// 1 if this blob's bytes are those of a blob scanned before in this scan (directory
    /// scans dedup by content id): its result was reused, not scanned again.
    pub duplicates: u64,
}

/// The scan stage, as sources see it: each source hands it blobs, on its own worker threads
/// (one `Scratch` per thread), and never knows what is done with them.
pub trait BlobScan: Sync {
    /// Per-thread working space.
    type Scratch: Send;
    /// New working space for one thread.
    fn scratch(&self) -> Self::Scratch;
    /// Scans a blob and everything inside it (archives, UTF-16 text, binary strings).
    fn scan(&self, scratch: &mut Self::Scratch, blob: Blob<'_>) -> Scanned;
    /// Scans text that is not a file (a commit message, an author line) with the text rules:
    /// findings are placed in `text` and named `path`.
    fn scan_text(&self, scratch: &mut Self::Scratch, path: &str, text: &[u8]) -> Vec<Finding>;
    /// Scans the name `path[name]` of a file or directory ([`name_start`]).
    fn scan_name(
        &self,
        scratch: &mut Self::Scratch,
        path: &str,
        name: std::ops::Range<usize>,
    ) -> Vec<Finding>;
}

/// Why a path was not scanned. Skips are counted and listed, never silent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SkipReason {
    /// Binary content (not text in any encoding [`classify`] knows): scanned, but only for
    /// secrets that prove themselves (rules with a checksum), as raw bytes and as UTF-16LE
    /// strings. Counted with the files scanned too.
    Binary,
    /// Larger than `--max-file-size`.
    TooLarge,
    /// A symbolic link that leads back to one of its own parents.
    SymlinkLoop,
    /// A git submodule (history scans do not recurse into them).
    Submodule,
    /// Neither a regular file nor a directory (a socket, a FIFO, a device) met in a directory
    /// walk: never opened, since opening a FIFO can block forever.
    NotAFile,
    /// Ignored by a `.gitignore`, `.ignore` or git exclude file (an ignored directory counts
    /// once: it is not entered).
    Ignored,
    /// A symbolic link met in a directory walk without `--follow`.
    Symlink,
    /// Scanned only up to `--max-file-size` (standard input and other streams, which have no
    /// size to check first); the rest was not read.
    Truncated,
    /// Scanned as written, but decoding its encoded text (percent, JSON escapes, base64,
    /// joined literals) stopped when its decoding budget ran out: secrets written encoded
    /// further on may be missed.
    DecodeBudget,
    /// An encrypted archive member (azleak has no password).
    Encrypted,
    /// An archive member compressed with a method azleak cannot decode.
    UnsupportedCompression,
    /// An archive nested deeper than `--max-archive-depth`.
    ArchiveDepth,
    /// An archive (or member) stopped by a bomb limit: entries, member size, compression
    /// ratio, archive total or the run's budget of decompressed bytes.
    ArchiveLimit,
    /// A corrupt or truncated archive (or member) that failed to parse: the members read
    /// before (and, where the format allows, after) it are scanned; the detail names the
    /// parse error. Not an error: a truncated test fixture does not fail the scan.
    CorruptArchive,
}

impl SkipReason {
    /// Short human description.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Binary => "binary (checksum-verified secrets only)",
            SkipReason::TooLarge => "too large",
            SkipReason::SymlinkLoop => "symlink loop",
            SkipReason::Submodule => "submodule",
            SkipReason::NotAFile => "not a regular file",
            SkipReason::Ignored => "gitignored",
            SkipReason::Symlink => "symlink not followed",
            SkipReason::Truncated => "truncated at --max-file-size",
            SkipReason::DecodeBudget => "decoding budget exhausted",
            SkipReason::Encrypted => "encrypted archive member",
            SkipReason::UnsupportedCompression => "unsupported compression method",
            SkipReason::ArchiveDepth => "archive nested beyond --max-archive-depth",
            SkipReason::ArchiveLimit => "archive limit",
            SkipReason::CorruptArchive => "corrupt archive",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A path that was deliberately not scanned.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Skipped {
    /// The path (or `commit:path` / blob id in history scans), then `!member` for each archive
    /// member it is inside.
    pub path: String,
    /// Why.
    pub reason: SkipReason,
    /// The numbers behind the reason, when it has any (an archive limit and its value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Skipped {
    /// A skip without detail.
    pub fn new(path: impl Into<String>, reason: SkipReason) -> Skipped {
        Skipped { path: path.into(), reason, detail: None }
    }
}

/// A path that could not be read or walked.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ScanError {
    /// The path (or object id) at fault.
    pub path: String,
    /// What went wrong.
    pub message: String,
}

impl fmt::Display for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Number of leading bytes inspected for a NUL to decide a file is binary.
pub const BINARY_PROBE: usize = 8 * 1024;

/// Whether content looks binary: a NUL byte in its first 8 KiB. Text in UTF-16 or UTF-32 has
/// NUL bytes too: [`classify`] tells it from binary.
pub fn is_binary(bytes: &[u8]) -> bool {
    memchr::memchr(0, &bytes[..bytes.len().min(BINARY_PROBE)]).is_some()
}

/// How text content is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    /// UTF-8 (or ASCII, or anything else without NUL bytes): scanned as is.
    Utf8,
    /// UTF-16 little-endian (Windows PowerShell 5.1 `>` and `Out-File`, with a BOM).
    Utf16Le,
    /// UTF-16 big-endian.
    Utf16Be,
    /// UTF-32 little-endian (with a BOM).
    Utf32Le,
    /// UTF-32 big-endian (with a BOM).
    Utf32Be,
}

/// How content is encoded, judged from its first [`BINARY_PROBE`] bytes; `None` when it is
/// binary. A byte-order mark counts only when NUL bytes confirm it.
pub fn text_encoding(bytes: &[u8]) -> Option<TextEncoding> {
    let probe = &bytes[..bytes.len().min(BINARY_PROBE)];
    // Any ASCII character (a newline, a space, a secret) in UTF-16 or UTF-32 has a NUL byte:
    // without one, a leading "\xFF\xFE" is more likely Latin-1 text than a byte-order mark.
    if memchr::memchr(0, probe).is_none() {
        return Some(TextEncoding::Utf8);
    }
    match probe {
        [0xFF, 0xFE, 0, 0, ..] => return Some(TextEncoding::Utf32Le),
        [0, 0, 0xFE, 0xFF, ..] => return Some(TextEncoding::Utf32Be),
        [0xFF, 0xFE, ..] => return Some(TextEncoding::Utf16Le),
        [0xFE, 0xFF, ..] => return Some(TextEncoding::Utf16Be),
        _ => {}
    }
    if bomless_utf16(probe, false) {
        Some(TextEncoding::Utf16Le)
    } else if bomless_utf16(probe, true) {
        Some(TextEncoding::Utf16Be)
    } else {
        None
    }
}

/// Whether bytes without a BOM are UTF-16 text of mostly ASCII characters: every code unit is
/// a printable ASCII or Latin-1 character, a tab, CR or LF, or (at most one in ten) another
/// one, and none is NUL. Binary data (which has NUL units, control characters, or NULs on both sides)
/// does not pass; neither does UTF-16 text that is mostly non-Latin, which needs its BOM.
fn bomless_utf16(probe: &[u8], big_endian: bool) -> bool {
    let units = probe.len() / 2;
    if units < 2 {
        return false;
    }
    let mut non_ascii = 0;
    for pair in probe.chunks_exact(2) {
        let (lo, hi) = if big_endian { (pair[1], pair[0]) } else { (pair[0], pair[1]) };
        match (lo, hi) {
            (0, 0) => return false,
            (b'\t' | b'\n' | b'\r' | 0x20..=0x7E | 0xA0..=0xFF, 0) => {}
            (_, 0) => return false,
            _ => non_ascii += 1,
        }
    }
    non_ascii * 10 <= units
}

/// Content after [`classify`].
#[derive(Debug)]
pub enum Content<'a> {
    /// Text, as UTF-8 (decoded when it was UTF-16 or UTF-32), and its original encoding.
    Text(std::borrow::Cow<'a, [u8]>, TextEncoding),
    /// Binary: not scanned.
    Binary,
}

/// Tells text from binary and decodes UTF-16 and UTF-32 text (recognised by its byte-order mark,
/// or, for UTF-16 of mostly ASCII characters, by its NUL bytes) to UTF-8, so every rule sees it
/// and lines and columns count its characters. Invalid code units become U+FFFD, as invalid
/// UTF-8 does. Shared by every source (files, standard input, git blobs).
pub fn classify(bytes: &[u8]) -> Content<'_> {
    use std::borrow::Cow;
    let Some(encoding) = text_encoding(bytes) else { return Content::Binary };
    let text = match encoding {
        TextEncoding::Utf8 => Cow::Borrowed(bytes),
        TextEncoding::Utf16Le | TextEncoding::Utf16Be => {
            let big = encoding == TextEncoding::Utf16Be;
            let body = bytes.strip_prefix(if big { &[0xFE, 0xFF] } else { &[0xFF, 0xFE] });
            let body = body.unwrap_or(bytes);
            let units = body.chunks_exact(2).map(|p| {
                if big {
                    u16::from_be_bytes([p[0], p[1]])
                } else {
                    u16::from_le_bytes([p[0], p[1]])
                }
            });
            let mut out = String::with_capacity(body.len() / 2 + 4);
            out.extend(char::decode_utf16(units).map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER)));
            if body.len() % 2 == 1 {
                out.push(char::REPLACEMENT_CHARACTER);
            }
            Cow::Owned(out.into_bytes())
        }
        TextEncoding::Utf32Le | TextEncoding::Utf32Be => {
            let big = encoding == TextEncoding::Utf32Be;
            let body = &bytes[4..];
            let mut out = String::with_capacity(body.len() / 4 + 4);
            for q in body.chunks(4) {
                let unit = match (q.len(), big) {
                    (4, true) => u32::from_be_bytes([q[0], q[1], q[2], q[3]]),
                    (4, false) => u32::from_le_bytes([q[0], q[1], q[2], q[3]]),
                    _ => u32::MAX,
                };
                out.push(char::from_u32(unit).unwrap_or(char::REPLACEMENT_CHARACTER));
            }
            Cow::Owned(out.into_bytes())
        }
    };
    Content::Text(text, encoding)
}

/// Writes bytes as text the way ripgrep writes file names: valid UTF-8 as is, each byte of an
/// invalid sequence as `\xHH`. Reversible in practice and stable, so an escaped path still
/// identifies its file (in fingerprints and baselines too).
pub fn escape_invalid_utf8(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02X}");
        }
    }
    out
}

/// Byte offset of the last component (the file or directory name) of a `/`-separated path, for
/// scanning each name once: [`crate::scan::scan_name`] with this offset.
pub fn name_start(path: &str) -> usize {
    path.trim_end_matches('/').rfind('/').map_or(0, |i| i + 1)
}

/// Turns a path into the `/`-separated form used in reports, without a leading `./`. Bytes of
/// a file name that are not UTF-8 are written `\xHH` ([`escape_invalid_utf8`]).
pub fn display_path(path: &std::path::Path) -> String {
    let raw = path.as_os_str().as_encoded_bytes();
    let text = match std::str::from_utf8(raw) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => std::borrow::Cow::Owned(escape_invalid_utf8(raw)),
    };
    let text = text.strip_prefix("./").unwrap_or(&text);
    if std::path::MAIN_SEPARATOR == '\\' { text.replace('\\', "/") } else { text.to_string() }
}

/// One of `count` disjoint shares of a set of names (`--shard K/N`): of repositories by name, or
/// of a repository's paths (`--shard-by path`). A name belongs to the shard its hash picks, so every version of a file is in one part (where the commit
/// that introduced a secret at that path is decided), whatever the order or the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathShard {
    /// 0-based index, below `count`.
    pub index: u32,
    /// How many shards.
    pub count: u32,
}

impl PathShard {
    /// Whether the name `key` (a repository name, or a path of a repository) is in this shard.
    pub fn holds(&self, key: &[u8]) -> bool {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(key);
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_be_bytes(first) % u64::from(self.count.max(1)) == u64::from(self.index)
    }

    /// Whether this is the first shard: with `--shard-by path`, the one that reports what belongs to no path (commit and
    /// tag metadata, the walk's own errors, the number of commits).
    pub fn is_first(&self) -> bool {
        self.index == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(text: &str, big: bool, bom: bool) -> Vec<u8> {
        let mut out = Vec::new();
        if bom {
            out.extend_from_slice(if big { &[0xFE, 0xFF] } else { &[0xFF, 0xFE] });
        }
        for u in text.encode_utf16() {
            out.extend_from_slice(&if big { u.to_be_bytes() } else { u.to_le_bytes() });
        }
        out
    }

    fn text_of(bytes: &[u8]) -> (String, TextEncoding) {
        match classify(bytes) {
            Content::Text(t, e) => (String::from_utf8(t.into_owned()).expect("utf-8"), e),
            Content::Binary => panic!("binary: {bytes:?}"),
        }
    }

    #[test]
    fn utf16_and_utf32_text_is_decoded() {
        let text = "k = \"é8Q~x\"\r\n€ 😀\n";
        for (big, bom, enc) in [
            (false, true, TextEncoding::Utf16Le),
            (true, true, TextEncoding::Utf16Be),
            (false, false, TextEncoding::Utf16Le),
            (true, false, TextEncoding::Utf16Be),
        ] {
            // Without a BOM, UTF-16 is recognised when it is mostly Latin text.
            let text = if bom { text.to_string() } else { format!("{text}{}", "x".repeat(40)) };
            assert_eq!(text_of(&utf16(&text, big, bom)), (text.clone(), enc), "{big} {bom}");
        }
        let mut le = vec![0xFF, 0xFE, 0, 0];
        let mut be = vec![0, 0, 0xFE, 0xFF];
        for c in text.chars() {
            le.extend_from_slice(&(c as u32).to_le_bytes());
            be.extend_from_slice(&(c as u32).to_be_bytes());
        }
        assert_eq!(text_of(&le), (text.to_string(), TextEncoding::Utf32Le));
        assert_eq!(text_of(&be), (text.to_string(), TextEncoding::Utf32Be));
        assert_eq!(text_of(b"plain"), ("plain".to_string(), TextEncoding::Utf8));
        assert_eq!(text_of(b""), (String::new(), TextEncoding::Utf8));
    }

    #[test]
    fn binary_with_nuls_is_not_taken_for_utf16() {
        for bytes in [
            &b"\x7fELF\x02\x01\x01\0\0\0"[..],
            &[1, 0, 2, 0, 3, 0, 4, 0],
            &b"a\0\0\0b\0"[..],
            &b"\0"[..],
            &[0x50, 0x4B, 3, 4, 0x14, 0, 0, 0, 8, 0],
        ] {
            assert!(matches!(classify(bytes), Content::Binary), "{bytes:?}");
        }
    }

    #[test]
    fn odd_and_invalid_code_units_become_replacement_characters() {
        let mut bytes = utf16("ab", false, true);
        bytes.extend_from_slice(&[0x00, 0xD8]); // a lone high surrogate
        bytes.push(b'c');
        assert_eq!(text_of(&bytes).0, "ab\u{FFFD}\u{FFFD}");
    }

    #[cfg(unix)]
    #[test]
    fn invalid_utf8_in_paths_is_escaped() {
        use std::os::unix::ffi::OsStrExt;
        let path = std::path::Path::new(std::ffi::OsStr::from_bytes(b"./d\xFF/f\xC3.txt"));
        assert_eq!(display_path(path), "d\\xFF/f\\xC3.txt");
        assert_eq!(display_path(std::path::Path::new("./a/é.txt")), "a/é.txt");
    }
}
