//! Entra ID client secrets: one OAuth 2.0 client-credentials request per (tenant, client id)
//! pair, `POST {authority}/{tenant}/oauth2/v2.0/token`, the secret in the form body only, and
//! the answer classified from the HTTP status and the `AADSTS` code. A token that comes back is
//! never kept or shown: only its claims `app_displayname` and `tid` are read, to say whose it is.

use base64::Engine;

use super::http::{Client, Endpoint, Request, Response};
use super::{Attempt, Log};
use crate::finding::VerificationStatus as S;

/// The scope asked for: Graph's default (it needs no permission to be granted to get a token).
const SCOPE: &str = "https://graph.microsoft.com/.default";

/// Whether `id` can go in the token URL's path: a GUID or a domain (`contoso.onmicrosoft.com`).
pub fn is_tenant_id(id: &str) -> bool {
    (1..=253).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && !id.starts_with(['.', '-'])
        && !id.contains("..")
}

/// Whether `id` looks like an application (client) id: a GUID.
pub fn is_client_id(id: &str) -> bool {
    id.len() == 36
        && id.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// Tries one (tenant, client, secret) against the authority.
pub fn attempt(
    client: &Client,
    authority: &Endpoint,
    tenant: &str,
    client_id: &str,
    secret: &str,
    log: &Log,
) -> Attempt {
    let path = format!("/{tenant}/oauth2/v2.0/token");
    let request = Request {
        endpoint: authority,
        path_and_query: path.clone(),
        headers: vec![("accept", "application/json".to_string())],
        form: Some(vec![
            ("client_id", client_id),
            ("client_secret", secret),
            ("scope", SCOPE),
            ("grant_type", "client_credentials"),
        ]),
    };
    let (response, attempts) = client.send(&request);
    let result = classify(&response, attempts);
    log.push(format!(
        "POST {}{}{path} (client {client_id}): {}",
        authority.host(),
        authority.path(),
        outcome_text(&result)
    ));
    result
}

fn outcome_text(a: &Attempt) -> String {
    format!("{}: {}", super::status_name(a.status), a.detail)
}

/// Classifies a token endpoint's answer.
pub fn classify(response: &Response, attempts: u32) -> Attempt {
    let (status, location, body) = match response {
        Response::Failed(why) => return Attempt::new(S::Unknown, why.clone()),
        Response::Http { status, location, body, .. } => (*status, location, body),
    };
    let json: Option<serde_json::Value> = serde_json::from_str(body).ok();
    if status == 200 {
        let token = json.as_ref().and_then(|j| j.get("access_token")).and_then(|t| t.as_str());
        return match token {
            Some(token) => Attempt::new(S::Valid, valid_detail(token)),
            None => Attempt::new(S::Unknown, "HTTP 200 without an access token".to_string()),
        };
    }
    if (300..400).contains(&status) {
        let to = location.as_deref().map(redirect_host).unwrap_or_default();
        return Attempt::new(S::Unknown, format!("HTTP {status} redirect{to} not followed"));
    }
    if status == 429 || status == 503 {
        let retries = attempts.saturating_sub(1);
        return Attempt::new(S::Unknown, format!("HTTP {status} after {retries} retries"));
    }
    let code = json.as_ref().and_then(aadsts_code);
    match code {
        Some(code) => {
            let (status, what) = meaning(code);
            Attempt::new(status, format!("AADSTS{code}: {what}"))
        }
        None => Attempt::new(S::Unknown, format!("HTTP {status}")),
    }
}

/// The host a redirect pointed to, for the detail (` to host`), never its path or query.
fn redirect_host(location: &str) -> String {
    let rest = location.split_once("://").map_or(location, |(_, r)| r);
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit('@').next().unwrap_or(host);
    if host.is_empty() || !host.bytes().all(|b| b.is_ascii_graphic()) {
        String::new()
    } else {
        format!(" to {host}")
    }
}

/// The first AADSTS code of an error body (`error_codes`, else the description's prefix).
fn aadsts_code(json: &serde_json::Value) -> Option<u64> {
    if let Some(code) = json.get("error_codes").and_then(|c| c.get(0)).and_then(|c| c.as_u64()) {
        return Some(code);
    }
    let description = json.get("error_description")?.as_str()?;
    let digits: String =
        description.strip_prefix("AADSTS")?.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// What an AADSTS code means for the secret. Our own words, never the server's description.
pub fn meaning(code: u64) -> (S, &'static str) {
    match code {
        7000215 => (S::Invalid, "invalid client secret"),
        7000222 => (S::Expired, "the client secret has expired"),
        700016 => (S::AppNotFound, "application not found in the tenant"),
        90002 | 900023 => (S::TenantNotFound, "tenant not found"),
        7000112 => (S::Blocked, "the application is disabled (the secret is valid)"),
        53003 | 53000 | 53001 => {
            (S::Blocked, "blocked by conditional access (the secret is valid)")
        }
        _ => (S::Unknown, "not a code azleak classifies"),
    }
}

/// "token issued for app "X" in tenant T": from the token's claims, if it has them.
fn valid_detail(token: &str) -> String {
    let claims = token
        .split('.')
        .nth(1)
        .and_then(|part| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).ok())
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok());
    let claim = |name: &str| {
        claims
            .as_ref()
            .and_then(|c| c.get(name))
            .and_then(|v| v.as_str())
            .filter(|v| v.len() <= 256 && !v.chars().any(char::is_control))
            .map(str::to_string)
    };
    let mut detail = "token issued".to_string();
    if let Some(app) = claim("app_displayname") {
        detail.push_str(&format!(" for app \"{app}\""));
    }
    if let Some(tid) = claim("tid") {
        detail.push_str(&format!(" in tenant {tid}"));
    }
    detail
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(status: u16, body: &str) -> Response {
        Response::Http {
            status,
            error_code: None,
            location: None,
            retry_after: None,
            body: body.to_string(),
        }
    }

    #[test]
    fn aadsts_codes_are_classified() {
        let body = r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.","error_codes":[7000215]}"#;
        let a = classify(&http(401, body), 1);
        assert_eq!(
            (a.status, a.detail.as_str()),
            (S::Invalid, "AADSTS7000215: invalid client secret")
        );
        let a = classify(&http(400, r#"{"error_description":"AADSTS700016: nope"}"#), 1);
        assert_eq!(a.status, S::AppNotFound);
        for (code, status) in [
            (7000222, S::Expired),
            (90002, S::TenantNotFound),
            (900023, S::TenantNotFound),
            (7000112, S::Blocked),
            (53003, S::Blocked),
            (50000, S::Unknown),
        ] {
            let a = classify(&http(400, &format!(r#"{{"error_codes":[{code}]}}"#)), 1);
            assert_eq!(a.status, status, "{code}");
        }
        assert_eq!(classify(&http(500, "oops"), 1).detail, "HTTP 500");
    }

    #[test]
    fn a_token_gives_only_its_claims() {
        let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(r#"{"app_displayname":"billing-api","tid":"t-1"}"#);
        let token = format!("eyJhbGciOiJub25lIn0.{claims}.c2ln");
        let a = classify(&http(200, &format!(r#"{{"access_token":"{token}"}}"#)), 1);
        assert_eq!(a.status, S::Valid);
        assert_eq!(a.detail, "token issued for app \"billing-api\" in tenant t-1");
        assert!(!a.detail.contains(&token));
        assert_eq!(classify(&http(200, r#"{"access_token":"opaque"}"#), 1).detail, "token issued");
    }

    #[test]
    fn ids_are_checked_before_they_go_in_a_url() {
        assert!(is_tenant_id("contoso.onmicrosoft.com"));
        assert!(is_tenant_id("72f988bf-86f1-41af-91ab-2d7cd011db47"));
        assert!(!is_tenant_id("../x"));
        assert!(!is_tenant_id("a/b"));
        assert!(!is_tenant_id("a?b"));
        assert!(is_client_id("72f988bf-86f1-41af-91ab-2d7cd011db47"));
        assert!(!is_client_id("72f988bf-86f1-41af-91ab-2d7cd011db4z"));
        assert_eq!(redirect_host("https://evil.example/steal?x=1"), " to evil.example");
    }
}
