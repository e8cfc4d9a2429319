//! App-registration inventory (`--app-inventory`): which credential of which application a
//! leaked client secret may be, offline. An administrator exports the tenant's applications with
//! their own tools (`az ad app list --all`, `az ad app credential list --id APP`, or Microsoft
//! Graph `GET /applications?$select=appId,displayName,passwordCredentials`); each password
//! credential there has a `hint`, the first three characters of its value, which is exactly what
//! azleak shows of a secret. This module reads those files and attaches to each Entra
//! client-secret finding the credentials whose hint it matches ([`Finding::owners`]).
//!
//! It runs after the filter stage, on the findings that will be reported; it reads files and
//! never contacts the network, and nothing it reads is echoed in errors (an export may hold
//! values pasted by mistake).

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::Deserialize;

use crate::finding::{Finding, Owner};

/// An inventory file larger than this is refused (a tenant of 100,000 applications exports to
/// well under 256 MiB).
const MAX_INVENTORY_BYTES: u64 = 256 << 20;

/// Rules whose findings are Entra client secrets, the only credentials an inventory lists.
const CLIENT_SECRET_RULE_PREFIX: &str = "azure.entra.client-secret";

/// Errors reading an inventory. They name the file and the problem, never its content.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// The file cannot be read.
    #[error("cannot read the app inventory {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is too large to be an export.
    #[error("the app inventory {path} is larger than {max} MiB; split it into several files")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit, in MiB.
        max: u64,
    },
    /// Not JSON.
    #[error("the app inventory {path} is not valid JSON (line {line}, column {column}): {message}")]
    Json {
        /// The file.
        path: PathBuf,
        /// Where.
        line: usize,
        /// Where.
        column: usize,
        /// What is wrong, without the offending value.
        message: String,
    },
    /// JSON, but not one of the shapes an export has.
    #[error(
        "the app inventory {path} is not an export of app registrations: {what}; expected the \
         output of `az ad app list --all`, `az ad app credential list --id APP`, or Microsoft \
         Graph `GET /applications?$select=appId,displayName,passwordCredentials` (a `value` \
         array, pages concatenated)"
    )]
    Shape {
        /// The file.
        path: PathBuf,
        /// What was found instead (a shape, never a value).
        what: String,
    },
    /// `--as-of` is not a date.
    #[error("--as-of: expected a date (YYYY-MM-DD) or an RFC 3339 time, such as 2027-03-01")]
    AsOf,
}

/// One password credential of an application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// Application display name (empty when the export does not say: a credential list).
    pub app_name: String,
    /// Application (client) id (empty when the export does not say).
    pub app_id: String,
    /// The credential's description.
    pub name: String,
    /// Its Secret ID.
    pub key_id: String,
    /// First three characters of its value; `None` for credentials the export gives no hint for.
    pub hint: Option<String>,
    /// Start date, as exported.
    pub start: Option<String>,
    /// End date, as exported.
    pub end: Option<String>,
    /// End date, parsed.
    end_time: Option<DateTime<Utc>>,
}

/// Every credential of every inventory file given.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    credentials: Vec<Credential>,
    files: usize,
}

/// An application as exported by the Azure CLI or Graph (fields we use; others ignored).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AppSyntax {
    app_id: Option<String>,
    display_name: Option<String>,
    #[serde(default)]
    password_credentials: Option<Vec<CredentialSyntax>>,
}

/// A `passwordCredential` resource. `secretText` (null in every list) is never read.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CredentialSyntax {
    key_id: Option<String>,
    display_name: Option<String>,
    hint: Option<String>,
    start_date_time: Option<String>,
    end_date_time: Option<String>,
}

impl Inventory {
    /// Reads every file; each may hold several JSON documents one after another (Graph pages
    /// concatenated).
    pub fn load(paths: &[PathBuf]) -> Result<Inventory, InventoryError> {
        let mut inventory = Inventory::default();
        for path in paths {
            inventory.read_file(path)?;
            inventory.files += 1;
        }
        Ok(inventory)
    }

    /// The credentials read, in file order.
    pub fn credentials(&self) -> &[Credential] {
        &self.credentials
    }

