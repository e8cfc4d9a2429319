//! The human format: one `path:line:col` line per finding (ripgrep style), the commit for
//! history findings, the remediation of each rule that fired, then a one-line summary. Every
//! field that comes from scanned data or rule files is printed through [`esc`], so a file
//! name or commit message cannot forge a line or send escape sequences to the terminal.

use std::io::{self, Write};

use std::borrow::Cow;

use super::{Report, Reporter, escape_display, human_bytes};
use crate::finding::{Confidence, Finding};
use crate::source::SkipReason;

/// Writes the text format.
pub struct TextReporter;

/// A field as printed: control and bidi characters escaped.
fn esc(s: &str) -> Cow<'_, str> {
    escape_display(s)
}

struct Paint {
    on: bool,
}

impl Paint {
    fn wrap(&self, code: &str, text: &str) -> String {
        if self.on { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_string() }
    }
    fn path(&self, t: &str) -> String {
        self.wrap("35", t)
    }
    fn number(&self, t: &str) -> String {
        self.wrap("32", t)
    }
    fn rule(&self, t: &str) -> String {
        self.wrap("1", t)
    }
    fn confidence(&self, c: Confidence) -> String {
        let code = match c {
            Confidence::High => "1;31",
            Confidence::Medium => "33",
            Confidence::Low => "2",
        };
        self.wrap(code, c.as_str())
    }
    fn dim(&self, t: &str) -> String {
        self.wrap("2", t)
    }
}

impl Reporter for TextReporter {
    fn report(&self, w: &mut dyn Write, report: &Report<'_>) -> io::Result<()> {
        let paint = Paint { on: report.options.color };
        let mut listed = Listed::new();
        for f in report.findings {
            write_finding(w, &paint, f, report.options.show_secrets)?;
            write_copies(w, &paint, f, &mut listed)?;
        }
        write_remediation(w, &paint, report)?;
        write_summary(w, &paint, report)
    }
}

fn write_finding(w: &mut dyn Write, paint: &Paint, f: &Finding, show: bool) -> io::Result<()> {
    writeln!(
        w,
        "{}:{}:{}: {} ({}) secret {}{}{}{}{}",
        paint.path(&esc(&f.location_path())),
        paint.number(&f.line.to_string()),
        paint.number(&f.column.to_string()),
        paint.rule(&esc(&f.rule_id)),
        paint.confidence(f.confidence),
        esc(&f.secret.display(show)),
        match f.checksum {
            crate::finding::ChecksumStatus::Valid => ", checksum valid",
            crate::finding::ChecksumStatus::Invalid => ", checksum invalid (probably made up)",
            crate::finding::ChecksumStatus::NotApplicable => "",
        },
        f.encoding.map(|e| format!(", {} encoded", e.as_str())).unwrap_or_default(),
        f.expires.as_ref().map(|e| format!(", {}", esc(&e.describe()))).unwrap_or_default(),
        if f.part == crate::finding::Part::Path {
            ", in the path (a file or directory name)"
        } else {
            ""
        }
    )?;
    if let Some(p) = &f.pairing {
        writeln!(w, "    {} {}", paint.dim("belongs to"), esc(&p.describe()))?;
    }
    if let Some(v) = &f.verification {
        let status = crate::verify::status_name(v.status);
        let status = match v.status {
            crate::finding::VerificationStatus::Valid => paint.wrap("1;31", status),
            _ => status.to_string(),
        };
        writeln!(w, "    {} {status} ({})", paint.dim("verified:"), esc(&v.detail))?;
    }
    if let Some(c) = &f.commit {
        let short = &c.commit[..c.commit.len().min(12)];
        writeln!(
            w,
            "    {} {} by {} <{}> on {}: {}",
            paint.dim("introduced in"),
            esc(short),
            esc(&c.author_name),
            esc(&c.author_email),
            esc(&c.date),
            esc(&c.summary)
        )?;
    }
    if let Some(owners) = super::owners::sentence(f) {
        writeln!(w, "    {} {}", paint.dim("owner:"), esc(&owners))?;
        if let Some(action) = super::owners::action(f) {
            writeln!(w, "    {}", paint.dim(&esc(&action)))?;
        }
    }
    Ok(())
}

/// For each group of copies, the first finding of it in the report, where its places are listed.
type Listed<'a> = std::collections::HashMap<&'a str, &'a Finding>;

/// The places a secret appears in: listed in full under the first finding of its group, and
/// referred to from the others, so each place is written at most twice in all.
fn write_copies<'a>(
    w: &mut dyn Write,
    paint: &Paint,
    f: &'a Finding,
    listed: &mut Listed<'a>,
) -> io::Result<()> {
    let Some(group) = &f.copies else { return Ok(()) };
    let places = group.locations.len();
    if let Some(first) = listed.get(group.id.as_str()) {
        let at = format!("{}:{}:{}", esc(&first.path), first.line, first.column);
        let text = format!("this secret appears in {places} places; all listed at {at}");
        return writeln!(w, "    {}", paint.dim(&text));
    }
    listed.insert(&group.id, f);
    writeln!(w, "    {}", paint.dim(&format!("this secret appears in {places} places; also at:")))?;
    for o in f.other_locations() {
        let commit = o.commit.as_deref().map(|c| format!(" (commit {})", &c[..c.len().min(12)]));
        let commit = commit.unwrap_or_default();
        writeln!(w, "      {}:{}:{}{}", esc(&o.location_path()), o.line, o.column, esc(&commit))?;
    }
    Ok(())
}

