//! The scan stage, the one pipeline every mode (directory, standard input, history, range,
//! staged) uses: a source hands it [`Blob`]s through [`BlobScan`], and it turns each into
//! located [`Finding`]s: classify (archive, text in UTF-8/16/32, binary) → expand (archive
//! members, to any depth within the limits; see [`Scanner`]) → detect → [`locate`]. It also
//! collects the [`Summary`] of what was scanned, skipped and unreadable. Dedup of identical
//! blobs is by content id in directory scans ([`Dedup`]) and by git object id in history scans
//! (the source reads each unique blob once).
//! Filtering by confidence, allowlists and baselines happens after this, in the filter stage.

mod dedup;
mod expand;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::detect::{Detector, RawMatch, Scratch};
use crate::finding::{self, Finding, Secret};
use crate::source::fs::{Event, WalkError, WalkOptions, walk};
use crate::source::{Blob, BlobScan, Origin, ScanError, Scanned, SkipReason, Skipped};

pub use dedup::Dedup;
pub use expand::{ScanOptions, ScanScratch, Scanner};

/// What a scan went through, for the summary line and machine-readable reports.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Summary {
    /// Files (or blobs) scanned.
    pub files: u64,
    /// Bytes scanned (archive members uncompressed).
    pub bytes: u64,
    /// Of the files scanned, members read out of archives.
    #[serde(skip_serializing_if = "is_zero")]
    pub archive_members: u64,
    /// Of the files scanned, binary ones: scanned for checksum-verified secrets only (they are
    /// listed in `skipped` too, with reason `binary`).
    #[serde(skip_serializing_if = "is_zero")]
    pub binary: u64,
    /// Of the files scanned, those whose bytes are identical to a file scanned before
    /// (directory scans): scanned once, their findings reported at every path.
    #[serde(skip_serializing_if = "is_zero")]
    pub duplicates: u64,
    /// Paths not scanned, with the reason.
    pub skipped: Vec<Skipped>,
    /// Paths that could not be read.
    pub errors: Vec<ScanError>,
    /// Findings below the reporting threshold (not reported).
    pub below_threshold: u64,
    /// Findings suppressed by an inline `azleak:allow` comment.
    pub allowed_inline: u64,
    /// Findings suppressed by a path or secret allowlist.
    pub allowlisted: u64,
    /// Findings already in the baseline.
    pub in_baseline: u64,
    /// Baseline entries that were not found again.
    pub stale_baseline: u64,
    /// Commits walked (history scans only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commits: Option<u64>,
    /// The repository is a shallow clone: commits before its boundary are absent, so secrets
    /// from there are attributed to the oldest commit present (history scans only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shallow: Option<bool>,
    /// Wall time of the scan.
    #[serde(serialize_with = "as_secs", deserialize_with = "from_secs")]
    pub elapsed: Duration,
    /// Repositories scanned (runs over several repositories only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repositories: Option<u64>,
    /// Repositories that could not be scanned at all (runs over several repositories only);
    /// each is also in `errors`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repositories_failed: Option<u64>,
    /// Path-sharded history scans only (`--shard-by path`): every copy of every secret this
    /// shard found, before filtering, by secret key, so that `azleak merge` can rebuild the
    /// copy groups one process would have made from the shards' parts of them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shard_copies: Vec<ShardCopies>,
}

/// The copies of one secret (one rule, one secret) that one shard of a path-sharded history
/// scan found, named by a key derived from the secret as slowly as a fingerprint is (see
/// [`finding::derive_secret_key`]), so shards that found the same secret give the same key and
/// the key reveals no more than a fingerprint does.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ShardCopies {
    /// The repository (runs over several repositories).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// The secret's key ([`finding::Fingerprinter::copy_key`]).
    pub key: String,
    /// The rule that found it.
    pub rule_id: String,
    /// Where this shard found it, in report order.
    pub locations: Vec<finding::OtherLocation>,
}

fn from_secs<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let secs = <f64 as serde::Deserialize>::deserialize(d)?;
    Ok(Duration::try_from_secs_f64(secs).unwrap_or_default())
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn as_secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1000.0).round() / 1000.0)
}

impl Summary {
    /// Skipped paths counted by reason, in a fixed order.
    pub fn skipped_by_reason(&self) -> BTreeMap<SkipReason, usize> {
        let mut counts = BTreeMap::new();
        for s in &self.skipped {
            *counts.entry(s.reason).or_insert(0) += 1;
        }
        counts
    }

    /// Adds what the scan stage gave for one blob; its findings go to `findings`.
    pub fn add(&mut self, scanned: Scanned, findings: &mut Vec<Finding>) {
        self.files += scanned.files;
        self.bytes += scanned.bytes;
        self.archive_members += scanned.files.saturating_sub(1);
        self.duplicates += scanned.duplicates;
        self.binary +=
            scanned.skipped.iter().filter(|s| s.reason == SkipReason::Binary).count() as u64;
        self.skipped.extend(scanned.skipped);
        self.errors.extend(scanned.errors);
        findings.extend(scanned.findings);
    }

