//! `--app-inventory`: client-secret findings matched, offline, to the credentials of an
//! exported list of app registrations (Azure CLI and Microsoft Graph shapes), in every format.

use crate::util::{SECRET_8Q, SECRET_8Q_2, TempRepo, TempTree, azleak, json, run};

const CONTOSO_APP: &str = "3f1c2a4b-1111-4222-8333-444455556666";
const OTHER_APP: &str = "77777777-1111-4222-8333-444455556666";
const CI_DEPLOY_KEY: &str = "9a2e5d01-aaaa-4bbb-8ccc-ddddeeeeffff";
const OLD_KEY: &str = "11111111-aaaa-4bbb-8ccc-ddddeeeeffff";
const ZZZ_KEY: &str = "22222222-aaaa-4bbb-8ccc-ddddeeeeffff";

/// `az ad app list --all`: an array of applications. Two apps have a credential with the hint
/// `riG` (SECRET_8Q_2's first three characters): contoso-api's current one, other's expired one.
fn cli_export() -> String {
    serde_json::json!([
        {
            "appId": CONTOSO_APP,
            "displayName": "contoso-api",
            "signInAudience": "AzureADMyOrg",
            "passwordCredentials": [
                {"customKeyIdentifier": null, "displayName": "CI deploy",
                 "endDateTime": "2027-03-01T10:00:00Z", "hint": "riG", "keyId": CI_DEPLOY_KEY,
                 "secretText": null, "startDateTime": "2025-03-01T10:00:00Z"},
                {"customKeyIdentifier": null, "displayName": "unrelated",
                 "endDateTime": "2027-03-01T10:00:00Z", "hint": "Abc", "keyId": "33333333-aaaa-4bbb-8ccc-ddddeeeeffff",
                 "secretText": null, "startDateTime": "2025-03-01T10:00:00Z"}
            ]
        },
        {
            "appId": OTHER_APP,
            "displayName": "other-app",
            "passwordCredentials": [
                {"displayName": "old", "endDateTime": "2024-03-01T10:00:00Z", "hint": "riG",
                 "keyId": OLD_KEY, "startDateTime": "2023-03-01T10:00:00Z"}
            ]
        }
    ])
    .to_string()
}

/// Microsoft Graph `GET /applications?$select=...`: two pages written one after the other (as
/// `cat page1.json page2.json` leaves them), the second holding the `zzz` credential.
fn graph_export() -> String {
    let page1 = serde_json::json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#applications(appId,displayName,passwordCredentials)",
        "@odata.nextLink": "https://graph.microsoft.com/v1.0/applications?$skiptoken=X",
        "value": [
            {"appId": CONTOSO_APP, "displayName": "contoso-api", "passwordCredentials": []}
        ]
    });
    let page2 = serde_json::json!({
        "value": [
            {"appId": OTHER_APP, "displayName": "zzz-service", "passwordCredentials": [
                {"displayName": "prod", "endDateTime": "2026-06-30T00:00:00.0000000Z",
                 "hint": "zzz", "keyId": ZZZ_KEY, "startDateTime": "2024-06-30T00:00:00Z",
                 "secretText": null}
            ]}
        ]
    });
    format!("{page1}\n{page2}\n")
}

fn finding_for<'a>(doc: &'a serde_json::Value, secret_start: &str) -> &'a serde_json::Value {
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["secret"].as_str().is_some_and(|s| s.starts_with(secret_start)))
        .unwrap_or_else(|| panic!("no finding for {secret_start}…: {doc:#}"))
}

