//! Runs over several repositories get the enrichment stage of a single scan: owners from
//! `--app-inventory`, `--verify` against a mock authority on 127.0.0.1, and the exit-code gates
//! (`--fail-on valid`, `--only-verified`, `--fail-unexpired-only`) behave as in a single scan.
//! And copy groups are per repository: two forks holding the same secret have a group each.

use std::path::Path;

use crate::org::clone_at;
use crate::util::{
    CLIENT_500, MOCK_CLIENT, MOCK_TENANT, MockServer, SECRET_8Q, SECRET_8Q_2, TempTree, azleak,
    git_cli, json, mock_authority, run,
};

/// An inventory (Microsoft Graph shape): `zzz-service` owns SECRET_8Q (hint `zzz`), expiring
/// 2026-06-30; `contoso-api` owns SECRET_8Q_2 (hint `riG`), expiring 2027-03-01.
fn inventory() -> String {
    serde_json::json!({"value": [
        {"appId": "77777777-1111-4222-8333-444455556666", "displayName": "zzz-service",
         "passwordCredentials": [{"displayName": "prod", "hint": "zzz",
            "keyId": "22222222-aaaa-4bbb-8ccc-ddddeeeeffff",
            "startDateTime": "2024-06-30T00:00:00Z", "endDateTime": "2026-06-30T00:00:00Z"}]},
        {"appId": "3f1c2a4b-1111-4222-8333-444455556666", "displayName": "contoso-api",
         "passwordCredentials": [{"displayName": "CI deploy", "hint": "riG",
            "keyId": "9a2e5d01-aaaa-4bbb-8ccc-ddddeeeeffff",
            "startDateTime": "2025-03-01T10:00:00Z", "endDateTime": "2027-03-01T10:00:00Z"}]}
    ]})
    .to_string()
}

