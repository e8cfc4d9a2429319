//! SARIF 2.1.0 built with `serde_sarif`, shaped for GitHub code scanning: unique rule ids with
//! descriptions, help (the remediation) and `security-severity`; results with a secret-free
//! message, a relative `artifactLocation.uri` under `%SRCROOT%`, a full region and
//! `partialFingerprints`; history details in `properties` and `relatedLocations`.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};
use serde_sarif::sarif::{
    ArtifactContent, ArtifactLocation, Invocation, Location, LogicalLocation, Message,
    MultiformatMessageString, Notification, PhysicalLocation, PropertyBag, Region,
    ReportingConfiguration, ReportingDescriptor, Result as SarifResult, ResultLevel, Run,
    RunAutomationDetails, Sarif, Tool, ToolComponent,
};

use super::{Report, ReportOptions, Reporter, ScanKind};
use crate::finding::{Confidence, Finding, VerificationStatus};
use crate::rules::Rule;

/// GitHub code scanning accepts at most this many results per run.
pub const MAX_SARIF_RESULTS: usize = 25_000;

/// Most related locations in one result (GitHub's limit); the rest are counted in the result's
/// `relatedLocationsOmitted` property and message.
pub const MAX_RELATED_LOCATIONS: usize = 1_000;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// Writes SARIF.
pub struct SarifReporter;

impl Reporter for SarifReporter {
    fn report(&self, w: &mut dyn Write, report: &Report<'_>) -> io::Result<()> {
        let sarif = build(report);
        serde_json::to_writer_pretty(&mut *w, &sarif)?;
        writeln!(w)
    }
}

fn bag(values: impl IntoIterator<Item = (&'static str, Value)>) -> PropertyBag {
    PropertyBag::builder()
        .additional_properties(
            values.into_iter().map(|(k, v)| (k.to_string(), v)).collect::<BTreeMap<_, _>>(),
        )
        .build()
}

/// `security-severity` of a result whose secret was verified live (a rule's is lower).
pub const LIVE_SECURITY_SEVERITY: &str = "10.0";

fn level(confidence: Confidence) -> ResultLevel {
    match confidence {
        Confidence::High => ResultLevel::Error,
        Confidence::Medium => ResultLevel::Warning,
        Confidence::Low => ResultLevel::Note,
    }
}

fn precision(confidence: Confidence) -> &'static str {
    match confidence {
        Confidence::High => "very-high",
        Confidence::Medium => "high",
        Confidence::Low => "low",
    }
}

fn descriptor(rule: &Rule) -> ReportingDescriptor {
    let s = &rule.syntax;
    let help_text = format!("{}\n\nReferences:\n{}", s.remediation.trim(), s.references.join("\n"));
    let help_md = format!(
        "**{}**\n\n{}\n\n{}",
        s.name,
        s.remediation.trim(),
        s.references.iter().map(|r| format!("- <{r}>")).collect::<Vec<_>>().join("\n")
    );
    let mut descriptor = ReportingDescriptor::builder()
        .id(rule.id())
        .name(camel_name(rule.id()))
        .short_description(MultiformatMessageString::builder().text(s.name.clone()).build())
        .full_description(
            MultiformatMessageString::builder().text(s.description.trim().to_string()).build(),
        )
        .help(MultiformatMessageString::builder().text(help_text).markdown(help_md).build())
        .default_configuration(
            ReportingConfiguration::builder()
                .level(json!(sarif_level_name(level(s.confidence))))
                .build(),
        )
        .properties(
            PropertyBag::builder()
                .tags(vec!["security".to_string(), "secret".to_string(), "azure".to_string()])
                .additional_properties(BTreeMap::from([
                    ("security-severity".to_string(), json!(format!("{:.1}", s.security_severity))),
                    ("precision".to_string(), json!(precision(s.confidence))),
                    ("confidence".to_string(), json!(s.confidence.as_str())),
                ]))
                .build(),
        )
        .build();
    descriptor.help_uri = s.references.first().cloned();
    descriptor
}

fn sarif_level_name(level: ResultLevel) -> &'static str {
    match level {
        ResultLevel::Error => "error",
        ResultLevel::Warning => "warning",
        ResultLevel::Note => "note",
        ResultLevel::None => "none",
    }
}

/// `azure.entra.client-secret` → `AzureEntraClientSecret` (SARIF `name` is an identifier).
fn camel_name(id: &str) -> String {
    id.split(['.', '-'])
        .map(|p| {
            let mut c = p.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
        })
        .collect()
}

