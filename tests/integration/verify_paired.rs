//! `--verify` end to end where the identity comes from the pairing step (issue 9): an `.env`
//! with AZURE_TENANT_ID / AZURE_CLIENT_ID / AZURE_CLIENT_SECRET, and a storage connection
//! string. Ignored until pairing and the storage key rules land; the coordinator enables them.

use crate::util::*;
use crate::verify::{STORAGE_ACCOUNT, STORAGE_KEY, STORAGE_KEY_WRONG};

fn env_file(t: &TempTree, client: &str, secret: &str) {
    t.file(
        "app.env",
        format!("AZURE_TENANT_ID={MOCK_TENANT}\nAZURE_CLIENT_ID={client}\nAZURE_CLIENT_SECRET={secret}\n"),
    );
}

fn scan(t: &TempTree, authority: &MockServer) -> assert_cmd::Command {
    let mut cmd = azleak(t.path());
    cmd.args(["scan", ".", "--no-config", "--authority", &authority.url()]);
    cmd
}

#[test]
fn a_live_entra_secret_is_verified_valid_in_every_format_and_never_printed() {
    let authority = mock_authority(SECRET_8Q, String::new());
    let t = TempTree::new();
    env_file(&t, MOCK_CLIENT, SECRET_8Q);
    let (code, out, err) = run(scan(&t, &authority).args(["--verify", "--verbose"]));
    assert_eq!(code, 1, "{err}");
    assert!(out.contains("verified: valid (token issued for app \"billing-api\""), "{out}");
    assert!(
        err.contains(&format!(
            "azleak: verify: POST {}/{MOCK_TENANT}/oauth2/v2.0/token",
            authority.addr
        )),
        "{err}"
    );
    assert!(err.contains("valid: token issued"), "{err}");
    let (_, json_out, _) = run(scan(&t, &authority).args(["--verify", "-f", "json"]));
    let doc = json(&json_out);
    assert_eq!(doc["findings"][0]["verification"]["status"], "valid");
    let (_, sarif, _) = run(scan(&t, &authority).args(["--verify", "-f", "sarif"]));
    let result = &json(&sarif)["runs"][0]["results"][0];
    assert_eq!(result["level"], "error");
    assert_eq!(result["properties"]["security-severity"], "10.0");
    let (_, github, _) = run(scan(&t, &authority).args(["--verify", "-f", "github"]));
    assert!(github.starts_with("::error ") && github.contains("LIVE: verified valid"), "{github}");
    for text in [&out, &err, &json_out, &sarif, &github] {
        assert!(!text.contains(SECRET_8Q));
    }
    // One request per run (one distinct secret), four runs.
    assert_eq!(authority.requests().len(), 4);
}

#[test]
fn without_verify_a_paired_secret_contacts_nothing() {
    let authority = mock_authority(SECRET_8Q, String::new());
    let t = TempTree::new();
    env_file(&t, MOCK_CLIENT, SECRET_8Q);
    for format in ["text", "json", "sarif", "github"] {
        let (code, out, _) = run(scan(&t, &authority).args(["-f", format]));
        assert_eq!(code, 1);
        assert!(!out.contains("verified"), "{out}");
    }
    assert_eq!(authority.connections(), 0);
}

#[test]
fn a_rejected_secret_is_invalid_and_gates_pass_on_it() {
    let authority = mock_authority(SECRET_8Q, String::new());
    let t = TempTree::new();
    env_file(&t, MOCK_CLIENT, SECRET_8Q_2);
    let (code, out, _) = run(scan(&t, &authority).arg("--verify"));
    assert_eq!(code, 1);
    assert!(out.contains("verified: invalid (AADSTS7000215: invalid client secret)"), "{out}");
    let (code, out, _) = run(scan(&t, &authority).args(["--verify", "--fail-on", "valid"]));
    assert_eq!(code, 0, "{out}");
    let (code, out, _) =
        run(scan(&t, &authority).args(["--verify", "--only-verified", "-f", "json"]));
    assert_eq!(code, 0);
    assert_eq!(json(&out)["findings"], serde_json::json!([]));
    // And the live one fails both gates.
    env_file(&t, MOCK_CLIENT, SECRET_8Q);
    let (code, _, _) = run(scan(&t, &authority).args(["--verify", "--fail-on", "valid"]));
    assert_eq!(code, 1);
    let (code, out, _) =
        run(scan(&t, &authority).args(["--verify", "--only-verified", "-f", "json"]));
    assert_eq!(code, 1);
    assert_eq!(json(&out)["findings"][0]["verification"]["status"], "valid");
}

