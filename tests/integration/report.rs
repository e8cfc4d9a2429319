//! The output formats of `azleak scan` on real files: exact text, JSON and GitHub output, SARIF
//! checked against what GitHub code scanning requires and against the SARIF 2.1.0 schema,
//! redaction in every format, and `-o FILE`.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::util::{
    SECRET_7Q, SECRET_8Q, SECRET_8Q_2, SECRET_BAD_CHECKSUM, SECRET_LEGACY, TempTree,
    assert_text_eq, isolated_azleak, json, json_without_elapsed, run, text_without_elapsed,
};

const FORMATS: [&str; 8] = ["text", "json", "sarif", "github", "gitlab", "junit", "jsonl", "csv"];

/// Two findings: a high one on line 2 of `app.env` and a medium one in `my conf.yaml` (a space
/// in the name, to be escaped or encoded).
fn two_findings() -> TempTree {
    let t = TempTree::new();
    t.file("app.env", format!("# app\nAZURE_CLIENT_SECRET={SECRET_8Q}\n"));
    t.file("my conf.yaml", format!("CLIENT_SECRET: \"{SECRET_7Q}\"\n"));
    t.file("README.md", "no secrets\n");
    t
}

/// Every kind of secret the tests know, one per file, in subdirectories.
fn every_secret() -> TempTree {
    let t = TempTree::new();
    t.file("config/high.env", format!("client_secret = \"{SECRET_8Q}\"\n"));
    t.file("config/high2.json", format!("{{\"ClientSecret\": \"{SECRET_8Q_2}\"}}\n"));
    t.file("deploy/medium.yaml", format!("CLIENT_SECRET: \"{SECRET_7Q}\"\n"));
    t.file("deploy/legacy.sh", format!("AZURE_CLIENT_SECRET=\"{SECRET_LEGACY}\"\n"));
    t.file("low.txt", format!("client_secret={SECRET_BAD_CHECKSUM}\n"));
    t
}

const ALL_SECRETS: [&str; 5] =
    [SECRET_8Q, SECRET_8Q_2, SECRET_7Q, SECRET_LEGACY, SECRET_BAD_CHECKSUM];

// ---- text, json, github ----

#[test]
fn text_format_has_one_line_per_finding_remediation_and_a_summary() {
    let t = two_findings();
    let (code, out, err) = run(isolated_azleak(t.path()).args(["scan", "."]));
    assert_eq!(code, 1);
    assert_eq!(err, "");
    // Remediation paragraphs (indented) come from the rule files; check everything else exactly.
    let unindented: String =
        out.lines().filter(|l| !l.starts_with("  ")).map(|l| format!("{l}\n")).collect();
    assert_text_eq(
        "\
app.env:2:21: azure.entra.client-secret (high) secret zzz…, checksum valid
my conf.yaml:1:17: azure.entra.client-secret.7q (medium) secret YYz…

How to fix azure.entra.client-secret (Microsoft Entra ID client secret)

How to fix azure.entra.client-secret.7q (Microsoft Entra ID client secret (7Q~ format))

azleak: 3 files scanned (133 B), 0 skipped, 2 findings, 0 errors, <elapsed>
",
        &text_without_elapsed(&unindented),
    );
    assert!(out.contains("\n  Treat this secret as compromised and rotate it now"), "{out}");
    assert!(!out.contains('\x1b'), "no colour when not a terminal:\n{out}");
}

#[test]
fn text_format_colours_only_when_asked() {
    let t = two_findings();
    let (_, out, _) = run(isolated_azleak(t.path()).args(["scan", ".", "--color", "always"]));
    assert!(
        out.starts_with("\x1b[35mapp.env\x1b[0m:\x1b[32m2\x1b[0m:\x1b[32m21\x1b[0m: "),
        "{out:?}"
    );
    let (_, out, _) =
        run(isolated_azleak(t.path()).args(["scan", ".", "--color", "auto"]).env("NO_COLOR", "1"));
    assert!(!out.contains('\x1b'), "{out:?}");
}

