//! GitHub Actions workflow commands: one `::error`/`::warning`/`::notice` per finding, so
//! findings annotate the pull request. Messages carry the redacted hint, never the secret,
//! unless `--show-secrets` was given.
//!
//! File paths are relative to the repository root, or to `GITHUB_WORKSPACE` when it is set
//! ([`super::repo_path`]): the runner resolves annotation paths against the workspace, whatever
//! directory the step ran azleak in.
//!
//! A finding in a commit or tag message or in a commit's author has no file: its annotation has
//! no `file`, `line` or `col` (GitHub shows it on the run, not on a file) and its message says
//! where the secret was. A finding in a path names that path (redacted, unless secrets are
//! shown) as its `file`, without a line or column: they would count characters of the path, not
//! of the file's content.

use std::io::{self, Write};

use super::{Report, Reporter};
use crate::finding::{Confidence, Finding, Part, VerificationStatus};

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
            let live =
                f.verification.as_ref().is_some_and(|v| v.status == VerificationStatus::Valid);
            let command = match f.confidence {
                _ if live => "error",
                Confidence::High => "error",
                Confidence::Medium => "error",
                Confidence::Low => "warning",
            };
            let rule = report.rules.get(&f.rule_id);
            let name = rule.map_or(f.rule_id.as_str(), |r| r.syntax.name.as_str());
            let mut message = format!(
                "{name} ({} confidence, hint {}).",
                f.confidence,
                f.secret.display(report.options.show_secrets)
            );
            if let Some(p) = &f.pairing {
                message.push_str(&format!(" Belongs to {}.", p.describe()));
            }
            if let Some(v) = &f.verification {
                let status = crate::verify::status_name(v.status);
                if live {
                    message.push_str(&format!(" LIVE: verified valid ({}).", v.detail));
                } else {
                    message.push_str(&format!(" Verified: {status} ({}).", v.detail));
                }
            }
            if let Some(repo) = &f.repository {
                message.push_str(&format!(" In repository {repo}."));
            }
            if let Some(member) = &f.member {
                message.push_str(&format!(" Inside the archive, in {member} (line {}).", f.line));
            }
            if let Some(rule) = rule {
                message.push(' ');
                message.push_str(&rule.short_remediation());
            }
            if let Some(owners) = super::owners::sentence(f) {
                message.push_str(&format!(" Owner: {owners}."));
                if let Some(action) = super::owners::action(f) {
                    message.push_str(&format!(" To finish, {action}."));
                }
            }
            if let Some(e) = &f.expires {
                message.push_str(&format!(" The token {}.", e.describe()));
            }
            if f.copies.is_some() {
                message
                    .push_str(&format!(" The same secret appears in {} places.", f.copy_count()));
            }
            if let Some(place) = metadata_place(f) {
                message.push_str(&format!(" Found in {place}."));
            } else if f.part == Part::Path {
                message.push_str(" Found in the path (a file or directory name): rename it too.");
            }
            if let Some(c) = &f.commit {
                message.push_str(&format!(
                    " Introduced in {} by {}.",
                    &c.commit[..c.commit.len().min(12)],
                    c.author_name
                ));
            }
            let path = super::repo_path(f, report.options);
            let location = match f.part {
                Part::Content => format!(
                    "file={},line={},endLine={},col={},endColumn={},",
                    escape_property(&path),
                    f.line,
                    f.line,
                    f.column,
                    f.end_column
                ),
                Part::Path => format!("file={},", escape_property(&path)),
                Part::CommitMessage | Part::CommitAuthor | Part::TagMessage => String::new(),
            };
            writeln!(
                w,
                "::{command} {location}title={}::{}",
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

/// Where a metadata finding was, in words (`the message of commit 1a2b3c4d5e6f`); `None` for
/// findings in a file's content or path.
fn metadata_place(f: &Finding) -> Option<String> {
    let commit = || {
        f.commit.as_ref().map_or_else(
            || "a commit".to_string(),
            |c| format!("commit {}", &c.commit[..c.commit.len().min(12)]),
        )
    };
    match f.part {
        Part::Content | Part::Path => None,
        Part::CommitMessage => Some(format!("the message of {}", commit())),
        Part::CommitAuthor => Some(format!("the author or committer of {}", commit())),
        Part::TagMessage => {
            // The pseudo path of a tag is `<tag NAME>`.
            let name = f.path.strip_prefix("<tag ").and_then(|p| p.strip_suffix('>'));
            Some(format!("the message or tagger of tag {}", name.unwrap_or(&f.path)))
        }
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
