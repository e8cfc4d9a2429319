//! The filter stage: what every scanning command does with the raw findings of a finished scan,
//! once, before sorting and reporting. In order: fingerprints (computed here, once, and only for
//! the findings that need one), the confidence threshold, path and secret allowlists, inline
//! `azleak:allow` markers, then the baseline (known findings dropped, stale entries counted, or
//! every finding recorded). Each drop is counted in the [`Summary`](crate::scan::Summary).
//!
//! It takes its thresholds and lists from [`Settings`] (which only loads them) and returns the
//! baseline file to write, if any; it writes nothing and prints nothing.

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::config::{Baseline, BaselineMode, Coverage, Settings};
use crate::finding::Finding;
use crate::report::ScanKind;
use crate::scan::ScanOutput;

/// Errors of the filter stage.
#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    /// `--prune-baseline` on a scan that does not cover the whole repository.
    #[error(
        "--prune-baseline needs a scan of the whole repository (this one covers only part of it, \
         so every entry outside it would look stale); run `azleak scan` at the repository root"
    )]
    PruneNeedsFullScan,
}

/// A baseline file to write after filtering.
#[derive(Debug, Clone)]
pub struct BaselineUpdate {
    /// Where to write it.
    pub path: PathBuf,
    /// The new contents.
    pub baseline: Baseline,
    /// Entries dropped as stale (`--prune-baseline`).
    pub pruned: usize,
}

/// The filter stage, run once by every scanning command on a finished scan, with its settings:
/// 1. fingerprints are computed (once, here) over the root-relative path, so they do not
///    depend on where azleak was run from, for the findings that need one: those reported
///    or recorded, and those whose rule and path a baseline entry has;
/// 2. findings below `min_confidence` are dropped (`below_threshold`);
/// 3. findings in allowlisted paths or with allowlisted secrets (`allowlisted`);
/// 4. findings on `azleak:allow` lines, unless `--no-inline-allow` (`allowed_inline`); a
///    history scan's secrets are then taken at their earliest unmarked copy
///    ([`ScanOutput::honouring_allow`]), where they have one;
/// 5. baseline: known findings are dropped (`in_baseline`) and entries not found again in
///    the covered part of the repository are counted (`stale_baseline`); in write mode every
///    remaining finding is recorded (with the existing file's entries outside the covered
///    part kept) and none is reported.
///
/// Returns the baseline file to write, if any.
pub fn apply(
    settings: &Settings,
    output: &mut ScanOutput,
    kind: ScanKind,
) -> Result<Option<BaselineUpdate>, FilterError> {
    let summary = &mut output.summary;
    let honouring = output.honouring_allow.take();
    let findings = match honouring {
        Some(findings) if settings.inline_allow => findings,
        _ => std::mem::take(&mut output.findings),
    };
    output.findings.clear();
    let relative: Vec<String> = findings.iter().map(|f| settings.relative_path(f, kind)).collect();
    // A baseline is committed: the paths it records hold no secret found by this scan,
    // whether or not secrets are shown (its entries are matched by fingerprint, which is
    // computed over the real path).
    let redactor = crate::report::Redactor::new(findings.iter().map(|f| &f.secret));
    // Fingerprints are slow by design (see `finding::derive_secret_key`): compute them only
    // for findings that are reported or recorded, or that could match a baseline entry.
    let verdicts: Vec<Verdict> = findings
        .iter()
        .zip(&relative)
        .map(|(f, relative)| {
            if f.confidence < settings.min_confidence {
                Verdict::BelowThreshold
            } else if settings.allowlist.allows(relative, f.secret.reveal()).is_some() {
                Verdict::Allowlisted
            } else if settings.inline_allow && f.allowed_inline {
                Verdict::AllowedInline
            } else {
                Verdict::Kept
            }
        })
        .collect();
    let needs_fingerprint: Vec<bool> = (0..findings.len())
        .map(|i| {
            verdicts[i] == Verdict::Kept
                || settings
                    .baseline()
                    .has_path(&findings[i].rule_id, &redactor.redact(&relative[i]))
        })
        .collect();
    // A path shard lists every copy group it has, whatever is reported, by the secret's key.
    let groups: Vec<&Finding> = if output.part {
        let mut seen = std::collections::HashSet::new();
        findings.iter().filter(|f| f.copies.as_ref().is_some_and(|g| seen.insert(&g.id))).collect()
    } else {
        Vec::new()
    };
    let fingerprinter = crate::finding::Fingerprinter::derive(
        (0..findings.len())
            .filter(|&i| needs_fingerprint[i])
            .map(|i| &findings[i])
            .chain(groups.iter().copied())
            .map(|f| (f.rule_id.as_str(), f.secret.reveal())),
    );
    summary.shard_copies = groups
        .iter()
        .map(|f| crate::scan::ShardCopies {
            repository: None,
            key: fingerprinter.copy_key(&f.rule_id, f.secret.reveal()),
            rule_id: f.rule_id.clone(),
            locations: f.copies.as_ref().map(|g| g.locations.clone()).unwrap_or_default(),
        })
        .collect();
    drop(groups);
    let mut found = BTreeSet::new();
    let mut kept: Vec<(Finding, String)> = Vec::new();
    for (i, ((mut f, relative), verdict)) in
        findings.into_iter().zip(relative).zip(verdicts).enumerate()
    {
        if needs_fingerprint[i] {
            f.fingerprint = fingerprinter.fingerprint(&f.rule_id, &relative, f.secret.reveal());
            found.insert(f.fingerprint.clone());
        }
        match verdict {
            Verdict::BelowThreshold => summary.below_threshold += 1,
            Verdict::Allowlisted => summary.allowlisted += 1,
            Verdict::AllowedInline => summary.allowed_inline += 1,
            Verdict::Kept => kept.push((f, relative)),
        }
    }
    let mut update = None;
    match &settings.baseline_mode {
        BaselineMode::Off => {}
        BaselineMode::Check { path, prune } => {
            kept.retain(|(f, _)| {
                let known = settings.baseline().is_known(f);
                summary.in_baseline += u64::from(known);
                !known
            });
            let coverage = settings.coverage_of(kind);
            let stale: BTreeSet<String> = settings
                .baseline()
                .stale(&found, |e| coverage.covers(&e.path))
                .map(|e| e.fingerprint.clone())
                .collect();
            summary.stale_baseline = stale.len() as u64;
            if *prune {
                if *coverage == Coverage::Partial {
                    return Err(FilterError::PruneNeedsFullScan);
                }
                update = Some(BaselineUpdate {
                    path: path.clone(),
                    baseline: settings.baseline().without(&stale),
                    pruned: stale.len(),
                });
            }
        }
        BaselineMode::Write { path } => {
            let mut baseline = Baseline::record(
                kept.iter().map(|(f, relative)| (f, redactor.redact(relative).into_owned())),
                settings.baseline(),
                &crate::config::baseline::today_utc(),
            );
            // Entries of the existing file outside what this scan covered stay.
            let coverage = settings.coverage_of(kind);
            baseline.keep_from(settings.baseline(), |e| !coverage.covers(&e.path));
            summary.in_baseline += kept.len() as u64;
            kept.clear();
            update = Some(BaselineUpdate { path: path.clone(), baseline, pruned: 0 });
        }
    }
    output.findings = kept.into_iter().map(|(f, _)| f).collect();
    if output.part {
        // The shard's own report groups only what it found at two places or more.
        for f in &mut output.findings {
            if f.copies.as_ref().is_some_and(|g| g.locations.len() < 2) {
                f.copies = None;
            }
        }
    }
    Ok(update)
}

