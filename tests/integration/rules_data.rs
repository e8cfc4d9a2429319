//! Rules carry their own knowledge as data: a user rule file (`--rules`) with a new signature
//! (`ZQx7~` and 30 characters) is found as written, base64-encoded, percent-encoded,
//! JSON-escaped, split into concatenated literals and in UTF-16 text, with no Rust code knowing
//! its marker; its own remediation is what SARIF and GitHub annotations print; and every file
//! in `rules/` is built in.

use std::path::Path;

use base64::Engine;
use serde_json::Value;

use crate::util::{TempTree, isolated_azleak, json, run};
use azleak::detect::Encoding;
use azleak::{Detector, RuleSet};

/// The user rule's secret: its marker `ZQx7~`, then 30 characters.
const TOKEN: &str = "ZQx7~Ab3dE5fG7hJ9kL1mN3pQ5rS7tV9wX1"; // azleak:allow

const REMEDIATION: &str = "Revoke the token on the team token page and issue a new one. Then \
                           store it in the team vault.";

/// A rule file for the `ZQx7~` tokens; `markers` is the `encoded_markers` line (or nothing).
fn team_rules(markers: &str) -> String {
    format!(
        r#"[[rules]]
id = "team.zqx-token"
name = "Team ZQx token"
description = "A token of the team's own service: ZQx7~ then 30 letters and digits."
keywords = ["ZQx7~"]
case_sensitive_keywords = true
pattern = '(?:^|[^A-Za-z0-9_~.+/-])(ZQx7~[A-Za-z0-9]{{30}})(?:[^A-Za-z0-9_~.+/-]|$)'
min_entropy = 3.0
{markers}
confidence = "high"
examples = [
    "token = {TOKEN}",
    "token: {b64}",
    "url?t=ZQx7%7E{rest}",
    '"{head}" + "{tail}"',
]
negative_examples = ["ZQx7~tooshort"]
remediation = "{REMEDIATION}"
"#,
        b64 = b64(TOKEN),
        rest = &TOKEN[5..],
        head = &TOKEN[..14],
        tail = &TOKEN[14..],
    )
}

const WITH_MARKERS: &str = r#"encoded_markers = ["ZQx7~"]"#;

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// Little-endian UTF-16 with a byte-order mark.
fn utf16le(text: &str) -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xFE];
    for unit in text.encode_utf16() {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    bytes
}

/// The files of the test tree: name → contents, each holding the token once, written its way.
fn written_forms() -> Vec<(&'static str, Vec<u8>)> {
    let pct = TOKEN.replace('~', "%7E");
    let json_escaped = TOKEN.replace('~', "\\u007e");
    let (head, tail) = TOKEN.split_at(14);
    let (mid, end) = tail.split_at(9);
    vec![
        ("plain.env", format!("TEAM_TOKEN={TOKEN}\n").into_bytes()),
        ("secret.yaml", format!("data:\n  token: {}\n", b64(TOKEN)).into_bytes()),
        // The marker at the two other base64 alignments.
        ("creds.b64", format!("x\n{}\n", b64(&format!("t={TOKEN}"))).into_bytes()),
        ("creds2.b64", format!("{}\n", b64(&format!(" {TOKEN};"))).into_bytes()),
        ("access.log", format!("GET /api?token={pct}&x=1 200\n").into_bytes()),
        ("event.json", format!("{{\"msg\": \"token {json_escaped}\"}}\n").into_bytes()),
        (
            "client.js",
            format!("const token = \"{head}\" +\n    \"{mid}\" + '{end}';\n").into_bytes(),
        ),
        ("export.reg", utf16le(&format!("[HKCU\\Team]\r\n\"Token\"=\"{TOKEN}\"\r\n"))),
    ]
}

fn user_rule_tree(markers: &str) -> TempTree {
    let t = TempTree::new();
    t.file("team-rules/zqx.toml", team_rules(markers));
    for (name, contents) in written_forms() {
        t.file(&format!("src/{name}"), contents);
    }
    t
}

