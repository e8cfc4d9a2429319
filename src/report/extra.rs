//! The identities, verification and owners of a finding (filled by the pairing, `--verify` and
//! `--app-inventory` steps) as labelled text, for the formats that have no JSON object to carry
//! them (GitLab details, JUnit bodies, CSV cells). None of these is a secret: they are written
//! in full, through the report's redactor all the same (a secret written beside an identity
//! could be caught in one).

use super::Report;
use crate::finding::Finding;

/// One labelled value.
pub(super) struct Field {
    /// Stable, snake_case key (a CSV column, a GitLab details key).
    pub key: &'static str,
    /// Human label.
    pub label: &'static str,
    /// The value, redacted.
    pub value: String,
}

/// The keys [`fields`] may return, in order (the CSV header).
pub(super) const KEYS: [&str; 8] = [
    "tenant_ids",
    "client_ids",
    "authority",
    "resource",
    "endpoint",
    "verification",
    "verification_detail",
    "owners",
];

/// The finding's pairing, verification and owners, each present one as a field, in [`KEYS`]
/// order.
pub(super) fn fields(f: &Finding, report: &Report<'_>) -> Vec<Field> {
    let mut out = Vec::new();
    let mut push = |key, label, value: String| {
        if !value.is_empty() {
            out.push(Field { key, label, value: report.redact(&value).into_owned() });
        }
    };
    if let Some(p) = &f.pairing {
        push("tenant_ids", "Tenant ids", p.tenant_ids.join(", "));
        push("client_ids", "Client ids", p.client_ids.join(", "));
        push("authority", "Authority", p.authority.clone().unwrap_or_default());
        push("resource", "Resource", p.resource.clone().unwrap_or_default());
        push("endpoint", "Endpoint", p.endpoint.clone().unwrap_or_default());
    }
    if let Some(v) = &f.verification {
        let status = serde_json::to_value(v.status)
            .ok()
            .and_then(|s| s.as_str().map(str::to_string))
            .unwrap_or_default();
        push("verification", "Verification", format!("{status} (checked {})", v.checked_at));
        push("verification_detail", "Verification detail", v.detail.clone());
    }
    if let Some(owners) = &f.owners {
        let list: Vec<String> = owners
            .iter()
            .map(|o| {
                let mut s = format!(
                    "{} (app {}, credential {} {})",
                    o.app_name, o.app_id, o.credential_name, o.key_id
                );
                if let Some(end) = &o.end {
                    s.push_str(&format!(", ends {end}"));
                }
                if o.expired {
                    s.push_str(", expired");
                }
                s
            })
            .collect();
        push("owners", "Possible owners", list.join("; "));
    }
    out
}