#[test]
fn a_network_failure_never_turns_into_no_findings() {
    let authority = mock_authority(SECRET_8Q, String::new());
    let t = TempTree::new();
    env_file(&t, CLIENT_500, SECRET_8Q);
    let (code, _, err) = run(scan(&t, &authority).args(["--verify", "--only-verified"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("1 finding could not be verified (unknown)"), "{err}");
    let (code, _, _) = run(scan(&t, &authority).args(["--verify", "--fail-on", "valid"]));
    assert_eq!(code, 2);
}

#[test]
fn baselined_and_allowlisted_secrets_are_never_sent() {
    let authority = mock_authority(SECRET_8Q, String::new());
    let t = TempTree::new();
    env_file(&t, MOCK_CLIENT, SECRET_8Q);
    let (code, _, err) = run(scan(&t, &authority).args(["--write-baseline", "base.json"]));
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = run(scan(&t, &authority).args(["--verify", "--baseline", "base.json"]));
    assert_eq!(code, 0, "{out}");
    t.file("app2.env", std::fs::read(t.path().join("app.env")).unwrap());
    t.file("azleak.toml", "[allowlist]\npaths = [\"app*.env\"]\n");
    let (code, out, _) =
        run(azleak(t.path()).args(["scan", ".", "--verify", "--authority", &authority.url()]));
    assert_eq!(code, 0, "{out}");
    assert_eq!(authority.connections(), 0);
}

#[test]
fn the_same_secret_in_many_files_is_tried_once() {
    let authority = mock_authority(SECRET_8Q, String::new());
    let t = TempTree::new();
    for dir in ["a", "b", "c"] {
        t.file(
            &format!("{dir}/app.env"),
            format!("AZURE_TENANT_ID={MOCK_TENANT}\nAZURE_CLIENT_ID={MOCK_CLIENT}\nAZURE_CLIENT_SECRET={SECRET_8Q}\n"),
        );
    }
    let (code, out, err) = run(scan(&t, &authority).arg("--verify"));
    assert_eq!(code, 1);
    assert_eq!(out.matches("verified: valid").count(), 3, "{out}");
    assert!(err.contains("verified 3 findings (1 request): 3 valid"), "{err}");
    assert_eq!(authority.requests().len(), 1);
}

#[test]
fn a_storage_connection_string_is_verified_with_a_signed_list_request() {
    let storage = mock_storage(STORAGE_ACCOUNT, STORAGE_KEY);
    let t = TempTree::new();
    let conn = |key: &str| {
        format!(
            "STORAGE=DefaultEndpointsProtocol=https;AccountName={STORAGE_ACCOUNT};AccountKey={key};EndpointSuffix=core.windows.net\n"
        )
    };
    t.file("app.env", conn(STORAGE_KEY));
    let args = ["scan", ".", "--no-config", "--verify", "--storage-endpoint"];
    let (code, out, err) = run(azleak(t.path()).args(args).arg(storage.url()).arg("--verbose"));
    assert_eq!(code, 1, "{err}");
    assert!(out.contains("verified: valid (the key lists the account's containers)"), "{out}");
    assert!(!out.contains(STORAGE_KEY) && !err.contains(STORAGE_KEY));
    t.file("app.env", conn(STORAGE_KEY_WRONG));
    let (_, out, _) = run(azleak(t.path()).args(args).arg(storage.url()));
    assert!(
        out.contains("verified: invalid (AuthenticationFailed: the key was rejected)"),
        "{out}"
    );
    assert_eq!(storage.requests().len(), 2);
}