/// What the filter stage decides for one finding before the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    BelowThreshold,
    Allowlisted,
    AllowedInline,
    Kept,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ConfigSource, Overrides};

    fn history_finding(path: &str, secret: &str, allowed_inline: bool) -> Finding {
        Finding { allowed_inline, ..crate::finding::sample(path, secret) }
    }

    #[test]
    fn history_findings_are_known_by_rule_path_and_secret() {
        let dir = std::env::temp_dir().join(format!("azleak-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let base_path = dir.join("baseline.json");
        let known = history_finding("conf/app.env", "known-secret-value", false);
        let mut recorded = known.clone();
        recorded.fingerprint =
            crate::finding::fingerprint(&known.rule_id, "conf/app.env", known.secret.reveal());
        let previous = Baseline::record(
            [(&recorded, "conf/app.env".to_string())],
            &Baseline::default(),
            "2020-01-01",
        );
        previous.write(&base_path).expect("write baseline");
        let overrides = Overrides {
            config: ConfigSource::Ignore,
            baseline: BaselineMode::Check { path: base_path.clone(), prune: false },
            ..Overrides::default()
        };
        let settings = Settings::load(&dir, &overrides).expect("settings");
        let mut output = ScanOutput {
            findings: vec![
                known.clone(),
                history_finding("other/app.env", "known-secret-value", false),
                history_finding("conf/app.env", "new-secret-value", true),
            ],
            ..ScanOutput::default()
        };
        let update = apply(&settings, &mut output, ScanKind::History).expect("applies");
        assert!(update.is_none());
        let left: Vec<&str> = output.findings.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(left, ["other/app.env"], "same secret elsewhere is new; inline-allowed dropped");
        assert_eq!(output.summary.in_baseline, 1);
        assert_eq!(output.summary.allowed_inline, 1);
        assert_eq!(output.summary.stale_baseline, 0, "coverage unknown: nothing is stale");
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
}