    /// Sorts skipped paths and errors so reports are deterministic.
    pub fn sort(&mut self) {
        self.skipped.sort();
        self.errors.sort();
        self.shard_copies.sort();
    }
}

/// Findings plus the summary of one scan, before filtering.
#[derive(Debug, Default)]
pub struct ScanOutput {
    /// Every finding, at any confidence.
    pub findings: Vec<Finding>,
    /// History scans only, and only when it differs from `findings`: the findings with each
    /// secret at a path represented by its earliest copy *without* an `azleak:allow` marker
    /// (where it has one) instead of its earliest copy. The filter stage reports these when it
    /// honours inline markers, so an allowed test value does not hide the same secret used
    /// for real later in the file; the source decides nothing about markers.
    pub honouring_allow: Option<Vec<Finding>>,
    /// What was scanned.
    pub summary: Summary,
    /// Ids (raw SHA-1) of the git blobs this scan read (scanned or skipped by size or type, not
    /// those that failed): what a datastore records as scanned. Empty outside history scans.
    pub blob_ids: Vec<[u8; 20]>,
    /// A path-sharded history scan (`--shard-by path`): every finding of `findings` and
    /// `honouring_allow` carries a copy group, even a secret found at one path only; the filter
    /// stage lists them all in [`Summary::shard_copies`] and keeps only the groups of two or more.
    pub part: bool,
    /// Secrets this scan found but leaves to another shard to report (metadata findings of a
    /// path shard other than the first): kept so that they are hidden wherever this shard's
    /// report displays them.
    pub also_secrets: Vec<Secret>,
}

/// Scans one buffer and places its matches at lines and columns of `path`.
pub fn scan_buffer(
    detector: &Detector,
    scratch: &mut Scratch,
    path: &str,
    bytes: &[u8],
) -> Vec<Finding> {
    find(detector, scratch, path, bytes)
}

/// Detect → pair → locate on one text buffer: the matches of `bytes`, paired with the
/// identities near them (only when there are matches), as findings of `path`.
pub fn find(detector: &Detector, scratch: &mut Scratch, path: &str, bytes: &[u8]) -> Vec<Finding> {
    let mut matches = detector.scan(bytes, scratch);
    if matches.is_empty() {
        return Vec::new();
    }
    let pairings = crate::pair::settle(detector.rules(), bytes, &mut matches);
    let mut findings = locate(detector, path, bytes, &matches);
    for (f, p) in findings.iter_mut().zip(pairings) {
        f.pairing = p;
    }
    findings
}

/// Scans the name of a file or directory: `path[name]` (a range from [`crate::source::name_start`]
/// to the end, for the last name). Findings are placed on line 1 at
/// their column in the whole path, with [`finding::Part::Path`], so a report can say the secret
/// is in the name. A name is never an inline allow.
pub fn scan_name(
    detector: &Detector,
    scratch: &mut Scratch,
    path: &str,
    name: std::ops::Range<usize>,
) -> Vec<Finding> {
    let start = name.start;
    let name = &path.as_bytes()[name];
    let matches = detector.scan(name, scratch);
    if matches.is_empty() {
        return Vec::new();
    }
    let offset = path[..start].chars().count();
    let mut findings = locate(detector, path, name, &matches);
    for f in &mut findings {
        f.part = finding::Part::Path;
        if f.line == 1 {
            f.column += offset;
            f.end_column += offset;
        }
        f.allowed_inline = false;
    }
    findings
}

/// Turns raw matches (sorted by start) into findings with 1-based lines and columns.
pub fn locate(detector: &Detector, path: &str, bytes: &[u8], matches: &[RawMatch]) -> Vec<Finding> {
    let mut out = Vec::with_capacity(matches.len());
    let mut line = 1usize;
    let mut line_start = 0usize;
    let mut cursor = 0usize;
    // Characters from `line_start` to `counted`, a place where counting can resume: lines and
    // columns are counted once per buffer, not once per match (many matches on a 50 MB line).
    let mut counted = 0usize;
    let mut chars = 0usize;
    let mut allowed: Option<(usize, bool)> = None;
    for m in matches {
        // Matches are sorted by start, so lines are counted once per buffer.
        if m.start >= cursor {
            for nl in memchr::memchr_iter(b'\n', &bytes[cursor..m.start]) {
                line += 1;
                line_start = cursor + nl + 1;
            }
            cursor = m.start;
        } else {
            // Same start as a previous match: line and line_start still hold.
        }
        if counted < line_start || counted > m.start {
            (counted, chars) = (line_start, 0);
        }
        let column = chars + char_count(&bytes[counted..m.start]) + 1;
        if resumable(bytes, m.start) {
            (counted, chars) = (m.start, column - 1);
        }
        // A secret written across lines (concatenated literals) is marked on its first line.
        let first_line_end =
            memchr::memchr(b'\n', &bytes[m.start..m.end]).map_or(m.end, |i| m.start + i);
        let end_column = column + char_count(&bytes[m.start..first_line_end]).max(1);
        let secret_bytes = m.decoded.as_ref().map_or(&bytes[m.start..m.end], |(_, s)| s.as_slice());
        let secret_text = String::from_utf8_lossy(secret_bytes).into_owned();
        let rule = detector.rules().rule(m.rule);
        let line_hash = line_hash(rule.id(), bytes, line_start, m.start, m.end);
        out.push(Finding {
            rule_id: rule.id().to_string(),
            confidence: m.confidence,
            path: path.to_string(),
            member: None,
            part: finding::Part::Content,
            line,
            column,
            end_column,
            // Computed once, over the repository-relative path, by the filter stage.
            fingerprint: String::new(),
            secret: Secret::new(secret_text),
            entropy: m.entropy,
            checksum: m.checksum,
            encoding: m.decoded.as_ref().map(|(e, _)| *e),
            line_hash,
            commit: None,
            copies: None,
            allowed_inline: match allowed {
                Some((at, allowed)) if at == line_start => allowed,
                _ => {
                    let allow = crate::config::allowlist::inline_allowed(bytes, line_start);
                    allowed = Some((line_start, allow));
                    allow
                }
            },
            pairing: None,
            verification: None,
            owners: None,
            repository: None,
            expires: None,
        });
    }
    for (f, m) in out.iter_mut().zip(matches) {
        if let Some(param) = &detector.rules().rule(m.rule).syntax.expiry_param {
            f.expires = finding::Expiry::find(bytes, m.start, m.end, param);
        }
    }
    out
}

