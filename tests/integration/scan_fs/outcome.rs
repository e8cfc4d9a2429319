//! What is reported and how the scan ends: the confidence threshold, the deterministic order of
//! findings, and exit codes 0, 1 and 2.

use super::{RULE_7Q, RULE_8Q, RULE_LEGACY, assignment, scan_json};
use crate::util::{
    SECRET_7Q, SECRET_8Q, SECRET_8Q_2, SECRET_BAD_CHECKSUM, SECRET_LEGACY, TempTree,
    assert_text_eq, finding_paths, isolated_azleak, json, loc, locations, run,
    text_without_elapsed, unreadable_for_azleak,
};

// ---- Confidence ----

/// One secret per confidence level (and a legacy secret, medium in context).
fn tree_of_every_confidence() -> TempTree {
    let t = TempTree::new();
    t.file("high.env", format!("client_secret = \"{SECRET_8Q}\"\n"));
    t.file("medium.yaml", format!("CLIENT_SECRET: \"{SECRET_7Q}\"\n"));
    t.file("legacy.sh", format!("AZURE_CLIENT_SECRET=\"{SECRET_LEGACY}\"\n"));
    t.file("low.txt", format!("client_secret={SECRET_BAD_CHECKSUM}\n"));
    t
}

#[test]
fn min_confidence_selects_what_is_reported_and_counts_the_rest() {
    let t = tree_of_every_confidence();
    let high = loc("high.env", 1, 18, 58, RULE_8Q, "high");
    let legacy = loc("legacy.sh", 1, 22, 54, RULE_LEGACY, "medium");
    let low = loc("low.txt", 1, 15, 55, RULE_8Q, "low");
    let medium = loc("medium.yaml", 1, 17, 54, RULE_7Q, "medium");

    let cases = [
        (
            &["--min-confidence", "low"][..],
            vec![high.clone(), legacy.clone(), low, medium.clone()],
            0,
        ),
        (&[][..], vec![high.clone(), legacy.clone(), medium.clone()], 1),
        (&["--min-confidence", "medium"][..], vec![high.clone(), legacy, medium], 1),
        (&["--min-confidence", "high"][..], vec![high], 3),
    ];
    for (args, expected, below) in cases {
        let (code, doc, _) = scan_json(&t, args);
        assert_eq!(code, 1, "{args:?}");
        assert_eq!(locations(&doc), expected, "{args:?}");
        assert_eq!(doc["summary"]["below_threshold"], below, "{args:?}");
        let level = args.get(1).copied().unwrap_or("medium");
        assert_eq!(doc["min_confidence"], level, "{args:?}");
    }
}

#[test]
fn findings_below_the_threshold_do_not_fail_the_scan() {
    let t = TempTree::new();
    t.file("low.txt", format!("client_secret={SECRET_BAD_CHECKSUM}\n"));
    t.file("medium.yaml", format!("CLIENT_SECRET: \"{SECRET_7Q}\"\n"));

    let (code, doc, _) = scan_json(&t, &["--min-confidence", "high"]);
    assert_eq!(code, 0);
    assert_eq!(locations(&doc), []);
    assert_eq!(doc["summary"]["below_threshold"], 2);

    let (code, out, _) =
        run(isolated_azleak(t.path()).args(["scan", ".", "--min-confidence", "high"]));
    assert_eq!(code, 0);
    assert_text_eq(
        "\nazleak: 2 files scanned (110 B), 0 skipped, 0 findings, 2 below --min-confidence high, 0 errors, <elapsed>\n",
        &text_without_elapsed(&out),
    );

    let (code, _, _) = scan_json(&t, &["--min-confidence", "low"]);
    assert_eq!(code, 1);
}

// ---- Determinism ----

