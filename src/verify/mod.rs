//! Verification (`--verify`): asks each secret's issuer whether it still works, and fills
//! [`Finding::verification`]. A stage of its own, run on the filtered findings only (an
//! allowlisted or baselined finding is never sent anywhere) and before the reporters; sources,
//! the scan and the detector know nothing of it, and nothing else in azleak opens a socket.
//!
//! Verifiers are keyed on the rule id and on [`Finding::pairing`]: Entra client secrets
//! (`azure.entra.client-secret*`) are tried against each (tenant, client id) pair near them
//! ([`entra`]), storage account keys (`azure.storage.account-key*`) with one read-only signed
//! list request ([`storage`]). A finding without the identity to try is `unverifiable`, with the
//! reason. Requests go through one [`http::Client`] (HTTPS only, no redirects, timeouts, a
//! per-host rate limit, retries on 429/503) from a few worker threads, and the per-run
//! [`cache`] tries each (identity, secret) once. `log` lines say what was contacted (host, path,
//! outcome), never a secret, a signature or a token.

pub mod cache;
pub mod entra;
pub mod http;
pub mod storage;

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::finding::{Finding, Verification, VerificationStatus};
pub use http::{ClientOptions, Endpoint, EndpointError};
pub use storage::StorageEndpoint;

/// The public cloud's authority.
pub const DEFAULT_AUTHORITY: &str = "https://login.microsoftonline.com";

/// Authorities of the public and sovereign clouds: one written near a secret is used only if it
/// is one of these (and no `--authority` was given), so a file cannot send a secret elsewhere.
const KNOWN_AUTHORITIES: [&str; 4] = [
    "login.microsoftonline.com",
    "login.microsoftonline.us",
    "login.chinacloudapi.cn",
    "login.partner.microsoftonline.cn",
];

/// How many (tenant, client id) pairs are tried for one secret at most.
pub const MAX_PAIRS: usize = 6;

/// Settings of the stage.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// `--authority`: where every Entra secret is tried. `None`: the public cloud, or a known
    /// sovereign cloud's authority written near the secret.
    pub authority: Option<Endpoint>,
    /// `--storage-endpoint`: where every storage key is tried. `None`: the account's public blob
    /// endpoint, or a known sovereign cloud's written near the key.
    pub storage: Option<StorageEndpoint>,
    /// The HTTP client's timeout, rate limit and retries.
    pub client: ClientOptions,
    /// Worker threads (requests in flight at once).
    pub concurrency: usize,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            authority: None,
            storage: None,
            client: ClientOptions::default(),
            concurrency: 4,
        }
    }
}

/// What the stage did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// What was contacted and the outcome, one line per try, in a deterministic order.
    pub log: Vec<String>,
    /// HTTP requests sent (retries included).
    pub requests: usize,
    /// Distinct (identity, secret) tries.
    pub tries: usize,
}

/// The outcome of one try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The classification.
    pub status: VerificationStatus,
    /// Why, in words (no secret, no token).
    pub detail: String,
}

impl Attempt {
    /// An outcome.
    pub fn new(status: VerificationStatus, detail: String) -> Attempt {
        Attempt { status, detail }
    }
}

/// Log lines of one run, kept by try so their order does not depend on thread timing.
#[derive(Debug, Default)]
pub struct Log {
    lines: Mutex<Vec<String>>,
}

impl Log {
    /// Adds a line.
    pub fn push(&self, line: String) {
        self.lines.lock().unwrap_or_else(|p| p.into_inner()).push(line);
    }
}

/// The lowercase name of a status, as reports write it (`valid`, `app-not-found`).
pub fn status_name(status: VerificationStatus) -> &'static str {
    use VerificationStatus as S;
    match status {
        S::Valid => "valid",
        S::Blocked => "blocked",
        S::Expired => "expired",
        S::Invalid => "invalid",
        S::AppNotFound => "app-not-found",
        S::TenantNotFound => "tenant-not-found",
        S::Unverifiable => "unverifiable",
        S::Unknown => "unknown",
    }
}

