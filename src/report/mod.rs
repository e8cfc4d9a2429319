//! Reporters: one per output format, behind the [`Reporter`] trait and chosen by [`Format`].
//! Reporters receive sorted, filtered findings and the summary; they never see the detector.
//! Secrets appear in full only when [`ReportOptions::show_secrets`] is set: a [`Report`] is
//! built only from a [`Redacted`] output, whose displayed strings (paths, commit fields,
//! skipped and error entries) have every secret of the scan replaced by its hint, and the text
//! and github formats escape control characters ([`escape_display`]).

mod csv;
mod escape;
mod extra;
mod github;
mod gitlab;
mod html;
mod json;
mod jsonl;
mod junit;
pub mod owners;
mod redact;
mod sarif;
mod text;

use std::io::{self, Write};

use crate::finding::{Confidence, Finding};
use crate::rules::RuleSet;
use crate::scan::Summary;

pub use escape::escape_display;
pub use gitlab::GITLAB_SCHEMA_VERSION;
pub use json::JSON_SCHEMA_VERSION;
pub use redact::{Redacted, Redactor};
pub use sarif::MAX_SARIF_RESULTS;
pub use text::summary_line;

/// Output formats; [`Format::ALL`] lists them, with the name and description the command line
/// shows for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `text`.
    Text,
    /// `json`, schema version 1.
    Json,
    /// `sarif`.
    Sarif,
    /// `github`.
    Github,
    /// `gitlab`, schema [`GITLAB_SCHEMA_VERSION`], for the merge-request security widget.
    Gitlab,
    /// `junit`.
    Junit,
    /// `jsonl`.
    Jsonl,
    /// `csv`.
    Csv,
    /// `html`.
    Html,
}

impl Format {
    /// Every format, in the order `--help` lists them.
    pub const ALL: [Format; 9] = [
        Format::Text,
        Format::Json,
        Format::Sarif,
        Format::Github,
        Format::Gitlab,
        Format::Junit,
        Format::Jsonl,
        Format::Csv,
        Format::Html,
    ];

    /// Its name on the command line and in config files.
    pub fn name(self) -> &'static str {
        self.describe().0
    }

    /// What it writes, in one line.
    pub fn about(self) -> &'static str {
        self.describe().1
    }

    fn describe(self) -> (&'static str, &'static str) {
        match self {
            Format::Text => (
                "text",
                "Human-readable, `path:line:col` per finding, with remediation and a summary",
            ),
            Format::Json => ("json", "JSON document: findings and summary"),
            Format::Sarif => ("sarif", "SARIF 2.1.0, accepted by GitHub code scanning"),
            Format::Github => (
                "github",
                "GitHub Actions workflow commands (`::error file=...`), annotating pull requests",
            ),
            Format::Gitlab => {
                ("gitlab", "GitLab secret-detection report (gl-secret-detection-report.json)")
            }
            Format::Junit => ("junit", "JUnit XML: one failing test case per finding"),
            Format::Jsonl => ("jsonl", "JSON Lines: one finding per line"),
            Format::Csv => ("csv", "CSV: one finding per row"),
            Format::Html => (
                "html",
                "One self-contained HTML page for triage: summaries, timeline, filterable table",
            ),
        }
    }

    /// The reporter for this format.
    pub fn reporter(self) -> Box<dyn Reporter> {
        match self {
            Format::Text => Box::new(text::TextReporter),
            Format::Json => Box::new(json::JsonReporter),
            Format::Sarif => Box::new(sarif::SarifReporter),
            Format::Github => Box::new(github::GithubReporter),
            Format::Gitlab => Box::new(gitlab::GitlabReporter),
            Format::Junit => Box::new(junit::JunitReporter),
            Format::Jsonl => Box::new(jsonl::JsonlReporter),
            Format::Csv => Box::new(csv::CsvReporter),
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
    /// The CI workspace (`GITHUB_WORKSPACE`) and the current directory: the github format gives
    /// paths relative to it when set (annotations are resolved against it), else relative to
    /// the repository root.
    pub workspace: Option<SourceRoot>,
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
            workspace: None,
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

/// A finding's path relative to the CI workspace when one is set, else to the repository root,
/// `/`-separated: what annotations and CI reports resolve against wherever azleak ran (a
/// `working-directory:` step, a scan of a subdirectory). File-scan paths are resolved against
/// the current directory, history and staged paths against the repository root. Standard input
/// (`-`), metadata findings, and paths outside the base are returned as given (or relative to
/// the repository root, when only the workspace does not hold them).
pub fn repo_path<'a>(f: &'a Finding, options: &ReportOptions) -> std::borrow::Cow<'a, str> {
    use crate::finding::Part;
    use std::borrow::Cow;
    if !matches!(f.part, Part::Content | Part::Path) || f.path == "-" {
        return Cow::Borrowed(&f.path);
    }
    // The path as an absolute one, and where it is relative to.
    let absolute = match (options.kind, &options.source_root, &options.workspace) {
        (ScanKind::Files, Some(base), _) => base.cwd.join(&f.path),
        (ScanKind::Files, None, Some(ws)) => ws.cwd.join(&f.path),
        (_, Some(base), _) => base.root.join(&f.path),
        _ => return Cow::Borrowed(&f.path),
    };
    let absolute = absolute.to_string_lossy();
    for base in [&options.workspace, &options.source_root].into_iter().flatten() {
        if let Some(rel) = crate::config::root_relative(&base.root, &base.cwd, &absolute) {
            return Cow::Owned(rel);
        }
    }
    Cow::Borrowed(&f.path)
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
