//! Follow-ups of issue #7: secrets in paths of git histories, ranges and staged changes;
//! UTF-16 earlier versions in ranges and staged scans; github annotations of metadata findings;
//! every displayed string redacted without the git source's own stopgaps; `max-file-size = 0`
//! in azleak.toml. Every scan runs under a watchdog and checks that no raw secret is printed.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::util::*;

const WATCHDOG: Duration = Duration::from_secs(60);
const HIGH: &str = "azure.entra.client-secret";

/// Asserts neither stream holds a raw secret (nor its body after the 3-character hint).
fn assert_no_raw_secret(out: &str, err: &str) {
    for secret in [SECRET_8Q, SECRET_8Q_2] {
        for (name, stream) in [("stdout", out), ("stderr", err)] {
            assert!(!stream.contains(&secret[3..]), "raw secret on {name}:\n{stream}");
        }
    }
}

/// Runs `azleak ARGS` in `dir` under the watchdog; returns (code, stdout, stderr) after checking
/// no raw secret was printed.
fn run_checked(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let (code, out, err) = run(isolated_azleak(dir).args(args).timeout(WATCHDOG));
    assert!((0..=2).contains(&code), "exit {code} (hang or crash?)\n{err}");
    assert_no_raw_secret(&out, &err);
    (code, out, err)
}

/// `azleak git ARGS -f json` in `dir`: exit code and document.
fn git_json(dir: &Path, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["git"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-f", "json"]);
    let (code, out, err) = run_checked(dir, &all);
    assert!(!out.is_empty(), "no output: {err}");
    (code, json(&out))
}

/// (path, part, line, column, short commit id) of each finding.
fn places(doc: &Value) -> Vec<(String, String, u64, u64, String)> {
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let commit = f["commit"]["commit"].as_str().unwrap_or("");
            (
                f["path"].as_str().unwrap_or("").to_string(),
                f["part"].as_str().unwrap_or("").to_string(),
                f["line"].as_u64().unwrap_or(0),
                f["column"].as_u64().unwrap_or(0),
                commit[..commit.len().min(12)].to_string(),
            )
        })
        .collect()
}

fn short(oid: git2::Oid) -> String {
    oid.to_string()[..12].to_string()
}

/// The redacted hint of a secret, as reports show it.
fn hint(secret: &str) -> String {
    format!("{}…", &secret[..3])
}

// ---- max-file-size = 0 in azleak.toml ----

#[test]
fn max_file_size_0_in_the_config_file_is_an_error_naming_file_line_and_key() {
    let t = TempTree::new();
    t.file("app.env", format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n"));
    for value in ["0", "\"0\"", "\"0M\""] {
        t.file("azleak.toml", format!("# limits\nmax-file-size = {value}\n"));
        for args in [&["scan", "."][..], &["scan", "-", "--format", "json"]] {
            let (code, out, err) = run_checked(t.path(), args);
            assert_eq!(code, 2, "{value} {args:?}: {out}{err}");
            assert_eq!(out, "", "{value}: nothing scanned");
            assert!(
                err.contains(
                    "azleak.toml:2:17: key `max-file-size`: the size limit must be at least 1 byte"
                ),
                "{value}: {err}"
            );
        }
    }
    // 1 byte is a valid (if odd) limit: the file is skipped as too large, and said so.
    t.file("azleak.toml", "max-file-size = 1\n");
    let (code, out, _) = run_checked(t.path(), &["scan", "app.env", "-f", "json"]);
    assert_eq!(code, 0);
    assert_eq!(json(&out)["summary"]["skipped"][0]["reason"], "too-large", "{out}");
}