fn key_ids(finding: &serde_json::Value) -> Vec<String> {
    finding["owners"]
        .as_array()
        .expect("owners")
        .iter()
        .map(|o| o["key_id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn cli_export_names_every_candidate_ranked_with_expiry_as_of_a_date() {
    let t = TempTree::new();
    t.file("inventory.json", cli_export());
    t.file("app.env", format!("AZURE_CLIENT_SECRET={SECRET_8Q_2}\n"));
    let (code, out, err) = run(azleak(t.path()).args([
        "scan",
        "app.env",
        "--app-inventory",
        "inventory.json",
        "--as-of",
        "2026-12-01",
        "-f",
        "json",
    ]));
    assert_eq!(code, 1, "{err}");
    let doc = json(&out);
    let f = finding_for(&doc, "riG");
    // Both credentials with the hint, unexpired first; the `Abc` one is not a candidate.
    assert_eq!(key_ids(f), [CI_DEPLOY_KEY, OLD_KEY], "{f:#}");
    let owners = f["owners"].as_array().unwrap();
    assert_eq!(owners[0]["app_name"], "contoso-api");
    assert_eq!(owners[0]["app_id"], CONTOSO_APP);
    assert_eq!(owners[0]["credential_name"], "CI deploy");
    assert_eq!(owners[0]["end"], "2027-03-01T10:00:00Z");
    assert_eq!(owners[0]["expired"], false);
    assert_eq!(owners[1]["app_name"], "other-app");
    assert_eq!(owners[1]["expired"], true);
    assert!(owners.iter().all(|o| o["app_id_match"] == false));

    // As of a later date, both have expired: the order is by name then, and both say so.
    let (_, out, _) = run(azleak(t.path()).args([
        "scan",
        "app.env",
        "--app-inventory",
        "inventory.json",
        "--as-of",
        "2028-01-01T00:00:00Z",
        "-f",
        "json",
    ]));
    let doc = json(&out);
    let f = finding_for(&doc, "riG");
    assert!(f["owners"].as_array().unwrap().iter().all(|o| o["expired"] == true), "{f:#}");
    assert_eq!(key_ids(f), [CI_DEPLOY_KEY, OLD_KEY]);
}

#[test]
fn text_names_the_credential_and_the_command_that_deletes_it() {
    let t = TempTree::new();
    t.file("inventory.json", graph_export());
    t.file("settings.py", format!("SECRET = '{SECRET_8Q}'\n"));
    let (code, out, err) = run(azleak(t.path()).args([
        "scan",
        "settings.py",
        "--app-inventory",
        "inventory.json",
        "--as-of",
        "2026-01-01",
    ]));
    assert_eq!(code, 1, "{err}");
    assert!(
        out.contains(
            "owner: app \"zzz-service\" (77777777…), secret \"prod\" (keyId 22222222…), expires 2026-06-30"
        ),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "after rotating, delete it: az ad app credential delete --id {OTHER_APP} --key-id {ZZZ_KEY}"
        )),
        "{out}"
    );
    assert!(!out.contains(SECRET_8Q), "{out}");
    // After the end date the same credential is reported as expired, and still reported.
    let (code, out, _) = run(azleak(t.path()).args([
        "scan",
        "settings.py",
        "--app-inventory",
        "inventory.json",
        "--as-of",
        "2026-07-01",
    ]));
    assert_eq!(code, 1);
    assert!(out.contains("expired 2026-06-30"), "{out}");
}

