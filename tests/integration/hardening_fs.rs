//! Issue #7, file-system side: explicit streams (FIFOs, `/dev/stdin`), standard input over the
//! size limit, what the walk skips (gitignored, symlinks, FIFOs) counted by reason, UTF-16 and
//! UTF-32 text, secrets in file and directory names, invalid UTF-8 in names, and the bad-input
//! matrix: each row asserts the exit code, the summary counts, and that no raw secret is
//! printed.

use std::time::Duration;

use serde_json::{Value, json};

use crate::util::{
    SECRET_8Q, SECRET_8Q_2, TempTree, isolated_azleak, json, loc, locations, run,
    text_without_elapsed, unreadable_for_azleak,
};

const RULE: &str = "azure.entra.client-secret";

/// A generous watchdog: a hang fails the test instead of stalling the suite.
const WATCHDOG: Duration = Duration::from_secs(60);

fn assignment(secret: &str) -> String {
    format!("key = \"{secret}\"\n")
}

/// Runs `azleak scan ARGS --format json` in `t`; returns (exit code, JSON, stdout, stderr).
fn scan(t: &TempTree, args: &[&str]) -> (i32, Value, String, String) {
    let mut cmd = isolated_azleak(t.path());
    cmd.arg("scan").args(args).args(["--format", "json"]).timeout(WATCHDOG);
    let (code, out, err) = run(&mut cmd);
    (code, json(&out), out, err)
}

/// Asserts that neither stream holds a raw secret.
fn assert_no_raw_secret(out: &str, err: &str) {
    for secret in [SECRET_8Q, SECRET_8Q_2] {
        assert!(!out.contains(secret), "raw secret in stdout:\n{out}");
        assert!(!err.contains(secret), "raw secret in stderr:\n{err}");
    }
}

fn skipped(doc: &Value) -> &Value {
    &doc["summary"]["skipped"]
}

#[cfg(unix)]
fn mkfifo(path: &std::path::Path) -> bool {
    let made = std::process::Command::new("mkfifo").arg(path).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("note: skipping: mkfifo is not available");
        return false;
    }
    true
}

// ---- Item 5: paths given on the command line are read, whatever they are ----

#[cfg(unix)]
#[test]
fn a_fifo_given_as_a_path_is_read() {
    let t = TempTree::new();
    let fifo = t.path().join("pipe");
    if !mkfifo(&fifo) {
        return;
    }
    let writer = std::thread::spawn(move || {
        // Opening blocks until azleak opens the other end.
        std::fs::write(&fifo, assignment(SECRET_8Q)).expect("write to the FIFO");
    });
    let (code, doc, out, err) = scan(&t, &["pipe"]);
    writer.join().expect("writer");
    assert_eq!(code, 1, "{err}");
    assert_eq!(locations(&doc), [loc("pipe", 1, 8, 48, RULE, "high")]);
    assert_eq!(doc["summary"]["files"], 1);
    assert_eq!(skipped(&doc), &json!([]));
    assert_no_raw_secret(&out, &err);
}

#[cfg(unix)]
#[test]
fn dev_stdin_given_as_a_path_is_read() {
    let t = TempTree::new();
    let mut cmd = isolated_azleak(t.path());
    cmd.args(["scan", "/dev/stdin", "--format", "json"]).timeout(WATCHDOG);
    let (code, out, err) = run(cmd.write_stdin(format!("x\n{}", assignment(SECRET_8Q))));
    assert_eq!(code, 1, "{err}");
    let doc = json(&out);
    assert_eq!(locations(&doc), [loc("/dev/stdin", 2, 8, 48, RULE, "high")]);
    assert_eq!(doc["summary"]["files"], 1);
    assert_no_raw_secret(&out, &err);
}

#[cfg(unix)]
#[test]
fn a_stream_given_as_a_path_is_truncated_at_max_file_size() {
    let t = TempTree::new();
    let mut cmd = isolated_azleak(t.path());
    cmd.args(["scan", "/dev/stdin", "--format", "json", "--max-file-size", "100"]);
    let input = format!("{}{}", assignment(SECRET_8Q), "y".repeat(500));
    let (code, out, err) = run(cmd.timeout(WATCHDOG).write_stdin(input));
    assert_eq!(code, 1, "{err}");
    let doc = json(&out);
    assert_eq!(locations(&doc), [loc("/dev/stdin", 1, 8, 48, RULE, "high")]);
    assert_eq!(skipped(&doc), &json!([{"path": "/dev/stdin", "reason": "truncated"}]));
    assert_eq!(doc["summary"]["bytes"], 100);
}

