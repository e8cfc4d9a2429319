//! Baselines: a versioned JSON file of findings a team has accepted, so that only new ones are
//! reported. Owns the file format, reading and writing it, and the set operations (known, stale,
//! prune, merge with first-seen dates kept). Entries are keyed by the finding's fingerprint of
//! (rule, path, secret), never by a line or commit, and hold no secret: the rule id, the path,
//! the redacted hint and the date the entry was first recorded. It does not decide when a
//! baseline is read or written (see [`crate::filter::apply`]).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::finding::Finding;

/// Version of the baseline file format; bumped on incompatible changes. Version 2 holds
/// argon2id-derived fingerprints; version 1 files (plain SHA-256 fingerprints) are refused
/// with a message saying how to rebuild them.
pub const BASELINE_VERSION: u32 = 2;

/// Errors reading or writing a baseline. Each names the file.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// The file could not be read.
    #[error("cannot read baseline {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a baseline.
    #[error("baseline {path}:{line}:{column}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// The file could not be written.
    #[error("cannot write baseline {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// One accepted finding.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The finding's fingerprint: a one-way hash of (rule, path, secret).
    pub fingerprint: String,
    /// The rule that found it.
    pub rule_id: String,
    /// The path, relative to the repository (config) root, `/`-separated.
    pub path: String,
    /// The redacted secret (its first 3 characters and `…`), for a reviewer.
    pub hint: String,
    /// UTC date (`YYYY-MM-DD`) the entry was first recorded; kept across rewrites.
    pub first_seen: String,
}

/// The file as written.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BaselineFile {
    version: u32,
    tool: String,
    entries: Vec<Entry>,
}

/// Just the version of a baseline file, whatever else it holds.
#[derive(Deserialize)]
struct VersionOnly {
    version: Option<u64>,
}

/// A set of accepted findings, by fingerprint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Baseline {
    entries: BTreeMap<String, Entry>,
    /// (rule id, path) of every entry: which findings could match one.
    paths: BTreeSet<(String, String)>,
}

impl Baseline {
    fn from_entries(entries: BTreeMap<String, Entry>) -> Baseline {
        let paths = entries.values().map(|e| (e.rule_id.clone(), e.path.clone())).collect();
        Baseline { entries, paths }
    }

    /// Whether an entry has this rule and path (so a finding there may be known).
    pub fn has_path(&self, rule_id: &str, path: &str) -> bool {
        // Checked for every finding: no allocation for the common miss.
        self.paths
            .range((rule_id.to_string(), path.to_string())..)
            .next()
            .is_some_and(|(r, p)| r == rule_id && p == path)
    }

