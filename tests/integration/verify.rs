//! `--verify`: the verification stage against mock servers on 127.0.0.1 (library level, with
//! pairings set by hand), and the binary end to end for everything that needs no pairing.

use std::time::Duration;

use azleak::finding::VerificationStatus as S;
use azleak::finding::{ChecksumStatus, Confidence, Finding, Pairing, Part, Secret};
use azleak::verify::{ClientOptions, Endpoint, StorageEndpoint, VerifyOptions, verify};

use crate::util::*;

/// A storage account key (base64 of 64 bytes) the mock storage endpoint knows.
pub const STORAGE_KEY: &str =
    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==";
/// Another well-formed key: the mock rejects it.
pub const STORAGE_KEY_WRONG: &str =
    "Pz49PDs6OTg3NjU0MzIxMC8uLSwrKikoJyYlJCMiISAfHh0cGxoZGBcWFRQTEhEQDw4NDAsKCQgHBgUEAwIBAA==";
pub const STORAGE_ACCOUNT: &str = "acct1";

fn finding(rule_id: &str, path: &str, secret: &str, pairing: Option<Pairing>) -> Finding {
    Finding {
        rule_id: rule_id.to_string(),
        confidence: Confidence::High,
        path: path.to_string(),
        member: None,
        part: Part::Content,
        line: 1,
        column: 1,
        end_column: 1 + secret.len(),
        secret: Secret::new(secret),
        entropy: 4.5,
        checksum: ChecksumStatus::Valid,
        encoding: None,
        fingerprint: String::new(),
        line_hash: String::new(),
        commit: None,
        copies: None,
        allowed_inline: false,
        pairing,
        verification: None,
        owners: None,
        repository: None,
        expires: None,
    }
}

fn entra(path: &str, secret: &str, tenants: &[&str], clients: &[&str]) -> Finding {
    let pairing = Pairing {
        tenant_ids: tenants.iter().map(|s| s.to_string()).collect(),
        client_ids: clients.iter().map(|s| s.to_string()).collect(),
        ..Pairing::default()
    };
    finding("azure.entra.client-secret", path, secret, Some(pairing))
}

fn storage(path: &str, key: &str, account: &str) -> Finding {
    let pairing = Pairing { resource: Some(account.to_string()), ..Pairing::default() };
    finding("azure.storage.account-key", path, key, Some(pairing))
}

fn options(authority: &MockServer) -> VerifyOptions {
    VerifyOptions {
        authority: Some(Endpoint::parse(&authority.url()).expect("loopback url")),
        storage: None,
        client: ClientOptions {
            timeout: Duration::from_secs(1),
            rate_per_host: 1000.0,
            retries: 3,
            backoff: Duration::from_millis(10),
        },
        concurrency: 4,
    }
}

fn status_of(f: &Finding) -> (S, String) {
    let v = f.verification.as_ref().expect("verified");
    (v.status, v.detail.clone())
}