// ---- Item 6: standard input over --max-file-size ----

#[test]
fn stdin_over_the_limit_is_scanned_up_to_it_and_the_truncation_is_reported() {
    let t = TempTree::new();
    let input = format!("{}{}\n", assignment(SECRET_8Q), "z".repeat(4000));
    let (code, out, err) = run(isolated_azleak(t.path())
        .args(["scan", "-", "--format", "json", "--max-file-size", "1K"])
        .write_stdin(input));
    assert_eq!(code, 1, "a secret on line 1 is found: {err}");
    let doc = json(&out);
    assert_eq!(locations(&doc), [loc("-", 1, 8, 48, RULE, "high")]);
    assert_eq!(skipped(&doc), &json!([{"path": "-", "reason": "truncated"}]));
    assert_eq!(doc["summary"]["files"], 1);
    assert_eq!(doc["summary"]["bytes"], 1024);
    assert_no_raw_secret(&out, &err);

    // Without findings, the truncation is still noted, in the text summary too.
    let (code, out, _) = run(isolated_azleak(t.path())
        .args(["scan", "-", "--max-file-size", "10"])
        .write_stdin("nothing secret here\n"));
    assert_eq!(code, 0);
    assert_eq!(
        text_without_elapsed(&out),
        "\nazleak: 1 file scanned (10 B), 1 skipped (1 truncated at --max-file-size), 0 findings, \
         0 errors, <elapsed>\n"
    );
}

#[test]
fn max_file_size_0_is_an_argument_error() {
    let t = TempTree::new();
    t.file("a.txt", "x\n");
    for args in [&["scan", ".", "--max-file-size", "0"][..], &["git", ".", "--max-file-size", "0K"]]
    {
        let (code, out, err) = run(isolated_azleak(t.path()).args(args));
        assert_eq!(code, 2, "{args:?}");
        assert_eq!(out, "");
        assert!(err.contains("the size limit must be at least 1 byte"), "{args:?}: {err}");
    }
}

// ---- Item 7: what the walk does not scan is counted ----

#[cfg(unix)]
#[test]
fn gitignored_entries_and_unfollowed_symlinks_are_counted_and_listed() {
    let t = TempTree::new();
    t.file(".gitignore", "*.env\nbuild/\n");
    t.file("prod.env", assignment(SECRET_8Q));
    t.file("sub/dev.env", assignment(SECRET_8Q));
    t.file("build/a.txt", assignment(SECRET_8Q));
    t.file("build/deep/b.txt", assignment(SECRET_8Q));
    t.file("app.py", "print('hi')\n");
    std::os::unix::fs::symlink("app.py", t.path().join("link.py")).expect("symlink");

    let (code, doc, out, err) = scan(&t, &["."]);
    assert_eq!(code, 0, "{err}");
    // The ignored directory counts once: it is not entered.
    assert_eq!(
        skipped(&doc),
        &json!([
            {"path": "build", "reason": "ignored"},
            {"path": "link.py", "reason": "symlink"},
            {"path": "prod.env", "reason": "ignored"},
            {"path": "sub/dev.env", "reason": "ignored"},
        ])
    );
    assert_eq!(doc["summary"]["files"], 2, ".gitignore and app.py");
    assert_no_raw_secret(&out, &err);

    let (_, out, _) = run(isolated_azleak(t.path()).args(["scan", ".", "--verbose"]));
    let text = text_without_elapsed(&out);
    assert_eq!(
        text,
        "skipped build (gitignored)\nskipped link.py (symlink not followed)\nskipped prod.env \
         (gitignored)\nskipped sub/dev.env (gitignored)\n\nazleak: 2 files scanned (25 B), 4 \
         skipped (3 gitignored, 1 symlink not followed), 0 findings, 0 errors, <elapsed>\n"
    );

    let (code, doc, _, _) = scan(&t, &[".", "--no-ignore"]);
    assert_eq!(code, 1);
    assert_eq!(skipped(&doc), &json!([{"path": "link.py", "reason": "symlink"}]));
}

// ---- Item 8: UTF-16 and UTF-32 text ----

fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
    let mut out = Vec::new();
    if bom {
        out.extend_from_slice(if big_endian { &[0xFE, 0xFF] } else { &[0xFF, 0xFE] });
    }
    for unit in text.encode_utf16() {
        out.extend_from_slice(&if big_endian { unit.to_be_bytes() } else { unit.to_le_bytes() });
    }
    out
}

#[test]
fn utf16_and_utf32_files_are_decoded_and_scanned_with_lines_and_columns_in_characters() {
    let t = TempTree::new();
    // What Windows PowerShell 5.1 `>` writes: UTF-16LE with a BOM and CRLF line endings.
    let text = format!("héllo wörld\r\n€ client_secret = {SECRET_8Q}\r\n");
    t.file("ps-le.txt", utf16(&text, false, true));
    t.file("be.txt", utf16(&text, true, true));
    t.file("nobom-le.txt", utf16(&text, false, false));
    let mut utf32 = vec![0xFF, 0xFE, 0, 0];
    for c in text.chars() {
        utf32.extend_from_slice(&(c as u32).to_le_bytes());
    }
    t.file("utf32.txt", utf32);

    let (code, doc, out, err) = scan(&t, &["."]);
    assert_eq!(code, 1, "{err}");
    let at = |path: &str| loc(path, 2, 19, 59, RULE, "high");
    assert_eq!(
        locations(&doc),
        [at("be.txt"), at("nobom-le.txt"), at("ps-le.txt"), at("utf32.txt")]
    );
    assert_eq!(skipped(&doc), &json!([]));
    assert_no_raw_secret(&out, &err);

    let (code, out, err) = run(isolated_azleak(t.path())
        .args(["scan", "-", "--format", "json"])
        .write_stdin(utf16(&text, false, true)));
    assert_eq!(code, 1, "{err}");
    assert_eq!(locations(&json(&out)), [at("-")]);
}

#[test]
fn utf16_blobs_in_git_history_are_decoded() {
    let t = TempTree::new();
    let git = |args: &[&str]| {
        let status = std::process::Command::new("git")
            .current_dir(t.path())
            .args(["-c", "user.name=T", "-c", "user.email=t@example.com"])
            .args(args)
            .env_remove("GIT_DIR")
            .env_remove("GIT_INDEX_FILE")
            .env_remove("GIT_WORK_TREE")
            .status();
        status.is_ok_and(|s| s.success())
    };
    if !git(&["init", "-q"]) {
        eprintln!("note: skipping: the git CLI is not available");
        return;
    }
    t.file("ps.log", utf16(&format!("x\r\n{}", assignment(SECRET_8Q)), false, true));
    assert!(git(&["add", "ps.log"]) && git(&["commit", "-qm", "log"]));
    let mut cmd = isolated_azleak(t.path());
    let (code, out, err) = run(cmd.args(["git", ".", "--format", "json"]).timeout(WATCHDOG));
    assert_eq!(code, 1, "{err}");
    assert_eq!(locations(&json(&out)), [loc("ps.log", 2, 8, 48, RULE, "high")]);
    assert_no_raw_secret(&out, &err);
}

// ---- Item 10: secrets in file and directory names ----

#[test]
fn secrets_in_file_and_directory_names_are_found_once_each() {
    let t = TempTree::new();
    t.file(&format!("{SECRET_8Q}/a.txt"), "nothing\n");
    t.file(&format!("{SECRET_8Q}/b.txt"), "nothing\n");
    t.file(&format!("conf/{SECRET_8Q_2}"), "{}\n");

    let (code, doc, _, err) = scan(&t, &["."]);
    assert_eq!(code, 1, "{err}");
    let findings = doc["findings"].as_array().expect("findings");
    let places: Vec<_> = findings
        .iter()
        .map(|f| (f["path"].as_str(), f["part"].as_str(), f["line"].as_u64(), f["column"].as_u64()))
        .collect();
    // Paths holding a secret are printed redacted (report-level redactor).
    let dir = format!("{}…", &SECRET_8Q[..3]);
    let file = format!("conf/{}…", &SECRET_8Q_2[..3]);
    assert_eq!(
        places,
        [
            (Some(file.as_str()), Some("path"), Some(1), Some(6)),
            (Some(dir.as_str()), Some("path"), Some(1), Some(1)),
        ],
        "the directory once, not once per file in it"
    );

    let (_, out, _) = run(isolated_azleak(t.path()).args(["scan", "."]));
    assert!(out.contains(", in the path (a file or directory name)\n"), "{out}");

    // A name in a root's path is found too: every path below the root repeats it.
    let (code, doc, _, _) = scan(&t, &[&format!("{SECRET_8Q}/")]);
    assert_eq!(code, 1);
    assert_eq!(locations(&doc), [loc(&format!("{}…/", &SECRET_8Q[..3]), 1, 1, 41, RULE, "high")]);
    assert_eq!(doc["findings"][0]["part"], "path");
}