#[test]
fn two_runs_give_byte_identical_json_on_a_tree_of_many_files() {
    let t = TempTree::new();
    for i in 0..300 {
        let secret = [SECRET_8Q, SECRET_8Q_2, SECRET_7Q, SECRET_BAD_CHECKSUM][i % 4];
        let body = match i % 3 {
            0 => format!("line\n{}", assignment(secret)),
            1 => format!("{}{}", assignment(secret), assignment(SECRET_8Q)),
            _ => "nothing to see\n".to_string(),
        };
        t.file(&format!("d{}/sub{}/f{i:03}.txt", i % 7, i % 5), body);
    }
    t.file("bin/blob.dat", b"\0\0\0");

    // Raw bytes, with only the elapsed time masked; -j 1 and -j 2 must agree too.
    let elapsed = regex::Regex::new(r#""elapsed": [0-9.e-]+"#).expect("regex");
    let runs: Vec<String> = ["2", "2", "1"]
        .iter()
        .map(|threads| {
            let (code, out, _) = run(isolated_azleak(t.path()).args([
                "scan",
                ".",
                "--format",
                "json",
                "--min-confidence",
                "low",
                "-j",
                threads,
            ]));
            assert_eq!(code, 1);
            assert_eq!(elapsed.find_iter(&out).count(), 1, "{out}");
            elapsed.replace(&out, r#""elapsed": <masked>"#).into_owned()
        })
        .collect();
    assert_text_eq(&runs[0], &runs[1]);
    assert_text_eq(&runs[0], &runs[2]);

    let doc = json(&runs[0].replace("<masked>", "0"));
    // The binary file is scanned too (checksum-verified secrets only), since issue #8.
    assert_eq!(doc["summary"]["files"], 301);
    assert_eq!(doc["summary"]["binary"], 1);
    assert_eq!(doc["findings"].as_array().map(Vec::len), Some(300));
    let order = locations(&doc);
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted, "findings are in (path, line, column) order");
}

// ---- Exit codes and errors ----

#[test]
fn exit_code_is_0_without_findings_and_1_with() {
    let t = TempTree::new();
    t.file("clean.txt", "password = os.environ['PASSWORD']\n");
    assert_eq!(run(isolated_azleak(t.path()).args(["scan", "."])).0, 0);
    t.file("leak.txt", assignment(SECRET_8Q));
    assert_eq!(run(isolated_azleak(t.path()).args(["scan", "."])).0, 1);
}

#[test]
fn bad_arguments_exit_2() {
    let t = TempTree::new();
    t.file("leak.txt", assignment(SECRET_8Q));
    for args in [
        &["scan", ".", "--min-confidence", "certain"][..],
        &["scan", ".", "--format", "xml"][..],
        &["scan", ".", "--max-file-size", "ten"][..],
        &["scan", ".", "--no-such-flag"][..],
        &["scan", "-", "."][..],
        &["frobnicate"][..],
    ] {
        let (code, out, err) = run(isolated_azleak(t.path()).args(args));
        assert_eq!(code, 2, "{args:?}: {err}");
        assert_eq!(out, "", "{args:?}");
        assert!(!err.is_empty(), "{args:?}");
    }
}

#[test]
fn nonexistent_path_exits_2_naming_it() {
    let t = TempTree::new();
    t.file("leak.txt", assignment(SECRET_8Q));
    let (code, out, err) = run(isolated_azleak(t.path()).args(["scan", "leak.txt", "missing-dir"]));
    assert_eq!(code, 2);
    assert_eq!(out, "");
    assert!(err.contains("missing-dir: No such file or directory"), "{err}");
}

#[test]
fn missing_rule_file_exits_2_naming_it() {
    let t = TempTree::new();
    t.file("leak.txt", assignment(SECRET_8Q));
    let (code, out, err) =
        run(isolated_azleak(t.path()).args(["scan", ".", "--rules", "nope.toml"]));
    assert_eq!(code, 2);
    assert_eq!(out, "");
    assert!(err.contains("cannot read rule file nope.toml"), "{err}");
}

#[cfg(unix)]
#[test]
fn io_error_without_findings_exits_2_and_with_findings_exits_1() {
    // A dangling symlink followed with --follow cannot be read: an I/O error on any user.
    let t = TempTree::new();
    t.file("clean.txt", "nothing\n");
    std::os::unix::fs::symlink("does-not-exist", t.path().join("dangling")).expect("symlink");

    let (code, doc, err) = scan_json(&t, &["--follow"]);
    assert_eq!(code, 2);
    assert_eq!(
        doc["summary"]["errors"],
        serde_json::json!([{"path": "dangling", "message": "No such file or directory (os error 2)"}])
    );
    assert_eq!(err, "azleak: dangling: No such file or directory (os error 2)\n");

    t.file("leak.txt", assignment(SECRET_8Q));
    let (code, doc, _) = scan_json(&t, &["--follow"]);
    assert_eq!(code, 1, "findings win over errors");
    assert_eq!(finding_paths(&doc), ["leak.txt"]);
    assert_eq!(doc["summary"]["errors"].as_array().map(Vec::len), Some(1));

    let (code, _, err) = run(isolated_azleak(t.path()).args(["scan", ".", "--follow", "--quiet"]));
    assert_eq!(code, 1);
    assert_eq!(err, "", "--quiet silences per-path errors");
}

#[cfg(unix)]
#[test]
fn permission_denied_file_is_an_error_naming_it() {
    let t = TempTree::new();
    let locked = t.file("locked.env", assignment(SECRET_8Q));
    t.file("open.txt", "nothing\n");
    let Some(mut cmd) = unreadable_for_azleak(&t, &[&locked]) else { return };

    let (code, out, err) = run(cmd.args(["scan", ".", "--format", "json"]));
    assert_eq!(code, 2, "an unreadable file and no findings: {err}");
    let doc = json(&out);
    assert_eq!(
        doc["summary"]["errors"],
        serde_json::json!([{"path": "locked.env", "message": "Permission denied (os error 13)"}])
    );
    assert_eq!(err, "azleak: locked.env: Permission denied (os error 13)\n");
    assert_eq!(doc["summary"]["files"], 1);

    t.file("open.txt", assignment(SECRET_8Q_2));
    let Some(mut cmd) = unreadable_for_azleak(&t, &[&locked]) else { return };
    let (code, out, _) = run(cmd.args(["scan", ".", "--format", "json"]));
    assert_eq!(code, 1, "findings and an error");
    assert_eq!(finding_paths(&json(&out)), ["open.txt"]);
}

#[cfg(unix)]
#[test]
fn unreadable_root_directory_exits_2() {
    let t = TempTree::new();
    t.file("locked/leak.env", assignment(SECRET_8Q));
    let locked = t.path().join("locked");
    let Some(mut cmd) = unreadable_for_azleak(&t, &[&locked]) else { return };

    let (code, out, err) = run(cmd.args(["scan", "locked", "--format", "json"]));
    assert_eq!(code, 2, "{err}");
    let doc = json(&out);
    assert_eq!(finding_paths(&doc), Vec::<String>::new());
    assert_eq!(
        doc["summary"]["errors"],
        serde_json::json!([{"path": "locked", "message": "Permission denied (os error 13)"}])
    );
}
