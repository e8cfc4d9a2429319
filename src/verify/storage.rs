//! Storage account keys: one read-only, side-effect-free call, `GET /?comp=list&maxresults=1`
//! on the account's blob endpoint (list at most one container), signed with the key by the
//! Shared Key scheme Microsoft documents ("Authorize with Shared Key": the string-to-sign of
//! the Blob service, version 2009-09-19 and later). The key itself never leaves the machine,
//! only the signature of that one request.

use base64::Engine;
use hmac::{KeyInit, Mac};

use super::http::{Client, Endpoint, Request, Response};
use super::{Attempt, Log};
use crate::finding::VerificationStatus as S;

/// The storage service version asked for.
pub const API_VERSION: &str = "2021-08-06";

/// The query of the request, already in canonical (sorted) order.
const QUERY: [(&str, &str); 2] = [("comp", "list"), ("maxresults", "1")];

/// Blob endpoint suffixes of the public and sovereign clouds: an endpoint written next to a key
/// is used only if its host is `{account}.blob.` and one of these.
const KNOWN_SUFFIXES: [&str; 3] =
    ["core.windows.net", "core.usgovcloudapi.net", "core.chinacloudapi.cn"];

/// Where the blob service of accounts is: `https://{account}.blob.core.windows.net` by
/// default, or a fixed endpoint to which the account is appended as the first path segment
/// (path style, as the storage emulator and tests use).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageEndpoint {
    /// `https://{account}.blob.{suffix}`.
    Suffix(String),
    /// `{base}/{account}/`.
    PathStyle(Endpoint),
}

impl Default for StorageEndpoint {
    fn default() -> Self {
        StorageEndpoint::Suffix("core.windows.net".to_string())
    }
}

impl StorageEndpoint {
    /// Parses `--storage-endpoint`: a URL with `{account}` as the first label of its host
    /// (`https://{account}.blob.core.usgovcloudapi.net`), or a URL to use path style under.
    pub fn parse(text: &str) -> Result<StorageEndpoint, super::http::EndpointError> {
        if let Some(rest) = text.strip_prefix("https://{account}.blob.") {
            let suffix = rest.trim_end_matches('/');
            // Checked as a whole URL with a sample account.
            Endpoint::parse(&format!("https://account.blob.{suffix}"))?;
            if suffix.contains(['/', ':']) {
                return Err(super::http::EndpointError::Malformed(text.to_string()));
            }
            return Ok(StorageEndpoint::Suffix(suffix.to_ascii_lowercase()));
        }
        Ok(StorageEndpoint::PathStyle(Endpoint::parse(text)?))
    }

    /// The endpoint and path prefix for an account, honouring an endpoint written near the key
    /// when it is a known cloud's.
    fn locate(&self, account: &str, written: Option<&str>) -> (Endpoint, String) {
        if let Some(written) = written.and_then(|w| Endpoint::parse(w).ok()) {
            let host = written.host_name().to_string();
            let known = KNOWN_SUFFIXES.iter().any(|s| host == format!("{account}.blob.{s}"));
            if known && written.host() == host && written.path().is_empty() {
                return (written, String::new());
            }
        }
        match self {
            StorageEndpoint::Suffix(suffix) => {
                let url = format!("https://{account}.blob.{suffix}");
                (Endpoint::parse(&url).expect("checked when parsed"), String::new())
            }
            StorageEndpoint::PathStyle(base) => (base.clone(), format!("/{account}")),
        }
    }
}

