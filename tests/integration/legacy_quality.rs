//! Legacy client-secret quality (issue 9, section 4): real-shaped files for each class of
//! miss and false report the legacy rules had: identifiers and member access as values, file
//! names and Markdown links, create-for-rbac output in comments, a weak key in a dict next to
//! its app, az CLI passwords with punctuation and escaped quotes, YAML list values, and other
//! providers' prefixed secrets.

use crate::util::{TempTree, azleak, json, run};

const APP: &str = "b271910b-24e3-4a3e-bd49-cb370617e29f";
const TENANT: &str = "7a2ee768-ad3f-47e1-a1b0-051fb4b0704b";

/// (path, rule id, revealed secret) of every finding at the default confidence.
fn findings(t: &TempTree) -> Vec<(String, String, String)> {
    let (code, out, err) =
        run(azleak(t.path()).args(["scan", "--format", "json", "--show-secrets", "."]));
    assert!(code == 0 || code == 1, "exit {code}\n{out}\n{err}");
    json(&out)["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap_or_default().to_string();
            (s("path"), s("rule_id"), s("secret"))
        })
        .collect()
}

#[test]
fn identifiers_member_access_file_names_and_markdown_links_are_not_secrets() {
    let t = TempTree::new();
    t.file(
        "src/Startup.cs",
        "var cred = new ClientCredential(options.ClientId, options.ClientSecret);\n\
         ClientSecret = ClientSecretFromTheConfigurationStore1;\n\
         AppKey = TheApplicationKeyFromTheStoreAbcDef;\n\
         clientSecret: AzureAdB2COptions.ClientSecretValue2,\n",
    );
    t.file(
        "docs/README.md",
        "* [ClientSecret](ClientSecretCredential_Sample2.md)\n\
         * [ClientSecret](#client-secret-authentication-with-a-cert2)\n\
         ClientSecret: src/ClientSecretCredentialSampleAuth2.java\n",
    );
    t.file(
        "src/Adobe.java",
        "creds = ServicePrincipalCredentials.builder().withClientId(id)\n\
         .withClientSecret(\"p8e-Ax7QzK9mLw2VbN4cR6tY8uI0oP3sD5fG\").build();\n",
    );
    assert_eq!(findings(&t), vec![]);
}

#[test]
fn create_for_rbac_output_pasted_as_comments_is_found_with_its_app() {
    let t = TempTree::new();
    let secret = "u2olZU6uqbgsYlV.vsSKuvinX_zMqf9OgXluCZz8";
    t.file(
        "setup.py",
        format!(
            "# Output of az ad sp create-for-rbac:\n# {{\n#   \"appId\": \"{APP}\",\n#   \"displayName\": \"deploy\",\n#   \"password\": \"{secret}\",\n#   \"tenant\": \"{TENANT}\"\n# }}\n"
        ),
    );
    let found = findings(&t);
    let want = vec![(
        "setup.py".to_string(),
        "azure.entra.client-secret.sp-create-output".to_string(),
        secret.to_string(),
    )];
    assert_eq!(found, want);
}

#[test]
fn a_weak_key_in_a_dict_next_to_client_id_and_authority_is_a_legacy_secret() {
    let t = TempTree::new();
    let secret = "OSR-Dl.A6a0@qlu*7FcXKzaM8jAfnO-+";
    let dict = format!(
        "config = {{\n    'client_id': '{APP}',\n    'secret': '{secret}',\n    'authority': 'https://login.microsoftonline.com/{TENANT}',\n}}\n"
    );
    t.file("app.py", &dict);
    // The same key without the app's identity near it says nothing.
    t.file("cache.py", format!("cache = {{\n    'secret': '{secret}',\n}}\n"));
    let found = findings(&t);
    assert_eq!(
        found,
        vec![("app.py".into(), "azure.entra.client-secret.paired".into(), secret.into())]
    );
}

#[test]
fn old_az_cli_passwords_with_punctuation_and_escaped_quotes_are_found_whole() {
    let t = TempTree::new();
    // A notebook output holding a shell line; the password has > ) " # ( ].
    t.file(
        "run.ipynb",
        format!(
            "{{\"cells\": [{{\"source\": [\"!az login --service-principal -u {APP} -p \\\"Gq>8)w\\\\\\\"Zp#1(Lm]9vTq2Xr5sY8bN3cK6\\\" --tenant {TENANT}\"]}}]}}\n"
        ),
    );
    t.file(
        "login.sh",
        format!("az login --service-principal -u {APP} -p 'h]4Kq(2z#Lr)8Wn>5Tb]7Yc#3Vm(9Xs)' --tenant {TENANT}\n"),
    );
    let found = findings(&t);
    assert_eq!(
        found,
        vec![
            (
                "login.sh".into(),
                "azure.entra.client-secret.az-login".into(),
                "h]4Kq(2z#Lr)8Wn>5Tb]7Yc#3Vm(9Xs)".into()
            ),
            (
                "run.ipynb".into(),
                "azure.entra.client-secret.az-login".into(),
                "Gq>8)w\\\\\\\"Zp#1(Lm]9vTq2Xr5sY8bN3cK6".into()
            ),
        ]
    );
}

#[test]
fn yaml_list_values_under_a_secret_key_are_found() {
    let t = TempTree::new();
    t.file(
        "values.yaml",
        "azure:\n  client_secret:\n    - 9xWE5qiRv-FjcDAOhnBrTB.c~ruDHKS8Fn\n  other:\n    - name\n",
    );
    let found = findings(&t);
    assert_eq!(
        found,
        vec![(
            "values.yaml".into(),
            "azure.entra.client-secret.legacy".into(),
            "9xWE5qiRv-FjcDAOhnBrTB.c~ruDHKS8Fn".into()
        )]
    );
}