    /// How many credentials have no hint and so can never be matched.
    pub fn without_hint(&self) -> usize {
        self.credentials.iter().filter(|c| c.hint.is_none()).count()
    }

    fn read_file(&mut self, path: &Path) -> Result<(), InventoryError> {
        let read = |source| InventoryError::Read { path: path.to_path_buf(), source };
        let len = std::fs::metadata(path).map_err(read)?.len();
        if len > MAX_INVENTORY_BYTES {
            return Err(InventoryError::TooLarge {
                path: path.to_path_buf(),
                max: MAX_INVENTORY_BYTES >> 20,
            });
        }
        let bytes = std::fs::read(path).map_err(read)?;
        // A UTF-8 BOM (PowerShell's `Out-File` writes one) is not JSON.
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
        let mut documents = 0;
        for value in serde_json::Deserializer::from_slice(bytes).into_iter::<serde_json::Value>() {
            let value = value.map_err(|e| InventoryError::Json {
                path: path.to_path_buf(),
                line: e.line(),
                column: e.column(),
                message: json_message(&e),
            })?;
            self.read_document(path, value)?;
            documents += 1;
        }
        if documents == 0 {
            return Err(InventoryError::Shape {
                path: path.to_path_buf(),
                what: "it is empty".into(),
            });
        }
        Ok(())
    }

    /// One JSON document: an array of applications or of credentials, a Graph page, or one
    /// application.
    fn read_document(
        &mut self,
        path: &Path,
        value: serde_json::Value,
    ) -> Result<(), InventoryError> {
        let shape = |what: String| InventoryError::Shape { path: path.to_path_buf(), what };
        match value {
            serde_json::Value::Array(items) => {
                for (i, item) in items.into_iter().enumerate() {
                    self.read_item(item).map_err(|what| shape(format!("item {i}: {what}")))?;
                }
                Ok(())
            }
            serde_json::Value::Object(mut map) => match map.remove("value") {
                Some(serde_json::Value::Array(items)) => {
                    for (i, item) in items.into_iter().enumerate() {
                        self.read_item(item)
                            .map_err(|what| shape(format!("`value` item {i}: {what}")))?;
                    }
                    Ok(())
                }
                Some(other) => Err(shape(format!("`value` is {}, not an array", kind(&other)))),
                None => self.read_item(serde_json::Value::Object(map)).map_err(shape),
            },
            other => Err(shape(format!("the document is {}", kind(&other)))),
        }
    }

    /// An application (with `passwordCredentials`) or a credential (with `keyId`).
    fn read_item(&mut self, item: serde_json::Value) -> Result<(), String> {
        let serde_json::Value::Object(map) = &item else {
            return Err(format!("{}, not an object", kind(&item)));
        };
        let is_app = map.contains_key("passwordCredentials") || map.contains_key("appId");
        let is_credential = map.contains_key("keyId");
        if is_app {
            let app: AppSyntax = serde_json::from_value(item)
                .map_err(|e| format!("not an application: {}", field_free(&e)))?;
            for c in app.password_credentials.unwrap_or_default() {
                self.credentials.push(credential(
                    c,
                    app.display_name.as_deref().unwrap_or(""),
                    app.app_id.as_deref().unwrap_or(""),
                ));
            }
            Ok(())
        } else if is_credential {
            let c: CredentialSyntax = serde_json::from_value(item)
                .map_err(|e| format!("not a password credential: {}", field_free(&e)))?;
            self.credentials.push(credential(c, "", ""));
            Ok(())
        } else {
            Err("an object with neither `appId`/`passwordCredentials` (an application) nor \
                 `keyId` (a credential)"
                .into())
        }
    }

