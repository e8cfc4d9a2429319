//! `azleak merge`: joins the JSON reports of shards (`--shard K/N`) into the JSON report one
//! process would have written: the same findings in the same order, each written exactly as the
//! shard wrote it (so fields this module does not know, added by newer reporters, are kept), the
//! groups in the order of their first finding, and the summaries added up. The elapsed time is
//! the longest shard's (the shards ran side by side).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::finding::{CopyGroup, OtherLocation};
use crate::scan::{ShardCopies, Summary};

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
    findings: Vec<Entry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    groups: Vec<Entry>,
    summary: Summary,
}

/// A finding or group of a merged report: as a shard wrote it, or rebuilt by the merge (a
/// path shard's finding with its copy group from every shard). Both are written by the same
/// pretty printer at the same depth, so a rebuilt one is laid out as a shard would have.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum Entry {
    Raw(Box<RawValue>),
    Fields(Fields),
    Group(Group),
}

impl<'de> Deserialize<'de> for Entry {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Entry, D::Error> {
        Box::<RawValue>::deserialize(d).map(Entry::Raw)
    }
}

impl Entry {
    fn raw(&self) -> &str {
        match self {
            Entry::Raw(raw) => raw.get(),
            Entry::Fields(_) | Entry::Group(_) => "",
        }
    }
}

/// The fields of a JSON object in the order written, each value as written.
#[derive(Debug, Default)]
struct Fields(Vec<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Fields, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Fields;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Fields, A::Error> {
                let mut fields = Vec::new();
                while let Some(entry) = map.next_entry::<String, Box<RawValue>>()? {
                    fields.push(entry);
                }
                Ok(Fields(fields))
            }
        }
        d.deserialize_map(Visit)
    }
}