#[test]
fn json_format_is_the_documented_document() {
    let t = two_findings();
    let (code, out, _) = run(isolated_azleak(t.path()).args(["scan", ".", "--format", "json"]));
    assert_eq!(code, 1);
    let expected = json!({
        "version": 2,
        "tool": {"name": "azleak", "version": env!("CARGO_PKG_VERSION")},
        "scan": "files",
        "min_confidence": "medium",
        "findings": [
            {
                "rule_id": "azure.entra.client-secret",
                "rule_name": "Microsoft Entra ID client secret",
                "confidence": "high",
                "path": "app.env",
                "line": 2,
                "column": 21,
                "end_column": 61,
                "secret": "zzz…",
                "redacted": true,
                "entropy": 0.998,
                "checksum": "valid",
                "fingerprint": "20ef7448f6638e5209ead842906c3b69"
            },
            {
                "rule_id": "azure.entra.client-secret.7q",
                "rule_name": "Microsoft Entra ID client secret (7Q~ format)",
                "confidence": "medium",
                "path": "my conf.yaml",
                "line": 1,
                "column": 17,
                "end_column": 54,
                "secret": "YYz…",
                "redacted": true,
                "entropy": 4.811,
                "checksum": "not-applicable",
                "fingerprint": "73988ae01d72674539e7d3b142cd7c53"
            }
        ],
        "summary": {
            "files": 3,
            "bytes": 133,
            "skipped": [],
            "errors": [],
            "below_threshold": 0,
            "allowed_inline": 0,
            "allowlisted": 0,
            "in_baseline": 0,
            "stale_baseline": 0
        }
    });
    let got = json_without_elapsed(&out);
    assert_text_eq(
        &serde_json::to_string_pretty(&expected).unwrap(),
        &serde_json::to_string_pretty(&got).unwrap(),
    );
    assert!(json(&out)["summary"]["elapsed"].is_f64(), "{out}");
}

#[test]
fn github_format_annotates_each_finding_and_ends_with_a_notice() {
    let t = two_findings();
    let (code, out, _) = run(isolated_azleak(t.path()).args(["scan", ".", "--format", "github"]));
    assert_eq!(code, 1);
    assert_text_eq(
        "\
::error file=app.env,line=2,endLine=2,col=21,endColumn=61,title=azleak azure.entra.client-secret::Microsoft Entra ID client secret (high confidence, hint zzz…). Rotate it: Microsoft Entra ID > App registrations > Certificates & secrets; then keep it in Key Vault.
::error file=my conf.yaml,line=1,endLine=1,col=17,endColumn=54,title=azleak azure.entra.client-secret.7q::Microsoft Entra ID client secret (7Q~ format) (medium confidence, hint YYz…). Rotate it: Microsoft Entra ID > App registrations > Certificates & secrets; then keep it in Key Vault.
::notice title=azleak::2 findings in 3 files (0 skipped, 0 errors)
",
        &out,
    );
}

#[test]
fn github_format_escapes_property_values() {
    let t = TempTree::new();
    t.file("a,b:c%.env", format!("k={SECRET_8Q}\n"));
    let (_, out, _) = run(isolated_azleak(t.path()).args(["scan", ".", "--format", "github"]));
    assert!(out.starts_with("::error file=a%2Cb%3Ac%25.env,line=1,"), "{out}");
}

#[test]
fn low_findings_are_github_warnings() {
    let t = TempTree::new();
    t.file("low.txt", format!("client_secret={SECRET_BAD_CHECKSUM}\n"));
    let (code, out, _) = run(isolated_azleak(t.path()).args([
        "scan",
        ".",
        "--format",
        "github",
        "--min-confidence",
        "low",
    ]));
    assert_eq!(code, 1);
    assert!(
        out.starts_with(
            "::warning file=low.txt,line=1,endLine=1,col=15,endColumn=55,title=azleak azure.entra.client-secret::"
        ),
        "{out}"
    );
}