#[test]
fn entra_answers_are_classified_and_no_secret_is_logged() {
    let elsewhere = MockServer::start(|_| MockReply::new(200, "{}"));
    let authority = mock_authority(SECRET_8Q, format!("{}/steal", elsewhere.url()));
    let cases: Vec<(&str, &str, &str, S, &str)> = vec![
        (SECRET_8Q, MOCK_TENANT, MOCK_CLIENT, S::Valid, "token issued for app \"billing-api\""),
        (SECRET_8Q_2, MOCK_TENANT, MOCK_CLIENT, S::Invalid, "AADSTS7000215: invalid client secret"),
        (SECRET_8Q, MOCK_TENANT, CLIENT_EXPIRED, S::Expired, "AADSTS7000222"),
        (SECRET_8Q, MOCK_TENANT, CLIENT_UNKNOWN, S::AppNotFound, "AADSTS700016"),
        (SECRET_8Q, TENANT_MISSING, MOCK_CLIENT, S::TenantNotFound, "AADSTS90002"),
        (SECRET_8Q, MOCK_TENANT, CLIENT_DISABLED, S::Blocked, "the secret is valid"),
        (SECRET_8Q, MOCK_TENANT, CLIENT_BLOCKED_CA, S::Blocked, "conditional access"),
        (SECRET_8Q, MOCK_TENANT, CLIENT_500, S::Unknown, "HTTP 500"),
        (SECRET_8Q, MOCK_TENANT, CLIENT_SLOW, S::Unknown, "timed out"),
        (SECRET_8Q, MOCK_TENANT, CLIENT_REDIRECT, S::Unknown, "HTTP 302 redirect to 127.0.0.1"),
    ];
    let mut findings: Vec<Finding> = cases
        .iter()
        .enumerate()
        .map(|(i, (secret, tenant, client, _, _))| {
            entra(&format!("f{i}.env"), secret, &[tenant], &[client])
        })
        .collect();
    let report = verify(&mut findings, &options(&authority));
    for ((_, tenant, client, status, detail), f) in cases.iter().zip(&findings) {
        let (got, got_detail) = status_of(f);
        assert_eq!(got, *status, "{tenant} {client}: {got_detail}");
        assert!(got_detail.contains(detail), "{client}: {got_detail:?} lacks {detail:?}");
    }
    assert_eq!(report.requests, cases.len());
    assert_eq!(authority.requests().len(), cases.len());
    // The redirect pointed at another server: it was never contacted.
    assert_eq!(elsewhere.connections(), 0);
    // The secret went in the form body only, never in the URL; the log names host, path and
    // outcome, and neither the log nor a detail holds a secret or the token.
    for req in authority.requests() {
        assert!(!req.target.contains("Q~"), "{}", req.target);
    }
    assert_eq!(report.log.len(), cases.len());
    let everything =
        format!("{:?}{:?}", report.log, findings.iter().map(status_of).collect::<Vec<_>>());
    for secret in [SECRET_8Q, SECRET_8Q_2, "eyJhbGciOiJSUzI1NiJ9", "c2lnbmF0dXJl"] {
        assert!(!everything.contains(secret), "{secret} in {everything}");
    }
    let line = report.log.iter().find(|l| l.contains(CLIENT_EXPIRED)).expect("logged");
    let expected = format!(
        "POST {}/{MOCK_TENANT}/oauth2/v2.0/token (client {CLIENT_EXPIRED}): expired: AADSTS7000222: the client secret has expired",
        authority.addr
    );
    assert_eq!(line, &expected);
}

#[test]
fn each_distinct_secret_is_tried_once_however_many_places_hold_it() {
    let authority = mock_authority(SECRET_8Q, String::new());
    let mut findings = vec![
        entra("a.env", SECRET_8Q, &[MOCK_TENANT], &[MOCK_CLIENT]),
        entra("b.env", SECRET_8Q, &[MOCK_TENANT], &[MOCK_CLIENT]),
        entra("c/d.env", SECRET_8Q, &[MOCK_TENANT], &[MOCK_CLIENT]),
        entra("e.env", SECRET_8Q_2, &[MOCK_TENANT], &[MOCK_CLIENT]),
        entra("f.env", SECRET_8Q_2, &[MOCK_TENANT], &[MOCK_CLIENT]),
    ];
    let report = verify(&mut findings, &options(&authority));
    assert_eq!((report.requests, report.tries), (2, 2));
    assert_eq!(authority.connections(), 2);
    let statuses: Vec<S> = findings.iter().map(|f| status_of(f).0).collect();
    assert_eq!(statuses, [S::Valid, S::Valid, S::Valid, S::Invalid, S::Invalid]);
}

#[test]
fn several_candidate_ids_are_tried_in_pairs_until_one_proves_the_secret() {
    let authority = mock_authority(SECRET_8Q, String::new());
    let mut findings = vec![
        entra("a.env", SECRET_8Q, &[TENANT_MISSING, MOCK_TENANT], &[CLIENT_UNKNOWN, MOCK_CLIENT]),
        entra("b.env", SECRET_8Q_2, &[MOCK_TENANT], &[CLIENT_UNKNOWN, MOCK_CLIENT]),
    ];
    verify(&mut findings, &options(&authority));
    assert_eq!(status_of(&findings[0]).0, S::Valid);
    // The best answer over the pairs: the secret was rejected by the right app.
    assert_eq!(
        status_of(&findings[1]),
        (S::Invalid, "AADSTS7000215: invalid client secret (best of 2 pairs tried)".to_string())
    );
    // Pairs tried: 4 for the first (the valid one last), 2 for the second.
    assert_eq!(authority.requests().len(), 6);
}