/// The URI of a finding's path: relative to the repository root for file scans (history and
/// staged paths already are), so `%SRCROOT%` resolves wherever azleak ran.
fn artifact_uri(path: &str, options: &ReportOptions) -> (String, bool) {
    if options.kind == ScanKind::Files && path != "-" {
        if let Some(base) = &options.source_root {
            if let Some(rel) = crate::config::root_relative(&base.root, &base.cwd, path) {
                return relative_uri(&rel);
            }
        }
    }
    relative_uri(path)
}

/// What is percent-encoded in a URI path segment: everything but RFC 3986's unreserved
/// characters and the sub-delimiters and `@` that are safe in any segment. `:` is encoded too
/// (in a first segment it would make the reference an absolute URI with a scheme, as in
/// `javascript:alert(1)`), and so are `%`, `#`, `?`, space, controls and all non-ASCII (as
/// UTF-8 bytes).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b'@');

/// A relative, `/`-separated URI reference for a path, each segment percent-encoded, so it
/// never parses as an absolute URI (no scheme, no authority); an absolute path outside the
/// current directory becomes a `file://` URI.
pub(crate) fn relative_uri(path: &str) -> (String, bool) {
    let mut p = path.to_string();
    let mut relative = true;
    if std::path::Path::new(path).is_absolute() {
        if let Ok(cwd) = std::env::current_dir() {
            let cwd = crate::source::display_path(&cwd);
            if let Some(rest) = p.strip_prefix(&format!("{cwd}/")) {
                p = rest.to_string();
            } else {
                relative = false;
            }
        }
    }
    let out = p
        .split('/')
        .map(|segment| utf8_percent_encode(segment, SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/");
    if relative {
        // A leading `//` would start an authority: keep the reference a path.
        let out = if out.starts_with("//") { format!("./{out}") } else { out };
        (out, true)
    } else {
        (format!("file://{out}"), false)
    }
}

fn location(
    (uri, relative): (String, bool),
    line: usize,
    column: usize,
    end_column: usize,
    message: Option<String>,
    snippet: Option<String>,
) -> Location {
    let artifact = if relative {
        ArtifactLocation::builder().uri(uri).uri_base_id("%SRCROOT%").build()
    } else {
        ArtifactLocation::builder().uri(uri).build()
    };
    let mut region = Region::builder()
        .start_line(line as i64)
        .start_column(column as i64)
        .end_line(line as i64)
        .end_column(end_column.max(column + 1) as i64)
        .build();
    // The region's text, redacted unless secrets are shown.
    region.snippet = snippet.map(|text| ArtifactContent::builder().text(text).build());
    let physical = PhysicalLocation::builder().artifact_location(artifact).region(region).build();
    match message {
        Some(m) => Location::builder()
            .physical_location(physical)
            .message(Message::builder().text(m).build())
            .build(),
        None => Location::builder().physical_location(physical).build(),
    }
}

/// For a secret inside an archive, a logical location naming the member (`kind: resource`,
/// the `!`-joined member chain, fully qualified by the archive's path).
fn member_location(mut location: Location, path: &str, member: Option<&str>) -> Location {
    if let Some(member) = member {
        let logical = LogicalLocation::builder()
            .name(member.to_string())
            .fully_qualified_name(format!("{path}!{member}"))
            .kind("resource")
            .build();
        location.logical_locations = Some(vec![logical]);
    }
    location
}

/// `listed_at`: for a finding with copies, the earlier result of its group that lists them
/// (`None` if this one is the first).
fn result(
    f: &Finding,
    listed_at: Option<&Finding>,
    rule_index: Option<usize>,
    rule: Option<&Rule>,
    options: &ReportOptions,
) -> SarifResult {
    let show = options.show_secrets;
    let name = rule.map_or(f.rule_id.as_str(), |r| r.syntax.name.as_str());
    let mut text =
        format!("{name} ({} confidence) with hint {}.", f.confidence, f.secret.redacted());
    if let Some(repo) = &f.repository {
        text.push_str(&format!(" In repository {repo}."));
    }
    if let Some(rule) = rule {
        text.push(' ');
        text.push_str(&rule.short_remediation());
    }
    if let Some(owners) = super::owners::sentence(f) {
        text.push_str(&format!(" Owner: {owners}."));
        if let Some(action) = super::owners::action(f) {
            text.push_str(&format!(" To finish, {action}."));
        }
    }
    if let Some(e) = &f.expires {
        text.push_str(&format!(" The token {}.", e.describe()));
    }
    let others = f.copy_count() - 1;
    let omitted = match listed_at {
        _ if f.copies.is_none() => 0,
        None => others.saturating_sub(MAX_RELATED_LOCATIONS),
        Some(_) => others,
    };
    if f.copies.is_some() {
        text.push_str(&format!(" The same secret appears in {} places", others + 1));
        text.push_str(&match listed_at {
            None if omitted > 0 => format!(
                " (the first {MAX_RELATED_LOCATIONS} others are related locations; {omitted} more are not listed)."
            ),
            None => " (the others are related locations).".to_string(),
            Some(first) => format!(
                " (all listed with the result at {}:{}).",
                first.location_path(),
                first.line
            ),
        });
    }
    if let Some(v) = &f.verification {
        text.push_str(&format!(
            " Verified: {} ({}).",
            crate::verify::status_name(v.status),
            v.detail
        ));
    }
    let mut props: Vec<(&'static str, Value)> = vec![
        ("confidence", json!(f.confidence.as_str())),
        ("entropy", json!((f64::from(f.entropy) * 1000.0).round() / 1000.0)),
        ("checksum", json!(f.checksum)),
        ("fingerprint", json!(f.fingerprint)),
        ("hint", json!(f.secret.redacted())),
    ];
    if show {
        props.push(("secret", json!(f.secret.reveal())));
    }
    if let Some(p) = &f.pairing {
        // Identities are not secrets: in full, as in every format.
        if !p.tenant_ids.is_empty() {
            props.push(("tenantIds", json!(p.tenant_ids)));
        }
        if !p.client_ids.is_empty() {
            props.push(("clientIds", json!(p.client_ids)));
        }
        for (key, value) in
            [("authority", &p.authority), ("resource", &p.resource), ("endpoint", &p.endpoint)]
        {
            if let Some(v) = value {
                props.push((key, json!(v)));
            }
        }
    }
    if let Some(e) = &f.expires {
        props.push(("expires", json!(e.at)));
        props.push(("expired", json!(e.expired)));
    }
    if let Some(encoding) = f.encoding {
        props.push(("encoding", json!(encoding)));
    }
    if let Some(repo) = &f.repository {
        // Several repositories in one run: URIs stay relative to each one's root.
        props.push(("repository", json!(repo)));
    }
    if let Some(member) = &f.member {
        // The artifact is the archive; the secret is in this member, at the region's line.
        props.push(("member", json!(member)));
    }
    if let Some(c) = &f.commit {
        props.push(("commit", json!(c.commit)));
        props.push(("author", json!(c.author_name)));
        props.push(("authorEmail", json!(c.author_email)));
        props.push(("date", json!(c.date)));
        props.push(("commitSummary", json!(c.summary)));
    }
    if let Some(owners) = &f.owners {
        props.push(("owners", json!(owners)));
    }
    if let Some(group) = &f.copies {
        props.push(("copyGroup", json!(group.id)));
        props.push(("copies", json!(group.locations.len())));
        if omitted > 0 {
            props.push(("relatedLocationsOmitted", json!(omitted)));
        }
    }
    let live = f.verification.as_ref().is_some_and(|v| v.status == VerificationStatus::Valid);
    if let Some(v) = &f.verification {
        props.push(("verification", json!(crate::verify::status_name(v.status))));
        props.push(("verificationDetail", json!(v.detail)));
        props.push(("verifiedAt", json!(v.checked_at)));
        if live {
            // A live secret is an incident: the highest severity code scanning knows.
            props.push(("security-severity", json!(LIVE_SECURITY_SEVERITY)));
        }
    }
    let mut result = SarifResult::builder()
        .rule_id(f.rule_id.clone())
        .level(if live { ResultLevel::Error } else { level(f.confidence) })
        .message(Message::builder().text(text).build())
        .locations(vec![member_location(
            location(
                artifact_uri(&f.path, options),
                f.line,
                f.column,
                f.end_column,
                None,
                Some(f.secret.display(show)),
            ),
            &f.path,
            f.member.as_deref(),
        )])
        .partial_fingerprints(BTreeMap::from([
            ("primaryLocationLineHash".to_string(), format!("{}:1", f.line_hash)),
            (format!("azleak/v{}", crate::finding::FINGERPRINT_VERSION), f.fingerprint.clone()),
        ]))
        .properties(bag(props))
        .build();
    result.rule_index = rule_index.map(|i| i as i64);
    // The first result of a group lists the other copies (up to GitHub's limit); the others
    // point to that one, so each copy is written a bounded number of times.
    type Related<'a> = (&'a str, Option<&'a str>, usize, usize, usize, &'static str);
    let related: Vec<Related<'_>> = match (listed_at, &f.copies) {
        (_, None) => Vec::new(),
        (None, Some(_)) => f
            .other_locations()
            .take(MAX_RELATED_LOCATIONS)
            .map(|o| {
                let member = o.member.as_deref();
                (o.path.as_str(), member, o.line, o.column, o.end_column, "same secret")
            })
            .collect(),
        (Some(first), Some(_)) => vec![(
            first.path.as_str(),
            first.member.as_deref(),
            first.line,
            first.column,
            first.end_column,
            "same secret; every copy is listed with this result",
        )],
    };
    if !related.is_empty() {
        let related = related
            .into_iter()
            .enumerate()
            .map(|(i, (path, member, line, column, end_column, message))| {
                let uri = artifact_uri(path, options);
                let loc = location(uri, line, column, end_column, Some(message.into()), None);
                let mut loc = member_location(loc, path, member);
                loc.id = Some(i as i64);
                loc
            })
            .collect::<Vec<_>>();
        result.related_locations = Some(related);
    }
    result
}