#[test]
fn a_secret_no_credential_matches_says_it_is_not_in_the_inventory() {
    let t = TempTree::new();
    t.file("inventory.json", cli_export());
    t.file("app.env", format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n"));
    let (code, out, _) =
        run(azleak(t.path()).args(["scan", "app.env", "--app-inventory", "inventory.json"]));
    assert_eq!(code, 1);
    assert!(
        out.contains("owner: not in the app inventory (a secret of another tenant, or a credential since deleted: the two cannot be told apart)"),
        "{out}"
    );
    let (_, out, _) = run(azleak(t.path()).args([
        "scan",
        "app.env",
        "--app-inventory",
        "inventory.json",
        "-f",
        "json",
    ]));
    let doc = json(&out);
    assert_eq!(finding_for(&doc, "zzz")["owners"], serde_json::json!([]));
    // Without an inventory there is no owner field at all.
    let (_, out, _) = run(azleak(t.path()).args(["scan", "app.env", "-f", "json"]));
    let doc = json(&out);
    assert!(finding_for(&doc, "zzz").get("owners").is_none());
}

#[test]
fn credential_list_and_several_files_combine() {
    let t = TempTree::new();
    // `az ad app credential list --id APP`: credentials only, no app id or name.
    t.file(
        "creds.json",
        serde_json::json!([
            {"customKeyIdentifier": null, "displayName": "from list", "endDateTime": "2030-01-01T00:00:00+00:00",
             "hint": "zzz", "keyId": "44444444-aaaa-4bbb-8ccc-ddddeeeeffff", "secretText": null,
             "startDateTime": "2025-01-01T00:00:00+00:00"}
        ])
        .to_string(),
    );
    t.file("graph.json", graph_export());
    t.file("a.env", format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n"));
    let (code, out, err) = run(azleak(t.path()).args([
        "scan",
        "a.env",
        "--app-inventory",
        "creds.json",
        "--app-inventory",
        "graph.json",
        "--as-of",
        "2026-01-01",
        "-f",
        "json",
    ]));
    assert_eq!(code, 1, "{err}");
    let doc = json(&out);
    let f = finding_for(&doc, "zzz");
    // Ranked by app name: the unnamed app's credential sorts first (empty name).
    assert_eq!(key_ids(f), ["44444444-aaaa-4bbb-8ccc-ddddeeeeffff", ZZZ_KEY], "{f:#}");
    assert_eq!(f["owners"][0]["app_id"], "");
    // Text: two candidates, so no single delete command; it says how to tell them apart.
    let (_, out, _) = run(azleak(t.path()).args([
        "scan",
        "a.env",
        "--app-inventory",
        "creds.json",
        "--app-inventory",
        "graph.json",
        "--as-of",
        "2026-01-01",
    ]));
    assert!(out.contains("one of 2 credentials with this hint: an app not named in the export, secret \"from list\""), "{out}");
    assert!(out.contains("several credentials share this hint"), "{out}");
    assert!(!out.contains("az ad app credential delete"), "{out}");
}

#[test]
fn sarif_and_github_carry_the_owner() {
    let t = TempTree::new();
    t.file("inventory.json", graph_export());
    t.file("settings.py", format!("SECRET = '{SECRET_8Q}'\n"));
    let args =
        ["scan", "settings.py", "--app-inventory", "inventory.json", "--as-of", "2026-01-01"];
    let (_, out, _) = run(azleak(t.path()).args(args).args(["-f", "sarif"]));
    let sarif = json(&out);
    let result = &sarif["runs"][0]["results"][0];
    let owners = &result["properties"]["owners"];
    assert_eq!(owners[0]["key_id"], ZZZ_KEY, "{result:#}");
    assert_eq!(owners[0]["app_name"], "zzz-service");
    let message = result["message"]["text"].as_str().unwrap();
    assert!(message.contains("Owner: app \"zzz-service\""), "{message}");
    assert!(message.contains(&format!("--key-id {ZZZ_KEY}")), "{message}");
    let (_, out, _) = run(azleak(t.path()).args(args).args(["-f", "github"]));
    assert!(out.contains("Owner: app \"zzz-service\" (77777777…), secret \"prod\""), "{out}");
    for text in [&out, &sarif.to_string()] {
        assert!(!text.contains(SECRET_8Q));
    }
}

#[test]
fn fail_unexpired_only_passes_a_run_whose_secrets_have_all_expired() {
    let t = TempTree::new();
    t.file("inventory.json", graph_export());
    t.file("settings.py", format!("SECRET = '{SECRET_8Q}'\n"));
    let base =
        ["scan", "settings.py", "--app-inventory", "inventory.json", "--fail-unexpired-only"];
    // Expired as of 2026-07-01: reported, but the run passes.
    let (code, out, _) = run(azleak(t.path()).args(base).args(["--as-of", "2026-07-01"]));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("expired 2026-06-30"), "{out}");
    // Still valid before that: the run fails.
    let (code, _, _) = run(azleak(t.path()).args(base).args(["--as-of", "2026-01-01"]));
    assert_eq!(code, 1);
    // Without the flag, an expired secret fails the run as before.
    let (code, _, _) = run(azleak(t.path()).args([
        "scan",
        "settings.py",
        "--app-inventory",
        "inventory.json",
        "--as-of",
        "2026-07-01",
    ]));
    assert_eq!(code, 1);
    // A secret the inventory does not know may be live: it fails the run.
    t.file("other.env", format!("AZURE_CLIENT_SECRET={SECRET_8Q_2}\n"));
    let (code, _, _) = run(azleak(t.path()).args([
        "scan",
        "other.env",
        "--app-inventory",
        "inventory.json",
        "--fail-unexpired-only",
    ]));
    assert_eq!(code, 1);
}

#[test]
fn history_findings_get_owners_and_the_config_key_works() {
    let repo = TempRepo::new();
    repo.snapshot(
        Some("refs/heads/main"),
        &[],
        &[("deploy/app.env", &format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n"))],
        "add deploy settings",
    );
    std::fs::create_dir_all(repo.path().join("ops")).unwrap();
    std::fs::write(repo.path().join("ops/apps.json"), graph_export()).unwrap();
    // Relative to the config file's directory.
    std::fs::write(repo.path().join("azleak.toml"), "app-inventory = [\"ops/apps.json\"]\n")
        .unwrap();
    let (code, out, err) =
        run(azleak(repo.path()).args(["git", ".", "--as-of", "2026-01-01", "-f", "json"]));
    assert_eq!(code, 1, "{err}");
    let doc = json(&out);
    let f = finding_for(&doc, "zzz");
    assert_eq!(key_ids(f), [ZZZ_KEY], "{f:#}");
    assert!(f["commit"]["commit"].is_string());
}

#[test]
fn bad_inventories_are_clear_errors_that_never_echo_the_file() {
    let t = TempTree::new();
    t.file("app.env", format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n"));
    let pasted = "sk-PASTED-VALUE-abc8Q~notreallyasecretbutdontechoit";
    let cases: [(&str, String, &str); 6] = [
        (
            "object.json",
            format!("{{\"password\": \"{pasted}\"}}"),
            "not an export of app registrations",
        ),
        ("string.json", format!("\"{pasted}\""), "the document is a string"),
        (
            "typed.json",
            format!("[{{\"appId\": 5, \"displayName\": \"{pasted}\"}}]"),
            "item 0: not an application",
        ),
        ("broken.json", format!("[{{\"appId\": \"{pasted}"), "is not valid JSON (line 1"),
        ("empty.json", String::new(), "it is empty"),
        ("value.json", format!("{{\"value\": \"{pasted}\"}}"), "`value` is a string, not an array"),
    ];
    for (name, contents, expected) in cases {
        t.file(name, &contents);
        let (code, out, err) =
            run(azleak(t.path()).args(["scan", "app.env", "--app-inventory", name]));
        assert_eq!(code, 2, "{name}: {out}{err}");
        assert!(err.contains(name) && err.contains(expected), "{name}: {err}");
        assert!(!err.contains("PASTED") && !out.contains("PASTED"), "{name}: {err}");
        // Refused before scanning: no report.
        assert!(out.is_empty(), "{name}: {out}");
    }
    let (code, _, err) =
        run(azleak(t.path()).args(["scan", "app.env", "--app-inventory", "missing.json"]));
    assert_eq!(code, 2);
    assert!(err.contains("cannot read the app inventory missing.json"), "{err}");
    let (code, _, err) = run(azleak(t.path()).args(["scan", "app.env", "--as-of", "soon"]));
    assert_eq!(code, 2);
    assert!(err.contains("expected a date (YYYY-MM-DD)"), "{err}");
}

#[test]
fn credentials_without_a_hint_are_counted_not_silently_dropped() {
    let t = TempTree::new();
    t.file(
        "inventory.json",
        serde_json::json!([{"appId": CONTOSO_APP, "displayName": "legacy", "passwordCredentials": [
            {"displayName": "before hints", "hint": null, "keyId": OLD_KEY, "endDateTime": "2099-01-01T00:00:00Z"}
        ]}])
        .to_string(),
    );
    t.file("app.env", format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n"));
    let (code, out, err) =
        run(azleak(t.path()).args(["scan", "app.env", "--app-inventory", "inventory.json"]));
    assert_eq!(code, 1);
    assert!(
        err.contains("1 app credential in the inventory has no hint and cannot be matched"),
        "{err}"
    );
    assert!(out.contains("not in the app inventory"), "{out}");
}

/// The inventory is read locally: a run with one makes no network connection. Checked with
/// strace where it is installed (it is on CI); elsewhere the test says it could not check.
#[test]
fn an_inventory_run_makes_no_network_connection() {
    let t = TempTree::new();
    t.file("inventory.json", graph_export());
    t.file("app.env", format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n"));
    let has_strace =
        std::process::Command::new("strace").arg("-V").output().is_ok_and(|o| o.status.success());
    if !has_strace {
        assert!(
            std::env::var_os("AZLEAK_REQUIRE_STRACE").is_none(),
            "strace is required (AZLEAK_REQUIRE_STRACE is set) but not installed"
        );
        eprintln!("note: strace not installed; the no-connection check did not run");
        return;
    }
    let log = t.path().join("strace.log");
    let status = std::process::Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=connect,socket", "-o"])
        .arg(&log)
        .arg(crate::util::azleak_bin())
        .args(["scan", "app.env", "--app-inventory", "inventory.json", "-f", "json"])
        .current_dir(t.path())
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run strace");
    assert_eq!(status.code(), Some(1));
    let trace = std::fs::read_to_string(&log).expect("strace log");
    let inet: Vec<&str> =
        trace.lines().filter(|l| l.contains("AF_INET") || l.contains("AF_INET6")).collect();
    assert!(inet.is_empty(), "network sockets or connections: {inet:#?}");
}

#[test]
fn the_app_whose_client_id_is_near_the_secret_ranks_first_and_is_named_for_deletion() {
    let t = TempTree::new();
    t.file("inventory.json", cli_export());
    // other-app sorts after contoso-api by name; pair the secret with other-app's client id so
    // only the appId match can put it first.
    t.file(
        "app.env",
        format!(
            "AZURE_TENANT_ID=72f988bf-86f1-41af-91ab-2d7cd011db47\nAZURE_CLIENT_ID={OTHER_APP}\nAZURE_CLIENT_SECRET={SECRET_8Q_2}\n"
        ),
    );
    let args = ["scan", "app.env", "--app-inventory", "inventory.json", "--as-of", "2023-06-01"];
    let (code, out, err) = run(azleak(t.path()).args(args).args(["-f", "json"]));
    assert_eq!(code, 1, "{err}");
    let doc = json(&out);
    let f = finding_for(&doc, "riG");
    assert_eq!(f["pairing"]["client_ids"][0], OTHER_APP, "{f:#}");
    assert_eq!(key_ids(f), [OLD_KEY, CI_DEPLOY_KEY], "{f:#}");
    assert_eq!(f["owners"][0]["app_id_match"], true);
    assert_eq!(f["owners"][1]["app_id_match"], false);
    let (_, out, _) = run(azleak(t.path()).args(args));
    assert!(out.contains("app \"other-app\" (77777777…), the client id near the secret"), "{out}");
    assert!(
        out.contains(&format!(
            "after rotating, delete it: az ad app credential delete --id {OTHER_APP} --key-id {OLD_KEY}"
        )),
        "{out}"
    );
}