#[test]
fn a_429_is_retried_after_its_retry_after_then_succeeds() {
    let authority = mock_authority(SECRET_8Q, String::new());
    let mut findings = vec![entra("a.env", SECRET_8Q, &[MOCK_TENANT], &[CLIENT_RATE_LIMITED])];
    let report = verify(&mut findings, &options(&authority));
    assert_eq!(status_of(&findings[0]).0, S::Valid);
    let requests = authority.requests();
    assert_eq!((report.requests, requests.len()), (2, 2));
    // Retry-After: 1 was honoured (the backoff alone would have been 10 ms).
    assert!(requests[1].at.duration_since(requests[0].at) >= Duration::from_millis(950));
}

#[test]
fn rate_limited_after_every_retry_is_unknown() {
    let server = MockServer::start(|_| MockReply::new(429, "").header("Retry-After", "0"));
    let mut findings = vec![entra("a.env", SECRET_8Q, &[MOCK_TENANT], &[MOCK_CLIENT])];
    let mut opts = options(&server);
    opts.client.retries = 2;
    verify(&mut findings, &opts);
    assert_eq!(status_of(&findings[0]), (S::Unknown, "HTTP 429 after 2 retries".to_string()));
    assert_eq!(server.requests().len(), 3);
}

#[test]
fn requests_to_one_host_keep_to_the_rate_limit() {
    let authority = mock_authority(SECRET_8Q, String::new());
    let clients = [MOCK_CLIENT, CLIENT_EXPIRED, CLIENT_UNKNOWN, CLIENT_DISABLED, CLIENT_500];
    let mut findings: Vec<Finding> = clients
        .iter()
        .map(|c| entra(&format!("{c}.env"), SECRET_8Q, &[MOCK_TENANT], &[c]))
        .collect();
    let mut opts = options(&authority);
    opts.client.rate_per_host = 4.0;
    verify(&mut findings, &opts);
    let mut at: Vec<_> = authority.requests().iter().map(|r| r.at).collect();
    at.sort();
    assert_eq!(at.len(), 5);
    // 5 requests at 4 per second: the last is at least 4 intervals (1 s) after the first, even
    // with 4 worker threads.
    assert!(at[4].duration_since(at[0]) >= Duration::from_millis(950), "{:?}", at[4] - at[0]);
}

#[test]
fn storage_keys_are_checked_with_one_signed_read_only_request() {
    let server = mock_storage(STORAGE_ACCOUNT, STORAGE_KEY);
    let mut findings = vec![
        storage("a.env", STORAGE_KEY, STORAGE_ACCOUNT),
        storage("b.env", STORAGE_KEY, STORAGE_ACCOUNT),
        storage("c.env", STORAGE_KEY_WRONG, STORAGE_ACCOUNT),
        storage("d.env", "not base64!", STORAGE_ACCOUNT),
        finding("azure.storage.account-key", "e.env", STORAGE_KEY, None),
    ];
    let mut opts = options(&server);
    opts.authority = None;
    opts.storage = Some(StorageEndpoint::parse(&server.url()).expect("loopback"));
    let report = verify(&mut findings, &opts);
    let got: Vec<(S, String)> = findings.iter().map(status_of).collect();
    assert_eq!(
        got,
        [
            (S::Valid, "the key lists the account's containers".to_string()),
            (S::Valid, "the key lists the account's containers".to_string()),
            (S::Invalid, "AuthenticationFailed: the key was rejected".to_string()),
            (S::Invalid, "the key is not base64".to_string()),
            (S::Unverifiable, "no storage account name near the key".to_string()),
        ]
    );
    let requests = server.requests();
    assert_eq!((report.requests, requests.len()), (2, 2));
    for req in &requests {
        assert_eq!(req.method, "GET");
        assert_eq!(req.target, "/acct1/?comp=list&maxresults=1");
        let auth = req.header("authorization").expect("signed");
        assert!(auth.starts_with("SharedKey acct1:"), "{auth}");
        assert!(!auth.contains(STORAGE_KEY));
    }
    let log = report.log.join("\n");
    assert!(
        log.contains("GET 127.0.0.1:") && log.contains("/acct1/?comp=list&maxresults=1: valid")
    );
    assert!(!log.contains(STORAGE_KEY) && !log.contains("SharedKey"), "{log}");
}