// ---- redaction and -o ----

#[test]
fn no_format_prints_a_secret_unless_show_secrets() {
    let t = every_secret();
    for format in FORMATS {
        let args = ["scan", ".", "--format", format, "--min-confidence", "low", "--verbose"];
        let (code, out, err) = run(isolated_azleak(t.path()).args(args));
        assert_eq!(code, 1, "{format}");
        for secret in ALL_SECRETS {
            assert!(!out.contains(secret), "{format} prints {secret}:\n{out}");
            assert!(!err.contains(secret), "{format} prints {secret} on stderr:\n{err}");
            // The redacted hint is the first 3 characters only.
            assert!(!out.contains(&secret[..4]), "{format} prints 4 characters of {secret}");
        }

        let (code, out, _) = run(isolated_azleak(t.path()).args(args).arg("--show-secrets"));
        assert_eq!(code, 1, "{format}");
        for secret in ALL_SECRETS {
            let shown = if format == "github" { &secret[..3] } else { secret };
            assert!(out.contains(shown), "{format} --show-secrets lacks {secret}:\n{out}");
        }
    }
}

#[test]
fn output_file_gets_the_report_and_stdout_stays_empty() {
    let t = two_findings();
    for format in FORMATS {
        let name = format!("report.{format}");
        let (code, out, err) =
            run(isolated_azleak(t.path())
                .args(["scan", "app.env", "--format", format, "-o", &name]));
        assert_eq!(code, 1, "{format}: {err}");
        assert_eq!(out, "", "{format}");
        // The pipeline log still says what happened (issue 11): the summary and the count.
        assert_text_eq(
            &format!(
                "azleak: 1 file scanned (67 B), 0 skipped, 1 finding, 0 errors, <elapsed>\n\
                 azleak: 1 finding written to {name}\n"
            ),
            &text_without_elapsed(&err),
        );
        let written = std::fs::read_to_string(t.path().join(&name)).expect("report written");
        assert!(written.contains("app.env"), "{format}: {written}");
        assert!(!written.contains(SECRET_8Q), "{format}: {written}");
    }
    let doc = json(&std::fs::read_to_string(t.path().join("report.json")).unwrap());
    assert_eq!(doc["findings"][0]["line"], 2);

    let (code, out, err) =
        run(isolated_azleak(t.path()).args(["scan", "app.env", "-o", "no-such-dir/report.txt"]));
    assert_eq!(code, 2);
    assert_eq!(out, "");
    assert!(err.contains("cannot create no-such-dir/report.txt"), "{err}");
}

// ---- SARIF ----

fn sarif(t: &TempTree, args: &[&str]) -> Value {
    let (code, out, err) =
        run(isolated_azleak(t.path()).args(["scan", "--format", "sarif"]).args(args));
    assert!(code == 0 || code == 1, "exit {code}: {err}");
    json(&out)
}

