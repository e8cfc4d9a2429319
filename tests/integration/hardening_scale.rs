//! Bad inputs that cost a naive scanner quadratic time or output: one secret copied into many
//! files of a history (every copy listed once, SARIF related locations capped), and dense
//! encoding triggers (each encoded run decoded once, a per-file decoding budget reported as a
//! skip). Sizes are small enough for a debug build; a generous watchdog catches a hang.

use std::time::Duration;

use crate::util::*;

/// Copies of one secret in one commit.
const COPIES: usize = 1_500;

/// Runs azleak under a watchdog and returns (exit code, stdout, stderr).
fn run_watched(cmd: &mut assert_cmd::Command) -> (i32, String, String) {
    run(cmd.timeout(Duration::from_secs(60)))
}

/// Asserts that no output holds the secret (nor its middle, in case of partial redaction).
fn assert_redacted(output: &str, secret: &str) {
    assert!(!output.contains(secret), "raw secret in output");
    assert!(!output.contains(&secret[3..20]), "part of the secret in output");
}

fn fan_out_repo() -> TempRepo {
    let r = TempRepo::new();
    let contents = format!("client_secret: {SECRET_8Q}\n");
    let paths: Vec<String> = (0..COPIES).map(|i| format!("svc/{i:04}/app.yaml")).collect();
    let files: Vec<(&str, &str)> = paths.iter().map(|p| (p.as_str(), contents.as_str())).collect();
    r.snapshot(Some("refs/heads/main"), &[], &files, "copy the config everywhere");
    r
}

#[test]
fn a_secret_in_1500_files_of_a_commit_is_written_once_per_copy() {
    let r = fan_out_repo();

    let (code, stdout, stderr) = run_watched(azleak(r.path()).args(["git", "--format", "json"]));
    assert_eq!(code, 1, "{stderr}");
    assert_redacted(&stdout, SECRET_8Q);
    let doc = json(&stdout);
    assert_eq!(doc["version"], 2);
    assert_eq!(doc["summary"]["files"], 1, "one blob, read once");
    let findings = doc["findings"].as_array().expect("findings");
    assert_eq!(findings.len(), COPIES);
    let groups = doc["groups"].as_array().expect("groups");
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0]["copies"], COPIES);
    assert_eq!(groups[0]["locations"].as_array().expect("locations").len(), COPIES);
    for f in findings {
        assert_eq!(f["group"], groups[0]["id"]);
        assert_eq!(f["copies"], COPIES);
        assert!(f.get("other_locations").is_none());
        assert!(f["commit"]["commit"].is_string(), "each copy keeps its commit");
    }
    // Linear: about 1,500 findings plus 1,500 group locations, not 1,500².
    assert!(stdout.len() < 2_000_000, "JSON of {} bytes", stdout.len());

    let (code, stdout, _) = run_watched(azleak(r.path()).args(["git", "--format", "sarif"]));
    assert_eq!(code, 1);
    assert_redacted(&stdout, SECRET_8Q);
    let sarif = json(&stdout);
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    assert_eq!(results.len(), COPIES);
    let related = |r: &serde_json::Value| r["relatedLocations"].as_array().map_or(0, Vec::len);
    assert!(results.iter().all(|r| related(r) <= 1_000), "GitHub allows 1,000 per result");
    assert_eq!(related(&results[0]), 1_000);
    assert_eq!(results[0]["properties"]["relatedLocationsOmitted"], COPIES - 1 - 1_000);
    assert!(
        results[0]["message"]["text"].as_str().is_some_and(|m| m.contains("499 more")),
        "{}",
        results[0]["message"]
    );
    assert!(results[1..].iter().all(|r| related(r) == 1));
    // About 2.7 KB per copy (its result, its commit, one related location each way); the
    // quadratic form of this was 1.68 GB.
    assert!(stdout.len() < 5_000_000, "SARIF of {} bytes", stdout.len());

    let (code, text, _) = run_watched(azleak(r.path()).args(["git", "--color", "never"]));
    assert_eq!(code, 1);
    assert_redacted(&text, SECRET_8Q);
    assert_eq!(text.matches("this secret appears in 1500 places").count(), COPIES);
    assert_eq!(text.matches("also at:").count(), 1, "listed under the first finding only");
    assert!(text.lines().count() < 5 * COPIES, "{} lines", text.lines().count());

    let (code, out, _) = run_watched(azleak(r.path()).args(["git", "--format", "github"]));
    assert_eq!(code, 1);
    assert_redacted(&out, SECRET_8Q);
    assert_eq!(out.matches("appears in 1500 places").count(), COPIES);
    assert!(out.len() < 1_000_000, "{} bytes", out.len());
}

/// Scans one file under the watchdog; returns (exit code, JSON document).
fn scan_json(t: &TempTree, name: &str) -> (i32, serde_json::Value) {
    let (code, stdout, stderr) =
        run_watched(azleak(t.path()).args(["scan", "--format", "json", name]));
    assert!(code == 0 || code == 1, "exit {code}: {stderr}");
    (code, json(&stdout))
}

fn skips(doc: &serde_json::Value) -> Vec<(String, String)> {
    doc["summary"]["skipped"]
        .as_array()
        .expect("skipped")
        .iter()
        .map(|s| {
            (s["path"].as_str().unwrap_or("").into(), s["reason"].as_str().unwrap_or("").into())
        })
        .collect()
}

