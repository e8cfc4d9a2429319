//! `azleak merge`: joins the JSON reports of shards (`--shard K/N`) into the JSON report one
//! process would have written: the same findings in the same order, each written exactly as the
//! shard wrote it (so fields this module does not know, added by newer reporters, are kept), the
//! groups in the order of their first finding, and the summaries added up. The elapsed time is
//! the longest shard's (the shards ran side by side).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::scan::Summary;

/// Errors of a merge; each names the report at fault.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// A report cannot be read.
    #[error("{path}: {source}")]
    Read {
        /// The report.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A report is not an azleak JSON report.
    #[error("{path}: not an azleak JSON report: {message}")]
    Parse {
        /// The report.
        path: String,
        /// What serde_json said (positions only, never the text).
        message: String,
    },
    /// Reports of different kinds, versions or thresholds cannot be merged.
    #[error("{path}: {what} is {found:?}, but the first report's is {expected:?}")]
    Mismatch {
        /// The report.
        path: String,
        /// Which field differs.
        what: &'static str,
        /// Its value in this report.
        found: String,
        /// Its value in the first report.
        expected: String,
    },
    /// No report was given.
    #[error("nothing to merge: name at least one JSON report")]
    Empty,
}

/// A JSON report as read: its findings and groups kept as written.
#[derive(Debug, Deserialize, Serialize)]
struct Document {
    version: u32,
    tool: Tool,
    scan: String,
    min_confidence: String,
    findings: Vec<Box<RawValue>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    groups: Vec<Box<RawValue>>,
    summary: Summary,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
struct Tool {
    name: String,
    version: String,
}

/// The fields of a finding that place it in report order.
#[derive(Debug, Deserialize)]
struct Key {
    #[serde(default)]
    repository: Option<String>,
    path: String,
    #[serde(default)]
    member: Option<String>,
    line: usize,
    column: usize,
    rule_id: String,
    secret: String,
    #[serde(default)]
    group: Option<String>,
}

#[derive(Debug, Deserialize)]
struct GroupId {
    id: String,
}

/// Merges JSON reports, given as (name, text) pairs, into one JSON report (pretty-printed, as
/// `--format json` writes it).
pub fn merge_reports(reports: &[(String, String)]) -> Result<String, MergeError> {
    let mut docs = Vec::new();
    for (path, text) in reports {
        let doc: Document = serde_json::from_str(text).map_err(|e| MergeError::Parse {
            path: path.clone(),
            message: format!("line {}, column {}: {:?}", e.line(), e.column(), e.classify()),
        })?;
        docs.push((path, doc));
    }
    let mut iter = docs.into_iter();
    let (_, mut merged) = iter.next().ok_or(MergeError::Empty)?;
    let mut keyed = Vec::new();
    let mut groups: HashMap<(usize, String), Box<RawValue>> = HashMap::new();
    let mut take = |doc: &mut Document, n: usize, path: &str| -> Result<(), MergeError> {
        for f in std::mem::take(&mut doc.findings) {
            let key: Key = serde_json::from_str(f.get()).map_err(|e| MergeError::Parse {
                path: path.to_string(),
                message: format!("a finding: {:?}", e.classify()),
            })?;
            keyed.push((key, n, f));
        }
        for g in std::mem::take(&mut doc.groups) {
            let id: GroupId = serde_json::from_str(g.get()).map_err(|e| MergeError::Parse {
                path: path.to_string(),
                message: format!("a group: {:?}", e.classify()),
            })?;
            groups.entry((n, id.id)).or_insert(g);
        }
        Ok(())
    };
    let first_path = reports[0].0.clone();
    take(&mut merged, 0, &first_path)?;
    for (n, (path, mut doc)) in iter.enumerate() {
        let checks: [(&'static str, String, String); 4] = [
            ("version", doc.version.to_string(), merged.version.to_string()),
            ("tool version", doc.tool.version.clone(), merged.tool.version.clone()),
            ("scan", doc.scan.clone(), merged.scan.clone()),
            ("min_confidence", doc.min_confidence.clone(), merged.min_confidence.clone()),
        ];
        for (what, found, expected) in checks {
            if found != expected {
                return Err(MergeError::Mismatch { path: path.clone(), what, found, expected });
            }
        }
        take(&mut doc, n + 1, path)?;
        // The shards' paths are already repository-qualified.
        super::add_summary(&mut merged.summary, doc.summary);
    }
    let sort_key = |k: &Key| {
        (
            k.repository.clone(),
            k.path.clone(),
            k.member.clone(),
            k.line,
            k.column,
            k.rule_id.clone(),
            k.secret.clone(),
        )
    };
    keyed.sort_by_key(|(k, _, _)| sort_key(k));
    // The same report given twice (a retried shard) adds nothing.
    keyed.dedup_by(|a, b| a.2.get() == b.2.get());
    // Each group id once, taken from the report of the first finding naming it (as one
    // process writes it; group ids are qualified by repository, so a repository's groups are
    // all in the one shard that scanned it).
    let mut ordered_groups = Vec::new();
    let mut written = std::collections::HashSet::new();
    for (key, n, _) in &keyed {
        if let Some(id) = &key.group {
            if written.insert(id.clone()) {
                if let Some(raw) = groups.remove(&(*n, id.clone())) {
                    ordered_groups.push(raw);
                }
            }
        }
    }
    merged.findings = keyed.into_iter().map(|(_, _, f)| f).collect();
    merged.groups = ordered_groups;
    merged.summary.sort();
    let mut out = serde_json::to_string_pretty(&merged)
        .map_err(|e| MergeError::Parse { path: first_path, message: e.to_string() })?;
    out.push('\n');
    Ok(out)
}

/// A merged report read back as findings, to render it in another format.
#[derive(Debug)]
pub struct ReadReport {
    /// The findings, in report order, each with its copy group.
    pub findings: Vec<crate::finding::Finding>,
    /// The summary.
    pub summary: Summary,
    /// What kind of scan the report is of.
    pub kind: crate::report::ScanKind,
    /// Its reporting threshold.
    pub min_confidence: crate::finding::Confidence,
}

#[derive(Debug, Deserialize)]
struct ReadDoc {
    scan: String,
    min_confidence: crate::finding::Confidence,
    findings: Vec<ReadFinding>,
    #[serde(default)]
    groups: Vec<ReadGroup>,
    summary: Summary,
}

#[derive(Debug, Deserialize)]
struct ReadGroup {
    id: String,
    locations: Vec<crate::finding::OtherLocation>,
}

#[derive(Debug, Deserialize)]
struct ReadFinding {
    #[serde(default)]
    repository: Option<String>,
    rule_id: String,
    confidence: crate::finding::Confidence,
    path: String,
    #[serde(default)]
    member: Option<String>,
    #[serde(default)]
    part: crate::finding::Part,
    line: usize,
    column: usize,
    end_column: usize,
    secret: String,
    entropy: f32,
    checksum: crate::finding::ChecksumStatus,
    #[serde(default)]
    encoding: Option<crate::detect::Encoding>,
    fingerprint: String,
    #[serde(default)]
    commit: Option<crate::finding::CommitInfo>,
    #[serde(default)]
    group: Option<String>,
    #[serde(default)]
    pairing: Option<crate::finding::Pairing>,
    #[serde(default)]
    verification: Option<crate::finding::Verification>,
    #[serde(default)]
    owners: Option<Vec<crate::finding::Owner>>,
    #[serde(default)]
    expires: Option<crate::finding::Expiry>,
}

/// Reads a JSON report (a merged one, or any `--format json` output) back as findings. The
/// JSON format has no line hash: SARIF's `primaryLocationLineHash` is then derived from the
/// fingerprint. Secrets are as the report wrote them (redacted unless it showed them).
pub fn read_report(path: &str, text: &str) -> Result<ReadReport, MergeError> {
    use std::sync::Arc;

    use crate::finding::{CopyGroup, Finding, Secret};
    let doc: ReadDoc = serde_json::from_str(text).map_err(|e| MergeError::Parse {
        path: path.to_string(),
        message: format!("line {}, column {}: {:?}", e.line(), e.column(), e.classify()),
    })?;
    let kind = match doc.scan.as_str() {
        "files" => crate::report::ScanKind::Files,
        "staged" => crate::report::ScanKind::Staged,
        _ => crate::report::ScanKind::History,
    };
    let groups: HashMap<String, Arc<CopyGroup>> = doc
        .groups
        .into_iter()
        .map(|g| (g.id.clone(), Arc::new(CopyGroup { id: g.id, locations: g.locations })))
        .collect();
    let findings = doc
        .findings
        .into_iter()
        .map(|f| Finding {
            copies: f.group.as_ref().and_then(|id| groups.get(id).cloned()),
            line_hash: f.fingerprint.clone(),
            rule_id: f.rule_id,
            confidence: f.confidence,
            path: f.path,
            member: f.member,
            part: f.part,
            line: f.line,
            column: f.column,
            end_column: f.end_column,
            secret: Secret::new(f.secret),
            entropy: f.entropy,
            checksum: f.checksum,
            encoding: f.encoding,
            fingerprint: f.fingerprint,
            commit: f.commit,
            allowed_inline: false,
            pairing: f.pairing,
            verification: f.verification,
            owners: f.owners,
            expires: f.expires,
            repository: f.repository,
        })
        .collect();
    Ok(ReadReport { findings, summary: doc.summary, kind, min_confidence: doc.min_confidence })
}