// ---- Item 16: invalid UTF-8 in file names ----

#[cfg(target_os = "linux")]
#[test]
fn invalid_utf8_in_file_names_is_escaped_in_every_format() {
    use std::os::unix::ffi::OsStrExt;
    let t = TempTree::new();
    let name = std::ffi::OsStr::from_bytes(b"key\xFF\xFE.env");
    std::fs::write(t.path().join(name), assignment(SECRET_8Q)).expect("write");

    let (code, doc, _, _) = scan(&t, &["."]);
    assert_eq!(code, 1);
    assert_eq!(locations(&doc), [loc("key\\xFF\\xFE.env", 1, 8, 48, RULE, "high")]);
    for format in ["text", "github", "sarif"] {
        let (_, out, _) = run(isolated_azleak(t.path()).args(["scan", ".", "--format", format]));
        assert!(
            out.contains("key\\xFF\\xFE.env") || out.contains("key%5CxFF%5CxFE.env"),
            "{format}: {out}"
        );
        assert!(!out.contains('\u{FFFD}'), "{format}: lossy: {out}");
    }
}

// ---- The bad-input matrix ----

#[test]
fn matrix_binary_file_is_scanned_for_checksum_secrets_and_counted() {
    let t = TempTree::new();
    let mut bytes = b"\x7fELF\x02\x01\x01\0\0\0".to_vec();
    bytes.extend_from_slice(assignment(SECRET_8Q).as_bytes());
    t.file("tool.bin", &bytes);
    t.file("ok.txt", "fine\n");
    let (code, doc, out, err) = scan(&t, &["."]);
    // Since issue #8 a binary file is scanned for checksum-verified secrets (and still listed
    // with reason `binary`, which now says how it was scanned).
    assert_eq!(code, 1);
    assert_eq!(skipped(&doc), &json!([{"path": "tool.bin", "reason": "binary"}]));
    assert_eq!(doc["summary"]["files"], 2);
    assert_eq!(doc["findings"][0]["path"], "tool.bin");
    assert_no_raw_secret(&out, &err);
}

#[test]
fn matrix_invalid_utf8_content_is_scanned() {
    let t = TempTree::new();
    let mut bytes = b"\xC3(\xFF\n\x80 ".to_vec();
    bytes.extend_from_slice(assignment(SECRET_8Q).as_bytes());
    t.file("latin1.cfg", &bytes);
    let (code, doc, out, err) = scan(&t, &["."]);
    assert_eq!(code, 1);
    assert_eq!(locations(&doc), [loc("latin1.cfg", 2, 10, 50, RULE, "high")]);
    assert_eq!(doc["summary"]["files"], 1);
    assert_no_raw_secret(&out, &err);
}

#[test]
fn matrix_crlf_line_endings_keep_lines_and_columns() {
    let t = TempTree::new();
    t.file("win.ini", format!("[x]\r\n\r\nkey = \"{SECRET_8Q}\"\r\n"));
    let (code, doc, out, err) = scan(&t, &["."]);
    assert_eq!(code, 1);
    assert_eq!(locations(&doc), [loc("win.ini", 3, 8, 48, RULE, "high")]);
    assert_eq!(doc["summary"]["files"], 1);
    assert_no_raw_secret(&out, &err);
}

#[test]
fn matrix_a_50_mb_single_line_is_scanned() {
    let t = TempTree::new();
    let mut line = vec![b'a'; 50 << 20];
    line.extend_from_slice(format!(" k={SECRET_8Q}").as_bytes());
    t.file("one-line.min.js", &line);
    let (code, doc, out, err) = scan(&t, &["."]);
    assert_eq!(code, 1);
    let column = (50u64 << 20) + 4;
    assert_eq!(locations(&doc), [loc("one-line.min.js", 1, column, column + 40, RULE, "high")]);
    assert_eq!(doc["summary"]["files"], 1);
    assert_no_raw_secret(&out, &err);
}

