//! GitHub Actions workflow commands: one `::error`/`::warning`/`::notice` per finding, so
//! findings annotate the pull request. Messages carry the redacted hint, never the secret,
//! unless `--show-secrets` was given.

use std::io::{self, Write};

use super::{Report, Reporter};
use crate::finding::Confidence;

/// Writes GitHub Actions workflow commands.
pub struct GithubReporter;

/// Escapes a property value of a workflow command.
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Escapes the message of a workflow command: the runner's own escapes for `%`, CR and LF,
/// and every other control or bidi character written out (`\x1b`), so no text from a scanned
/// file can start a second command or reach the log viewer raw.
fn escape_data(s: &str) -> String {
    let s = s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A");
    super::escape_display(&s).into_owned()
}

impl Reporter for GithubReporter {
    fn report(&self, w: &mut dyn Write, report: &Report<'_>) -> io::Result<()> {
        for f in report.findings {
            let command = match f.confidence {
                Confidence::High => "error",
                Confidence::Medium => "error",
                Confidence::Low => "warning",
            };
            let name =
                report.rules.get(&f.rule_id).map_or(f.rule_id.as_str(), |r| r.syntax.name.as_str());
            let mut message = format!(
                "{name} ({} confidence, hint {}). Rotate it: Microsoft Entra ID > App registrations > Certificates & secrets; then keep it in Key Vault.",
                f.confidence,
                f.secret.display(report.options.show_secrets)
            );
            if let Some(member) = &f.member {
                message.push_str(&format!(" Inside the archive, in {member} (line {}).", f.line));
            }
            if f.copies.is_some() {
                message
                    .push_str(&format!(" The same secret appears in {} places.", f.copy_count()));
            }
            if let Some(c) = &f.commit {
                message.push_str(&format!(
                    " Introduced in {} by {}.",
                    &c.commit[..c.commit.len().min(12)],
                    c.author_name
                ));
            }
            writeln!(
                w,
                "::{command} file={},line={},endLine={},col={},endColumn={},title={}::{}",
                escape_property(&f.path),
                f.line,
                f.line,
                f.column,
                f.end_column,
                escape_property(&format!("azleak {}", f.rule_id)),
                escape_data(&message)
            )?;
        }
        let s = report.summary;
        let scanned = match report.options.kind {
            super::ScanKind::Files => "files",
            super::ScanKind::History | super::ScanKind::Staged => "blobs",
        };
        writeln!(
            w,
            "::notice title=azleak::{} findings in {} {scanned} ({} skipped, {} errors)",
            report.findings.len(),
            s.files,
            s.skipped.len(),
            s.errors.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_workflow_command_values() {
        assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
        assert_eq!(escape_data("50%\r\n"), "50%25%0D%0A");
        assert_eq!(escape_data("x\x1b[2J\u{202e}"), "x\\x1b[2J\\u{202e}");
    }
}
