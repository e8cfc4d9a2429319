//! The [`Scanner`]: what the scan stage does with one blob. It classifies the blob once and
//! picks the expander: an archive (by magic bytes) is opened in memory with the limits and the
//! run's budget of [`crate::expand`] and each member is scanned the same way, with its origin
//! extended by the member path; text (UTF-8, or UTF-16/32 decoded by
//! [`crate::source::classify`]) is scanned with every rule; binary bytes are scanned only with
//! the rules that carry a checksum (a rule field, never a rule id), on the raw bytes and on their
//! UTF-16LE string runs (how a .NET assembly stores string literals), so no context-only rule
//! ever runs on binary bytes. Members are never written to disk.

use aho_corasick::AhoCorasick;

use super::{find, locate, scan_name};
use crate::detect::{self, Detector};
use crate::expand::{self as archive, ArchiveSkip, Budget, Limits};
use crate::finding::{ChecksumStatus, Finding};
use crate::rules::RuleSet;
use crate::source::{Blob, BlobScan, Content, Origin, Scanned, SkipReason, Skipped, classify};

/// How the scan stage expands blobs.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Open archives (zip family, tar, gzip, bzip2, xz, zstd); when off, an archive is scanned
    /// as a binary blob.
    pub archives: bool,
    /// Per-archive limits (depth, entries, member size, ratio, total).
    pub limits: Limits,
    /// The run's budget of decompressed bytes, all archives together.
    pub budget: u64,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions { archives: true, limits: Limits::default(), budget: Budget::DEFAULT }
    }
}

/// The scan stage: the detector for text, the checksum-only detector for binary bytes, the
/// expansion options and the run's decompression budget. Shared by every thread of a scan.
pub struct Scanner {
    text: Detector,
    /// Built on the first binary blob, so a scan of text alone does not compile the rules twice.
    binary: std::sync::OnceLock<Option<Binary>>,
    binary_rules: BinaryRules,
    options: ScanOptions,
    budget: Budget,
}

/// Loads the rule set again, for the binary detector.
type BinaryRules = Box<dyn Fn() -> Option<RuleSet> + Send + Sync>;

/// Scanning binary bytes: the rules with a checksum, and their keywords as UTF-16LE, to look
/// for string runs only in binaries that can hold one.
struct Binary {
    detector: Detector,
    wide: Option<Wide>,
}

/// The search for the binary rules' keywords as UTF-16LE. Not `AhoCorasick`'s default: its
/// rare-byte prefilter assumes text, and in binaries (import libraries, object files) its rare
/// byte is everywhere, so it restarted the automaton every few bytes (8x ripgrep's time on a
/// tree of Windows import libraries). Teddy when the keywords fit in it, else the automaton
/// without a prefilter.
enum Wide {
    Teddy(aho_corasick::packed::Searcher),
    Automaton(AhoCorasick),
}

impl Wide {
    fn new(patterns: &[Vec<u8>]) -> Option<Wide> {
        if patterns.is_empty() {
            return None;
        }
        let mut config = aho_corasick::packed::Config::new();
        config.match_kind(aho_corasick::packed::MatchKind::LeftmostFirst);
        if let Some(teddy) = config.builder().extend(patterns).build() {
            return Some(Wide::Teddy(teddy));
        }
        AhoCorasick::builder().prefilter(false).build(patterns).ok().map(Wide::Automaton)
    }

    fn is_match(&self, bytes: &[u8]) -> bool {
        match self {
            Wide::Teddy(teddy) => teddy.find(bytes).is_some(),
            Wide::Automaton(automaton) => automaton.is_match(bytes),
        }
    }
}

/// A thread's working space.
pub struct ScanScratch {
    text: detect::Scratch,
    binary: Option<detect::Scratch>,
}

impl Scanner {
    /// A scanner for `rules`. `binary_rules` loads the same rule set again (a compiled rule set
    /// has one owner), called once, on the first binary blob: only its rules that carry a
    /// checksum are kept, for binary bytes.
    pub fn new(
        rules: RuleSet,
        binary_rules: impl Fn() -> Option<RuleSet> + Send + Sync + 'static,
        options: ScanOptions,
    ) -> Scanner {
        let budget = Budget::new(options.budget);
        Scanner {
            text: Detector::new(rules),
            binary: std::sync::OnceLock::new(),
            binary_rules: Box::new(binary_rules),
            options,
            budget,
        }
    }

    /// The checksum-only detector, built on first use.
    fn binary(&self) -> Option<&Binary> {
        self.binary.get_or_init(|| (self.binary_rules)().and_then(Binary::new)).as_ref()
    }
}