    /// The credentials a client secret may be, best first: those of the application whose
    /// client id is paired with the secret, then unexpired before expired, then by application
    /// and credential name.
    pub fn owners_of(&self, finding: &Finding, as_of: DateTime<Utc>) -> Vec<Owner> {
        let hint: String = finding.secret.reveal().chars().take(3).collect();
        let paired = finding.pairing.as_ref().map(|p| p.client_ids.as_slice()).unwrap_or(&[]);
        let mut owners: Vec<Owner> = self
            .credentials
            .iter()
            .filter(|c| c.hint.as_deref() == Some(hint.as_str()))
            .map(|c| Owner {
                app_name: c.app_name.clone(),
                app_id: c.app_id.clone(),
                credential_name: c.name.clone(),
                key_id: c.key_id.clone(),
                start: c.start.clone(),
                end: c.end.clone(),
                expired: c.end_time.is_some_and(|end| end <= as_of),
                app_id_match: !c.app_id.is_empty()
                    && paired.iter().any(|id| id.eq_ignore_ascii_case(&c.app_id)),
            })
            .collect();
        owners.sort_by(|a, b| {
            (!a.app_id_match, a.expired, &a.app_name, &a.app_id, &a.credential_name, &a.key_id).cmp(
                &(
                    !b.app_id_match,
                    b.expired,
                    &b.app_name,
                    &b.app_id,
                    &b.credential_name,
                    &b.key_id,
                ),
            )
        });
        owners.dedup();
        owners
    }

    /// Attaches owners to every Entra client-secret finding (an empty list: not in the
    /// inventory). Other findings are left without.
    pub fn attach(&self, findings: &mut [Finding], as_of: DateTime<Utc>) {
        for f in findings.iter_mut().filter(|f| is_client_secret(f)) {
            f.owners = Some(self.owners_of(f, as_of));
        }
    }
}

/// Whether a finding is an Entra client secret (the only kind an inventory can own).
pub fn is_client_secret(f: &Finding) -> bool {
    f.rule_id.starts_with(CLIENT_SECRET_RULE_PREFIX)
}

/// Whether every candidate owner of a finding has expired: it is then no longer usable, and
/// `--fail-on-unexpired-only` does not fail on it. False when there is no candidate (an
/// unknown secret may be live).
pub fn only_expired_owners(f: &Finding) -> bool {
    f.owners.as_ref().is_some_and(|o| !o.is_empty() && o.iter().all(|o| o.expired))
}

fn credential(c: CredentialSyntax, app_name: &str, app_id: &str) -> Credential {
    // Graph's hint is 3 characters; anything else cannot match a secret's first three.
    let hint = c.hint.filter(|h| h.chars().count() == 3);
    Credential {
        app_name: app_name.to_string(),
        app_id: app_id.to_string(),
        name: c.display_name.unwrap_or_default(),
        key_id: c.key_id.unwrap_or_default(),
        hint,
        end_time: c.end_date_time.as_deref().and_then(parse_time),
        start: c.start_date_time,
        end: c.end_date_time,
    }
}

/// Parses `--as-of`: a date (`2027-03-01`, midnight UTC) or an RFC 3339 time.
pub fn parse_as_of(text: &str) -> Result<DateTime<Utc>, InventoryError> {
    parse_time(text).ok_or(InventoryError::AsOf)
}

/// An export's date: RFC 3339 (`2027-03-01T10:00:00Z`, any fraction, any offset), a time
/// without offset (taken as UTC), or a date.
fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some(t.and_utc());
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// The date part of an exported time (`2027-03-01`), for reports.
pub fn date_of(text: &str) -> &str {
    text.get(..10).filter(|d| parse_time(d).is_some()).unwrap_or(text)
}

/// What kind of JSON value this is, for errors (never the value).
fn kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// A parse error's message without the value it quotes, nor the position (said apart).
fn json_message(e: &serde_json::Error) -> String {
    let mut message = crate::config::value_free(&e.to_string());
    if let Some(at) = message.rfind(" at line ") {
        message.truncate(at);
    }
    message
}

/// A typed-read error without the value it quotes.
fn field_free(e: &serde_json::Error) -> String {
    crate::config::value_free(&e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_times_parse() {
        for t in [
            "2027-03-01T10:00:00Z",
            "2027-03-01T10:00:00.1234567Z",
            "2027-03-01T10:00:00+00:00",
            "2027-03-01T10:00:00",
            "2027-03-01",
        ] {
            let parsed = parse_time(t).unwrap_or_else(|| panic!("{t} should parse"));
            assert_eq!(parsed.format("%Y-%m-%d").to_string(), "2027-03-01", "{t}");
        }
        assert!(parse_time("next tuesday").is_none());
        assert_eq!(date_of("2027-03-01T10:00:00Z"), "2027-03-01");
        assert_eq!(date_of("someday"), "someday");
    }
}