#[test]
fn findings_without_an_identity_are_unverifiable_and_contact_nothing() {
    let authority = mock_authority(SECRET_8Q, String::new());
    let mut findings = vec![
        finding("azure.entra.client-secret", "a.env", SECRET_8Q, None),
        entra("b.env", SECRET_8Q, &[MOCK_TENANT], &[]),
        entra("c.env", SECRET_8Q, &[], &[MOCK_CLIENT]),
        entra("d.env", SECRET_8Q, &["../../evil"], &["not-a-guid"]),
        finding("azure.entra.client-secret.legacy", "e.env", SECRET_LEGACY, None),
        finding("user.custom", "f.env", "ZQx7~abc", None),
    ];
    let report = verify(&mut findings, &options(&authority));
    let got: Vec<(S, String)> = findings.iter().map(status_of).collect();
    let u = |s: &str| (S::Unverifiable, s.to_string());
    assert_eq!(
        got,
        [
            u("no client id or tenant id near the secret"),
            u("no client id near the secret"),
            u("no tenant id near the secret"),
            u("no client id or tenant id near the secret"),
            u("no client id or tenant id near the secret"),
            u("azleak has no verifier for this kind of secret"),
        ]
    );
    assert_eq!((report.requests, authority.connections()), (0, 0));
}

// ---- The binary, end to end (no pairing needed) ----

/// A tree with a checksum-valid secret and no tenant or client id anywhere near it.
fn lone_secret() -> TempTree {
    let t = TempTree::new();
    t.file("app.env", format!("SECRET={SECRET_8Q}\n"));
    t
}

#[test]
fn without_verify_not_a_single_connection_is_attempted() {
    let authority = mock_authority(SECRET_8Q, String::new());
    let t = lone_secret();
    let url = authority.url();
    for format in ["text", "json", "sarif", "github"] {
        let (code, out, _) = run(azleak(t.path()).args([
            "scan",
            ".",
            "--no-config",
            "--authority",
            &url,
            "-f",
            format,
        ]));
        assert_eq!(code, 1, "{format}");
        assert!(!out.contains("verif"), "{format}: {out}");
    }
    // --no-verify beats a config file that turns verification on.
    t.file("azleak.toml", format!("[verify]\nenabled = true\nauthority = \"{url}\"\n"));
    let (code, out, err) = run(azleak(t.path()).args(["scan", ".", "--no-verify"]));
    assert_eq!(code, 1, "{err}");
    assert!(!out.contains("verified:") && !err.contains("verified"), "{out}{err}");
    assert_eq!(authority.connections(), 0);
}

#[test]
fn verify_on_a_secret_without_ids_is_unverifiable_in_every_format() {
    let authority = mock_authority(SECRET_8Q, String::new());
    let t = lone_secret();
    let url = authority.url();
    let scan = |format: &str| {
        run(azleak(t.path())
            .args(["scan", ".", "--no-config", "--verify", "--authority", &url])
            .args(["-f", format]))
    };
    let (code, out, err) = scan("text");
    assert_eq!(code, 1);
    assert!(
        out.contains("\n    verified: unverifiable (no client id or tenant id near the secret)\n"),
        "{out}"
    );
    assert!(err.contains("azleak: verified 1 finding (0 requests): 1 unverifiable"), "{err}");
    let (_, out, _) = scan("json");
    let doc = json(&out);
    let v = &doc["findings"][0]["verification"];
    assert_eq!(v["status"], "unverifiable");
    assert_eq!(v["detail"], "no client id or tenant id near the secret");
    assert!(v["checked_at"].as_str().is_some_and(|d| d.ends_with('Z')), "{v}");
    let (_, out, _) = scan("sarif");
    let doc = json(&out);
    let result = &doc["runs"][0]["results"][0];
    assert_eq!(result["properties"]["verification"], "unverifiable");
    assert_eq!(
        result["properties"]["verificationDetail"],
        "no client id or tenant id near the secret"
    );
    assert!(result["properties"].get("security-severity").is_none());
    assert!(result["message"]["text"].as_str().unwrap().contains("Verified: unverifiable"));
    let (_, out, _) = scan("github");
    assert!(
        out.contains("Verified: unverifiable (no client id or tenant id near the secret)."),
        "{out}"
    );
    for out in [&out, &err] {
        assert!(!out.contains(SECRET_8Q));
    }
    assert_eq!(authority.connections(), 0);
}