/// Checks a SARIF log against what GitHub code scanning requires of an upload, and returns the
/// problems found (empty when it is fine).
pub(crate) fn github_sarif_problems(doc: &Value, secrets: &[&str]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut check = |ok: bool, what: String| {
        if !ok {
            problems.push(what);
        }
    };
    check(doc["version"] == "2.1.0", format!("version {}", doc["version"]));
    check(doc["$schema"].as_str().is_some_and(|s| s.contains("sarif")), "$schema".into());
    let runs = doc["runs"].as_array().cloned().unwrap_or_default();
    check(runs.len() == 1, format!("{} runs", runs.len()));
    let Some(run) = runs.first() else { return problems };
    check(run["tool"]["driver"]["name"] == "azleak", "tool.driver.name".into());
    let rules = run["tool"]["driver"]["rules"].as_array().cloned().unwrap_or_default();
    check(!rules.is_empty(), "no rules".into());
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap_or("")).collect();
    check(
        ids.iter().collect::<BTreeSet<_>>().len() == ids.len(),
        format!("ids not unique {ids:?}"),
    );
    for rule in &rules {
        let id = rule["id"].as_str().unwrap_or("<no id>");
        for field in
            ["/shortDescription/text", "/fullDescription/text", "/help/text", "/help/markdown"]
        {
            let text = rule.pointer(field).and_then(Value::as_str).unwrap_or("");
            check(!text.trim().is_empty(), format!("{id}: {field} empty"));
        }
        let severity = rule["properties"]["security-severity"].as_str();
        let value = severity.and_then(|s| s.parse::<f64>().ok());
        check(
            value.is_some_and(|v| (0.0..=10.0).contains(&v)),
            format!("{id}: security-severity {severity:?}"),
        );
        let precision = rule["properties"]["precision"].as_str().unwrap_or("");
        check(
            ["very-high", "high", "medium", "low"].contains(&precision),
            format!("{id}: precision {precision:?}"),
        );
    }
    let results = run["results"].as_array().cloned().unwrap_or_default();
    for (i, result) in results.iter().enumerate() {
        let rule_id = result["ruleId"].as_str().unwrap_or("");
        let index = ids.iter().position(|id| *id == rule_id);
        check(index.is_some(), format!("result {i}: ruleId {rule_id:?} not in rules"));
        check(
            index.is_some() && result["ruleIndex"].as_u64() == index.map(|x| x as u64),
            format!("result {i}: ruleIndex {} for {rule_id}", result["ruleIndex"]),
        );
        let message = result["message"]["text"].as_str().unwrap_or("");
        check(!message.is_empty(), format!("result {i}: empty message"));
        for secret in secrets {
            check(!message.contains(secret), format!("result {i}: message has the secret"));
        }
        let physical = &result["locations"][0]["physicalLocation"];
        let uri = physical["artifactLocation"]["uri"].as_str().unwrap_or("");
        check(
            !uri.is_empty()
                && !uri.starts_with('/')
                && !uri.starts_with("file:")
                && !uri.starts_with("./"),
            format!("result {i}: uri {uri:?} is not relative"),
        );
        check(
            physical["artifactLocation"]["uriBaseId"].is_string(),
            format!("result {i}: no uriBaseId"),
        );
        let region = &physical["region"];
        let (line, start, end) = (
            region["startLine"].as_u64().unwrap_or(0),
            region["startColumn"].as_u64().unwrap_or(0),
            region["endColumn"].as_u64().unwrap_or(0),
        );
        check(
            line >= 1 && start >= 1 && end >= 1 && end > start,
            format!("result {i}: region {region}"),
        );
        check(
            result["partialFingerprints"]["primaryLocationLineHash"].is_string(),
            format!("result {i}: no primaryLocationLineHash"),
        );
    }
    problems
}

/// Validates against the official SARIF 2.1.0 JSON schema (shipped by the serde-sarif crate,
/// copied to tests/data).
pub(crate) fn schema_problems(doc: &Value) -> Vec<String> {
    // The schema's `run.language` pattern has an unescaped `]`, a literal in ECMA-262 regexes
    // but rejected by the `regex` meta-schema format check; escape it, keeping its meaning.
    let text = include_str!("../data/sarif-schema-2.1.0.json").replace(
        r#""^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$""#,
        r#""^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}\\]?$""#,
    );
    let schema: Value = serde_json::from_str(&text).expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    validator.iter_errors(doc).map(|e| format!("{}: {e}", e.instance_path())).collect()
}