fn write_remediation(w: &mut dyn Write, paint: &Paint, report: &Report<'_>) -> io::Result<()> {
    let mut seen: Vec<&str> = Vec::new();
    for f in report.findings {
        if seen.contains(&f.rule_id.as_str()) {
            continue;
        }
        seen.push(&f.rule_id);
        let Some(rule) = report.rules.get(&f.rule_id) else { continue };
        writeln!(w)?;
        writeln!(
            w,
            "{} {}",
            paint.rule(&format!("How to fix {}", esc(rule.id()))),
            paint.dim(&format!("({})", esc(&rule.syntax.name)))
        )?;
        for line in textwrap(&rule.syntax.remediation, 96) {
            writeln!(w, "  {}", esc(&line))?;
        }
    }
    Ok(())
}

fn write_summary(w: &mut dyn Write, paint: &Paint, report: &Report<'_>) -> io::Result<()> {
    let s = report.summary;
    if report.options.verbose {
        for skipped in &s.skipped {
            let (verb, why) = match skipped.reason {
                SkipReason::Binary => ("scanned", "binary: checksum-verified secrets only".into()),
                reason => match &skipped.detail {
                    Some(detail) => ("skipped", format!("{reason}: {detail}")),
                    None => ("skipped", reason.to_string()),
                },
            };
            writeln!(w, "{} {} ({why})", paint.dim(verb), esc(&skipped.path))?;
        }
    }
    writeln!(w)?;
    writeln!(w, "{}", summary_line(report))
}

/// The one-line summary that ends the text report (`azleak: 3 files scanned (1.2 KiB), 0
/// skipped, 2 findings, 0 errors, 0.01s`); also printed on standard error when the report
/// goes to a file.
pub fn summary_line(report: &Report<'_>) -> String {
    let s = report.summary;
    // Binary files are scanned (checksum-verified secrets only): counted with the files, not
    // with the skips.
    let binary = s.skipped.iter().filter(|k| k.reason == SkipReason::Binary).count();
    let skipped = s
        .skipped_by_reason()
        .iter()
        .filter(|(reason, _)| **reason != SkipReason::Binary)
        .map(|(reason, n)| format!("{n} {reason}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut parts = Vec::new();
    if let Some(n) = s.repositories {
        let repos = if n == 1 { "repository" } else { "repositories" };
        match s.repositories_failed {
            Some(failed) if failed > 0 => {
                parts.push(format!("{n} {repos} ({failed} more could not be scanned)"))
            }
            _ => parts.push(format!("{n} {repos}")),
        }
    }
    if let Some(n) = s.commits {
        let commits = if n == 1 { "commit" } else { "commits" };
        let shallow = if s.shallow == Some(true) {
            " (shallow clone: history before it is absent)"
        } else {
            ""
        };
        parts.push(format!("{n} {commits}{shallow}"));
    }
    parts.extend([
        format!(
            "{} {} scanned ({}{}{}{})",
            s.files,
            plural(s.files, report.options.kind),
            human_bytes(s.bytes),
            if s.archive_members > 0 {
                format!(", {} in archives", s.archive_members)
            } else {
                String::new()
            },
            if s.duplicates > 0 {
                format!(", {} duplicates scanned once", s.duplicates)
            } else {
                String::new()
            },
            if binary > 0 {
                format!(", {binary} binary: checksum-verified secrets only")
            } else {
                String::new()
            }
        ),
        if skipped.is_empty() {
            "0 skipped".to_string()
        } else {
            format!("{} skipped ({skipped})", s.skipped.len() - binary)
        },
        format!(
            "{} {}",
            report.findings.len(),
            if report.findings.len() == 1 { "finding" } else { "findings" }
        ),
    ]);
    if s.below_threshold > 0 {
        parts.push(format!(
            "{} below --min-confidence {}",
            s.below_threshold, report.options.min_confidence
        ));
    }
    for (count, what) in [
        (s.allowed_inline, "allowed inline"),
        (s.allowlisted, "allowlisted"),
        (s.in_baseline, "in baseline"),
        (s.stale_baseline, "stale baseline entries"),
    ] {
        if count > 0 {
            parts.push(format!("{count} {what}"));
        }
    }
    parts.push(format!(
        "{} {}",
        s.errors.len(),
        if s.errors.len() == 1 { "error" } else { "errors" }
    ));
    parts.push(format!("{:.2}s", s.elapsed.as_secs_f64()));
    format!("azleak: {}", parts.join(", "))
}

fn plural(n: u64, kind: super::ScanKind) -> &'static str {
    match (kind, n == 1) {
        (super::ScanKind::Files, true) => "file",
        (super::ScanKind::Files, false) => "files",
        (_, true) => "blob",
        (_, false) => "blobs",
    }
}

/// Wraps text at word boundaries.
fn textwrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}