impl Scanner {
    /// The detector for text (every rule).
    pub fn detector(&self) -> &Detector {
        &self.text
    }

    /// Every rule.
    pub fn rules(&self) -> &RuleSet {
        self.text.rules()
    }

    /// Scans `bytes` from `origin` into `out`: an archive's members, or the blob itself.
    fn scan_into(&self, s: &mut ScanScratch, origin: &Origin, bytes: &[u8], out: &mut Scanned) {
        out.files += 1;
        out.bytes += bytes.len() as u64;
        if self.options.archives && archive::classify(bytes).is_some() {
            self.expand(s, origin, bytes, out);
        } else {
            self.scan_leaf(s, origin, bytes, out);
        }
    }

    /// Opens an archive and scans each member as it is read (one at a time in memory).
    fn expand(&self, s: &mut ScanScratch, origin: &Origin, bytes: &[u8], out: &mut Scanned) {
        let label = origin.label();
        // Named by its file name, not by the label (`commit:path` in git scans).
        let name = match origin {
            Origin::Member(_, member) => member.as_str(),
            root => root.path(),
        };
        let name = name.rsplit(['/', '\\']).next().unwrap_or(name);
        let limits = &self.options.limits;
        archive::expand_named(
            bytes,
            &label,
            name,
            limits,
            &self.budget,
            &mut |event| match event {
                archive::Event::Member(m) => {
                    let mut inner = origin.clone();
                    for name in m.path {
                        inner = inner.child(name);
                    }
                    out.files += 1;
                    out.bytes += m.bytes.len() as u64;
                    self.scan_leaf(s, &inner, &m.bytes, out);
                }
                archive::Event::Skipped { archive, member, reason } => {
                    let path = match member {
                        Some(m) => format!("{archive}!{m}"),
                        None => archive,
                    };
                    let skip = match reason {
                        ArchiveSkip::Encrypted => SkipReason::Encrypted,
                        ArchiveSkip::UnsupportedMethod { .. } => SkipReason::UnsupportedCompression,
                        ArchiveSkip::DepthLimit { .. } => SkipReason::ArchiveDepth,
                        _ => SkipReason::ArchiveLimit,
                    };
                    out.skipped.push(Skipped {
                        path,
                        reason: skip,
                        detail: Some(reason.to_string()),
                    });
                }
                archive::Event::Error { archive, member, message } => {
                    // A parse error of an archive read from memory: the archive is corrupt or
                    // truncated (a test fixture, a cut download), a skip, not a scan error.
                    let path = match member {
                        Some(m) => format!("{archive}!{m}"),
                        None => archive,
                    };
                    let reason = SkipReason::CorruptArchive;
                    out.skipped.push(Skipped { path, reason, detail: Some(message) });
                }
            },
        );
    }

    /// Scans a blob that is not opened as an archive: text with every rule, binary with the
    /// checksum rules only.
    fn scan_leaf(&self, s: &mut ScanScratch, origin: &Origin, bytes: &[u8], out: &mut Scanned) {
        let member = origin.member();
        let first = out.findings.len();
        match classify(bytes) {
            Content::Text(text, _) => {
                out.findings.extend(find(&self.text, &mut s.text, origin.path(), &text));
                if s.text.decode_limited() {
                    out.skipped.push(Skipped::new(origin.label(), SkipReason::DecodeBudget));
                }
            }
            Content::Binary => {
                out.skipped.push(Skipped::new(origin.label(), SkipReason::Binary));
                if let Some(binary) = self.binary() {
                    let scratch = s.binary.get_or_insert_with(|| binary.detector.scratch());
                    out.findings.extend(binary.scan(origin.path(), bytes, scratch));
                }
            }
        }
        for f in &mut out.findings[first..] {
            f.member.clone_from(&member);
        }
    }
}

impl Binary {
    /// The binary detector from `binary_rules`: its rules with a checksum; `None` if none has.
    fn new(mut binary_rules: RuleSet) -> Option<Binary> {
        let unproven: Vec<String> = binary_rules
            .iter()
            .filter(|r| r.syntax.checksum.is_none())
            .map(|r| r.id().to_string())
            .collect();
        binary_rules.disable(&unproven);
        (!binary_rules.is_empty()).then(|| {
            let mut wide = Vec::new();
            for rule in binary_rules.iter() {
                for k in &rule.syntax.keywords {
                    let variants = if rule.syntax.case_sensitive_keywords {
                        vec![k.clone()]
                    } else {
                        detect::case_variants(k)
                    };
                    for v in variants {
                        wide.push(v.encode_utf16().flat_map(u16::to_le_bytes).collect::<Vec<u8>>());
                    }
                }
            }
            Binary { detector: Detector::new(binary_rules), wide: Wide::new(&wide) }
        })
    }