fn build(report: &Report<'_>) -> Sarif {
    let rules: Vec<&Rule> = report.rules.iter().collect();
    let descriptors: Vec<ReportingDescriptor> = rules.iter().map(|r| descriptor(r)).collect();
    let mut first_of_group: HashMap<&str, &Finding> = HashMap::new();
    let results: Vec<SarifResult> = report
        .findings
        .iter()
        .take(MAX_SARIF_RESULTS)
        .map(|f| {
            let index = rules.iter().position(|r| r.id() == f.rule_id);
            let listed_at = f.copies.as_ref().and_then(|g| {
                let first = *first_of_group.entry(g.id.as_str()).or_insert(f);
                (!std::ptr::eq(first, f)).then_some(first)
            });
            result(f, listed_at, index, index.map(|i| rules[i]), report.options)
        })
        .collect();
    let mut notifications: Vec<Notification> = Vec::new();
    if report.findings.len() > MAX_SARIF_RESULTS {
        notifications.push(
            Notification::builder()
                .level(json!("warning"))
                .message(
                    Message::builder()
                        .text(format!(
                            "{} findings; only the first {MAX_SARIF_RESULTS} are in this SARIF run (GitHub's limit). Use --format json for all of them.",
                            report.findings.len()
                        ))
                        .build(),
                )
                .build(),
        );
    }
    for e in &report.summary.errors {
        notifications.push(
            Notification::builder()
                .level(json!("error"))
                .message(
                    Message::builder()
                        .text(format!("cannot read {}: {}", e.path, e.message))
                        .build(),
                )
                .build(),
        );
    }
    let mut properties = vec![
        ("filesScanned", json!(report.summary.files)),
        ("bytesScanned", json!(report.summary.bytes)),
        ("skipped", json!(report.summary.skipped)),
        ("scanKind", json!(report.options.kind.as_str())),
    ];
    if let Some(commits) = report.summary.commits {
        properties.push(("commitsScanned", json!(commits)));
        properties.push(("shallow", json!(report.summary.shallow.unwrap_or(false))));
    }
    let mut invocation = Invocation::builder()
        .execution_successful(report.summary.errors.is_empty())
        .properties(bag(properties))
        .build();
    if !notifications.is_empty() {
        invocation.tool_execution_notifications = Some(notifications);
    }
    let driver = ToolComponent::builder()
        .name("azleak")
        .semantic_version(env!("CARGO_PKG_VERSION"))
        .version(env!("CARGO_PKG_VERSION"))
        .information_uri("https://github.com/azleak/azleak")
        .rules(descriptors)
        .build();
    let mut run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .results(results)
        .invocations(vec![invocation])
        .column_kind(json!("unicodeCodePoints"))
        .build();
    if let Some(category) = &report.options.sarif_category {
        run.automation_details = Some(RunAutomationDetails::builder().id(category.clone()).build());
    }
    Sarif::builder().schema(SCHEMA).version(json!("2.1.0")).runs(vec![run]).build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_relative_and_encoded() {
        assert_eq!(relative_uri("src/a b.env"), ("src/a%20b.env".to_string(), true));
        assert_eq!(relative_uri("javascript:alert(1)").0, "javascript%3Aalert(1)");
        assert_eq!(relative_uri("a/%#?é\n").0, "a/%25%23%3F%C3%A9%0A");
        assert_eq!(camel_name("azure.entra.client-secret"), "AzureEntraClientSecret");
    }
}
