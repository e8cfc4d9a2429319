//! What the outcome of a run makes of the enrichment stage ([`crate::enrich`]), the same for a
//! single scan and a run over several repositories: the warnings and the verification summary
//! on standard error, `--only-verified` (keeps live findings), and the gates of the exit code
//! (`--fail-on valid`, `--fail-unexpired-only`, and a check that could not be made).

use anyhow::Result;

use super::args::{FailOn, OutputArgs};
use super::{Io, Outcome};
use crate::enrich::Enriched;
use crate::finding::{Finding, VerificationStatus};
use crate::report::{Redactor, escape_display};
use crate::verify::VerifyReport;

/// The flag that gates the run on verification (`--only-verified`, `--fail-on valid`), if any:
/// it needs verification asked for.
pub(crate) fn verification_gate(opts: &OutputArgs) -> Option<&'static str> {
    if opts.verify.only_verified {
        Some("--only-verified")
    } else if fail_on_valid(opts) {
        Some("--fail-on valid")
    } else {
        None
    }
}

fn fail_on_valid(opts: &OutputArgs) -> bool {
    opts.verify.fail_on == Some(FailOn::Valid)
}

/// What the gates made of a run's findings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Gated {
    /// Findings that fail the run.
    failing: usize,
    /// Findings whose check could not be made while a gate depends on it (they count as
    /// errors: a check that could not be made must not pass for "no live secret").
    unverified: usize,
}

impl Gated {
    /// The outcome of the reporters with the gates applied.
    pub(crate) fn apply(self, mut outcome: Outcome) -> Outcome {
        outcome.findings = self.failing;
        outcome.errors += self.unverified;
        outcome
    }
}

/// Writes the inventory warning and the verification lines (log lines with `--verbose`,
/// redacted), applies `--only-verified`, and counts what fails the run.
pub(crate) fn gate(
    findings: &mut Vec<Finding>,
    enriched: &Enriched,
    redactor: &Redactor,
    opts: &OutputArgs,
    io: &mut Io<'_>,
) -> Result<Gated> {
    let unmatched = enriched.unmatched();
    if unmatched > 0 && !opts.quiet {
        writeln!(
            io.stderr,
            "azleak: warning: {unmatched} app {} in the inventory {} no hint and cannot be \
             matched to a secret",
            if unmatched == 1 { "credential" } else { "credentials" },
            if unmatched == 1 { "has" } else { "have" },
        )?;
    }
    let unknown = findings
        .iter()
        .filter(|f| {
            f.verification.as_ref().is_some_and(|v| v.status == VerificationStatus::Unknown)
        })
        .count();
    let is_valid = |f: &Finding| {
        f.verification.as_ref().is_some_and(|v| v.status == VerificationStatus::Valid)
    };
    let summary_line = enriched.verify.as_ref().map(|report| verify_summary(findings, report));
    if opts.verify.only_verified {
        findings.retain(is_valid);
    }
    let gated = opts.verify.only_verified || fail_on_valid(opts);
    let failing = findings
        .iter()
        .filter(|f| !fail_on_valid(opts) || is_valid(f))
        .filter(|f| {
            !opts.inventory.fail_unexpired_only || !crate::inventory::only_expired_owners(f)
        })
        .count();
    if let (Some(report), false) = (&enriched.verify, opts.quiet) {
        if opts.verbose {
            for line in &report.log {
                let line = redactor.redact(line);
                writeln!(io.stderr, "azleak: verify: {}", escape_display(&line))?;
            }
        }
        if let Some(line) = &summary_line {
            writeln!(io.stderr, "azleak: {line}")?;
        }
        if gated && unknown > 0 {
            writeln!(
                io.stderr,
                "azleak: warning: {unknown} {} could not be verified (unknown): the exit code is \
                 2 unless a live secret is found",
                if unknown == 1 { "finding" } else { "findings" }
            )?;
        }
    }
    Ok(Gated { failing, unverified: if gated { unknown } else { 0 } })
}

/// `verified 3 findings (2 requests): 1 valid, 2 unverifiable`.
fn verify_summary(findings: &[Finding], report: &VerifyReport) -> String {
    let mut counts: std::collections::BTreeMap<VerificationStatus, usize> = Default::default();
    for f in findings {
        if let Some(v) = &f.verification {
            *counts.entry(v.status).or_default() += 1;
        }
    }
    let parts: Vec<String> = counts
        .iter()
        .map(|(status, n)| format!("{n} {}", crate::verify::status_name(*status)))
        .collect();
    format!(
        "verified {} {} ({} {}): {}",
        findings.len(),
        if findings.len() == 1 { "finding" } else { "findings" },
        report.requests,
        if report.requests == 1 { "request" } else { "requests" },
        if parts.is_empty() { "nothing to verify".to_string() } else { parts.join(", ") }
    )
}