/// What to try for one finding.
enum Plan {
    Entra { pairs: Vec<(String, String)>, authority: Endpoint },
    Storage { account: String, endpoint: Option<String> },
    Unverifiable(&'static str),
}

fn plan(f: &Finding, options: &VerifyOptions) -> Plan {
    if f.rule_id.starts_with("azure.entra.client-secret") {
        let pairing = f.pairing.clone().unwrap_or_default();
        let tenants: Vec<&String> =
            pairing.tenant_ids.iter().filter(|t| entra::is_tenant_id(t)).collect();
        let clients: Vec<&String> =
            pairing.client_ids.iter().filter(|c| entra::is_client_id(c)).collect();
        match (tenants.is_empty(), clients.is_empty()) {
            (true, true) => return Plan::Unverifiable("no client id or tenant id near the secret"),
            (false, true) => return Plan::Unverifiable("no client id near the secret"),
            (true, false) => return Plan::Unverifiable("no tenant id near the secret"),
            (false, false) => {}
        }
        let pairs = tenants
            .iter()
            .flat_map(|t| clients.iter().map(move |c| (t.to_string(), c.to_string())))
            .take(MAX_PAIRS)
            .collect();
        let authority = options.authority.clone().unwrap_or_else(|| {
            pairing
                .authority
                .as_deref()
                .and_then(|a| Endpoint::parse(a).ok())
                .filter(|a| {
                    KNOWN_AUTHORITIES.contains(&a.host_name())
                        && a.host() == a.host_name()
                        && a.path().is_empty()
                })
                .unwrap_or_else(|| Endpoint::parse(DEFAULT_AUTHORITY).expect("valid"))
        });
        Plan::Entra { pairs, authority }
    } else if f.rule_id.starts_with("azure.storage.account-key") {
        let pairing = f.pairing.clone().unwrap_or_default();
        match pairing.resource.filter(|r| storage::is_account_name(r)) {
            Some(account) => Plan::Storage { account, endpoint: pairing.endpoint },
            None => Plan::Unverifiable("no storage account name near the key"),
        }
    } else {
        Plan::Unverifiable("azleak has no verifier for this kind of secret")
    }
}

/// Verifies every finding, filling its `verification`. Findings are tried by `concurrency`
/// threads; the same (identity, secret) is tried once. Never fails: a try that cannot be made
/// or answered is `unknown`, with why.
pub fn verify(findings: &mut [Finding], options: &VerifyOptions) -> VerifyReport {
    let plans: Vec<Plan> = findings.iter().map(|f| plan(f, options)).collect();
    let client = http::Client::new(options.client.clone(), !uses_loopback(options));
    let cache = cache::Cache::default();
    let log = Log::default();
    let storage_default = StorageEndpoint::default();
    let next = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<Attempt>>> = plans.iter().map(|_| Mutex::new(None)).collect();
    let workers = options.concurrency.clamp(1, 16).min(plans.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(plan) = plans.get(i) else { break };
                    let secret = findings[i].secret.reveal();
                    let attempt = match plan {
                        Plan::Unverifiable(why) => {
                            Attempt::new(VerificationStatus::Unverifiable, why.to_string())
                        }
                        Plan::Entra { pairs, authority } => {
                            let tries = pairs.iter().map(|(tenant, client_id)| {
                                let key = cache::Key::new("entra", &[tenant, client_id], secret);
                                cache.get_or_run(key, || {
                                    entra::attempt(
                                        &client, authority, tenant, client_id, secret, &log,
                                    )
                                })
                            });
                            combine(tries)
                        }
                        Plan::Storage { account, endpoint } => {
                            let endpoints = options.storage.as_ref().unwrap_or(&storage_default);
                            let written =
                                if options.storage.is_some() { None } else { endpoint.as_deref() };
                            let key = cache::Key::new("storage", &[account], secret);
                            cache.get_or_run(key, || {
                                storage::attempt(&client, endpoints, account, written, secret, &log)
                            })
                        }
                    };
                    *results[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(attempt);
                }
            });
        }
    });
    let checked_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    for (f, result) in findings.iter_mut().zip(results) {
        let attempt = result
            .into_inner()
            .unwrap_or_else(|p| p.into_inner())
            .unwrap_or_else(|| Attempt::new(VerificationStatus::Unknown, "not tried".to_string()));
        f.verification = Some(Verification {
            status: attempt.status,
            detail: attempt.detail,
            checked_at: checked_at.clone(),
        });
    }
    let mut lines = log.lines.into_inner().unwrap_or_else(|p| p.into_inner());
    lines.sort();
    VerifyReport { log: lines, requests: client.requests(), tries: cache.len() }
}

/// Whether a configured endpoint is a loopback address (tests): then no proxy is used.
fn uses_loopback(options: &VerifyOptions) -> bool {
    options.authority.as_ref().is_some_and(Endpoint::is_loopback)
        || matches!(&options.storage, Some(StorageEndpoint::PathStyle(e)) if e.is_loopback())
}

/// The verdict over the pairs tried for one secret, in order, stopping at the first that
/// proves the secret real (valid, blocked, expired). A rejection by some pair is only final
/// when every other pair answered too: if one could not be checked, the verdict is unknown.
fn combine(tries: impl Iterator<Item = Attempt>) -> Attempt {
    use VerificationStatus as S;
    let mut best: Option<Attempt> = None;
    let mut unknown: Option<Attempt> = None;
    let mut count = 0;
    for attempt in tries {
        count += 1;
        if matches!(attempt.status, S::Valid | S::Blocked | S::Expired) {
            return attempt;
        }
        if attempt.status == S::Unknown {
            unknown.get_or_insert(attempt);
        } else if best.as_ref().is_none_or(|b| attempt.status < b.status) {
            best = Some(attempt);
        }
    }
    match (best, unknown) {
        (_, Some(u)) if count == 1 => u,
        (_, Some(u)) => Attempt::new(S::Unknown, format!("{} (of {count} pairs tried)", u.detail)),
        (Some(b), None) if count > 1 => {
            Attempt::new(b.status, format!("{} (best of {count} pairs tried)", b.detail))
        }
        (Some(b), None) => b,
        (None, None) => Attempt::new(S::Unknown, "nothing tried".to_string()),
    }
}