/// `clones/old` holds SECRET_8Q (its owner expires 2026-06-30), `clones/live` SECRET_8Q_2, and
/// `clones/clean` nothing; `inventory.json` knows both secrets.
fn inventory_clones(t: &TempTree) {
    let clones = t.path().join("clones");
    clone_at(&clones, "old", &[("app.env", &format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n"))]);
    clone_at(&clones, "live", &[("x.env", &format!("AZURE_CLIENT_SECRET={SECRET_8Q_2}\n"))]);
    clone_at(&clones, "clean", &[("README", "nothing here\n")]);
    t.file("inventory.json", inventory());
}

fn owner_of(doc: &serde_json::Value, repository: &str) -> (String, bool) {
    let f = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["repository"] == repository)
        .unwrap_or_else(|| panic!("no finding in {repository}: {doc:#}"));
    let owner = &f["owners"][0];
    (owner["app_name"].as_str().unwrap_or("").to_string(), owner["expired"] == true)
}

#[test]
fn a_run_over_several_repositories_gives_owners_from_the_app_inventory_and_records_them() {
    let t = TempTree::new();
    inventory_clones(&t);
    let inv = ["--app-inventory", "inventory.json", "--as-of", "2026-07-01"];
    let (code, out, err) = run(azleak(t.path())
        .args(["git", "--repos-dir", "clones", "--datastore", "org.db", "-f", "json"])
        .args(inv));
    assert_eq!(code, 1, "{err}");
    let doc = json(&out);
    assert_eq!(owner_of(&doc, "clones/old"), ("zzz-service".to_string(), true));
    assert_eq!(owner_of(&doc, "clones/live"), ("contoso-api".to_string(), false));
    // The datastore keeps what the report showed: a later report has the owners too.
    let (_, stored, err) =
        run(azleak(t.path()).args(["report", "--datastore", "org.db", "-f", "json"]));
    let stored = json(&stored);
    assert_eq!(owner_of(&stored, "clones/old"), ("zzz-service".to_string(), true), "{err}");
    assert_eq!(owner_of(&stored, "clones/live"), ("contoso-api".to_string(), false));
    // The text report names the owner under each repository's finding.
    let (_, text, _) = run(azleak(t.path()).args(["git", "--repos-dir", "clones"]).args(inv));
    assert!(text.contains("zzz-service") && text.contains("contoso-api"), "{text}");
    for output in [&out, &text, &stored.to_string()] {
        assert!(!output.contains(SECRET_8Q) && !output.contains(SECRET_8Q_2), "{output}");
    }
}

#[test]
fn fail_unexpired_only_gates_a_run_over_several_repositories_as_it_gates_one() {
    let t = TempTree::new();
    inventory_clones(&t);
    let exit = |repos: &[&str], as_of: &str| {
        let (code, _, err) = run(azleak(t.path()).arg("git").args(repos).args([
            "--app-inventory",
            "inventory.json",
            "--fail-unexpired-only",
            "--as-of",
            as_of,
        ]));
        assert!(code == 0 || code == 1, "{err}");
        code
    };
    // Only an expired secret: reported, and the run passes, alone or with a clean repository.
    assert_eq!(exit(&["clones/old"], "2026-07-01"), 0);
    assert_eq!(exit(&["clones/old", "clones/clean"], "2026-07-01"), 0);
    // Before it expired, it fails both.
    assert_eq!(exit(&["clones/old"], "2026-01-01"), 1);
    assert_eq!(exit(&["clones/old", "clones/clean"], "2026-01-01"), 1);
    // A live secret in any repository fails the run.
    assert_eq!(exit(&["clones/old", "clones/live"], "2026-07-01"), 1);
    assert_eq!(exit(&["clones/live"], "2026-07-01"), 1);
}

/// `clones/a` holds a secret the mock authority accepts, `clones/b` one it rejects, and
/// `clones/flaky` one for a client id the authority answers with 500, each next to the tenant and
/// client id that pair with it; `clones/clean` holds nothing.
fn verify_clones(t: &TempTree) {
    let env = |client: &str, secret: &str| {
        format!(
            "AZURE_TENANT_ID={MOCK_TENANT}\nAZURE_CLIENT_ID={client}\nAZURE_CLIENT_SECRET={secret}\n"
        )
    };
    let clones = t.path().join("clones");
    clone_at(&clones, "a", &[("app.env", &env(MOCK_CLIENT, SECRET_8Q))]);
    clone_at(&clones, "b", &[("app.env", &env(MOCK_CLIENT, SECRET_8Q_2))]);
    clone_at(&clones, "flaky", &[("app.env", &env(CLIENT_500, SECRET_8Q))]);
    clone_at(&clones, "clean", &[("README", "nothing here\n")]);
}

fn git_verify(t: &TempTree, authority: &MockServer, repos: &[&str]) -> assert_cmd::Command {
    let mut cmd = azleak(t.path());
    cmd.arg("git").args(repos).args(["--verify", "--authority", &authority.url()]);
    cmd
}

#[test]
fn verify_in_a_run_over_several_repositories_verifies_each_finding_and_never_prints_a_secret() {
    let authority = mock_authority(SECRET_8Q, String::new());
    let t = TempTree::new();
    verify_clones(&t);
    let repos = ["clones/a", "clones/b"];
    let (code, out, err) =
        run(git_verify(&t, &authority, &repos).args(["-f", "json", "--verbose"]));
    assert_eq!(code, 1, "{err}");
    let doc = json(&out);
    let statuses: Vec<(&str, &str)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["repository"].as_str().unwrap(), f["verification"]["status"].as_str().unwrap()))
        .collect();
    assert_eq!(statuses, [("clones/a", "valid"), ("clones/b", "invalid")]);
    // One request per repository's secret; the log names the repository, never the secret.
    assert_eq!(authority.requests().len(), 2);
    assert!(err.contains("azleak: verified 2 findings (2 requests): 1 valid, 1 invalid"), "{err}");
    assert!(
        err.contains(&format!(
            "azleak: verify: clones/a: POST {}/{MOCK_TENANT}/oauth2/v2.0/token",
            authority.addr
        )),
        "{err}"
    );
    for text in [&out, &err] {
        assert!(!text.contains(SECRET_8Q) && !text.contains(SECRET_8Q_2), "{text}");
    }
    // The datastore records the verification with the finding.
    let (_, _, err) = run(git_verify(&t, &authority, &repos).args(["--datastore", "v.db"]));
    let (_, stored, _) =
        run(azleak(t.path()).args(["report", "--datastore", "v.db", "-f", "json"]));
    assert_eq!(json(&stored)["findings"][0]["verification"]["status"], "valid", "{err}");
    // Without --verify nothing is contacted.
    let before = authority.connections();
    let (code, _, _) = run(azleak(t.path()).arg("git").args(repos));
    assert_eq!(code, 1);
    assert_eq!(authority.connections(), before);
}

#[test]
fn a_finding_seen_again_in_the_datastore_takes_the_new_verification() {
    let authority = mock_authority(SECRET_8Q, String::new());
    let t = TempTree::new();
    verify_clones(&t);
    let stored = |t: &TempTree| {
        let (_, out, _) =
            run(azleak(t.path()).args(["report", "--datastore", "v.db", "-f", "json"]));
        let doc = json(&out);
        doc["findings"][0]["verification"]["status"].as_str().map(str::to_string)
    };
    let (code, _, err) = run(azleak(t.path()).args(["git", "clones/a", "--datastore", "v.db"]));
    assert_eq!(code, 1, "{err}");
    assert_eq!(stored(&t), None);
    // Other settings (a new rule-set version): every blob is read again, the finding is seen
    // again, and the store keeps its first sighting with this run's verification.
    let (code, _, err) = run(git_verify(&t, &authority, &["clones/a"]).args([
        "--datastore",
        "v.db",
        "--max-file-size",
        "9M",
    ]));
    assert_eq!(code, 1, "{err}");
    assert_eq!(stored(&t).as_deref(), Some("valid"));
    let (_, out, _) = run(azleak(t.path()).args(["report", "--datastore", "v.db", "-f", "json"]));
    assert_eq!(json(&out)["findings"].as_array().unwrap().len(), 1, "{out}");
    // Seen again without --verify: no verification is claimed any more.
    let (code, _, err) = run(azleak(t.path()).args([
        "git",
        "clones/a",
        "--datastore",
        "v.db",
        "--max-file-size",
        "8M",
    ]));
    assert_eq!(code, 1, "{err}");
    assert_eq!(stored(&t), None);
}

