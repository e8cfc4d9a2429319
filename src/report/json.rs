//! The JSON format, schema version 2 (documented in README.md): `{version, tool, findings,
//! groups, summary}`, findings in report order. A secret found at several paths of a history
//! is one finding per path naming its `group`; `groups` lists each group's locations once. The `secret` field is redacted unless secrets are shown.

use std::io::{self, Write};

use serde::Serialize;

use super::{Report, Reporter};
use crate::detect::Encoding;
use crate::finding::{
    ChecksumStatus, CommitInfo, Confidence, Finding, OtherLocation, Owner, Pairing, Part,
    Verification,
};
use crate::scan::Summary;

/// Version of the JSON document's schema; bumped on incompatible changes.
pub const JSON_SCHEMA_VERSION: u32 = 2;

/// Writes the JSON format.
pub struct JsonReporter;

#[derive(Serialize)]
struct Document<'a> {
    version: u32,
    tool: Tool,
    scan: &'static str,
    min_confidence: Confidence,
    findings: Vec<JsonFinding<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    groups: Vec<JsonGroup<'a>>,
    summary: &'a Summary,
}

/// The copies of one secret, each written once, for the findings that name this group.
#[derive(Serialize)]
struct JsonGroup<'a> {
    id: &'a str,
    rule_id: &'a str,
    copies: usize,
    locations: &'a [OtherLocation],
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

/// One finding as the JSON format (and the JSON Lines format) writes it.
#[derive(Serialize)]
pub(super) struct JsonFinding<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    repository: Option<&'a str>,
    rule_id: &'a str,
    rule_name: &'a str,
    confidence: Confidence,
    path: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    member: Option<&'a str>,
    #[serde(skip_serializing_if = "is_content")]
    part: Part,
    line: usize,
    column: usize,
    end_column: usize,
    secret: String,
    redacted: bool,
    entropy: f32,
    checksum: ChecksumStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    encoding: Option<Encoding>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires: Option<&'a crate::finding::Expiry>,
    fingerprint: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pairing: Option<&'a Pairing>,
    #[serde(skip_serializing_if = "Option::is_none")]
    commit: Option<&'a CommitInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    group: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    copies: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    verification: Option<&'a Verification>,
    #[serde(skip_serializing_if = "Option::is_none")]
    owners: Option<&'a [Owner]>,
}

impl<'a> JsonFinding<'a> {
    /// The JSON object of a finding of a report.
    pub(super) fn new(f: &'a Finding, report: &Report<'a>) -> JsonFinding<'a> {
        let show = report.options.show_secrets;
        JsonFinding {
            repository: f.repository.as_deref(),
            rule_id: &f.rule_id,
            rule_name: report.rules.get(&f.rule_id).map_or("", |r| r.syntax.name.as_str()),
            confidence: f.confidence,
            path: &f.path,
            member: f.member.as_deref(),
            part: f.part,
            line: f.line,
            column: f.column,
            end_column: f.end_column,
            secret: f.secret.display(show),
            redacted: !show,
            entropy: (f.entropy * 1000.0).round() / 1000.0,
            checksum: f.checksum,
            encoding: f.encoding,
            expires: f.expires.as_ref(),
            fingerprint: &f.fingerprint,
            commit: f.commit.as_ref(),
            group: f.copies.as_ref().map(|g| g.id.as_str()),
            copies: f.copies.as_ref().map(|g| g.locations.len()),
            pairing: f.pairing.as_ref(),
            verification: f.verification.as_ref(),
            owners: f.owners.as_deref(),
        }
    }
}

fn is_content(part: &Part) -> bool {
    *part == Part::Content
}

impl Reporter for JsonReporter {
    fn report(&self, w: &mut dyn Write, report: &Report<'_>) -> io::Result<()> {
        let findings = report.findings.iter().map(|f| JsonFinding::new(f, report)).collect();
        // Each group once, in the order its first finding is reported.
        let mut seen = std::collections::HashSet::new();
        let groups = report
            .findings
            .iter()
            .filter_map(|f| f.copies.as_deref().map(|g| (f, g)))
            .filter(|(_, g)| seen.insert(g.id.as_str()))
            .map(|(f, g)| JsonGroup {
                id: &g.id,
                rule_id: &f.rule_id,
                copies: g.locations.len(),
                locations: &g.locations,
            })
            .collect();
        let doc = Document {
            version: JSON_SCHEMA_VERSION,
            tool: Tool { name: "azleak", version: env!("CARGO_PKG_VERSION") },
            scan: report.options.kind.as_str(),
            min_confidence: report.options.min_confidence,
            findings,
            groups,
            summary: report.summary,
        };
        serde_json::to_writer_pretty(&mut *w, &doc)?;
        writeln!(w)
    }
}
