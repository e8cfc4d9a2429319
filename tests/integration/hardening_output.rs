//! Output safety (issue #7, items 9–14, 16): no secret in any displayed string of any format,
//! no forged lines or escape sequences in text output, relative SARIF URIs for hostile names,
//! fingerprints that are not plain hashes, and config, baseline and rule-file errors that name
//! the file, line and key but never the value.

use crate::util::*;

const FORMATS: [&str; 8] = ["text", "json", "sarif", "github", "gitlab", "junit", "jsonl", "csv"];

/// Asserts the raw secret (or a long piece of it) is in neither stream.
fn assert_no_secret(what: &str, secret: &str, out: &str, err: &str) {
    for (name, stream) in [("stdout", out), ("stderr", err)] {
        assert!(!stream.contains(secret), "{what}: raw secret on {name}:\n{stream}");
        assert!(!stream.contains(&secret[3..]), "{what}: secret body on {name}:\n{stream}");
    }
}

#[test]
fn a_secret_in_a_file_name_is_redacted_in_every_format() {
    let t = TempTree::new();
    t.file(&format!("conf/{SECRET_8Q}/app.env"), format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n"));
    t.file(&format!("{SECRET_8Q}.env"), format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n"));
    for format in FORMATS {
        let (code, out, err) = run(azleak(t.path()).args(["scan", ".", "-f", format, "--verbose"]));
        assert_eq!(code, 1, "{format}: {err}");
        assert_no_secret(format, SECRET_8Q, &out, &err);
        assert!(out.contains("zzz…"), "{format}: the hint stands in for it:\n{out}");
    }
    // Asked for, it is shown.
    let (_, out, _) = run(azleak(t.path()).args(["scan", ".", "--show-secrets"]));
    assert!(out.contains(&format!("conf/{SECRET_8Q}/app.env")), "{out}");
}

#[test]
fn a_secret_in_commit_author_email_and_summary_is_redacted_in_every_format() {
    let r = TempRepo::new();
    let name = format!("Mallory {SECRET_8Q}");
    let email = format!("{SECRET_8Q}@example.com");
    r.snapshot_by(
        (&name, &email),
        Some("refs/heads/main"),
        &[],
        &[("app.env", &format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n"))],
        &format!("add {SECRET_8Q} to the config\n\nbody {SECRET_8Q}\n"),
    );
    for format in FORMATS {
        let (code, out, err) = run(azleak(r.path()).args(["git", ".", "-f", format]));
        assert_eq!(code, 1, "{format}: {err}");
        assert_no_secret(format, SECRET_8Q, &out, &err);
    }
    let (_, out, _) = run(azleak(r.path()).args(["git", ".", "-f", "json"]));
    let commit = &json(&out)["findings"][0]["commit"];
    assert_eq!(commit["author_name"], "Mallory zzz…");
    assert_eq!(commit["author_email"], "zzz…@example.com");
    assert_eq!(commit["summary"], "add zzz… to the config");
}

#[test]
fn a_secret_below_the_threshold_is_still_redacted_in_paths() {
    // The redactor holds every secret found, not only the reported ones: here the file's
    // name holds a made-up (low-confidence) secret, and another file a real one.
    let t = TempTree::new();
    t.file(
        &format!("{SECRET_BAD_CHECKSUM}/app.env"),
        format!("AZURE_CLIENT_SECRET={SECRET_BAD_CHECKSUM}\nX={SECRET_8Q}\n"),
    );
    for format in FORMATS {
        let (code, out, err) = run(azleak(t.path()).args(["scan", ".", "-f", format]));
        assert_eq!(code, 1, "{format}: {err}");
        assert_no_secret(format, SECRET_BAD_CHECKSUM, &out, &err);
    }
}

#[test]
fn a_file_name_cannot_forge_a_finding_line_or_reach_the_terminal() {
    let t = TempTree::new();
    let forged = "a\nfake.txt:1:1: x (high) secret FAKE\nb";
    let escape = "e\x1b]0;pwned\x07\x1b[2Jx\u{202e}txt.env";
    t.file(forged, format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n"));
    t.file(escape, format!("AZURE_CLIENT_SECRET={SECRET_8Q_2}\n"));
    for format in ["text", "github"] {
        let (code, out, err) =
            run(azleak(t.path()).args(["scan", ".", "-f", format, "--color", "never"]));
        assert_eq!(code, 1, "{format}: {err}");
        for line in out.lines().chain(err.lines()) {
            assert!(!line.starts_with("fake.txt"), "{format}: forged line:\n{out}");
        }
        for c in ['\x1b', '\x07', '\u{202e}'] {
            assert!(!out.contains(c) && !err.contains(c), "{format}: {c:?} printed raw:\n{out}");
        }
    }
    let (_, out, _) = run(azleak(t.path()).args(["scan", ".", "--color", "never"]));
    assert!(out.contains("a\\nfake.txt:1:1: x (high) secret FAKE\\nb:1:21:"), "{out}");
    assert!(out.contains("e\\x1b]0;pwned\\x07\\x1b[2Jx\\u{202e}txt.env:1:21:"), "{out}");
    // JSON keeps the name exactly (serde escapes the controls).
    let (_, out, _) = run(azleak(t.path()).args(["scan", ".", "-f", "json"]));
    assert!(!out.contains('\x1b'), "{out}");
    assert!(finding_paths(&json(&out)).contains(&forged.to_string()));
}

#[test]
fn sarif_uris_of_hostile_names_are_relative_references() {
    let t = TempTree::new();
    let names = [
        "javascript:alert(1)",
        "x:y/z.env",
        "a b#c?d%e.env",
        "é/ünï.env",
        "tab\there.env",
        "c:\\windows.env",
        "[v6]@host.env",
    ];
    for name in names {
        t.file(name, format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n"));
    }
    let (code, out, err) = run(azleak(t.path()).args(["scan", ".", "-f", "sarif"]));
    assert_eq!(code, 1, "{err}");
    let doc = json(&out);
    let results = doc["runs"][0]["results"].as_array().expect("results");
    let mut decoded = Vec::new();
    for r in results {
        let uri =
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str().expect("uri");
        assert_eq!(
            url::Url::parse(uri),
            Err(url::ParseError::RelativeUrlWithoutBase),
            "{uri} must be a relative reference"
        );
        // Resolved against a base it stays under it and names the file.
        let base = url::Url::parse("https://example.com/repo/").expect("base");
        let joined = base.join(uri).expect("joins");
        assert!(joined.as_str().starts_with("https://example.com/repo/"), "{uri} -> {joined}");
        let path = percent_encoding::percent_decode_str(uri).decode_utf8().expect("utf-8");
        decoded.push(path.into_owned());
    }
    decoded.sort();
    let mut expected: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    expected.sort();
    assert_eq!(decoded, expected);
}

/// Each config key given a real-shaped secret: the error names the file, line and key, and
/// never the value.
#[test]
fn config_errors_name_file_line_and_key_but_never_the_value() {
    let t = TempTree::new();
    t.file("app.env", "nothing here\n");
    let s = SECRET_8Q;
    for (text, line, key) in [
        (format!("min-confidence = \"{s}\"\n"), 1, "min-confidence"),
        (format!("\nmax-file-size = \"{s}\"\n"), 2, "max-file-size"),
        (format!("disable-rules = [\"{s}\"]\n"), 1, "disable-rules"),
        (format!("scan-hidden = \"{s}\"\n"), 1, "scan-hidden"),
        (format!("rules = [\"{s}\"]\n"), 1, "rules"),
        (format!("rules = [\"{s}/\"]\n"), 1, "rules"),
        (format!("[allowlist]\nstopwords = \"{s}\"\n"), 2, "allowlist.stopwords"),
        (format!("[allowlist]\nstopwords = [{{ x = \"{s}\" }}]\n"), 2, "allowlist.stopwords"),
        (format!("[allowlist]\nsecret-regexes = [\"({s}\"]\n"), 2, "allowlist.secret-regexes"),
        (format!("[allowlist]\nsecret-regexes = \"{s}\"\n"), 2, "allowlist.secret-regexes"),
        (format!("[allowlist]\npaths = [\"{s}[\"]\n"), 2, "allowlist.paths"),
        (format!("min-confidence = {s}\n"), 1, "min-confidence"),
    ] {
        t.file("azleak.toml", &text);
        let (code, out, err) = run(azleak(t.path()).args(["scan", "."]));
        assert_eq!(code, 2, "{text}: {out}{err}");
        assert_no_secret(&text, s, &out, &err);
        let at = format!("azleak.toml:{line}:");
        assert!(err.contains(&at), "{text}: {at} missing in\n{err}");
        assert!(err.contains(&format!("key `{key}`")), "{text}: key missing in\n{err}");
    }
}

#[test]
fn baseline_errors_never_echo_fingerprints_or_keys() {
    let t = TempTree::new();
    t.file("app.env", "nothing here\n");
    let s = SECRET_8Q;
    let entry = |fields: &str| {
        format!("{{\"version\": 2, \"tool\": \"azleak\", \"entries\": [\n  {{{fields}}}\n]}}\n")
    };
    let ok = "\"rule_id\": \"r\", \"path\": \"p\", \"hint\": \"h\", \"first_seen\": \"2024-01-01\"";
    for text in [
        entry(&format!("\"fingerprint\": \"{s}\", {ok}")),
        entry(&format!("\"fingerprint\": \"0123456789abcdef0123456789abcdef\", \"{s}\": 1, {ok}")),
        entry(&format!("\"fingerprint\": 5, {ok}, \"x\": \"{s}\"")),
        format!("{{\"version\": \"{s}\", \"tool\": \"azleak\", \"entries\": []}}"),
        format!("{{\"version\": 2, \"tool\": \"azleak\", \"entries\": [], \"{s}\": 0}}"),
    ] {
        t.file("b.json", &text);
        let (code, out, err) = run(azleak(t.path()).args(["scan", ".", "--baseline", "b.json"]));
        assert_eq!(code, 2, "{text}: {out}");
        assert_no_secret(&text, s, &out, &err);
        assert!(err.contains("baseline b.json:"), "{text}: {err}");
    }
}

#[test]
fn a_version_1_baseline_is_refused_with_how_to_rebuild_it() {
    let t = TempTree::new();
    t.file("app.env", format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n"));
    t.file("b.json", r#"{"version": 1, "tool": "azleak", "entries": []}"#);
    let (code, _, err) = run(azleak(t.path()).args(["scan", ".", "--baseline", "b.json"]));
    assert_eq!(code, 2);
    assert!(err.contains("b.json") && err.contains("--write-baseline"), "{err}");
}

#[test]
fn fingerprints_are_not_a_plain_hash_of_the_secret() {
    use sha2::{Digest, Sha256};
    let t = TempTree::new();
    t.file("app.env", format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n"));
    let (_, out, _) = run(azleak(t.path()).args(["scan", ".", "-f", "json"]));
    let fp = json(&out)["findings"][0]["fingerprint"].as_str().expect("fingerprint").to_string();
    let rule = "azure.entra.client-secret";
    // What version 1 computed: SHA-256 of public parts and the secret.
    let mut h = Sha256::new();
    for part in
        [b"azleak-fingerprint-v1".as_slice(), rule.as_bytes(), b"app.env", SECRET_8Q.as_bytes()]
    {
        h.update(part);
        h.update([0u8]);
    }
    assert_ne!(fp, hex::encode(&h.finalize()[..16]));
    // It is the slow derivation, the same on every run.
    assert_eq!(fp, azleak::finding::fingerprint(rule, "app.env", SECRET_8Q));
    let key = azleak::finding::derive_secret_key(rule, SECRET_8Q);
    assert_eq!(fp, azleak::finding::fingerprint_from_key(rule, "app.env", &key));
    assert_ne!(key, azleak::finding::derive_secret_key("other.rule", SECRET_8Q), "salted by rule");
}

#[test]
fn missing_files_print_their_os_error_once() {
    let t = TempTree::new();
    t.file("app.env", "nothing\n");
    for flag in ["--config", "--baseline", "--rules"] {
        let (code, _, err) = run(azleak(t.path()).args(["scan", ".", flag, "missing.file"]));
        assert_eq!(code, 2, "{flag}");
        assert!(err.contains("missing.file"), "{flag}: {err}");
        assert_eq!(err.matches("No such file or directory").count(), 1, "{flag}: {err}");
    }
}

#[test]
fn rule_file_regex_errors_name_file_rule_and_key() {
    let t = TempTree::new();
    t.file("app.env", "nothing\n");
    let rule = |pattern: &str, exclude: &str| {
        format!(
            "[[rules]]\nid = \"team.a\"\nname = \"A\"\ndescription = \"d\"\nkeywords = [\"k\"]\n\
             pattern = '(k)'\nconfidence = \"high\"\nremediation = \"r\"\n\n\
             [[rules]]\nid = \"team.token\"\nname = \"T\"\ndescription = \"d\"\nkeywords = [\"t\"]\n\
             pattern = '{pattern}'\nexclude_secrets = ['{exclude}']\nconfidence = \"high\"\n\
             remediation = \"r\"\n"
        )
    };
    for (text, key) in
        [(rule("(t[", "x"), "key `pattern`"), (rule("(t)", "(x"), "key `exclude_secrets`, entry 0")]
    {
        t.file("team.toml", &text);
        let (code, _, err) = run(azleak(t.path()).args(["scan", ".", "--rules", "team.toml"]));
        assert_eq!(code, 2);
        assert!(err.contains("rule file team.toml:11: rule team.token"), "{err}");
        assert!(err.contains(key) && err.contains("invalid regex"), "{err}");
        assert!(!err.contains("pattern 0"), "{err}");
    }
}

#[test]
fn an_unclosed_allowlist_glob_is_an_error() {
    let t = TempTree::new();
    t.file("app.env", format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n"));
    t.file("azleak.toml", "[allowlist]\npaths = [\n  \"ok/**\",\n  \"x[\",\n]\n");
    let (code, _, err) = run(azleak(t.path()).args(["scan", "."]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("azleak.toml:4:3: key `allowlist.paths`: invalid glob"), "{err}");
}

#[test]
fn a_baseline_records_no_secret_held_in_a_path() {
    let t = TempTree::new();
    t.file(&format!("{SECRET_8Q}/app.env"), format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n"));
    for show in [false, true] {
        let mut cmd = azleak(t.path());
        cmd.args(["scan", ".", "--write-baseline", "b.json"]);
        if show {
            cmd.arg("--show-secrets");
        }
        let (code, _, err) = run(&mut cmd);
        assert_eq!(code, 0, "{err}");
        let text = std::fs::read_to_string(t.path().join("b.json")).expect("baseline");
        assert!(!text.contains(SECRET_8Q) && text.contains("zzz…/app.env"), "{text}");
        // The finding is known by its fingerprint all the same.
        let (code, out, err) =
            run(azleak(t.path()).args(["scan", ".", "--baseline", "b.json", "-f", "json"]));
        assert_eq!(code, 0, "{err}");
        // Two findings: the secret in the content and the same secret in the directory name.
        assert_eq!(json(&out)["summary"]["in_baseline"], 2);
        assert_eq!(json(&out)["summary"]["stale_baseline"], 0);
    }
}
