//! `azleak scan -`: standard input is scanned as one file named `-`, with the same limits.

use crate::util::{SECRET_8Q, TempTree, isolated_azleak, json, loc, locations, run};

#[test]
fn stdin_is_scanned_as_a_file_named_dash() {
    let t = TempTree::new();
    let input = format!("log line\r\n2024-01-01 token={SECRET_8Q} used\n");
    let (code, out, _) =
        run(isolated_azleak(t.path()).args(["scan", "-", "--format", "json"]).write_stdin(input));
    assert_eq!(code, 1);
    let doc = json(&out);
    assert_eq!(locations(&doc), [loc("-", 2, 18, 58, "azure.entra.client-secret", "high")]);
    assert_eq!(doc["summary"]["files"], 1);
    assert_eq!(doc["summary"]["bytes"], 73);
    assert!(!out.contains(SECRET_8Q));
}

#[test]
fn clean_stdin_exits_0() {
    let t = TempTree::new();
    let (code, out, _) =
        run(isolated_azleak(t.path()).args(["scan", "-"]).write_stdin("password=hunter2\n"));
    assert_eq!(code, 0);
    assert!(
        out.contains("azleak: 1 file scanned (17 B), 0 skipped, 0 findings, 0 errors, "),
        "{out}"
    );
}

#[test]
fn binary_stdin_is_scanned_for_checksum_secrets_and_oversized_stdin_is_truncated() {
    let t = TempTree::new();
    let mut binary = b"\0\x01".to_vec();
    binary.extend_from_slice(SECRET_8Q.as_bytes());
    let (code, out, _) =
        run(isolated_azleak(t.path()).args(["scan", "-", "--format", "json"]).write_stdin(binary));
    // Since issue #8 binary input is scanned for checksum-verified secrets.
    assert_eq!(code, 1);
    assert_eq!(
        json(&out)["summary"]["skipped"],
        serde_json::json!([{"path": "-", "reason": "binary"}])
    );

    // Over the limit: the first 50 bytes are scanned (the secret on line 1 is found) and the
    // truncation is reported.
    let (code, out, _) = run(isolated_azleak(t.path())
        .args(["scan", "-", "--format", "json", "--max-file-size", "50"])
        .write_stdin(format!("k={SECRET_8Q}\n{}\n", "x".repeat(100))));
    assert_eq!(code, 1);
    let doc = json(&out);
    assert_eq!(locations(&doc), [loc("-", 1, 3, 43, "azure.entra.client-secret", "high")]);
    assert_eq!(
        doc["summary"]["skipped"],
        serde_json::json!([{"path": "-", "reason": "truncated"}])
    );
    assert_eq!(doc["summary"]["files"], 1);
    assert_eq!(doc["summary"]["bytes"], 50);
}

/// Standard input larger than --max-file-size is read only up to the limit, not to its end: an
/// endless stream (here /dev/zero) would never finish. Its NUL bytes make it binary.
#[cfg(unix)]
#[test]
fn oversized_stdin_is_read_only_up_to_the_limit() {
    let t = TempTree::new();
    let zero = std::fs::File::open("/dev/zero").expect("/dev/zero");
    let out = std::process::Command::new(crate::util::azleak_bin())
        .current_dir(t.path())
        .args(["scan", "-", "--format", "json", "--max-file-size", "1K", "--no-config"])
        .stdin(zero)
        .output()
        .expect("run azleak");
    let doc = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(doc["summary"]["skipped"][0]["reason"], "binary", "{doc}");
    // Scanned (checksum-verified secrets only) since issue #8.
    assert_eq!(doc["summary"]["files"], 1);
}