#[test]
fn verification_gates_behave_in_a_run_over_several_repositories_as_in_a_single_one() {
    let authority = mock_authority(SECRET_8Q, String::new());
    let t = TempTree::new();
    verify_clones(&t);
    let exit = |repos: &[&str], gate: &[&str]| {
        let (code, out, err) = run(git_verify(&t, &authority, repos).args(gate));
        (code, out, err)
    };
    let fail_on_valid = ["--fail-on", "valid"];
    // Only a rejected secret: --fail-on valid passes, alone and among several.
    assert_eq!(exit(&["clones/b"], &fail_on_valid).0, 0);
    assert_eq!(exit(&["clones/b", "clones/clean"], &fail_on_valid).0, 0);
    assert_eq!(exit(&["clones/b", "clones/a"], &fail_on_valid).0, 1);
    // --only-verified keeps the live finding only.
    let (code, out, _) = exit(&["clones/a", "clones/b"], &["--only-verified", "-f", "json"]);
    assert_eq!(code, 1);
    let doc = json(&out);
    assert_eq!(doc["findings"].as_array().unwrap().len(), 1, "{doc:#}");
    assert_eq!(doc["findings"][0]["repository"], "clones/a");
    let (code, out, _) = exit(&["clones/b", "clones/clean"], &["--only-verified", "-f", "json"]);
    assert_eq!((code, json(&out)["findings"].as_array().unwrap().len()), (0, 0));
    // A check that could not be made is exit 2 under a gate, in both modes.
    let (code, _, err) = exit(&["clones/flaky"], &fail_on_valid);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = exit(&["clones/flaky", "clones/b"], &fail_on_valid);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("1 finding could not be verified (unknown)"), "{err}");
    // A gate without --verify is refused, before anything is scanned.
    let (code, _, err) =
        run(azleak(t.path()).args(["git", "clones/a", "clones/b", "--fail-on", "valid"]));
    assert_eq!(code, 2);
    assert!(err.contains("--fail-on valid needs --verify on the command line"), "{err}");
}

/// A clone at `dir/name` whose `origin` is `url`, holding SECRET_8Q in two files.
fn fork(dir: &Path, name: &str, url: &str) {
    let line = format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n");
    let path = clone_at(dir, name, &[("app.env", &line), ("deploy.env", &line)]);
    git_cli(&path, &["remote", "add", "origin", url]);
}

fn group_ids(doc: &serde_json::Value) -> Vec<(String, String)> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["repository"].as_str().unwrap().to_string(),
                f["group"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn two_forks_holding_the_same_secret_have_a_copy_group_each() {
    let t = TempTree::new();
    let clones = t.path().join("clones");
    fork(&clones, "upstream", "https://github.com/org/app.git");
    fork(&clones, "fork", "https://github.com/someone/app.git");
    let (code, out, err) = run(azleak(t.path()).args([
        "git",
        "--repos-dir",
        "clones",
        "--datastore",
        "g.db",
        "-f",
        "json",
    ]));
    assert_eq!(code, 1, "{err}");
    let doc = json(&out);
    let ids = group_ids(&doc);
    assert_eq!(ids.len(), 4, "{doc:#}");
    // Within a repository, the two copies share a group; across forks, they do not.
    assert_eq!(ids[0].1, ids[1].1);
    assert_eq!(ids[2].1, ids[3].1);
    assert_ne!(ids[0].1, ids[2].1, "{doc:#}");
    let groups = doc["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2, "{doc:#}");
    for g in groups {
        assert_eq!(g["copies"], 2, "each group lists its own repository's copies: {g:#}");
    }
    // The text report counts each repository's copies, not the forks' together.
    let (_, text, _) = run(azleak(t.path()).args(["git", "--repos-dir", "clones"]));
    assert!(!text.contains("4 places"), "{text}");
    // Reports from the datastore and merged shards name the same groups.
    let (_, stored, _) =
        run(azleak(t.path()).args(["report", "--datastore", "g.db", "-f", "json"]));
    assert_eq!(group_ids(&json(&stored)), ids);
    for k in 1..=2 {
        let shard = format!("{k}/2");
        let out = format!("shard-{k}.json");
        let (code, _, err) = run(azleak(t.path()).args([
            "git",
            "--repos-dir",
            "clones",
            "--shard",
            &shard,
            "-f",
            "json",
            "-o",
            &out,
        ]));
        assert!(code <= 1, "{err}");
    }
    let (_, merged, err) = run(azleak(t.path()).args(["merge", "shard-1.json", "shard-2.json"]));
    let merged = json(&merged);
    assert_eq!(group_ids(&merged), ids, "{err}");
    assert_eq!(merged["groups"], doc["groups"]);
}
