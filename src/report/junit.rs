//! JUnit XML, for CI dashboards: one `<testsuite>` named for the scan, one failing
//! `<testcase>` per finding (named `path:line:col rule`, its classname the rule id, its failure
//! body the hint, remediation, commit, pairing, verification and owners), or a single passing
//! test case when nothing was found. Per-path errors are `<error>` test cases. No timings, so
//! the same scan gives the same document. Text is escaped for XML, and characters XML 1.0 cannot
//! hold (most control characters) are written out (`\x1b`).

use std::fmt::Write as _;
use std::io::{self, Write};

use super::{Report, Reporter};
use crate::finding::Finding;

/// Writes JUnit XML.
pub struct JunitReporter;

/// Escapes text for an XML attribute or element: the five entities, and every character XML 1.0
/// does not allow, written out as `\u{..}`. Tab, LF and CR are kept in elements and written as
/// character references in attributes (where they would be normalised to spaces).
fn xml(s: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' if attribute => {
                let _ = write!(out, "&#{};", c as u32);
            }
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

impl Reporter for JunitReporter {
    fn report(&self, w: &mut dyn Write, report: &Report<'_>) -> io::Result<()> {
        let s = report.summary;
        let findings = report.findings.len();
        let errors = s.errors.len();
        // A suite that passes still shows a test, so dashboards count a passing run.
        let tests = (findings + errors).max(1);
        let name = format!("azleak {}", report.options.kind.as_str());
        writeln!(w, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
        writeln!(
            w,
            r#"<testsuites name="azleak" tests="{tests}" failures="{findings}" errors="{errors}">"#
        )?;
        writeln!(
            w,
            r#"  <testsuite name="{}" tests="{tests}" failures="{findings}" errors="{errors}" skipped="0">"#,
            xml(&name, true)
        )?;
        writeln!(w, "    <properties>")?;
        for (key, value) in [
            ("azleak.version", env!("CARGO_PKG_VERSION").to_string()),
            ("azleak.scan", report.options.kind.as_str().to_string()),
            ("azleak.min_confidence", report.options.min_confidence.to_string()),
            ("azleak.scanned", s.files.to_string()),
            ("azleak.skipped", s.skipped.len().to_string()),
        ] {
            writeln!(w, r#"      <property name="{key}" value="{}"/>"#, xml(&value, true))?;
        }
        writeln!(w, "    </properties>")?;
        for f in report.findings {
            write_finding(w, f, report)?;
        }
        for e in &s.errors {
            let text = super::escape_display(&e.to_string()).into_owned();
            writeln!(
                w,
                r#"    <testcase name="{}" classname="azleak.error">"#,
                xml(&format!("cannot scan: {text}"), true)
            )?;
            writeln!(w, r#"      <error message="{}" type="io"/>"#, xml(&text, true))?;
            writeln!(w, "    </testcase>")?;
        }
        if findings + errors == 0 {
            writeln!(
                w,
                r#"    <testcase name="no secrets found ({} {} scanned)" classname="azleak"/>"#,
                s.files,
                if report.options.kind == super::ScanKind::Files { "files" } else { "blobs" }
            )?;
        }
        writeln!(w, "  </testsuite>")?;
        writeln!(w, "</testsuites>")
    }
}

fn write_finding(w: &mut dyn Write, f: &Finding, report: &Report<'_>) -> io::Result<()> {
    let show = report.options.show_secrets;
    let rule = report.rules.get(&f.rule_id);
    let rule_name = rule.map_or(f.rule_id.as_str(), |r| r.syntax.name.as_str());
    let path = super::repo_path(f, report.options);
    let location = match &f.member {
        Some(m) => format!("{path}!{m}"),
        None => path.to_string(),
    };
    let name = format!("{location}:{}:{} {}", f.line, f.column, f.rule_id);
    let message =
        format!("{rule_name} ({} confidence, hint {})", f.confidence, f.secret.display(show));
    let mut body = vec![message.clone(), format!("at {location}:{}:{}", f.line, f.column)];
    if let Some(c) = &f.commit {
        body.push(format!(
            "introduced in {} by {} <{}> on {}: {}",
            c.commit, c.author_name, c.author_email, c.date, c.summary
        ));
    }
    if f.copies.is_some() {
        body.push(format!("the same secret appears in {} places", f.copy_count()));
    }
    for field in super::extra::fields(f, report) {
        body.push(format!("{}: {}", field.label, field.value));
    }
    if !f.fingerprint.is_empty() {
        body.push(format!("fingerprint: {}", f.fingerprint));
    }
    if let Some(r) = rule {
        body.push(String::new());
        body.extend(r.syntax.remediation.trim().lines().map(str::to_string));
    }
    // Each line redacted and with its control characters written out; the lines stay lines.
    let body: Vec<String> =
        body.iter().map(|l| super::escape_display(&report.redact(l)).into_owned()).collect();
    let body = body.join("\n");
    let line = if f.part == crate::finding::Part::Content {
        format!(r#" line="{}""#, f.line)
    } else {
        String::new()
    };
    writeln!(
        w,
        r#"    <testcase name="{}" classname="{}" file="{}"{line}>"#,
        xml(&name, true),
        xml(&f.rule_id, true),
        xml(&path, true)
    )?;
    writeln!(
        w,
        r#"      <failure message="{}" type="{}">{}</failure>"#,
        xml(&super::escape_display(&message), true),
        xml(&f.rule_id, true),
        xml(&body, false)
    )?;
    writeln!(w, "    </testcase>")
}

#[cfg(test)]
mod tests {
    use super::xml;

    #[test]
    fn escapes_for_xml() {
        assert_eq!(xml(r#"a<b>&"c'"#, true), "a&lt;b&gt;&amp;&quot;c&apos;");
        assert_eq!(xml("x\x1by\n", true), "x\\u{1b}y&#10;");
        assert_eq!(xml("x\x00y\n", false), "x\\u{0}y\n");
    }
}
