//! Pairing (issue 9, section 3): the tenant, client id and authority (or account and endpoint)
//! written near a secret are reported with it, in full, in text, JSON, SARIF and github output;
//! nearest first; never from a sibling object or a block past a blank line; fingerprints and
//! baselines do not depend on them.

use crate::util::{SECRET_8Q_2, SECRET_LEGACY, TempTree, azleak, json, run};

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const CLIENT: &str = "3f1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b";
const OTHER_TENANT: &str = "11e5a7a4-0e9c-4a3b-9b7e-3c2f0d6e8a11";
const OTHER_CLIENT: &str = "22e5a7a4-0e9c-4a3b-9b7e-3c2f0d6e8a22";

fn scan(t: &TempTree, format: &str, extra: &[&str]) -> String {
    let (code, out, err) =
        run(azleak(t.path()).args(["scan", "--format", format]).args(extra).arg("."));
    assert!(code == 0 || code == 1, "exit {code}\n{out}\n{err}");
    assert!(!out.contains(SECRET_8Q_2) && !err.contains(SECRET_8Q_2), "raw secret in output");
    assert!(!out.contains(SECRET_LEGACY) && !err.contains(SECRET_LEGACY), "raw secret in output");
    out
}

/// The `pairing` objects of the JSON report's findings, by path.
fn pairings(t: &TempTree) -> Vec<(String, String, serde_json::Value)> {
    let doc = json(&scan(t, "json", &[]));
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let path = f["path"].as_str().unwrap().to_string();
            (path, f["rule_id"].as_str().unwrap().to_string(), f["pairing"].clone())
        })
        .collect()
}

#[test]
fn an_env_file_pairs_tenant_and_client_in_every_format() {
    let t = TempTree::new();
    t.file(
        ".env",
        format!("AZURE_TENANT_ID={TENANT}\nAZURE_CLIENT_ID={CLIENT}\nAZURE_CLIENT_SECRET={SECRET_8Q_2}\n"),
    );
    let text = scan(&t, "text", &[]);
    let line = format!("    belongs to tenant {TENANT}, client {CLIENT}\n");
    assert!(text.contains(&format!("(high) secret riG…, checksum valid\n{line}")), "{text}");

    let found = pairings(&t);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].2, serde_json::json!({"tenant_ids": [TENANT], "client_ids": [CLIENT]}));

    let sarif = json(&scan(&t, "sarif", &[]));
    let props = &sarif["runs"][0]["results"][0]["properties"];
    assert_eq!(props["tenantIds"], serde_json::json!([TENANT]), "{props:#}");
    assert_eq!(props["clientIds"], serde_json::json!([CLIENT]), "{props:#}");
    assert!(props.get("authority").is_none());

    let github = scan(&t, "github", &[]);
    assert!(github.contains(&format!("Belongs to tenant {TENANT}, client {CLIENT}.")), "{github}");
}

#[test]
fn appsettings_pairs_its_own_section_with_the_authority_not_the_sibling_section() {
    let t = TempTree::new();
    t.file(
        "appsettings.json",
        format!(
            r#"{{
  "Other": {{
    "TenantId": "{OTHER_TENANT}",
    "ClientId": "{OTHER_CLIENT}"
  }},
  "AzureAd": {{
    "Instance": "https://login.microsoftonline.com/",
    "TenantId": "{TENANT}",
    "ClientId": "{CLIENT}",
    "ClientSecret": "{SECRET_LEGACY}"
  }},
  "Next": {{ "TenantId": "{OTHER_TENANT}" }}
}}
"#
        ),
    );
    let found = pairings(&t);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].1, "azure.entra.client-secret.legacy");
    assert_eq!(
        found[0].2,
        serde_json::json!({
            "tenant_ids": [TENANT],
            "client_ids": [CLIENT],
            "authority": "https://login.microsoftonline.com"
        })
    );
}

#[test]
fn az_ad_sp_output_pairs_app_id_and_tenant() {
    let t = TempTree::new();
    t.file(
        "notes/sp.json",
        format!(
            "{{\n  \"appId\": \"{CLIENT}\",\n  \"displayName\": \"deploy\",\n  \"password\": \"{SECRET_LEGACY}\",\n  \"tenant\": \"{TENANT}\"\n}}\n"
        ),
    );
    let found = pairings(&t);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].1, "azure.entra.client-secret.sp-create-output");
    assert_eq!(found[0].2, serde_json::json!({"tenant_ids": [TENANT], "client_ids": [CLIENT]}));
}

#[test]
fn web_config_and_az_login_pair_tenant_domains_and_sovereign_authorities() {
    let t = TempTree::new();
    t.file(
        "web.config",
        format!(
            "<appSettings>\n  <add key=\"ida:Tenant\" value=\"contoso.onmicrosoft.com\" />\n  <add key=\"ida:ClientId\" value=\"{CLIENT}\" />\n  <add key=\"ida:AADInstance\" value=\"https://login.microsoftonline.us/{{0}}\" />\n  <add key=\"ida:ClientSecret\" value=\"{SECRET_LEGACY}\" />\n</appSettings>\n"
        ),
    );
    t.file(
        "deploy.sh",
        format!("az login --service-principal -u {CLIENT} -p {SECRET_8Q_2} --tenant {TENANT}\n"),
    );
    let found = pairings(&t);
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[0].0, "deploy.sh");
    assert_eq!(found[0].2, serde_json::json!({"tenant_ids": [TENANT], "client_ids": [CLIENT]}));
    assert_eq!(found[1].0, "web.config");
    assert_eq!(
        found[1].2,
        serde_json::json!({
            "tenant_ids": ["contoso.onmicrosoft.com"],
            "client_ids": [CLIENT],
            "authority": "https://login.microsoftonline.us"
        })
    );
}