/// Number of characters in UTF-8 text, counted as `String::from_utf8_lossy` shows it: each
/// maximal invalid sequence (a stray continuation byte too) counts as one replacement character.
fn char_count(bytes: &[u8]) -> usize {
    bytes
        .utf8_chunks()
        .map(|c| c.valid().chars().count() + usize::from(!c.invalid().is_empty()))
        .sum()
}

/// Whether character counting can stop before `at` and resume there: `at` is the end, or its
/// byte is not a UTF-8 continuation byte (so no character, valid or not, spans it).
fn resumable(bytes: &[u8], at: usize) -> bool {
    bytes.get(at).is_none_or(|&b| b & 0xC0 != 0x80)
}

/// A hash of the secret's line with the secret masked (at most 256 bytes each side), so it is
/// stable when the line moves but changes when the line's text does.
fn line_hash(rule_id: &str, bytes: &[u8], line_start: usize, start: usize, end: usize) -> String {
    let from = line_start.max(start.saturating_sub(256));
    let to = bytes.len().min(end + 256);
    let to = memchr::memchr(b'\n', &bytes[end..to]).map_or(to, |i| end + i);
    let before = bytes[from..start].trim_ascii_start();
    let after = bytes[end..to].trim_ascii_end();
    finding::hash_parts(&[rule_id.as_bytes(), before, b"<secret>", after])
}

/// Scans a directory walk in parallel: the walk hands each file to `scanner` on its worker
/// threads; files with identical bytes are scanned once ([`Dedup`]) and reported at each path.
/// Returns an error only when the walk cannot start.
pub fn scan_paths(scanner: &Scanner, options: &WalkOptions) -> Result<ScanOutput, WalkError> {
    let started = Instant::now();
    let mut out = ScanOutput::default();
    let scanner = Dedup::new(scanner);
    walk(options, &scanner, |event| match event {
        Event::Scanned(scanned) => out.summary.add(scanned, &mut out.findings),
        Event::Name(findings) => out.findings.extend(findings),
        Event::Skipped(s) => out.summary.skipped.push(s),
        Event::Error(e) => out.summary.errors.push(e),
    })?;
    Ok(out.finish(started))
}

/// Scans standard input, read up to just past `max_file_size` (a stream may never end), as the
/// blob `-`: like a file (text in any encoding, archives, binary), and input over the limit is
/// scanned up to it and reported as truncated.
pub fn scan_stdin_bytes(scanner: &Scanner, bytes: &[u8], max_file_size: u64) -> ScanOutput {
    let started = Instant::now();
    let mut out = ScanOutput::default();
    let limit = usize::try_from(max_file_size).unwrap_or(usize::MAX);
    let truncated = bytes.len() > limit;
    let bytes = &bytes[..bytes.len().min(limit)];
    let mut scratch = scanner.scratch();
    let scanned = scanner.scan(&mut scratch, Blob { bytes, origin: &Origin::Stdin });
    out.summary.add(scanned, &mut out.findings);
    if truncated {
        out.summary.skipped.push(Skipped::new("-", SkipReason::Truncated));
    }
    out.finish(started)
}

impl ScanOutput {
    /// Sorts findings and the summary into report order and records the wall time.
    pub fn finish(mut self, started: Instant) -> ScanOutput {
        finding::sort_findings(&mut self.findings);
        if let Some(findings) = &mut self.honouring_allow {
            finding::sort_findings(findings);
        }
        self.summary.sort();
        self.summary.elapsed = started.elapsed();
        self
    }
}