/// The findings of the user rule in a JSON report: (path, line, encoding).
fn team_findings(doc: &Value) -> Vec<(String, u64, String)> {
    let mut out: Vec<(String, u64, String)> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule_id"] == "team.zqx-token")
        .map(|f| {
            (
                f["path"].as_str().unwrap_or_default().to_string(),
                f["line"].as_u64().unwrap_or_default(),
                f["encoding"].as_str().unwrap_or("plain").to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn a_user_rule_is_found_in_every_written_form_without_code() {
    let t = user_rule_tree(WITH_MARKERS);
    let (code, out, err) = run(isolated_azleak(t.path()).args([
        "scan",
        "src",
        "--rules",
        "team-rules",
        "--format",
        "json",
        "--no-config",
    ]));
    assert_eq!(code, 1, "{err}\n{out}");
    let got = team_findings(&json(&out));
    let want: Vec<(String, u64, String)> = [
        ("src/access.log", 1, "percent"),
        ("src/client.js", 1, "concat"),
        ("src/creds.b64", 2, "base64"),
        ("src/creds2.b64", 1, "base64"),
        ("src/event.json", 1, "json-escape"),
        ("src/export.reg", 2, "plain"),
        ("src/plain.env", 1, "plain"),
        ("src/secret.yaml", 2, "base64"),
    ]
    .iter()
    .map(|(p, l, e)| (p.to_string(), *l, e.to_string()))
    .collect();
    assert_eq!(got, want, "{out}");
    assert!(!out.contains(TOKEN), "the token is redacted: {out}");
}

/// The same, on the library: the user rule alone (no built-in rule lends it a trigger).
#[test]
fn a_user_rule_alone_brings_its_own_decoding_triggers() {
    let t = user_rule_tree(WITH_MARKERS);
    let rules = RuleSet::from_paths(&[t.path().join("team-rules")]).expect("rule file loads");
    assert_eq!(rules.len(), 1);
    let detector = Detector::new(rules);
    let mut scratch = detector.scratch();
    for (name, contents) in written_forms() {
        if name == "export.reg" {
            continue; // UTF-16 is decoded by the source, before the detector.
        }
        let found = detector.scan(&contents, &mut scratch);
        assert_eq!(found.len(), 1, "{name}: {found:?}");
        let secret = match &found[0].decoded {
            Some((_, secret)) => secret.clone(),
            None => contents[found[0].start..found[0].end].to_vec(),
        };
        assert_eq!(secret, TOKEN.as_bytes(), "{name}");
    }
    let problems = azleak::detect::check_examples(detector.rules());
    assert!(problems.is_empty(), "{problems:#?}");
}

/// Without `encoded_markers`, only the plain forms are found: the markers are what decoding
/// keys on.
#[test]
fn without_markers_a_user_rule_is_found_only_as_written() {
    let t = user_rule_tree("");
    let rules = RuleSet::from_paths(&[t.path().join("team-rules")]).expect("rule file loads");
    let detector = Detector::new(rules);
    let mut scratch = detector.scratch();
    for (name, contents) in written_forms() {
        let found = detector.scan(&contents, &mut scratch);
        let want = usize::from(name == "plain.env");
        assert_eq!(found.len(), want, "{name}: {found:?}");
    }
    // Its encoded examples now fail, and `rules check` says which.
    let (code, out, _) =
        run(isolated_azleak(t.path()).args(["rules", "check", "team-rules/zqx.toml"]));
    assert_eq!(code, 1, "{out}");
    assert_eq!(out.matches("example is not found").count(), 3, "{out}");
}

/// `decoders` narrows what the markers trigger.
#[test]
fn decoders_choose_what_the_markers_trigger() {
    let t = user_rule_tree("encoded_markers = [\"ZQx7~\"]\ndecoders = [\"base64\"]");
    let rules = RuleSet::from_paths(&[t.path().join("team-rules")]).expect("rule file loads");
    let detector = Detector::new(rules);
    let mut scratch = detector.scratch();
    for (name, contents) in written_forms() {
        let found = detector.scan(&contents, &mut scratch);
        let encodings: Vec<Option<Encoding>> =
            found.iter().map(|m| m.decoded.as_ref().map(|d| d.0)).collect();
        let want = match name {
            "plain.env" => vec![None],
            "secret.yaml" | "creds.b64" | "creds2.b64" => vec![Some(Encoding::Base64)],
            _ => vec![],
        };
        assert_eq!(encodings, want, "{name}");
    }
}

#[test]
fn a_marker_must_be_three_printable_characters() {
    let t = TempTree::new();
    t.file("short.toml", team_rules(r#"encoded_markers = ["Q~"]"#));
    let (code, _, err) = run(isolated_azleak(t.path()).args(["rules", "check", "short.toml"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("short.toml"), "{err}");
    assert!(err.contains("team.zqx-token"), "{err}");
    assert!(err.contains("encoded_markers"), "{err}");
}

// ---- Remediation per rule ----

#[test]
fn sarif_and_github_print_the_user_rules_own_remediation() {
    let t = TempTree::new();
    t.file("team-rules/zqx.toml", team_rules(WITH_MARKERS));
    t.file("app.env", format!("TEAM_TOKEN={TOKEN}\n"));
    let scan = |format: &str| {
        let (code, out, err) = run(isolated_azleak(t.path()).args([
            "scan",
            "app.env",
            "--rules",
            "team-rules",
            "--no-config",
            "--format",
            format,
        ]));
        assert_eq!(code, 1, "{err}\n{out}");
        out
    };
    let entra = "Microsoft Entra ID";
    let doc = json(&scan("sarif"));
    let run0 = &doc["runs"][0];
    let rules = run0["tool"]["driver"]["rules"].as_array().expect("rules");
    let rule = rules.iter().find(|r| r["id"] == "team.zqx-token").expect("user rule listed");
    for field in ["text", "markdown"] {
        let help = rule["help"][field].as_str().expect("help");
        assert!(help.contains(REMEDIATION), "{field}: {help}");
        assert!(!help.contains(entra), "{field}: {help}");
    }
    let results = run0["results"].as_array().expect("results");
    assert_eq!(results.len(), 1, "{results:#?}");
    let message = results[0]["message"]["text"].as_str().expect("message");
    assert!(message.contains("Revoke the token on the team token page and issue a new one."));
    assert!(!message.contains(entra), "{message}");
    assert!(!message.contains(TOKEN), "{message}");

    let github = scan("github");
    let line = github.lines().find(|l| l.contains("team.zqx-token")).expect("annotation");
    assert!(line.starts_with("::error file=app.env,line=1,"), "{line}");
    assert!(
        line.ends_with("Team ZQx token (high confidence, hint ZQx…). Revoke the token on the team token page and issue a new one."),
        "{line}"
    );
    assert!(!line.contains(entra), "{line}");
}

#[test]
fn short_remediation_overrides_the_first_sentence() {
    let t = TempTree::new();
    let rules = team_rules(WITH_MARKERS)
        .replace("remediation = ", "short_remediation = \"Call the team.\"\nremediation = ");
    t.file("team-rules/zqx.toml", rules);
    t.file("app.env", format!("TEAM_TOKEN={TOKEN}\n"));
    let (code, out, err) = run(isolated_azleak(t.path()).args([
        "scan",
        "app.env",
        "--rules",
        "team-rules",
        "--no-config",
        "--format",
        "github",
    ]));
    assert_eq!(code, 1, "{err}");
    let line = out.lines().find(|l| l.contains("team.zqx-token")).expect("annotation");
    assert!(line.ends_with("(high confidence, hint ZQx…). Call the team."), "{line}");
}

// ---- Embedding ----

#[test]
fn every_rule_file_in_rules_is_built_in() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("rules/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let embedded: Vec<&str> = azleak::rules::BUILTIN_FILES.iter().map(|(n, _)| *n).collect();
    let expected: Vec<String> = files.iter().map(|n| format!("rules/{n}")).collect();
    assert_eq!(embedded, expected);
    let builtin = RuleSet::builtin().expect("built-in rules");
    let mut ids = 0;
    for name in &files {
        let text = std::fs::read_to_string(dir.join(name)).expect("rule file");
        let (_, embedded_text) =
            azleak::rules::BUILTIN_FILES.iter().find(|(n, _)| n.ends_with(name.as_str())).unwrap();
        assert_eq!(*embedded_text, text, "{name} is embedded as it is on disk");
        let mut one = RuleSet::default();
        one.add_text(Path::new(name), &text).expect("rule file parses");
        for rule in one.iter() {
            assert!(builtin.get(rule.id()).is_some(), "{name}: {} is built in", rule.id());
            ids += 1;
        }
    }
    assert_eq!(ids, builtin.len());
}

/// Issue #8: the same user rule, with no code change, finds its token inside archives too —
/// in every written form, in a zip nested in a tar.gz — with the member named in the finding.
#[test]
fn a_user_rule_is_found_inside_archives_in_every_written_form() {
    let t = TempTree::new();
    t.file("team-rules/zqx.toml", team_rules(WITH_MARKERS));
    let forms = written_forms();
    let mut inner = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, contents) in &forms {
        inner
            .start_file(format!("conf/{name}"), zip::write::SimpleFileOptions::default())
            .expect("entry");
        std::io::Write::write_all(&mut inner, contents).expect("write");
    }
    let inner = inner.finish().expect("zip").into_inner();
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(inner.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, "release/app.zip", inner.as_slice()).expect("tar entry");
    let tar = tar.into_inner().expect("tar");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &tar).expect("gzip");
    t.file("artifacts/backup.tgz", gz.finish().expect("gzip"));

    let (code, out, err) = run(isolated_azleak(t.path()).args([
        "scan",
        "artifacts",
        "--rules",
        "team-rules",
        "--format",
        "json",
        "--no-config",
    ]));
    assert_eq!(code, 1, "{err}\n{out}");
    let doc = json(&out);
    let mut members: Vec<(String, String)> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule_id"] == "team.zqx-token")
        .map(|f| {
            (
                f["member"].as_str().unwrap_or_default().to_string(),
                f["encoding"].as_str().unwrap_or("plain").to_string(),
            )
        })
        .collect();
    members.sort();
    let mut want: Vec<(String, String)> = [
        ("access.log", "percent"),
        ("client.js", "concat"),
        ("creds.b64", "base64"),
        ("creds2.b64", "base64"),
        ("event.json", "json-escape"),
        ("export.reg", "plain"),
        ("plain.env", "plain"),
        ("secret.yaml", "base64"),
    ]
    .iter()
    .map(|(name, e)| (format!("release/app.zip!conf/{name}"), e.to_string()))
    .collect();
    want.sort();
    assert_eq!(members, want, "{out}");
    let paths: Vec<&str> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["path"].as_str())
        .collect();
    assert!(paths.iter().all(|p| *p == "artifacts/backup.tgz"), "{paths:?}");
    assert!(!out.contains(TOKEN) && !err.contains(TOKEN), "the token is redacted: {out}{err}");
}