#[test]
fn dense_encoding_triggers_finish_and_still_find_the_encoded_secret() {
    let base64 = |b: &[u8]| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(b)
    };
    // A real secret written encoded ahead of each dense run, so a run decoded per trigger (or
    // not at all) would show: the secret must still be found, once, decoded.
    let percent = SECRET_8Q_2.replace('~', "%7E");
    let escaped = SECRET_8Q_2.replace('~', "\\u007e");
    let literal = format!("\"{}\" + \"{}\";", &SECRET_8Q_2[..20], &SECRET_8Q_2[20..]);
    let dense: [(&str, String); 4] = [
        ("percent.txt", format!("client_secret={percent}\n{}\n", "%7E".repeat(100_000))),
        ("json.txt", format!("{{\"secret\": \"{escaped}\"}}\n{}\n", "\\u007e".repeat(60_000))),
        (
            "base64.txt",
            format!(
                "secret: {}\n{}\n",
                base64(SECRET_8Q_2.as_bytes()),
                base64(&b"8Q~".repeat(100_000))
            ),
        ),
        (
            "concat.txt",
            format!(
                "secret = {literal}\n{}\n",
                vec![format!("\"abc8Q~{}\"", "x".repeat(58)); 4_000].join(" + ")
            ),
        ),
    ];
    let t = TempTree::new();
    for (name, contents) in &dense {
        t.file(name, contents);
    }
    for (name, contents) in &dense {
        let (code, doc) = scan_json(&t, name);
        assert_eq!(code, 1, "{name}: {doc}");
        let findings = doc["findings"].as_array().expect("findings");
        assert_eq!(findings.len(), 1, "{name}: {doc}");
        assert_eq!(findings[0]["rule_id"], "azure.entra.client-secret", "{name}");
        assert_eq!(findings[0]["line"], 1, "{name}");
        assert!(findings[0]["encoding"].is_string(), "{name}: {}", findings[0]);
        // One run of one encoding is within the budget: nothing is cut short.
        assert_eq!(skips(&doc), vec![], "{name}");
        assert_eq!(doc["summary"]["files"], 1);
        assert_redacted(&doc.to_string(), SECRET_8Q_2);
        assert!(contents.len() > 200_000, "{name} is dense enough to matter");
    }
}

#[test]
fn runs_of_several_encodings_over_the_same_bytes_exhaust_the_budget_and_say_so() {
    // A JSON escape, a base64 signature and a percent escape around one long alphanumeric run:
    // three encodings' runs cover the same bytes, three times the file, over its budget.
    let run = "A".repeat(200_000);
    let contents = format!(
        "client_secret={}\nAZURE_CLIENT_SECRET=\"{SECRET_8Q}\"\n\\u007e{run}4UX{run}%7E\n",
        SECRET_8Q_2.replace('~', "%7E"),
    );
    let t = TempTree::new();
    t.file("mixed.txt", &contents);
    let (code, doc) = scan_json(&t, "mixed.txt");
    assert_eq!(code, 1);
    assert_eq!(skips(&doc), vec![("mixed.txt".into(), "decode-budget".into())]);
    // The plain scan is whole, and what was decoded before the budget ran out counts.
    let lines: Vec<u64> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["line"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(lines, vec![1, 2], "{doc}");
    assert_eq!(doc["summary"]["files"], 1);
    assert_redacted(&doc.to_string(), SECRET_8Q_2);

    let (_, text, _) =
        run_watched(azleak(t.path()).args(["scan", "--color", "never", "mixed.txt"]));
    assert!(text.contains("1 decoding budget exhausted"), "{text}");
    let (_, text, _) =
        run_watched(azleak(t.path()).args(["scan", "--color", "never", "--verbose", "mixed.txt"]));
    assert!(text.contains("skipped mixed.txt (decoding budget exhausted)"), "{text}");
}

#[test]
fn a_percent_encoded_secret_after_client_secret_is_reported_once() {
    let t = TempTree::new();
    t.file(
        "url.log",
        format!("GET /token?client_secret={}&x=1\n", SECRET_8Q_2.replace('~', "%7E")),
    );
    let (code, doc) = scan_json(&t, "url.log");
    assert_eq!(code, 1);
    let findings = doc["findings"].as_array().expect("findings");
    assert_eq!(findings.len(), 1, "{doc}");
    assert_eq!(findings[0]["rule_id"], "azure.entra.client-secret");
    assert_eq!(findings[0]["encoding"], "percent");
    assert_eq!(findings[0]["confidence"], "high");
}

#[test]
fn many_secrets_on_one_long_line_are_placed_in_their_columns() {
    // Columns counted once per line, not once per match: check they are still right, with
    // multi-byte characters and an invalid byte in between.
    let mut line = Vec::new();
    let mut expected = Vec::new();
    let mut column = 1u64;
    for i in 0..2_000 {
        let pad: &[u8] = if i % 2 == 0 { "é ".as_bytes() } else { b"\xff " };
        line.extend_from_slice(pad);
        column += 2;
        line.extend_from_slice(b"k=");
        column += 2;
        expected.push(column);
        line.extend_from_slice(SECRET_8Q.as_bytes());
        column += SECRET_8Q.len() as u64;
        line.push(b' ');
        column += 1;
    }
    line.push(b'\n');
    let t = TempTree::new();
    t.file("one-line.txt", &line);
    let (code, doc) = scan_json(&t, "one-line.txt");
    assert_eq!(code, 1);
    let columns: Vec<u64> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["column"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(columns, expected);
}