#[cfg(unix)]
#[test]
fn matrix_symlink_loop_is_skipped_and_the_scan_ends() {
    let t = TempTree::new();
    t.file("a/key.env", assignment(SECRET_8Q));
    std::os::unix::fs::symlink("..", t.path().join("a/up")).expect("symlink");
    let (code, doc, out, err) = scan(&t, &[".", "--follow"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(skipped(&doc), &json!([{"path": "a/up", "reason": "symlink-loop"}]));
    assert_eq!(doc["summary"]["files"], 1);
    assert_no_raw_secret(&out, &err);
}

#[cfg(unix)]
#[test]
fn matrix_permission_denied_is_an_error_and_exit_2() {
    let t = TempTree::new();
    let locked = t.file("locked.env", assignment(SECRET_8Q));
    t.file("open.txt", "nothing\n");
    let Some(mut cmd) = unreadable_for_azleak(&t, &[&locked]) else { return };
    let (code, out, err) = run(cmd.args(["scan", ".", "--format", "json"]).timeout(WATCHDOG));
    assert_eq!(code, 2, "{err}");
    let doc = json(&out);
    assert_eq!(doc["summary"]["errors"][0]["path"], "locked.env");
    assert_eq!(doc["summary"]["files"], 1);
    assert_no_raw_secret(&out, &err);
}

#[test]
fn matrix_utf16_with_bom_is_scanned() {
    let t = TempTree::new();
    t.file("out.log", utf16(&assignment(SECRET_8Q), false, true));
    t.file("be.log", utf16(&assignment(SECRET_8Q_2), true, true));
    let (code, doc, out, err) = scan(&t, &["."]);
    assert_eq!(code, 1);
    assert_eq!(
        locations(&doc),
        [loc("be.log", 1, 8, 48, RULE, "high"), loc("out.log", 1, 8, 48, RULE, "high")]
    );
    assert_eq!(doc["summary"]["files"], 2);
    assert_eq!(skipped(&doc), &json!([]));
    assert_no_raw_secret(&out, &err);
}

#[cfg(unix)]
#[test]
fn matrix_fifo_in_a_walked_directory_is_skipped_not_opened() {
    let t = TempTree::new();
    t.file("key.env", assignment(SECRET_8Q));
    if !mkfifo(&t.path().join("pipe")) {
        return;
    }
    let (code, doc, out, err) = scan(&t, &["."]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(skipped(&doc), &json!([{"path": "pipe", "reason": "not-a-file"}]));
    assert_eq!(doc["summary"]["files"], 1);
    assert_no_raw_secret(&out, &err);
    let (_, out, _) =
        run(isolated_azleak(t.path()).args(["scan", ".", "--verbose"]).timeout(WATCHDOG));
    assert!(out.contains("skipped pipe (not a regular file)\n"), "{out}");
}

#[test]
fn matrix_empty_file_is_scanned_and_exit_0() {
    let t = TempTree::new();
    t.file("empty.txt", "");
    for root in [".", "empty.txt"] {
        let (code, doc, out, err) = scan(&t, &[root]);
        assert_eq!(code, 0, "{root}: {err}");
        assert_eq!(doc["summary"]["files"], 1, "{root}");
        assert_eq!(doc["summary"]["bytes"], 0, "{root}");
        assert_eq!(doc["summary"]["errors"], json!([]), "{root}");
        assert_no_raw_secret(&out, &err);
    }
}

#[test]
fn matrix_empty_directory_yields_nothing_scannable_and_exit_2() {
    let t = TempTree::new();
    std::fs::create_dir(t.path().join("empty")).expect("mkdir");
    t.file("ignored/.gitignore", "*\n");
    t.file("ignored/x.txt", "x\n");
    let (code, doc, out, err) = scan(&t, &["empty", "ignored"]);
    assert_eq!(code, 2);
    assert_eq!(
        doc["summary"]["errors"],
        json!([
            {"path": "empty", "message": "nothing scanned: no file under this directory"},
            {"path": "ignored", "message": "nothing scanned: every file under this directory was skipped or unreadable"},
        ])
    );
    assert_eq!(doc["summary"]["files"], 0);
    assert!(
        err.contains("azleak: empty: nothing scanned: no file under this directory\n"),
        "{err}"
    );
    assert_no_raw_secret(&out, &err);
}
