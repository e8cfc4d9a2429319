//! Reporters: one per output format, behind the [`Reporter`] trait and chosen by [`Format`].
//! Reporters receive sorted, filtered findings and the summary; they never see the detector.
//! Secrets appear in full only when [`ReportOptions::show_secrets`] is set: a [`Report`] is
//! built only from a [`Redacted`] output, whose displayed strings (paths, commit fields,
//! skipped and error entries) have every secret of the scan replaced by its hint, and the text
//! and github formats escape control characters ([`escape_display`]).

mod escape;
mod github;
mod html;
mod json;
mod redact;
mod sarif;
mod text;

use std::io::{self, Write};

use crate::finding::{Confidence, Finding};
use crate::rules::RuleSet;
use crate::scan::Summary;

pub use escape::escape_display;
pub use json::JSON_SCHEMA_VERSION;
pub use redact::{Redacted, Redactor};
pub use sarif::MAX_SARIF_RESULTS;

/// Output formats. (The command line maps its own argument enum to this one.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Human-readable, `path:line:col` per finding, with remediation and a summary.
    Text,
    /// JSON document (schema version 1): findings and summary.
    Json,
    /// SARIF 2.1.0, accepted by GitHub code scanning.
    Sarif,
    /// GitHub Actions workflow commands (`::error file=...`), annotating pull requests.
    Github,
    /// One self-contained HTML page: summaries, timeline, a filterable table, remediation.
    Html,
}

impl Format {
    /// The reporter for this format.
    pub fn reporter(self) -> Box<dyn Reporter> {
        match self {
            Format::Text => Box::new(text::TextReporter),
            Format::Json => Box::new(json::JsonReporter),
            Format::Sarif => Box::new(sarif::SarifReporter),
            Format::Github => Box::new(github::GithubReporter),
            Format::Html => Box::new(html::HtmlReporter),
        }
    }
}

/// What kind of scan produced a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanKind {
    /// Files, directories or standard input.
    Files,
    /// A git history or range.
    History,
    /// The staged changes in a git index.
    Staged,
}

impl ScanKind {
    /// Short name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ScanKind::Files => "files",
            ScanKind::History => "history",
            ScanKind::Staged => "staged",
        }
    }
}

/// Options that shape every report.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// Print secrets in full.
    pub show_secrets: bool,
    /// Use ANSI colours (text format).
    pub color: bool,
    /// List every skipped path (text format).
    pub verbose: bool,
    /// The reporting threshold.
    pub min_confidence: Confidence,
    /// SARIF `runAutomationDetails.id` (category for several uploads).
    pub sarif_category: Option<String>,
    /// What was scanned.
    pub kind: ScanKind,
    /// The git repository's root and the current directory, so SARIF can give file-scan paths
    /// relative to the root (`%SRCROOT%`) wherever azleak ran; `None` outside a repository.
    pub source_root: Option<SourceRoot>,
}

/// Where the scanned repository is, for repository-relative URIs.
#[derive(Debug, Clone)]
pub struct SourceRoot {
    /// The repository root (absolute).
    pub root: std::path::PathBuf,
    /// The directory relative file paths are relative to.
    pub cwd: std::path::PathBuf,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            show_secrets: false,
            color: false,
            verbose: false,
            min_confidence: Confidence::Medium,
            sarif_category: None,
            kind: ScanKind::Files,
            source_root: None,
        }
    }
}

/// Everything a reporter needs. Built only by [`Report::new`] from a [`Redacted`] output, so
/// the findings and summary a reporter sees hold no secret outside the `secret` field (and
/// that one displays redacted unless secrets are shown).
#[derive(Debug, Clone, Copy)]
pub struct Report<'a> {
    /// Findings to report, sorted, their displayed strings redacted.
    pub findings: &'a [Finding],
    /// What the scan went through, its paths and messages redacted.
    pub summary: &'a Summary,
    /// The rules that ran (for names, descriptions and remediation).
    pub rules: &'a RuleSet,
    /// Presentation options.
    pub options: &'a ReportOptions,
    redactor: &'a Redactor,
}

impl<'a> Report<'a> {
    /// A report of a redacted output.
    pub fn new(output: &'a Redacted, rules: &'a RuleSet, options: &'a ReportOptions) -> Self {
        Report {
            findings: output.findings(),
            summary: output.summary(),
            rules,
            options,
            redactor: output.redactor(),
        }
    }

    /// Any other string a reporter composes from scan data, redacted.
    pub fn redact<'t>(&self, text: &'t str) -> std::borrow::Cow<'t, str> {
        self.redactor.redact(text)
    }
}

/// One output format.
pub trait Reporter {
    /// Writes the whole report.
    fn report(&self, w: &mut dyn Write, report: &Report<'_>) -> io::Result<()>;
}

/// Human-readable byte count (`12.3 MiB`).
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}
