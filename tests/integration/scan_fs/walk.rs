//! What the walk scans (ignore files, hidden files, `.git/`, `--exclude`, symlinks) and what it
//! skips, with the reason counted in the summary.

use serde_json::json;

use super::{RULE_8Q, assignment, scan_json};
use crate::util::{
    SECRET_8Q, SECRET_8Q_2, TempTree, assert_text_eq, azleak, finding_paths, isolated_azleak, json,
    loc, locations, run, text_without_elapsed,
};

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
        let mut cmd = azleak(t.path());
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
    // Since issue #8 binary files are scanned for checksum-verified secrets.
    assert_eq!(finding_paths(&doc), ["small.txt", "tool.bin"]);
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
            // In a binary, columns count bytes: 10 bytes of header, then the assignment.
            loc("tool.bin", 1, 18, 58, RULE_8Q, "high"),
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
    assert_text_eq(
        "\nazleak: 2 files scanned (8 B, 1 binary: checksum-verified secrets only), 1 skipped (1 too large), 0 findings, 0 errors, <elapsed>\n",
        &text_without_elapsed(&out),
    );

    let (code, out, _) =
        run(isolated_azleak(t.path()).args(["scan", ".", "--max-file-size", "100", "--verbose"]));
    assert_eq!(code, 0);
    assert_text_eq(
        "scanned a.bin (binary: checksum-verified secrets only)\nskipped big.log (too large)\n\nazleak: 2 files scanned (8 B, 1 binary: checksum-verified secrets only), 1 skipped (1 too large), 0 findings, 0 errors, <elapsed>\n",
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

    // The link is counted as skipped, and a root under which nothing was scanned is exit 2.
    let (code, doc, _) = scan_json(&t, &[]);
    assert_eq!(code, 2);
    assert_eq!(doc["summary"]["files"], 0);
    assert_eq!(doc["summary"]["skipped"], json!([{"path": "linked", "reason": "symlink"}]));
    let (code, doc, _) = scan_json(&t, &["--follow"]);
    assert_eq!(code, 1);
    assert_eq!(finding_paths(&doc), ["linked/key.env"]);
}

#[test]
fn max_file_size_is_inclusive() {
    let t = TempTree::new();
    let line = assignment(SECRET_8Q);
    t.file("exact.txt", format!("{}{line}", "#".repeat(1024 - line.len())));
    t.file("over.txt", format!("{}{line}", "#".repeat(1025 - line.len())));

    let (_, doc, _) = scan_json(&t, &["--max-file-size", "1K"]);
    assert_eq!(finding_paths(&doc), ["exact.txt"]);
    assert_eq!(doc["summary"]["bytes"], 1024);
    assert_eq!(doc["summary"]["skipped"], json!([{"path": "over.txt", "reason": "too-large"}]));
}

#[cfg(unix)]
#[test]
fn fifos_are_skipped_not_read() {
    let t = TempTree::new();
    t.file("key.env", assignment(SECRET_8Q));
    let made = std::process::Command::new("mkfifo").arg(t.path().join("pipe")).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("note: skipping: mkfifo is not available");
        return;
    }
    std::os::unix::fs::symlink("pipe", t.path().join("pipe-link")).expect("symlink");

    // Reading a FIFO with no writer would block forever: the timeout only guards against a hang.
    for follow in [&[][..], &["--follow"][..]] {
        let mut cmd = isolated_azleak(t.path());
        cmd.args(["scan", ".", "--format", "json"]).args(follow);
        let (code, out, _) = run(cmd.timeout(std::time::Duration::from_secs(60)));
        assert_eq!(code, 1, "{follow:?}");
        let doc = json(&out);
        assert_eq!(finding_paths(&doc), ["key.env"]);
        // Without --follow the link is an unfollowed symlink; with it, a link to a FIFO.
        let link = if follow.is_empty() { "symlink" } else { "not-a-file" };
        let skipped = vec![
            json!({"path": "pipe", "reason": "not-a-file"}),
            json!({"path": "pipe-link", "reason": link}),
        ];
        assert_eq!(doc["summary"]["skipped"], json!(skipped), "{follow:?}");
    }
}