#[test]
fn the_config_key_turns_verification_on_and_names_bad_values() {
    let t = lone_secret();
    t.file("azleak.toml", "[verify]\nenabled = true\nauthority = \"http://127.0.0.1:9\"\n");
    let (code, out, _) = run(azleak(t.path()).args(["scan", "."]));
    assert_eq!(code, 1);
    assert!(out.contains("verified: unverifiable"), "{out}");
    t.file("azleak.toml", "[verify]\nenabled = true\nauthority = \"http://login.example.com\"\n");
    let (code, _, err) = run(azleak(t.path()).args(["scan", "."]));
    assert_eq!(code, 2);
    assert!(
        err.contains(
            "azleak.toml:3:13: key `verify.authority`: http://login.example.com: only https://"
        ),
        "{err}"
    );
    t.file("azleak.toml", "[verify]\nenabeld = true\n");
    let (code, _, err) = run(azleak(t.path()).args(["scan", "."]));
    assert_eq!(code, 2);
    assert!(err.contains("key `verify.enabeld`: unknown field"), "{err}");
}

#[test]
fn endpoints_must_be_https_or_an_explicit_loopback() {
    let t = lone_secret();
    for (flag, url) in [
        ("--authority", "http://login.microsoftonline.com"),
        ("--authority", "http://192.168.1.10:8080"),
        ("--storage-endpoint", "http://storage.example"),
        ("--authority", "ftp://x"),
    ] {
        let (code, _, err) = run(azleak(t.path()).args(["scan", ".", "--verify", flag, url]));
        assert_eq!(code, 2, "{url}");
        assert!(err.contains("only https://"), "{url}: {err}");
    }
}

#[test]
fn only_verified_and_fail_on_valid_gate_on_live_secrets() {
    let t = lone_secret();
    let (code, _, err) =
        run(azleak(t.path()).args(["scan", ".", "--no-config", "--only-verified"]));
    assert_eq!(code, 2);
    assert!(err.contains("--only-verified needs --verify"), "{err}");
    let (code, _, err) = run(azleak(t.path()).args(["scan", ".", "--fail-on", "valid"]));
    assert_eq!(code, 2);
    assert!(err.contains("--fail-on valid needs --verify"), "{err}");
    // Nothing live: --only-verified reports nothing, --fail-on valid reports it but passes.
    let base = ["scan", ".", "--no-config", "--verify", "--authority", "http://127.0.0.1:9"];
    let (code, out, _) = run(azleak(t.path()).args(base).args(["--only-verified", "-f", "json"]));
    assert_eq!(code, 0);
    assert_eq!(json(&out)["findings"], serde_json::json!([]));
    let (code, out, _) = run(azleak(t.path()).args(base).args(["--fail-on", "valid"]));
    assert_eq!(code, 0);
    assert!(out.contains("verified: unverifiable"), "{out}");
    let (code, _, _) = run(azleak(t.path()).args(base).args(["--fail-on", "any"]));
    assert_eq!(code, 1);
}

#[test]
fn git_scans_verify_too() {
    let repo = TempRepo::new();
    let contents = format!("SECRET={SECRET_8Q}\n");
    repo.snapshot(Some("refs/heads/main"), &[], &[("app.env", contents.as_str())], "add");
    let (code, out, _) =
        run(azleak(repo.path()).args(["git", ".", "--no-config", "--verify", "-f", "json"]));
    assert_eq!(code, 1);
    assert_eq!(json(&out)["findings"][0]["verification"]["status"], "unverifiable");
}