    /// Checksum-verified secrets in binary bytes, as raw bytes and in UTF-16LE string runs.
    /// Lines count `\n` bytes and columns count bytes from the line's start (1-based).
    fn scan(&self, path: &str, bytes: &[u8], scratch: &mut detect::Scratch) -> Vec<Finding> {
        let d = &self.detector;
        let mut out = Vec::new();
        let raw: Vec<_> = d
            .scan(bytes, scratch)
            .into_iter()
            .filter(|m| m.checksum == ChecksumStatus::Valid)
            .collect();
        for (mut f, m) in locate(d, path, bytes, &raw).into_iter().zip(&raw) {
            place_bytes(&mut f, bytes, m.start, m.end - m.start);
            out.push(f);
        }
        if self.wide.as_ref().is_some_and(|w| w.is_match(bytes)) {
            for run in archive::utf16::utf16le_runs(bytes, archive::utf16::MIN_RUN) {
                let text = run.text.as_bytes();
                let found: Vec<_> = d
                    .scan(text, scratch)
                    .into_iter()
                    .filter(|m| m.checksum == ChecksumStatus::Valid)
                    .collect();
                for (mut f, m) in locate(d, path, text, &found).into_iter().zip(&found) {
                    // Run text is ASCII: one character per UTF-16 unit of two bytes.
                    place_bytes(&mut f, bytes, run.offset + 2 * m.start, 2 * (m.end - m.start));
                    f.allowed_inline = false;
                    out.push(f);
                }
            }
        }
        out
    }
}

/// Places a finding at byte `start` (`len` bytes long) of binary `bytes`.
fn place_bytes(f: &mut Finding, bytes: &[u8], start: usize, len: usize) {
    let before = &bytes[..start.min(bytes.len())];
    let line_start = memchr::memrchr(b'\n', before).map_or(0, |i| i + 1);
    f.line = 1 + memchr::memchr_iter(b'\n', before).count();
    f.column = start - line_start + 1;
    f.end_column = f.column + len.max(1);
}

impl BlobScan for Scanner {
    type Scratch = ScanScratch;

    fn scratch(&self) -> ScanScratch {
        ScanScratch { text: self.text.scratch(), binary: None }
    }

    fn scan(&self, scratch: &mut ScanScratch, blob: Blob<'_>) -> Scanned {
        let mut out = Scanned::default();
        self.scan_into(scratch, blob.origin, blob.bytes, &mut out);
        out
    }

    fn scan_text(&self, scratch: &mut ScanScratch, path: &str, text: &[u8]) -> Vec<Finding> {
        find(&self.text, &mut scratch.text, path, text)
    }

    fn scan_name(
        &self,
        scratch: &mut ScanScratch,
        path: &str,
        name: std::ops::Range<usize>,
    ) -> Vec<Finding> {
        scan_name(&self.text, &mut scratch.text, path, name)
    }
}

#[cfg(test)]
mod tests {
    use super::Wide;

    fn utf16(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    #[test]
    fn wide_keywords_are_found_in_binary_bytes_by_either_search() {
        let few: Vec<Vec<u8>> = ["8Q~", "+ASt", "JQQJ9"].iter().map(|k| utf16(k)).collect();
        // More keywords than Teddy takes: the automaton without a prefilter.
        let many: Vec<Vec<u8>> = (0..200).map(|i| utf16(&format!("kw{i:03}~"))).collect();
        let few = Wide::new(&few).unwrap();
        let many = Wide::new(&many).unwrap();
        assert!(matches!(few, Wide::Teddy(_)));
        assert!(matches!(many, Wide::Automaton(_)));
        // Bytes like an import library: NULs and `~` everywhere, the keyword once, near the end.
        let mut bytes: Vec<u8> =
            (0..100_000u32).map(|i| [0, b'~', b'Q', 7][i as usize % 4]).collect();
        assert!(!few.is_match(&bytes) && !many.is_match(&bytes));
        let at = bytes.len() - 40;
        bytes.splice(at..at, utf16("x+ASt"));
        bytes.splice(at..at, utf16("kw123~"));
        assert!(few.is_match(&bytes) && many.is_match(&bytes));
        assert!(Wide::new(&[]).is_none());
    }
}