impl Serialize for Fields {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// A copy group rebuilt from the path shards' copies (as the JSON reporter writes one).
#[derive(Debug, Serialize)]
struct Group {
    id: String,
    rule_id: String,
    copies: usize,
    locations: Vec<OtherLocation>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
struct Tool {
    name: String,
    version: String,
}

/// The fields of a finding that place it in report order (and among its copies).
#[derive(Debug, Deserialize)]
struct Key {
    #[serde(default)]
    repository: Option<String>,
    path: String,
    #[serde(default)]
    member: Option<String>,
    line: usize,
    column: usize,
    end_column: usize,
    rule_id: String,
    secret: String,
    #[serde(default)]
    group: Option<String>,
    #[serde(default)]
    commit: Option<CommitId>,
}

#[derive(Debug, Deserialize)]
struct CommitId {
    commit: String,
}

/// Where one copy of a secret is: its repository, rule and place.
type Place = (Option<String>, String, OtherLocation);

impl Key {
    fn place(&self) -> Place {
        let location = OtherLocation {
            path: self.path.clone(),
            member: self.member.clone(),
            line: self.line,
            column: self.column,
            end_column: self.end_column,
            commit: self.commit.as_ref().map(|c| c.commit.clone()),
        };
        (self.repository.clone(), self.rule_id.clone(), location)
    }
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
    let mut groups: HashMap<(usize, String), Entry> = HashMap::new();
    let mut take = |doc: &mut Document, n: usize, path: &str| -> Result<(), MergeError> {
        for f in std::mem::take(&mut doc.findings) {
            let key: Key = serde_json::from_str(f.raw()).map_err(|e| MergeError::Parse {
                path: path.to_string(),
                message: format!("a finding: {:?}", e.classify()),
            })?;
            keyed.push((key, n, f));
        }
        for g in std::mem::take(&mut doc.groups) {
            let id: GroupId = serde_json::from_str(g.raw()).map_err(|e| MergeError::Parse {
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
    keyed.dedup_by(|a, b| a.2.raw() == b.2.raw());
    // Path shards: each finding's copy group is rebuilt from every shard's copies of its secret.
    let copies = Copies::new(std::mem::take(&mut merged.summary.shard_copies));
    let mut rebuilt: HashMap<String, Group> = HashMap::new();
    for (key, _, entry) in &mut keyed {
        let Some(group) = copies.group_of(&key.place()) else { continue };
        let mut fields: Fields =
            serde_json::from_str(entry.raw()).map_err(|e| MergeError::Parse {
                path: first_path.clone(),
                message: format!("a finding: {:?}", e.classify()),
            })?;
        key.group = group.map(|g| g.id.clone());
        let count = group.map(|g| g.locations.len());
        fields.set("group", key.group.as_ref().map(serde_json::to_string));
        fields.set("copies", count.map(|n| Ok(n.to_string())));
        *entry = Entry::Fields(fields);
        if let Some(g) = group {
            rebuilt.entry(g.id.clone()).or_insert_with(|| Group {
                id: g.id.clone(),
                rule_id: key.rule_id.clone(),
                copies: g.locations.len(),
                locations: g.locations.clone(),
            });
        }
    }
    // Each group id once, taken from the report of the first finding naming it (as one
    // process writes it; group ids are qualified by repository, so a repository's groups are
    // all in the one shard that scanned it).
    let mut ordered_groups = Vec::new();
    let mut written = std::collections::HashSet::new();
    for (key, n, _) in &keyed {
        if let Some(id) = &key.group {
            if written.insert(id.clone()) {
                if let Some(group) = rebuilt.remove(id) {
                    ordered_groups.push(Entry::Group(group));
                } else if let Some(raw) = groups.remove(&(*n, id.clone())) {
                    ordered_groups.push(raw);
                }
            }
        }
    }
    merged.findings = keyed.into_iter().map(|(_, _, f)| f).collect();
    merged.groups = ordered_groups;
    merged.summary.sort();
    // A repository no path shard could open is an error of each: named once.
    merged.summary.errors.dedup();
    let mut out = serde_json::to_string_pretty(&merged)
        .map_err(|e| MergeError::Parse { path: first_path, message: e.to_string() })?;
    out.push('\n');
    Ok(out)
}

impl Fields {
    /// Sets the field `name` to `value` (JSON text), or removes it for `None`. A new field goes
    /// where the JSON reporter writes it: after `commit` (`group`) or `group` (`copies`).
    fn set(&mut self, name: &str, value: Option<serde_json::Result<String>>) {
        let at = self.0.iter().position(|(k, _)| k == name);
        let value = value.and_then(|v| v.ok()).and_then(|v| RawValue::from_string(v).ok());
        match (at, value) {
            (Some(i), Some(v)) => self.0[i].1 = v,
            (Some(i), None) => {
                self.0.remove(i);
            }
            (None, Some(v)) => {
                let after = if name == "group" { "commit" } else { "group" };
                let i = self.0.iter().position(|(k, _)| k == after).map_or_else(
                    || self.0.iter().position(|(k, _)| k == "verification" || k == "owners"),
                    |i| Some(i + 1),
                );
                self.0.insert(i.unwrap_or(self.0.len()), (name.to_string(), v));
            }
            (None, None) => {}
        }
    }
}

/// The copies of each secret that path shards listed, joined by secret key: the copy groups
/// one process would have made.
struct Copies {
    /// Each copy's group (by position in `groups`), or `None` for a secret found once.
    places: std::collections::BTreeMap<Place, Option<usize>>,
    groups: Vec<CopyGroup>,
}

impl Copies {
    fn new(copies: Vec<ShardCopies>) -> Copies {
        let mut joined: std::collections::BTreeMap<(Option<String>, String, String), Vec<_>> =
            Default::default();
        for c in copies {
            joined.entry((c.repository, c.key, c.rule_id)).or_default().extend(c.locations);
        }
        let mut places = std::collections::BTreeMap::new();
        let mut groups = Vec::new();
        for ((repository, _, rule_id), mut locations) in joined {
            locations.sort();
            locations.dedup();
            let group = (locations.len() > 1).then_some(groups.len());
            for l in &locations {
                places.insert((repository.clone(), rule_id.clone(), l.clone()), group);
            }
            if group.is_some() {
                let mut g = CopyGroup::new(&rule_id, locations);
                if let Some(name) = &repository {
                    g.id = super::qualified_group_id(name, &g.id);
                }
                groups.push(g);
            }
        }
        Copies { places, groups }
    }

    /// The group of the copy at `place`: `None` if no path shard listed it, `Some(None)` if its
    /// secret was found there only.
    fn group_of(&self, place: &Place) -> Option<Option<&CopyGroup>> {
        self.places.get(place).map(|g| g.map(|i| &self.groups[i]))
    }
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

    use crate::finding::{Finding, Secret};
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