/// Whether `name` is a storage account name (3 to 24 lowercase letters and digits).
pub fn is_account_name(name: &str) -> bool {
    (3..=24).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// The Shared Key string-to-sign of a body-less GET with only `x-ms-date` and `x-ms-version`.
/// `resource_path` is the URL path (`/` for virtual-host style, `/{account}/` path style).
pub fn string_to_sign(account: &str, resource_path: &str, date: &str) -> String {
    // VERB, then Content-Encoding, -Language, -Length, -MD5, -Type, Date, If-Modified-Since,
    // If-Match, If-None-Match, If-Unmodified-Since, Range: all empty for this request.
    let mut s = String::from("GET\n");
    s.push_str(&"\n".repeat(11));
    s.push_str(&format!("x-ms-date:{date}\nx-ms-version:{API_VERSION}\n"));
    s.push_str(&format!("/{account}{resource_path}"));
    for (name, value) in QUERY {
        s.push_str(&format!("\n{name}:{value}"));
    }
    s
}

/// Base64 of HMAC-SHA256 of the string-to-sign with the (base64-decoded) key.
pub fn sign(key: &[u8], string_to_sign: &str) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(string_to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Tries an account key with one signed, read-only list request.
pub fn attempt(
    client: &Client,
    endpoints: &StorageEndpoint,
    account: &str,
    written_endpoint: Option<&str>,
    key: &str,
    log: &Log,
) -> Attempt {
    let Ok(key_bytes) = base64::engine::general_purpose::STANDARD.decode(key.trim()) else {
        return Attempt::new(S::Invalid, "the key is not base64".to_string());
    };
    let (endpoint, prefix) = endpoints.locate(account, written_endpoint);
    let date = chrono::Utc::now().format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let resource_path = format!("{}{prefix}/", endpoint.path());
    let signature = sign(&key_bytes, &string_to_sign(account, &resource_path, &date));
    let query: Vec<String> = QUERY.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let path = format!("{prefix}/?{}", query.join("&"));
    let request = Request {
        endpoint: &endpoint,
        path_and_query: path.clone(),
        headers: vec![
            ("x-ms-date", date),
            ("x-ms-version", API_VERSION.to_string()),
            ("authorization", format!("SharedKey {account}:{signature}")),
        ],
        form: None,
    };
    let (response, attempts) = client.send(&request);
    let result = classify(&response, attempts);
    log.push(format!(
        "GET {}{}{path}: {}: {}",
        endpoint.host(),
        endpoint.path(),
        super::status_name(result.status),
        result.detail
    ));
    result
}

/// Classifies the blob service's answer.
pub fn classify(response: &Response, attempts: u32) -> Attempt {
    let (status, code) = match response {
        Response::Failed(why) => return Attempt::new(S::Unknown, why.clone()),
        Response::Http { status, error_code, .. } => (*status, error_code.as_deref()),
    };
    let code: Option<String> = code
        .map(|c| c.chars().filter(char::is_ascii_alphanumeric).take(64).collect::<String>())
        .filter(|c| !c.is_empty());
    match (status, code.as_deref()) {
        (200, _) => Attempt::new(S::Valid, "the key lists the account's containers".to_string()),
        (403, Some("AuthenticationFailed")) => {
            Attempt::new(S::Invalid, "AuthenticationFailed: the key was rejected".to_string())
        }
        (300..=399, _) => Attempt::new(S::Unknown, format!("HTTP {status} redirect not followed")),
        (429 | 503, _) => Attempt::new(
            S::Unknown,
            format!("HTTP {status} after {} retries", attempts.saturating_sub(1)),
        ),
        (_, Some(code)) => Attempt::new(S::Unknown, format!("HTTP {status} {code}")),
        (_, None) => Attempt::new(S::Unknown, format!("HTTP {status}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_to_sign_follows_the_documented_layout() {
        let s = string_to_sign("acct", "/", "Sun, 11 Oct 2009 21:49:13 GMT");
        let expected = "GET\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:Sun, 11 Oct 2009 21:49:13 GMT\n\
                        x-ms-version:2021-08-06\n/acct/\ncomp:list\nmaxresults:1";
        assert_eq!(s, expected);
    }

    #[test]
    fn endpoints_written_near_a_key_are_used_only_for_known_clouds() {
        let default = StorageEndpoint::default();
        let (e, p) = default.locate("acct", Some("https://acct.blob.core.usgovcloudapi.net"));
        assert_eq!(
            (e.to_string(), p),
            ("https://acct.blob.core.usgovcloudapi.net".into(), "".into())
        );
        let (e, _) = default.locate("acct", Some("https://acct.blob.evil.example"));
        assert_eq!(e.to_string(), "https://acct.blob.core.windows.net");
        let (e, _) = default.locate("acct", Some("https://other.blob.core.windows.net"));
        assert_eq!(e.to_string(), "https://acct.blob.core.windows.net");
        let gov = StorageEndpoint::parse("https://{account}.blob.core.usgovcloudapi.net/").unwrap();
        assert_eq!(gov, StorageEndpoint::Suffix("core.usgovcloudapi.net".into()));
        let local = StorageEndpoint::parse("http://127.0.0.1:10000").unwrap();
        let (e, p) = local.locate("acct", None);
        assert_eq!((e.to_string(), p), ("http://127.0.0.1:10000".into(), "/acct".into()));
        assert!(StorageEndpoint::parse("http://storage.example").is_err());
        assert!(is_account_name("acct01") && !is_account_name("Acct") && !is_account_name("ab"));
    }
}
