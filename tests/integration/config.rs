//! `azleak.toml`: discovery, every key, errors that name the file, line and key, command-line
//! flags overriding the file, conflicting flags, and `azleak init`.

use crate::util::{SECRET_7Q, SECRET_8Q, SECRET_8Q_2, TempTree, azleak, json, run};

/// Runs `azleak scan --format json .` (plus `extra` args) in the tree; returns (code, JSON, stderr).
fn scan_json(t: &TempTree, extra: &[&str]) -> (i32, serde_json::Value, String) {
    let mut cmd = azleak(t.path());
    cmd.args(["scan", "--format", "json"]).args(extra).arg(".");
    let (code, out, err) = run(&mut cmd);
    assert!(code == 0 || code == 1, "exit {code}\n{out}\n{err}");
    (code, json(&out), err)
}

fn paths(doc: &serde_json::Value) -> Vec<String> {
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["path"].as_str().expect("path").to_string())
        .collect()
}

#[test]
fn valid_config_allowlists_paths_secrets_regexes_and_stopwords() {
    let t = TempTree::new();
    t.file(
        "azleak.toml",
        r#"
min-confidence = "medium"
max-file-size = "1M"
scan-hidden = true

[allowlist]
paths = ["tests/fixtures/**", "*.md"]
secrets = ["riG8Q~p-69WAm.dX4a6IDnOdcdbWB3dC5-DSDciR"]
secret-regexes = ["^YYz7Q"]
stopwords = ["sEcReTfAkE"]
"#,
    );
    t.file("tests/fixtures/app.env", format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n"));
    t.file("docs/howto.md", format!("secret: {SECRET_8Q}\n"));
    t.file("src/known.env", format!("CLIENT_SECRET={SECRET_8Q_2}\n"));
    t.file("src/fake.json", format!("{{\"CLIENT_SECRET\": \"{SECRET_7Q}\"}}\n"));
    t.file("src/stop.env", "CLIENT_SECRET=\"abc7Q~Xq9secretfakeZ3k.Lm0Pw-Qr8TnVbA\"\n");
    t.file("src/real.env", format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n"));
    let (code, doc, _) = scan_json(&t, &[]);
    assert_eq!(code, 1);
    assert_eq!(paths(&doc), ["src/real.env"]);
    // Five files, plus the exact secret written in azleak.toml itself.
    assert_eq!(doc["summary"]["allowlisted"], 6, "{doc:#}");
}

#[test]
fn dot_azleak_toml_is_found_and_no_config_ignores_it() {
    let t = TempTree::new();
    t.file(".azleak.toml", "[allowlist]\npaths = [\"app.env\"]\n");
    t.file("app.env", format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n"));
    let (code, doc, _) = scan_json(&t, &[]);
    assert_eq!((code, doc["summary"]["allowlisted"].as_u64()), (0, Some(1)));
    let (code, doc, _) = scan_json(&t, &["--no-config"]);
    assert_eq!((code, paths(&doc)), (1, vec!["app.env".to_string()]));
}

#[test]
fn both_config_names_at_the_root_is_an_error() {
    let t = TempTree::new();
    t.file("azleak.toml", "");
    t.file(".azleak.toml", "");
    let (code, _, err) = run(azleak(t.path()).args(["scan", "."]));
    assert_eq!(code, 2);
    assert!(err.contains("azleak.toml and") && err.contains(".azleak.toml exist"), "{err}");
}

#[test]
fn config_flag_reads_another_file_and_paths_stay_relative_to_the_repository() {
    let t = TempTree::new();
    t.file("ci/strict.toml", "[allowlist]\npaths = [\"fixtures/\"]\n");
    t.file("fixtures/a.env", format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n"));
    t.file("b.env", format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n"));
    let (code, doc, _) = scan_json(&t, &["--config", "ci/strict.toml"]);
    assert_eq!((code, paths(&doc)), (1, vec!["b.env".to_string()]));
    let (code, _, err) = run(azleak(t.path()).args(["scan", "--config", "missing.toml", "."]));
    assert_eq!(code, 2);
    assert!(err.contains("cannot read config missing.toml"), "{err}");
}

#[test]
fn config_at_the_git_root_applies_to_a_scan_of_a_subdirectory() {
    let t = TempTree::new();
    std::fs::create_dir(t.path().join(".git")).expect("mkdir .git");
    t.file("azleak.toml", "[allowlist]\npaths = [\"/sub/fixtures/**\"]\n");
    t.file("sub/fixtures/a.env", format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n"));
    t.file("sub/b.env", format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n"));
    let (code, out, err) =
        run(azleak(&t.path().join("sub")).args(["scan", "--format", "json", "."]));
    assert_eq!(code, 1, "{err}");
    let doc = json(&out);
    assert_eq!(paths(&doc), ["b.env"]);
    assert_eq!(doc["summary"]["allowlisted"], 1);
}

#[test]
fn unknown_key_names_file_line_and_key() {
    let t = TempTree::new();
    t.file("azleak.toml", "min-confidence = \"high\"\n\n[allowlist]\npath = [\"x\"]\n");
    let (code, out, err) = run(azleak(t.path()).args(["scan", "."]));
    assert_eq!(code, 2, "{out}");
    assert!(
        err.contains("azleak.toml:4:1: key `allowlist.path`: unknown field, expected one of"),
        "{err}"
    );
    t.file("azleak.toml", "min-entorpy = 3\n");
    let (code, _, err) = run(azleak(t.path()).args(["scan", "."]));
    assert_eq!(code, 2);
    assert!(err.contains("azleak.toml:1:1: key `min-entorpy`: unknown field"), "{err}");
}

#[test]
fn bad_values_name_file_line_and_key() {
    let t = TempTree::new();
    for (text, expected) in [
        (
            "min-confidence = \"certain\"\n",
            "azleak.toml:1:18: key `min-confidence`: unknown variant",
        ),
        ("max-file-size = \"ten\"\n", "azleak.toml:1:17: key `max-file-size`:"),
        ("scan-hidden = \"yes\"\n", "azleak.toml:1:15: key `scan-hidden`:"),
        ("\n[allowlist]\nsecrets = \"one\"\n", "azleak.toml:3:11: key `allowlist.secrets`:"),
        ("disable-rules = [\"no.such.rule\"]\n", "azleak.toml:1:18: key `disable-rules`: no rule"),
        ("min-confidence = \n", "azleak.toml:1:"),
    ] {
        t.file("azleak.toml", text);
        let (code, _, err) = run(azleak(t.path()).args(["scan", "."]));
        assert_eq!(code, 2, "{text}");
        assert!(err.contains(expected), "{text:?}: expected {expected:?} in\n{err}");
    }
}

#[test]
fn bad_glob_names_line_and_key() {
    let t = TempTree::new();
    t.file("azleak.toml", "[allowlist]\npaths = [\n  \"ok/**\",\n  \"a[z-a]\",\n]\n");
    let (code, _, err) = run(azleak(t.path()).args(["scan", "."]));
    assert_eq!(code, 2);
    assert!(err.contains("azleak.toml:4:3: key `allowlist.paths`: invalid glob"), "{err}");
}

#[test]
fn bad_regex_names_line_and_key() {
    let t = TempTree::new();
    t.file("azleak.toml", "[allowlist]\nstopwords = [\"x\"]\nsecret-regexes = [\"^ok\", \"(\"]\n");
    let (code, _, err) = run(azleak(t.path()).args(["scan", "."]));
    assert_eq!(code, 2);
    assert!(
        err.contains("azleak.toml:3:26: key `allowlist.secret-regexes`: invalid regex"),
        "{err}"
    );
}

#[test]
fn conflicting_flags_exit_2() {
    let t = TempTree::new();
    for args in [
        &["scan", "--config", "a.toml", "--no-config", "."][..],
        &["scan", "--prune-baseline", "."],
        &["scan", "--baseline", "a.json", "--write-baseline", "b.json", "."],
    ] {
        let (code, out, err) = run(azleak(t.path()).args(args));
        assert_eq!(code, 2, "{args:?}\n{out}");
        assert!(err.contains("cannot be used with") || err.contains("required"), "{err}");
    }
}

#[test]
fn command_line_flags_override_the_file() {
    let t = TempTree::new();
    t.file("azleak.toml", "min-confidence = \"high\"\nscan-hidden = false\nmax-file-size = 100\n");
    t.file("big.json", format!("{{\"CLIENT_SECRET\": \"{SECRET_7Q}\"}}\n{}\n", " ".repeat(100)));
    t.file(".env", format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n"));
    let (code, doc, _) = scan_json(&t, &[]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["summary"]["files"], 1, "azleak.toml only: .env hidden, big.json too large");
    assert_eq!(doc["summary"]["skipped"][0]["reason"], "too-large");
    let (code, doc, _) =
        scan_json(&t, &["--min-confidence", "medium", "--max-file-size", "1K", "--hidden"]);
    assert_eq!(code, 1);
    assert_eq!(paths(&doc), [".env", "big.json"]);
}

#[test]
fn disable_rules_and_extra_rule_files_relative_to_the_config() {
    let t = TempTree::new();
    t.file(
        "azleak.toml",
        "rules = [\"team/\"]\ndisable-rules = [\"azure.entra.client-secret\", \"azure.entra.client-secret.loose\"]\n",
    );
    t.file(
        "team/token.toml",
        r#"
[[rules]]
id = "team.token"
name = "Team token"
description = "A token"
keywords = ["tok_"]
pattern = 'tok_([a-z]{8})'
confidence = "high"
remediation = "rotate"
examples = ["tok_abcdefgh"]
"#,
    );
    t.file("a.env", format!("AZURE_CLIENT_SECRET={SECRET_8Q}\ntoken = tok_qwertyui\n"));
    let (code, doc, _) = scan_json(&t, &["--min-confidence", "low"]);
    assert_eq!(code, 1);
    let rules: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["path"] == "a.env")
        .map(|f| f["rule_id"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["team.token"], "the disabled rules did not run");
}

#[test]
fn init_writes_a_starter_that_parses_and_refuses_to_overwrite() {
    let t = TempTree::new();
    let (code, out, err) = run(azleak(t.path()).arg("init"));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("wrote ./azleak.toml"), "{out}");
    let text = std::fs::read_to_string(t.path().join("azleak.toml")).expect("written");
    assert!(text.contains("# paths = [\"tests/fixtures/**\""), "{text}");
    // The starter is used by the next scan and changes nothing.
    t.file("a.env", format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n"));
    let (code, doc, _) = scan_json(&t, &[]);
    assert_eq!((code, paths(&doc)), (1, vec!["a.env".to_string()]));
    let (code, _, err) = run(azleak(t.path()).arg("init"));
    assert_eq!(code, 2);
    assert!(err.contains("already exists (use --force"), "{err}");
    std::fs::write(t.path().join("azleak.toml"), "# mine\n").expect("write");
    let (code, _, _) = run(azleak(t.path()).args(["init", "--force"]));
    assert_eq!(code, 0);
    let again = std::fs::read_to_string(t.path().join("azleak.toml")).expect("read");
    assert_eq!(again, text);
}

#[test]
fn init_does_not_add_a_second_config_next_to_a_dot_azleak_toml() {
    let t = TempTree::new();
    t.file(".azleak.toml", "min-confidence = \"high\"\n");
    let (code, _, err) = run(azleak(t.path()).arg("init"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(".azleak.toml already exists"), "{err}");
    assert!(!t.path().join("azleak.toml").exists(), "a second config makes every scan fail");
    let (code, _, err) = run(azleak(t.path()).args(["scan", "."]));
    assert_eq!(code, 0, "{err}");
    // --force rewrites the config file that is there.
    let (code, _, err) = run(azleak(t.path()).args(["init", "--force"]));
    assert_eq!(code, 0, "{err}");
    assert!(!t.path().join("azleak.toml").exists());
    let written = std::fs::read_to_string(t.path().join(".azleak.toml")).expect("rewritten");
    assert!(!written.contains("min-confidence = \"high\""), "{written}");
    let (code, _, err) = run(azleak(t.path()).args(["scan", "."]));
    assert_eq!(code, 0, "{err}");
}
