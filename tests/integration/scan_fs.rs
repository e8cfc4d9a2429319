//! `azleak scan DIR`: what the directory walk scans and skips, where findings are placed
//! (1-based line and column, in characters), which confidence is reported, and the exit codes.
//! Every test writes real files into a temporary directory and runs the real binary.

use crate::util::{
    SECRET_7Q, SECRET_8Q, SECRET_8Q_2, SECRET_BAD_CHECKSUM, SECRET_LEGACY, TempTree, finding_paths,
    isolated_azleak, json, loc, locations, run, text_without_elapsed,
};

const RULE_8Q: &str = "azure.entra.client-secret";
const RULE_7Q: &str = "azure.entra.client-secret.7q";
const RULE_LEGACY: &str = "azure.entra.client-secret.legacy";

/// `key = "SECRET"` on one line: the secret starts at column 8 and ends before column 48.
fn assignment(secret: &str) -> String {
    format!("key = \"{secret}\"\n")
}

/// Runs `azleak scan . --format json` plus `args` in `t`; returns (exit code, JSON, stderr).
fn scan_json(t: &TempTree, args: &[&str]) -> (i32, serde_json::Value, String) {
    let (code, out, err) =
        run(isolated_azleak(t.path()).args(["scan", ".", "--format", "json"]).args(args));
    (code, json(&out), err)
}

// ---- What is walked ----

#[test]
fn gitignored_files_are_skipped_unless_no_ignore() {
    let t = TempTree::new();
    t.file(".gitignore", "secrets.env\nbuild/\n");
    t.file("secrets.env", assignment(SECRET_8Q));
    t.file("build/out.txt", assignment(SECRET_8Q));
    t.file("src/app.py", assignment(SECRET_8Q));

    let (code, doc, _) = scan_json(&t, &[]);
    assert_eq!(code, 1);
    assert_eq!(finding_paths(&doc), ["src/app.py"]);
    assert_eq!(doc["summary"]["files"], 2, "src/app.py and .gitignore");

    let (code, doc, _) = scan_json(&t, &["--no-ignore"]);
    assert_eq!(code, 1);
    assert_eq!(finding_paths(&doc), ["build/out.txt", "secrets.env", "src/app.py"]);
}

#[test]
fn dot_ignore_files_are_respected_unless_no_ignore() {
    let t = TempTree::new();
    t.file(".ignore", "*.log\n");
    t.file("debug.log", assignment(SECRET_8Q));
    t.file("app.cfg", assignment(SECRET_8Q));

    let (_, doc, _) = scan_json(&t, &[]);
    assert_eq!(finding_paths(&doc), ["app.cfg"]);
    let (_, doc, _) = scan_json(&t, &["--no-ignore"]);
    assert_eq!(finding_paths(&doc), ["app.cfg", "debug.log"]);
}

#[test]
fn gitignore_applies_without_a_git_repository_and_in_subdirectories() {
    let t = TempTree::new();
    t.file("sub/.gitignore", "local.env\n");
    t.file("sub/local.env", assignment(SECRET_8Q));
    t.file("local.env", assignment(SECRET_8Q));

    let (_, doc, _) = scan_json(&t, &[]);
    assert_eq!(finding_paths(&doc), ["local.env"]);
}

#[test]
fn parent_gitignores_and_the_global_git_excludes_file_apply() {
    let t = TempTree::new();
    let home = TempTree::new();
    home.file(".config/git/ignore", "*.local\n");
    t.file(".gitignore", "generated/\n");
    t.file("app/generated/keys.txt", assignment(SECRET_8Q));
    t.file("app/dev.local", assignment(SECRET_8Q));
    t.file("app/main.rs", assignment(SECRET_8Q));
    let scan = |extra: &[&str]| {
        let mut cmd = crate::util::azleak(t.path());
        cmd.env("HOME", home.path()).env("XDG_CONFIG_HOME", home.path().join(".config"));
        let (code, out, _) = run(cmd.args(["scan", "app", "--format", "json"]).args(extra));
        assert_eq!(code, 1);
        finding_paths(&json(&out))
    };
    assert_eq!(scan(&[]), ["app/main.rs"]);
    assert_eq!(scan(&["--no-ignore"]), ["app/dev.local", "app/generated/keys.txt", "app/main.rs"]);
}

