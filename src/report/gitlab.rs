//! GitLab's secret-detection report (`gl-secret-detection-report.json`, the artifact of
//! `artifacts: reports: secret_detection:`), schema version [`GITLAB_SCHEMA_VERSION`], so
//! findings appear in the merge-request security widget and the vulnerability report.
//!
//! One vulnerability per finding: its `id` is a UUID-shaped hash of the fingerprint and the
//! location (stable across runs, never derived from the secret alone); `location.file` is
//! relative to the repository root ([`super::repo_path`]); `location.commit` is the commit that
//! introduced the secret in git scans (GitLab requires one: file scans give `0000000`, as
//! GitLab's own analyzer does for files); `raw_source_code_extract` holds the redacted hint
//! unless secrets are shown. Pairing, verification and owners go in `details`.

use std::io::{self, Write};

use serde_json::{Map, Value, json};

use super::{Report, Reporter};
use crate::finding::{Confidence, Finding, hash_parts};

/// The version of GitLab's security-report schema the report conforms to.
pub const GITLAB_SCHEMA_VERSION: &str = "15.0.7";

/// Longest `solution` the schema accepts, in characters.
const MAX_SOLUTION: usize = 7000;

/// Writes GitLab's secret-detection report.
pub struct GitlabReporter;

impl Reporter for GitlabReporter {
    fn report(&self, w: &mut dyn Write, report: &Report<'_>) -> io::Result<()> {
        let vulnerabilities: Vec<Value> =
            report.findings.iter().map(|f| vulnerability(f, report)).collect();
        let end = chrono::Utc::now();
        let elapsed = chrono::Duration::from_std(report.summary.elapsed).unwrap_or_default();
        let time = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%S").to_string();
        let tool = json!({
            "id": "azleak",
            "name": "azleak",
            "version": env!("CARGO_PKG_VERSION"),
            "vendor": {"name": "azleak"},
        });
        let messages: Vec<Value> = report
            .summary
            .errors
            .iter()
            .map(|e| json!({"level": "warn", "value": super::escape_display(&e.to_string())}))
            .collect();
        let doc = json!({
            "version": GITLAB_SCHEMA_VERSION,
            "schema": format!(
                "https://gitlab.com/gitlab-org/security-products/security-report-schemas/-/raw/\
                 v{GITLAB_SCHEMA_VERSION}/dist/secret-detection-report-format.json"
            ),
            "scan": {
                "analyzer": tool,
                "scanner": tool,
                "type": "secret_detection",
                "start_time": time(end - elapsed),
                "end_time": time(end),
                "status": "success",
                "messages": messages,
            },
            "vulnerabilities": vulnerabilities,
        });
        serde_json::to_writer_pretty(&mut *w, &doc)?;
        writeln!(w)
    }
}

/// GitLab's severity of a finding's confidence.
fn severity(c: Confidence) -> &'static str {
    match c {
        Confidence::High => "Critical",
        Confidence::Medium => "High",
        Confidence::Low => "Low",
    }
}

/// A stable id shaped as a UUID, from the finding's fingerprint and location.
fn vulnerability_id(f: &Finding) -> String {
    let (line, column) = (f.line.to_string(), f.column.to_string());
    let commit = f.commit.as_ref().map_or("", |c| c.commit.as_str());
    let parts: [&[u8]; 7] = [
        b"azleak-gitlab-v1",
        f.fingerprint.as_bytes(),
        f.path.as_bytes(),
        f.member.as_deref().unwrap_or("").as_bytes(),
        line.as_bytes(),
        column.as_bytes(),
        commit.as_bytes(),
    ];
    let h = hash_parts(&parts);
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

fn vulnerability(f: &Finding, report: &Report<'_>) -> Value {
    let show = report.options.show_secrets;
    let rule = report.rules.get(&f.rule_id);
    let name = rule.map_or(f.rule_id.clone(), |r| r.syntax.name.clone());
    let hint = f.secret.display(show);
    let mut description =
        format!("{name} ({} confidence, hint {hint}) in {}", f.confidence, f.location_path());
    if f.part != crate::finding::Part::Content {
        description.push_str(&format!(" ({})", f.part.as_str()));
    }
    description.push('.');
    if let Some(r) = rule {
        description.push_str("\n\n");
        description.push_str(r.syntax.description.trim());
    }
    if f.copies.is_some() {
        description.push_str(&format!("\n\nThe same secret appears in {} places.", f.copy_count()));
    }
    let mut location = Map::new();
    location.insert("file".into(), json!(super::repo_path(f, report.options)));
    location.insert("start_line".into(), json!(f.line));
    location.insert("end_line".into(), json!(f.line));
    let commit = match &f.commit {
        Some(c) => json!({
            "sha": c.commit,
            "author": format!("{} <{}>", c.author_name, c.author_email),
            "date": c.date,
            "message": c.summary,
        }),
        None => json!({"sha": "0000000"}),
    };
    location.insert("commit".into(), commit);
    let mut details = Map::new();
    details.insert(
        "confidence".into(),
        json!({"name": "Confidence", "type": "text", "value": f.confidence.as_str()}),
    );
    if let Some(member) = &f.member {
        details.insert(
            "archive_member".into(),
            json!({"name": "Inside the archive", "type": "text", "value": member}),
        );
    }
    if !f.fingerprint.is_empty() {
        details.insert(
            "fingerprint".into(),
            json!({"name": "Fingerprint", "type": "text", "value": f.fingerprint}),
        );
    }
    for field in super::extra::fields(f, report) {
        details.insert(
            field.key.into(),
            json!({"name": field.label, "type": "text", "value": field.value}),
        );
    }
    let mut v = Map::new();
    v.insert("id".into(), json!(vulnerability_id(f)));
    v.insert("category".into(), json!("secret_detection"));
    v.insert("name".into(), json!(truncate(&name, 255)));
    v.insert("description".into(), json!(report.redact(&description)));
    v.insert("severity".into(), json!(severity(f.confidence)));
    if let Some(r) = rule {
        v.insert("solution".into(), json!(truncate(r.syntax.remediation.trim(), MAX_SOLUTION)));
    }
    v.insert(
        "identifiers".into(),
        json!([{
            "type": "azleak_rule_id",
            "name": format!("azleak rule {}", f.rule_id),
            "value": f.rule_id,
        }]),
    );
    let links: Vec<Value> = rule
        .map(|r| r.syntax.references.as_slice())
        .unwrap_or_default()
        .iter()
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
        .map(|u| json!({"url": u}))
        .collect();
    if !links.is_empty() {
        v.insert("links".into(), Value::Array(links));
    }
    v.insert("location".into(), Value::Object(location));
    v.insert("details".into(), Value::Object(details));
    v.insert("raw_source_code_extract".into(), json!(hint));
    Value::Object(v)
}

/// At most `max` characters of `s`.
fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}