    /// Reads a baseline file.
    pub fn load(path: &Path) -> Result<Baseline, BaselineError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| BaselineError::Read { path: path.to_path_buf(), source })?;
        Baseline::parse(path, &text)
    }

    /// Reads a baseline file if it exists; an absent file is an empty baseline.
    pub fn load_if_exists(path: &Path) -> Result<Baseline, BaselineError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Baseline::parse(path, &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Baseline::default()),
            Err(source) => Err(BaselineError::Read { path: path.to_path_buf(), source }),
        }
    }

    /// Parses baseline text; `path` names the source in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Baseline, BaselineError> {
        let parse_err = |line, column, message| BaselineError::Parse {
            path: path.to_path_buf(),
            line,
            column,
            message,
        };
        // The version first: a file of another version may have fields this one rejects.
        if let Ok(VersionOnly { version: Some(version) }) = serde_json::from_str(text) {
            if version == 1 {
                return Err(parse_err(
                    1,
                    1,
                    "version 1 baselines hold fingerprints this azleak no longer computes (they \
                     were plain SHA-256 hashes; version 2 derives them with argon2id so a \
                     fingerprint cannot cheaply confirm a guessed secret). Rebuild the baseline: \
                     review the current findings, then run the same scan with --write-baseline \
                     FILE"
                        .to_string(),
                ));
            }
            if version != u64::from(BASELINE_VERSION) {
                return Err(parse_err(
                    1,
                    1,
                    format!(
                        "version {version} is not supported (this azleak reads version {BASELINE_VERSION})"
                    ),
                ));
            }
        }
        // serde's messages quote the offending value or key (`invalid type: string "…"`,
        // `unknown field `…``); a pasted secret must not come back in an error.
        let file: BaselineFile = serde_json::from_str(text).map_err(|e| {
            let message = e.to_string();
            let suffix = format!(" at line {} column {}", e.line(), e.column());
            let message = message.strip_suffix(&suffix).unwrap_or(&message);
            parse_err(e.line(), e.column(), crate::config::value_free(message))
        })?;
        let mut entries = BTreeMap::new();
        for (index, entry) in file.entries.into_iter().enumerate() {
            // Found only for an error: searching the text for every entry is quadratic.
            let line = || line_of(text, &entry.fingerprint);
            if entry.fingerprint.len() != 32
                || !entry.fingerprint.bytes().all(|b| b.is_ascii_hexdigit())
            {
                return Err(parse_err(
                    line(),
                    1,
                    format!(
                        "entry {index}: key `fingerprint`: not 32 hex digits ({} characters)",
                        entry.fingerprint.chars().count()
                    ),
                ));
            }
            if entries.contains_key(&entry.fingerprint) {
                return Err(parse_err(line(), 1, format!("entry {index}: duplicate fingerprint")));
            }
            entries.insert(entry.fingerprint.clone(), entry);
        }
        Ok(Baseline::from_entries(entries))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries, in file order (path, rule, fingerprint).
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        let mut sorted: Vec<&Entry> = self.entries.values().collect();
        sorted.sort_by(|a, b| {
            (&a.path, &a.rule_id, &a.fingerprint).cmp(&(&b.path, &b.rule_id, &b.fingerprint))
        });
        sorted.into_iter()
    }

    /// Whether a fingerprint is in the baseline.
    pub fn contains(&self, fingerprint: &str) -> bool {
        self.entries.contains_key(fingerprint)
    }

    /// Whether a finding is known: its (rule, path, secret) fingerprint is in the baseline.
    pub fn is_known(&self, finding: &Finding) -> bool {
        self.contains(&finding.fingerprint)
    }

    /// Entries not among `found` fingerprints, restricted to those `in_scope` (by entry).
    pub fn stale<'a>(
        &'a self,
        found: &'a BTreeSet<String>,
        in_scope: impl Fn(&Entry) -> bool + 'a,
    ) -> impl Iterator<Item = &'a Entry> + 'a {
        self.entries.values().filter(move |e| !found.contains(&e.fingerprint) && in_scope(e))
    }

    /// This baseline without the given fingerprints.
    pub fn without(&self, fingerprints: &BTreeSet<String>) -> Baseline {
        let entries = self
            .entries
            .iter()
            .filter(|(fp, _)| !fingerprints.contains(*fp))
            .map(|(fp, e)| (fp.clone(), e.clone()))
            .collect();
        Baseline::from_entries(entries)
    }

    /// Adds the entries of `other` that `keep` selects and this baseline lacks.
    pub fn keep_from(&mut self, other: &Baseline, keep: impl Fn(&Entry) -> bool) {
        for (fp, entry) in &other.entries {
            if keep(entry) && !self.entries.contains_key(fp) {
                self.paths.insert((entry.rule_id.clone(), entry.path.clone()));
                self.entries.insert(fp.clone(), entry.clone());
            }
        }
    }

    /// A baseline of the given findings (paths relative to the config root, as given by
    /// `relative`), keeping the `first_seen` date of entries already in `previous` and giving
    /// new ones `today`.
    pub fn record<'a>(
        findings: impl IntoIterator<Item = (&'a Finding, String)>,
        previous: &Baseline,
        today: &str,
    ) -> Baseline {
        let mut entries = BTreeMap::new();
        for (f, relative) in findings {
            let first_seen = previous
                .entries
                .get(&f.fingerprint)
                .map_or_else(|| today.to_string(), |e| e.first_seen.clone());
            entries.entry(f.fingerprint.clone()).or_insert_with(|| Entry {
                fingerprint: f.fingerprint.clone(),
                rule_id: f.rule_id.clone(),
                path: relative,
                hint: f.secret.redacted(),
                first_seen,
            });
        }
        Baseline::from_entries(entries)
    }

    /// The file's text: pretty JSON, entries sorted, ending in a newline.
    pub fn to_json(&self) -> String {
        let file = BaselineFile {
            version: BASELINE_VERSION,
            tool: "azleak".into(),
            entries: self.entries().cloned().collect(),
        };
        let mut text = serde_json::to_string_pretty(&file).expect("a baseline serializes");
        text.push('\n');
        text
    }

    /// Writes the file: a regular file (or a new one) through a temporary file in the same
    /// directory and a rename, so a crash never leaves half a baseline; anything else (a
    /// symbolic link, a device, a pipe) is written in place, never replaced.
    pub fn write(&self, path: &Path) -> Result<(), BaselineError> {
        let err = |source| BaselineError::Write { path: path.to_path_buf(), source };
        let text = self.to_json();
        let regular_or_new = match std::fs::symlink_metadata(path) {
            Ok(meta) => meta.file_type().is_file(),
            Err(_) => true,
        };
        if !regular_or_new {
            return std::fs::write(path, text).map_err(err);
        }
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let mut builder = tempfile::Builder::new();
        builder.prefix(".azleak-baseline-").suffix(".tmp");
        // The file replaces the baseline: not the private mode of a temporary file, but the
        // old file's mode, or for a new one what the umask gives any new file.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let mut tmp = builder.tempfile_in(dir).map_err(err)?;
        if let Ok(meta) = std::fs::metadata(path) {
            tmp.as_file().set_permissions(meta.permissions()).map_err(err)?;
        }
        tmp.write_all(text.as_bytes()).map_err(err)?;
        tmp.as_file().sync_all().map_err(err)?;
        tmp.persist(path).map_err(|e| err(e.error))?;
        Ok(())
    }
}