#[test]
fn kubernetes_env_lists_pair_their_neighbouring_entries() {
    let t = TempTree::new();
    t.file(
        "deploy.yaml",
        format!(
            "env:\n  - name: AZURE_CLIENT_ID\n    value: {CLIENT}\n  - name: AZURE_CLIENT_SECRET\n    value: {SECRET_LEGACY}\n  - name: AZURE_TENANT_ID\n    value: {TENANT}\n"
        ),
    );
    let found = pairings(&t);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].2, serde_json::json!({"tenant_ids": [TENANT], "client_ids": [CLIENT]}));
}

#[test]
fn identities_are_listed_nearest_first() {
    let t = TempTree::new();
    t.file(
        "app.env",
        format!(
            "BACKUP_CLIENT_ID={OTHER_CLIENT}\nAZURE_TENANT_ID={OTHER_TENANT}\nAZURE_CLIENT_ID={CLIENT}\nAZURE_CLIENT_SECRET={SECRET_8Q_2}\nHOME_TENANT_ID={TENANT}\n"
        ),
    );
    let found = pairings(&t);
    assert_eq!(
        found[0].2,
        serde_json::json!({"tenant_ids": [TENANT, OTHER_TENANT], "client_ids": [CLIENT, OTHER_CLIENT]})
    );
    let text = scan(&t, "text", &[]);
    let want = format!(
        "belongs to tenant {TENANT} (also {OTHER_TENANT}), client {CLIENT} (also {OTHER_CLIENT})"
    );
    assert!(text.contains(&want), "{text}");
}

#[test]
fn unrelated_distant_blocks_are_not_paired() {
    let t = TempTree::new();
    // Past a blank line, past a section header, more than 8 lines away: none is the secret's.
    let filler: String = (0..9).map(|i| format!("LOG_LEVEL_{i}=info\n")).collect();
    t.file(
        "blank.env",
        format!("AZURE_TENANT_ID={TENANT}\nAZURE_CLIENT_ID={CLIENT}\n\nAZURE_CLIENT_SECRET={SECRET_8Q_2}\n"),
    );
    t.file(
        "sections.ini",
        format!("[prod]\ntenant_id = {TENANT}\n[dev]\nclient_secret = {SECRET_8Q_2}\n"),
    );
    t.file(
        "far.env",
        format!("AZURE_TENANT_ID={TENANT}\n{filler}AZURE_CLIENT_SECRET={SECRET_8Q_2}\n{filler}AZURE_CLIENT_ID={CLIENT}\n"),
    );
    t.file(
        "list.json",
        format!(
            "[\n  {{\"appId\": \"{CLIENT}\", \"tenant\": \"{TENANT}\"}},\n  {{\"clientSecret\": \"{SECRET_8Q_2}\"}}\n]\n"
        ),
    );
    let found = pairings(&t);
    assert_eq!(found.len(), 4, "{found:?}");
    for (path, _, pairing) in &found {
        assert!(pairing.is_null(), "{path}: {pairing}");
    }
    let text = scan(&t, "text", &[]);
    assert!(!text.contains("belongs to"), "{text}");
}

#[test]
fn a_user_key_rule_pairs_with_its_account_by_one_field() {
    let t = TempTree::new();
    let rule = r#"[[rules]]
id = "team.storage.key"
name = "Team storage key"
description = "AccountKey= in a connection string."
keywords = ["AccountKey="]
pattern = 'AccountKey=([A-Za-z0-9+/]{86}==)'
confidence = "medium"
pair = ["resource", "endpoint"]
remediation = "Rotate key1/key2."
examples = ["AccountKey=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="]
"#;
    t.file("team-rules/storage.toml", rule);
    let key = format!("{}==", "Zm9vYmFy".repeat(10) + "Zm9vYm");
    t.file(
        "conn.txt",
        format!("Storage=DefaultEndpointsProtocol=https;AccountName=contosodata;AccountKey={key};EndpointSuffix=core.windows.net\nBlob=https://contosodata.blob.core.windows.net/\n"),
    );
    let (code, out, err) = run(azleak(t.path()).args([
        "scan",
        "--format",
        "json",
        "--rules",
        "team-rules",
        "conn.txt",
    ]));
    assert_eq!(code, 1, "{out}\n{err}");
    let doc = json(&out);
    assert_eq!(
        doc["findings"][0]["pairing"],
        serde_json::json!({"resource": "contosodata", "endpoint": "https://contosodata.blob.core.windows.net"}),
        "{doc:#}"
    );
}

#[test]
fn pairing_changes_neither_fingerprints_nor_baselines() {
    let t = TempTree::new();
    t.file(".env", format!("AZURE_TENANT_ID={TENANT}\nAZURE_CLIENT_SECRET={SECRET_8Q_2}\n"));
    let with = json(&scan(&t, "json", &[]));
    let (code, _, err) = run(azleak(t.path()).args(["scan", "--write-baseline", "base.json", "."]));
    assert_eq!(code, 0, "{err}");
    t.file(".env", format!("AZURE_CLIENT_SECRET={SECRET_8Q_2}\n"));
    let without = json(&scan(&t, "json", &["--exclude", "base.json"]));
    assert!(with["findings"][0]["pairing"].is_object());
    assert!(without["findings"][0].get("pairing").is_none());
    assert_eq!(with["findings"][0]["fingerprint"], without["findings"][0]["fingerprint"]);
    let (code, out, err) = run(azleak(t.path()).args(["scan", "--baseline", "base.json", "."]));
    assert_eq!(code, 0, "{out}\n{err}");
}
