//! The enrichment stage: filtered findings → the same findings with their owners (from the app
//! inventory, `--app-inventory`) and their verification (`--verify`). It runs after the filter
//! stage and before the reporters, in every mode: a single scan runs it once, a run over several
//! repositories once per repository with that repository's settings (so the datastore records
//! what the reports show). Nothing it skips: a finding it cannot verify is `unverifiable` or
//! `unknown`, with why.
//!
//! What the outcome of a run makes of it (the `--only-verified`, `--fail-on valid` and
//! `--fail-unexpired-only` gates, and the lines on standard error) is the CLI's; it reads the
//! [`Enriched`] this stage returns.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::config::{Settings, VerifySettings};
use crate::finding::Finding;
use crate::inventory::Inventory;
use crate::verify::{VerifyOptions, VerifyReport};

/// What to add to the findings.
#[derive(Debug, Clone, Default)]
pub struct Enrichment {
    /// The app inventory to match client secrets against, and the files it was read from.
    pub inventory: Option<(Arc<Inventory>, Vec<PathBuf>)>,
    /// The instant expiry is judged at (`--as-of`, else now).
    pub as_of: DateTime<Utc>,
    /// Verification settings; `None`: nothing is sent anywhere.
    pub verify: Option<VerifyOptions>,
}

impl Enrichment {
    /// The enrichment a repository's settings ask for.
    pub fn from_settings(settings: &Settings, as_of: Option<DateTime<Utc>>) -> Enrichment {
        Enrichment {
            inventory: settings
                .inventory
                .clone()
                .map(|inventory| (inventory, settings.app_inventory.clone())),
            as_of: as_of.unwrap_or_else(Utc::now),
            verify: settings.verify.enabled.then(|| verify_options(&settings.verify)),
        }
    }
}

/// What the stage did, for the run's messages and exit code. Several repositories' add up
/// ([`Enriched::add`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Enriched {
    /// Each inventory used (its files) with how many of its credentials have no hint and so
    /// cannot be matched to any secret.
    pub without_hint: Vec<(Vec<PathBuf>, usize)>,
    /// What verification did; `None` if it was not asked for.
    pub verify: Option<VerifyReport>,
}

impl Enriched {
    /// Adds the stage's report for the repository `name` to a run's: an inventory is counted
    /// once however many repositories used it; verification log lines are prefixed `NAME: `.
    pub fn add(&mut self, name: &str, other: Enriched) {
        for (files, n) in other.without_hint {
            if !self.without_hint.iter().any(|(f, _)| *f == files) {
                self.without_hint.push((files, n));
            }
        }
        if let Some(report) = other.verify {
            let total = self.verify.get_or_insert_with(VerifyReport::default);
            total.log.extend(report.log.into_iter().map(|line| format!("{name}: {line}")));
            total.requests += report.requests;
            total.tries += report.tries;
        }
    }

    /// Credentials, over every inventory used, that cannot be matched to a secret.
    pub fn unmatched(&self) -> usize {
        self.without_hint.iter().map(|(_, n)| n).sum()
    }
}

/// Attaches owners, then verifies: fills [`Finding::owners`] and [`Finding::verification`].
/// Run it on filtered findings only: what is allowlisted, allowed inline, baselined or below
/// the threshold is never sent anywhere.
pub fn enrich(findings: &mut [Finding], enrichment: &Enrichment) -> Enriched {
    let mut done = Enriched::default();
    if let Some((inventory, files)) = &enrichment.inventory {
        inventory.attach(findings, enrichment.as_of);
        done.without_hint.push((files.clone(), inventory.without_hint()));
    }
    done.verify =
        enrichment.verify.as_ref().map(|options| crate::verify::verify(findings, options));
    done
}

/// The verification stage's options: the settings, with the client defaults where none is set.
pub fn verify_options(settings: &VerifySettings) -> VerifyOptions {
    let mut options = VerifyOptions {
        authority: settings.authority.clone(),
        storage: settings.storage.clone(),
        ..Default::default()
    };
    if let Some(secs) = settings.timeout_secs {
        options.client.timeout = std::time::Duration::from_secs(secs);
    }
    if let Some(rate) = settings.rate {
        options.client.rate_per_host = rate;
    }
    options
}