/// 1-based line of the first occurrence of `needle` in `text` (1 if absent).
fn line_of(text: &str, needle: &str) -> usize {
    text.find(needle).map_or(1, |at| text[..at].matches('\n').count() + 1)
}

/// Today's date in UTC, `YYYY-MM-DD`.
pub fn today_utc() -> String {
    chrono::Utc::now().date_naive().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn today_is_a_calendar_date() {
        let today = today_utc();
        assert!(chrono::NaiveDate::parse_from_str(&today, "%Y-%m-%d").is_ok(), "{today}");
    }

    #[test]
    fn parse_rejects_bad_files_with_a_line() {
        let p = Path::new("b.json");
        let e =
            Baseline::parse(p, "{\n \"version\": 2,\n \"tool\": \"azleak\",\n \"entries\": 3\n}")
                .unwrap_err();
        assert!(matches!(e, BaselineError::Parse { line: 4, .. }), "{e}");
        let e =
            Baseline::parse(p, r#"{"version": 3, "tool": "azleak", "entries": []}"#).unwrap_err();
        assert!(e.to_string().contains("version 3"), "{e}");
        let e =
            Baseline::parse(p, r#"{"version": 1, "tool": "azleak", "entries": []}"#).unwrap_err();
        assert!(e.to_string().contains("--write-baseline"), "{e}");
        let e = Baseline::parse(
            p,
            r#"{"version": 2, "tool": "azleak", "entries": [{"fingerprint": "xyz", "rule_id": "r", "path": "p", "hint": "h", "first_seen": "2020-01-01"}]}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("32 hex digits"), "{e}");
    }

    #[test]
    fn round_trip_is_stable() {
        let text = r#"{
  "version": 2,
  "tool": "azleak",
  "entries": [
    {
      "fingerprint": "0123456789abcdef0123456789abcdef",
      "rule_id": "r",
      "path": "a/b.env",
      "hint": "abc…",
      "first_seen": "2020-01-01"
    }
  ]
}
"#;
        let b = Baseline::parse(Path::new("b.json"), text).expect("parses");
        assert_eq!(b.to_json(), text);
    }
}
