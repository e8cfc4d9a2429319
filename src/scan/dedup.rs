//! Dedup of identical blobs by content id in directory scans: vendored copies, `node_modules`,
//! generated files and fixtures repeated across a tree are scanned once, and what that scan gave
//! (findings, skips, archive members) is reported again at every other path with the same
//! bytes. Each copy stays its own finding at its own path (path allowlists, baselines and
//! fingerprints are per path), so dedup changes no report, only the work; the summary counts
//! the copies (`duplicates`).
//!
//! The content id is the 128-bit XXH3 hash of the bytes as read (a collision between two
//! different files of one tree is not a practical concern at 2^-128 per pair). History scans do
//! not need this: git already names each blob by its content, and they read each one once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use crate::finding::Finding;
use crate::source::{Blob, BlobScan, Scanned};

/// A [`BlobScan`] that scans each distinct content once and replays its result for copies.
pub struct Dedup<'a, S: BlobScan> {
    inner: &'a S,
    /// Content id → what scanning it gave, with the label of the blob it was scanned as
    /// (`None`: nothing to replay but the counts), set once by the thread that scans it.
    seen: Mutex<SeenMap>,
}

/// The replayable result of one scanned content.
/// Content id to the scan of its first copy. The ids are already uniform hashes: a fast
/// hasher suffices.
type SeenMap = HashMap<u128, Arc<OnceLock<Option<Seen>>>, foldhash::fast::FixedState>;

struct Seen {
    /// How the first blob with this content was labelled (its path): the prefix of the paths
    /// of its skips and errors.
    label: String,
    path: String,
    scanned: Scanned,
}

impl<'a, S: BlobScan> Dedup<'a, S> {
    /// Wraps `inner`.
    pub fn new(inner: &'a S) -> Dedup<'a, S> {
        Dedup { inner, seen: Mutex::new(HashMap::default()) }
    }
}

/// The content id of `bytes`.
fn content_id(bytes: &[u8]) -> u128 {
    twox_hash::XxHash3_128::oneshot(bytes)
}

/// Whether a scan result holds more than the counts of one plain blob.
fn has_details(s: &Scanned) -> bool {
    s.files != 1 || !(s.findings.is_empty() && s.skipped.is_empty() && s.errors.is_empty())
}

/// `path` with its leading `from` replaced by `to` (a skip or error inside the first copy, such
/// as `a/x.zip!m`, becomes `b/x.zip!m`).
fn repath(path: &str, from: &str, to: &str) -> String {
    match path.strip_prefix(from) {
        Some(rest) => format!("{to}{rest}"),
        None => path.to_string(),
    }
}

impl<S: BlobScan> BlobScan for Dedup<'_, S> {
    type Scratch = S::Scratch;

    fn scratch(&self) -> S::Scratch {
        self.inner.scratch()
    }

    fn scan(&self, scratch: &mut S::Scratch, blob: Blob<'_>) -> Scanned {
        let id = content_id(blob.bytes);
        // One cell per content: the first thread to reach it scans, a thread that meets the
        // same content meanwhile waits for that result, so exactly the later copies are
        // replayed, whatever the timing (the summary's count is deterministic).
        let cell = Arc::clone(self.seen.lock().expect("dedup map").entry(id).or_default());
        let mut first = None;
        let seen = cell.get_or_init(|| {
            let scanned = self.inner.scan(scratch, blob);
            let seen = has_details(&scanned).then(|| Seen {
                label: blob.origin.label(),
                path: blob.origin.path().to_string(),
                scanned: scanned.clone(),
            });
            first = Some(scanned);
            seen
        });
        if let Some(scanned) = first {
            return scanned;
        }
        let Some(s) = seen else {
            let bytes = blob.bytes.len() as u64;
            return Scanned { files: 1, bytes, duplicates: 1, ..Scanned::default() };
        };
        let (label, path) = (blob.origin.label(), blob.origin.path());
        let findings =
            s.scanned.findings.iter().map(|f| Finding { path: path.to_string(), ..f.clone() });
        let mut skipped = s.scanned.skipped.clone();
        for k in &mut skipped {
            k.path = repath(&k.path, &s.label, &label);
        }
        let mut errors = s.scanned.errors.clone();
        for e in &mut errors {
            e.path = repath(&e.path, &s.label, &label);
        }
        debug_assert!(s.scanned.findings.iter().all(|f| f.path == s.path));
        Scanned {
            findings: findings.collect(),
            files: s.scanned.files,
            bytes: s.scanned.bytes,
            skipped,
            errors,
            duplicates: 1,
        }
    }

    fn scan_text(&self, scratch: &mut S::Scratch, path: &str, text: &[u8]) -> Vec<Finding> {
        self.inner.scan_text(scratch, path, text)
    }

    fn scan_name(
        &self,
        scratch: &mut S::Scratch,
        path: &str,
        name: std::ops::Range<usize>,
    ) -> Vec<Finding> {
        self.inner.scan_name(scratch, path, name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_inside_the_first_copy_move_to_the_next() {
        assert_eq!(repath("a/x.zip!m/n", "a/x.zip", "b/y.zip"), "b/y.zip!m/n");
        assert_eq!(repath("other", "a/x.zip", "b"), "other");
    }

    #[test]
    fn content_ids_differ_by_one_byte() {
        assert_ne!(content_id(b"abc"), content_id(b"abd"));
        assert_eq!(content_id(b"abc"), content_id(b"abc"));
    }
}
