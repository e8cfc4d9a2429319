//! JSON Lines: one finding per line, each the same object as a finding of the JSON format
//! (`rule_id`, `path`, `line`, `secret` redacted unless shown, `commit`, `pairing`, ...), in
//! report order, and nothing else: no document around them, so a consumer can read a huge scan
//! line by line. No findings, no lines.

use std::io::{self, Write};

use super::json::JsonFinding;
use super::{Report, Reporter};

/// Writes JSON Lines.
pub struct JsonlReporter;

impl Reporter for JsonlReporter {
    fn report(&self, w: &mut dyn Write, report: &Report<'_>) -> io::Result<()> {
        for f in report.findings {
            // serde_json escapes every control character, so one object is one line.
            serde_json::to_writer(&mut *w, &JsonFinding::new(f, report))?;
            writeln!(w)?;
        }
        Ok(())
    }
}