#[test]
fn sarif_meets_github_code_scanning_requirements() {
    let t = every_secret();
    let doc = sarif(&t, &[".", "--min-confidence", "low"]);
    assert_eq!(github_sarif_problems(&doc, &ALL_SECRETS), Vec::<String>::new(), "{doc:#}");
    assert_eq!(schema_problems(&doc), Vec::<String>::new());

    let results = doc["runs"][0]["results"].as_array().expect("results");
    let summary: Vec<(String, String, u64, u64, u64, String)> = results
        .iter()
        .map(|r| {
            let p = &r["locations"][0]["physicalLocation"];
            (
                p["artifactLocation"]["uri"].as_str().unwrap().to_string(),
                r["ruleId"].as_str().unwrap().to_string(),
                p["region"]["startLine"].as_u64().unwrap(),
                p["region"]["startColumn"].as_u64().unwrap(),
                p["region"]["endColumn"].as_u64().unwrap(),
                r["level"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let row = |uri: &str, rule: &str, col: u64, end: u64, level: &str| {
        (uri.to_string(), rule.to_string(), 1, col, end, level.to_string())
    };
    assert_eq!(
        summary,
        [
            row("config/high.env", "azure.entra.client-secret", 18, 58, "error"),
            row("config/high2.json", "azure.entra.client-secret", 19, 59, "error"),
            row("deploy/legacy.sh", "azure.entra.client-secret.legacy", 22, 54, "warning"),
            row("deploy/medium.yaml", "azure.entra.client-secret.7q", 17, 54, "warning"),
            row("low.txt", "azure.entra.client-secret", 15, 55, "note"),
        ]
    );
    assert_eq!(doc["runs"][0]["columnKind"], "unicodeCodePoints");
    assert!(doc["runs"][0].get("automationDetails").is_none());
}

#[test]
fn sarif_uris_are_relative_for_dot_slash_and_absolute_roots_under_the_working_directory() {
    let t = TempTree::new();
    t.file("sub dir/app.env", format!("k={SECRET_8Q}\n"));
    let absolute = t.path().join("sub dir").to_string_lossy().into_owned();
    for root in ["./sub dir", "sub dir/", absolute.as_str()] {
        let doc = sarif(&t, &[root]);
        assert_eq!(github_sarif_problems(&doc, &[SECRET_8Q]), Vec::<String>::new(), "{root}");
        let location = &doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"];
        assert_eq!(
            location["artifactLocation"],
            json!({"uri": "sub%20dir/app.env", "uriBaseId": "%SRCROOT%"}),
            "{root}"
        );
    }
}

#[test]
fn sarif_category_sets_automation_details_id() {
    let t = two_findings();
    let doc = sarif(&t, &[".", "--sarif-category", "azleak/files/"]);
    assert_eq!(doc["runs"][0]["automationDetails"], json!({"id": "azleak/files/"}));
    assert_eq!(schema_problems(&doc), Vec::<String>::new());
}

#[test]
fn sarif_without_findings_is_valid_and_lists_every_rule() {
    let t = TempTree::new();
    t.file("clean.txt", "nothing\n");
    let doc = sarif(&t, &["."]);
    assert_eq!(github_sarif_problems(&doc, &[]), Vec::<String>::new());
    assert_eq!(schema_problems(&doc), Vec::<String>::new());
    assert_eq!(doc["runs"][0]["results"], json!([]));
    let rules = azleak::RuleSet::builtin().expect("rules");
    let ids: Vec<&str> = rules.iter().map(|r| r.id()).collect();
    let listed: Vec<&str> = doc["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ids);
}

#[test]
fn sarif_with_show_secrets_and_errors_is_still_schema_valid() {
    let t = every_secret();
    #[cfg(unix)]
    std::os::unix::fs::symlink("missing", t.path().join("dangling")).expect("symlink");
    let doc = sarif(&t, &[".", "--show-secrets", "--follow", "--min-confidence", "low"]);
    // --show-secrets puts secrets in snippets and properties, never in the message.
    assert_eq!(github_sarif_problems(&doc, &ALL_SECRETS), Vec::<String>::new());
    assert_eq!(schema_problems(&doc), Vec::<String>::new());
    let result = &doc["runs"][0]["results"][0];
    assert_eq!(result["locations"][0]["physicalLocation"]["region"]["snippet"]["text"], SECRET_8Q);
    #[cfg(unix)]
    assert_eq!(doc["runs"][0]["invocations"][0]["executionSuccessful"], false);
}

#[test]
fn sarif_line_hash_ignores_the_line_number_but_not_the_line() {
    let t = TempTree::new();
    t.file("a.env", format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n"));
    t.file("b.env", format!("\n\n\nAZURE_CLIENT_SECRET={SECRET_8Q}\n"));
    t.file("c.env", format!("OTHER_SECRET={SECRET_8Q}\n"));
    let doc = sarif(&t, &["."]);
    let hashes: Vec<&str> = doc["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["partialFingerprints"]["primaryLocationLineHash"].as_str().unwrap())
        .collect();
    assert_eq!(hashes.len(), 3);
    assert_eq!(hashes[0], hashes[1], "same line text, other line number");
    assert_ne!(hashes[0], hashes[2], "other line text");
}

#[test]
fn the_checks_above_reject_broken_sarif() {
    let t = two_findings();
    let mut doc = sarif(&t, &["."]);
    let result = &mut doc["runs"][0]["results"][0];
    result["locations"][0]["physicalLocation"]["region"]["startLine"] = json!(0);
    result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] = json!("/abs/app.env");
    result["ruleIndex"] = json!(1);
    result["message"]["text"] = json!(format!("found {SECRET_8Q}"));
    doc["runs"][0]["tool"]["driver"]["rules"][1]["properties"]["security-severity"] = json!("11");

    assert_eq!(
        github_sarif_problems(&doc, &[SECRET_8Q]),
        [
            "azure.entra.client-secret.7q: security-severity Some(\"11\")",
            "result 0: ruleIndex 1 for azure.entra.client-secret",
            "result 0: message has the secret",
            "result 0: uri \"/abs/app.env\" is not relative",
            "result 0: region {\"endColumn\":61,\"endLine\":2,\"snippet\":{\"text\":\"zzz…\"},\"startColumn\":21,\"startLine\":0}",
        ]
    );
    assert_eq!(
        schema_problems(&doc),
        [
            "/runs/0/results/0/locations/0/physicalLocation/region/startLine: 0 is less than the minimum of 1"
        ]
    );
}

#[test]
fn sarif_and_json_agree_on_each_finding_s_properties() {
    let t = two_findings();
    let (_, out, _) = run(isolated_azleak(t.path()).args(["scan", ".", "--format", "json"]));
    let findings = json(&out)["findings"].clone();
    let doc = sarif(&t, &["."]);
    let results = doc["runs"][0]["results"].as_array().expect("results");
    assert_eq!(results.len(), 2);
    for (finding, result) in findings.as_array().unwrap().iter().zip(results) {
        let properties = &result["properties"];
        assert_eq!(properties["confidence"], finding["confidence"]);
        assert_eq!(properties["checksum"], finding["checksum"]);
        assert_eq!(properties["fingerprint"], finding["fingerprint"]);
        assert_eq!(properties["hint"], finding["secret"]);
        assert_eq!(result["partialFingerprints"]["azleak/v2"], finding["fingerprint"]);
        // Rounded to 3 decimals in both, without f32 → f64 noise (0.9980000257492065).
        assert_eq!(properties["entropy"].to_string(), finding["entropy"].to_string());
    }
}

#[test]
fn sarif_uris_are_relative_to_the_repository_root_wherever_azleak_runs() {
    let t = TempTree::new();
    std::fs::create_dir(t.path().join(".git")).expect("repo marker");
    t.file("services/api/app.env", format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n"));
    t.file("docs/readme.txt", "nothing here\n");
    let sub = t.path().join("docs");
    let (code, out, err) = run(isolated_azleak(&sub).args(["scan", "--format", "sarif", ".."]));
    assert_eq!(code, 1, "{err}");
    let sarif = json(&out);
    let location = &sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"]["uri"], "services/api/app.env");
    assert_eq!(location["artifactLocation"]["uriBaseId"], "%SRCROOT%");
}