#[test]
fn hidden_files_are_scanned_by_default_and_skipped_with_no_hidden() {
    let t = TempTree::new();
    t.file(".env", format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n"));
    t.file(".azure/credentials", format!("[default]\nclient_secret = {SECRET_8Q_2}\n"));
    t.file("visible.txt", assignment(SECRET_8Q));

    let (code, doc, _) = scan_json(&t, &[]);
    assert_eq!(code, 1);
    assert_eq!(
        locations(&doc),
        [
            loc(".azure/credentials", 2, 17, 57, RULE_8Q, "high"),
            loc(".env", 1, 21, 61, RULE_8Q, "high"),
            loc("visible.txt", 1, 8, 48, RULE_8Q, "high"),
        ]
    );

    let (code, doc, _) = scan_json(&t, &["--no-hidden"]);
    assert_eq!(code, 1);
    assert_eq!(finding_paths(&doc), ["visible.txt"]);
}

#[test]
fn dot_git_is_never_entered() {
    let t = TempTree::new();
    t.file(".git/config", format!("[credential]\n\tsecret = {SECRET_8Q}\n"));
    t.file(".git/objects/ab/cdef", assignment(SECRET_8Q));
    t.file("sub/.git/HEAD", assignment(SECRET_8Q));
    t.file("README.md", "nothing here\n");

    for args in [&[][..], &["--no-ignore"][..]] {
        let (code, doc, _) = scan_json(&t, args);
        assert_eq!(code, 0, "{args:?}: {doc:#}");
        assert_eq!(finding_paths(&doc), Vec::<String>::new());
        assert_eq!(doc["summary"]["files"], 1, "{args:?}: only README.md");
    }
}

#[test]
fn exclude_globs_skip_matching_paths() {
    let t = TempTree::new();
    t.file("fixtures/a.env", assignment(SECRET_8Q));
    t.file("src/deep/fixtures/b.env", assignment(SECRET_8Q));
    t.file("src/app.json", assignment(SECRET_8Q));
    t.file("src/app.env", assignment(SECRET_8Q));

    let (_, doc, _) = scan_json(&t, &["--exclude", "fixtures/"]);
    assert_eq!(finding_paths(&doc), ["src/app.env", "src/app.json"]);
    let (_, doc, _) = scan_json(&t, &["--exclude", "*.json", "--exclude", "**/deep/**"]);
    assert_eq!(finding_paths(&doc), ["fixtures/a.env", "src/app.env"]);

    let (code, _, err) = run(isolated_azleak(t.path()).args(["scan", ".", "--exclude", "a{b"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("invalid --exclude glob \"a{b\""), "{err}");
}

#[test]
fn a_file_given_as_root_is_scanned_even_if_ignored() {
    let t = TempTree::new();
    t.file(".gitignore", "*.env\n");
    t.file("prod.env", assignment(SECRET_8Q));

    let (code, out, _) =
        run(isolated_azleak(t.path()).args(["scan", "prod.env", "--format", "json"]));
    assert_eq!(code, 1);
    assert_eq!(locations(&json(&out)), [loc("prod.env", 1, 8, 48, RULE_8Q, "high")]);
}

// ---- What is skipped, and why ----

#[test]
fn binary_and_oversized_files_are_skipped_and_counted_by_reason() {
    let t = TempTree::new();
    let mut binary = b"\x7fELF\x02\x01\x01\0\0\0".to_vec();
    binary.extend_from_slice(assignment(SECRET_8Q).as_bytes());
    t.file("tool.bin", &binary);
    // A NUL after the first 8 KiB does not make a file binary.
    let mut late_nul = "x".repeat(9000).into_bytes();
    late_nul.push(0);
    late_nul.extend_from_slice(b"\n");
    late_nul.extend_from_slice(assignment(SECRET_8Q).as_bytes());
    t.file("late-nul.txt", &late_nul);
    t.file("big.txt", format!("{}\n{}", "y".repeat(2000), assignment(SECRET_8Q)));
    t.file("small.txt", assignment(SECRET_8Q_2));

    let (code, doc, _) = scan_json(&t, &["--max-file-size", "1K"]);
    assert_eq!(code, 1);
    assert_eq!(finding_paths(&doc), ["small.txt"]);
    assert_eq!(
        doc["summary"]["skipped"],
        serde_json::json!([
            {"path": "big.txt", "reason": "too-large"},
            {"path": "late-nul.txt", "reason": "too-large"},
            {"path": "tool.bin", "reason": "binary"},
        ])
    );

    let (code, doc, _) = scan_json(&t, &["--max-file-size", "10K"]);
    assert_eq!(code, 1);
    assert_eq!(
        locations(&doc),
        [
            loc("big.txt", 2, 8, 48, RULE_8Q, "high"),
            loc("late-nul.txt", 2, 8, 48, RULE_8Q, "high"),
            loc("small.txt", 1, 8, 48, RULE_8Q, "high"),
        ]
    );
    assert_eq!(
        doc["summary"]["skipped"],
        serde_json::json!([{"path": "tool.bin", "reason": "binary"}])
    );
}

#[test]
fn text_summary_counts_skips_by_reason_and_verbose_lists_them() {
    let t = TempTree::new();
    t.file("a.bin", b"\0\x01\x02");
    t.file("big.log", "z".repeat(200));
    t.file("ok.txt", "fine\n");

    let (code, out, _) =
        run(isolated_azleak(t.path()).args(["scan", ".", "--max-file-size", "100"]));
    assert_eq!(code, 0);
    crate::util::assert_text_eq(
        "\nazleak: 1 file scanned (5 B), 2 skipped (1 binary, 1 too large), 0 findings, 0 errors, <elapsed>\n",
        &text_without_elapsed(&out),
    );

    let (code, out, _) =
        run(isolated_azleak(t.path()).args(["scan", ".", "--max-file-size", "100", "--verbose"]));
    assert_eq!(code, 0);
    crate::util::assert_text_eq(
        "skipped a.bin (binary)\nskipped big.log (too large)\n\nazleak: 1 file scanned (5 B), 2 skipped (1 binary, 1 too large), 0 findings, 0 errors, <elapsed>\n",
        &text_without_elapsed(&out),
    );
}

#[cfg(unix)]
#[test]
fn symlink_loop_with_follow_is_skipped_and_the_scan_completes() {
    let t = TempTree::new();
    t.file("a/b/key.env", assignment(SECRET_8Q));
    std::os::unix::fs::symlink("../..", t.path().join("a/b/up")).expect("symlink");

    let (code, doc, err) = scan_json(&t, &["--follow"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(finding_paths(&doc), ["a/b/key.env"]);
    assert_eq!(
        doc["summary"]["skipped"],
        serde_json::json!([{"path": "a/b/up", "reason": "symlink-loop"}])
    );
    assert_eq!(doc["summary"]["errors"], serde_json::json!([]));

    let (_, out, _) = run(isolated_azleak(t.path()).args(["scan", ".", "--follow", "--verbose"]));
    assert!(out.contains("skipped a/b/up (symlink loop)\n"), "{out}");
    assert!(out.contains(", 1 skipped (1 symlink loop), 1 finding, 0 errors, "), "{out}");
}

#[cfg(unix)]
#[test]
fn symlinks_are_not_followed_without_follow() {
    let t = TempTree::new();
    let outside = TempTree::new();
    outside.file("key.env", assignment(SECRET_8Q));
    std::os::unix::fs::symlink(outside.path(), t.path().join("linked")).expect("symlink");

    let (code, doc, _) = scan_json(&t, &[]);
    assert_eq!(code, 0);
    assert_eq!(doc["summary"]["files"], 0);
    let (code, doc, _) = scan_json(&t, &["--follow"]);
    assert_eq!(code, 1);
    assert_eq!(finding_paths(&doc), ["linked/key.env"]);
}

// ---- Where findings are placed ----

#[test]
fn line_and_columns_are_one_based_and_counted_in_characters() {
    let t = TempTree::new();
    // 12 characters (20 bytes) before the secret: n a ï v e ␠ → ␠ 😀 : ␠ "
    t.file("multibyte.txt", format!("first line\nnaïve → 😀: \"{SECRET_8Q}\"\n"));
    t.file("ascii.txt", format!("{SECRET_8Q}\n"));

    let (_, doc, _) = scan_json(&t, &[]);
    assert_eq!(
        locations(&doc),
        [
            loc("ascii.txt", 1, 1, 41, RULE_8Q, "high"),
            loc("multibyte.txt", 2, 13, 53, RULE_8Q, "high")
        ]
    );
}

#[test]
fn crlf_line_endings_give_the_same_lines_and_columns() {
    let t = TempTree::new();
    t.file("win.env", format!("# settings\r\n\r\nAZURE_CLIENT_SECRET={SECRET_8Q}\r\nNEXT=1\r\n"));
    t.file("mac-classic.env", format!("# settings\rAZURE_CLIENT_SECRET={SECRET_8Q}\r"));

    let (_, doc, _) = scan_json(&t, &[]);
    assert_eq!(
        locations(&doc),
        [
            // A lone CR is not a line break (like git, editors in Unix mode, and SARIF viewers
            // that count LF), so the secret is on line 1 after "# settings\r".
            loc("mac-classic.env", 1, 32, 72, RULE_8Q, "high"),
            loc("win.env", 3, 21, 61, RULE_8Q, "high"),
        ]
    );
}

#[test]
fn invalid_utf8_around_a_secret_does_not_hide_it() {
    let t = TempTree::new();
    let mut bytes = b"\xff\xfe\xc3(\n".to_vec(); // invalid sequences on line 1
    bytes.extend_from_slice(b"\xe2\x82 key=");
    bytes.extend_from_slice(SECRET_8Q.as_bytes());
    bytes.extend_from_slice(b"\xff\xc0\n");
    t.file("latin1.cfg", &bytes);
    // Stray continuation bytes each count as one (replacement) character, like \xff above.
    let mut bytes = b"\x80\x80key=".to_vec();
    bytes.extend_from_slice(SECRET_8Q_2.as_bytes());
    bytes.extend_from_slice(b"\n");
    t.file("stray.cfg", &bytes);

    let (code, doc, _) = scan_json(&t, &[]);
    assert_eq!(code, 1);
    assert_eq!(
        locations(&doc),
        [
            // "\xe2\x82" is one truncated character, then " key=": column 7.
            loc("latin1.cfg", 2, 7, 47, RULE_8Q, "high"),
            loc("stray.cfg", 1, 7, 47, RULE_8Q, "high"),
        ]
    );
}

#[test]
fn two_secrets_on_one_line_are_both_reported() {
    let t = TempTree::new();
    t.file("pair.env", format!("a=\"{SECRET_8Q}\" b=\"{SECRET_8Q_2}\"\n"));

    let (_, doc, _) = scan_json(&t, &[]);
    assert_eq!(
        locations(&doc),
        [loc("pair.env", 1, 4, 44, RULE_8Q, "high"), loc("pair.env", 1, 49, 89, RULE_8Q, "high")]
    );
}

#[test]
fn huge_single_line_places_a_secret_near_its_end() {
    const CHUNK: &str = "var a=b+c;";
    const REPEAT: usize = 5_000_000; // 50 MB of minified code on one line
    let mut content = String::with_capacity(CHUNK.len() * REPEAT + 100);
    for _ in 0..REPEAT {
        content.push_str(CHUNK);
    }
    content.push_str(&format!("s=\"{SECRET_8Q}\";"));
    let t = TempTree::new();
    t.file("bundle.min.js", &content);

    let column = (CHUNK.len() * REPEAT + 4) as u64;
    let (code, doc, _) = scan_json(&t, &[]);
    assert_eq!(code, 1);
    assert_eq!(locations(&doc), [loc("bundle.min.js", 1, column, column + 40, RULE_8Q, "high")]);
}

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
    crate::util::assert_text_eq(
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
    crate::util::assert_text_eq(&runs[0], &runs[1]);
    crate::util::assert_text_eq(&runs[0], &runs[2]);

    let doc = json(&runs[0].replace("<masked>", "0"));
    assert_eq!(doc["summary"]["files"], 300);
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
    let Some(mut cmd) = crate::util::unreadable_for_azleak(&t, &[&locked]) else { return };

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
    let Some(mut cmd) = crate::util::unreadable_for_azleak(&t, &[&locked]) else { return };
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
    let Some(mut cmd) = crate::util::unreadable_for_azleak(&t, &[&locked]) else { return };

    let (code, out, err) = run(cmd.args(["scan", "locked", "--format", "json"]));
    assert_eq!(code, 2, "{err}");
    let doc = json(&out);
    assert_eq!(finding_paths(&doc), Vec::<String>::new());
    assert_eq!(
        doc["summary"]["errors"],
        serde_json::json!([{"path": "locked", "message": "Permission denied (os error 13)"}])
    );
}
