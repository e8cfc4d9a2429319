//! CSV (RFC 4180, written by the `csv` crate): a header row, then one row per finding in report
//! order: rule, confidence, the repository-relative path, member, part, line and columns, the
//! secret (redacted unless shown), checksum, encoding, fingerprint, the commit, author, date and
//! summary in git scans, then pairing, verification and owners. A text cell from the scanned
//! data that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, tab or CR)
//! is prefixed with `'`.

use std::io::{self, Write};

use super::{Report, Reporter};

/// Writes CSV.
pub struct CsvReporter;

const HEADER: [&str; 19] = [
    "rule_id",
    "rule_name",
    "confidence",
    "path",
    "member",
    "part",
    "line",
    "column",
    "end_column",
    "secret",
    "redacted",
    "checksum",
    "encoding",
    "fingerprint",
    "commit",
    "author",
    "date",
    "commit_summary",
    "copies",
];

/// A cell a spreadsheet will not evaluate.
fn cell(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{s}") } else { s.to_string() }
}

/// The kebab-case name serde gives a value (`valid`, `base64`), or empty.
fn name_of(value: impl serde::Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

impl Reporter for CsvReporter {
    fn report(&self, w: &mut dyn Write, report: &Report<'_>) -> io::Result<()> {
        let show = report.options.show_secrets;
        let mut out = csv::Writer::from_writer(w);
        let header: Vec<&str> = HEADER.iter().chain(super::extra::KEYS.iter()).copied().collect();
        out.write_record(&header)?;
        for f in report.findings {
            let rule_name = report.rules.get(&f.rule_id).map_or("", |r| r.syntax.name.as_str());
            let commit = f.commit.as_ref();
            let mut row = vec![
                f.rule_id.clone(),
                cell(rule_name),
                f.confidence.to_string(),
                cell(&super::repo_path(f, report.options)),
                cell(f.member.as_deref().unwrap_or("")),
                f.part.as_str().to_string(),
                f.line.to_string(),
                f.column.to_string(),
                f.end_column.to_string(),
                f.secret.display(show),
                (!show).to_string(),
                name_of(f.checksum),
                f.encoding.map(name_of).unwrap_or_default(),
                f.fingerprint.clone(),
                commit.map(|c| c.commit.clone()).unwrap_or_default(),
                commit
                    .map(|c| cell(&format!("{} <{}>", c.author_name, c.author_email)))
                    .unwrap_or_default(),
                commit.map(|c| c.date.clone()).unwrap_or_default(),
                commit.map(|c| cell(&c.summary)).unwrap_or_default(),
                f.copy_count().to_string(),
            ];
            let fields = super::extra::fields(f, report);
            for key in super::extra::KEYS {
                let value = fields.iter().find(|x| x.key == key).map(|x| cell(&x.value));
                row.push(value.unwrap_or_default());
            }
            out.write_record(&row)?;
        }
        out.flush()
    }
}
