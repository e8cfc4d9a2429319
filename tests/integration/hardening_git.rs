//! Issue #7, git sources: corrupt objects and refs, shallow, empty and bare repositories,
//! GIT_DIR / GIT_WORK_TREE, and secrets in commit and tag metadata. Every scan runs under a
//! watchdog, so a hang fails the test instead of stalling the run; every test checks the exit
//! code, the summary counts, and that no raw secret reaches standard output or error.

use std::path::Path;
use std::process::Command as StdCommand;
use std::time::Duration;

use serde_json::Value;

use crate::util::{SECRET_8Q, SECRET_8Q_2, TempRepo, TempTree, azleak, azleak_bin, json, run};

const WATCHDOG: Duration = Duration::from_secs(60);
const HIGH: &str = "azure.entra.client-secret";

/// Runs `azleak git ARGS -f json` in `dir` under the watchdog (env: extra variables); returns
/// the exit code and the document, after checking no raw secret was printed.
fn scan(dir: &Path, args: &[&str], env: &[(&str, &Path)]) -> (i32, Value) {
    let mut cmd = azleak(dir);
    cmd.arg("git").args(args).args(["-f", "json"]).timeout(WATCHDOG);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let (code, stdout, stderr) = run(&mut cmd);
    assert!(code == 0 || code == 1 || code == 2, "exit {code} (hang or crash?)\n{stderr}");
    no_raw_secret(&stdout, &stderr);
    (code, if stdout.is_empty() { Value::Null } else { json(&stdout) })
}

fn no_raw_secret(stdout: &str, stderr: &str) {
    for secret in [SECRET_8Q, SECRET_8Q_2] {
        assert!(!stdout.contains(secret), "raw secret in stdout:\n{stdout}");
        assert!(!stderr.contains(secret), "raw secret in stderr:\n{stderr}");
    }
}

/// The `git` CLI in `dir` (see `util::git_cli`).
fn git(dir: &Path, args: &[&str]) -> String {
    crate::util::git_cli(dir, args)
}

fn errors(doc: &Value) -> Vec<String> {
    doc["summary"]["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            format!("{}: {}", e["path"].as_str().unwrap_or(""), e["message"].as_str().unwrap_or(""))
        })
        .collect()
}

fn finding_paths(doc: &Value) -> Vec<(String, String)> {
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap_or("").to_string(),
                f["part"].as_str().unwrap_or("content").to_string(),
            )
        })
        .collect()
}

/// Truncates the loose object `oid` of the repository at `dir` to `len` bytes.
fn truncate_object(dir: &Path, oid: &str, len: u64) -> std::path::PathBuf {
    let path = dir.join(".git/objects").join(&oid[..2]).join(&oid[2..]);
    let mut perms = std::fs::metadata(&path).expect("object").permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&path, perms).expect("chmod");
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .expect("open")
        .set_len(len)
        .expect("truncate");
    path
}

/// A repository (git CLI, loose objects) with two files holding secrets, committed once.
fn two_secret_repo() -> TempTree {
    let t = TempTree::new();
    git(t.path(), &["init", "-q"]);
    t.file("a.env", format!("A={SECRET_8Q}\n"));
    t.file("b.env", format!("B={SECRET_8Q_2}\n"));
    git(t.path(), &["add", "."]);
    git(t.path(), &["commit", "-qm", "add settings"]);
    t
}

#[test]
fn a_truncated_loose_blob_is_reported_and_the_scan_goes_on() {
    let t = two_secret_repo();
    let blob = git(t.path(), &["rev-parse", "HEAD:a.env"]);
    truncate_object(t.path(), &blob, 20);
    let (code, doc) = scan(t.path(), &[], &[]);
    assert_eq!(code, 1, "b.env's secret is still found: {doc}");
    assert_eq!(finding_paths(&doc), vec![("b.env".to_string(), "content".to_string())]);
    assert_eq!(doc["summary"]["commits"], 1);
    assert_eq!(doc["summary"]["files"], 1);
    let errors = errors(&doc);
    let corrupt = format!("object {blob} (");
    assert!(
        errors.iter().any(|e| e.starts_with(&corrupt) && e.contains("corrupt loose object")),
        "{errors:?}"
    );
    assert!(errors.iter().all(|e| !e.contains("class=")), "libgit2 noise: {errors:?}");

    // The same repository with nothing else to find: exit 2, not a silent pass.
    let only = TempTree::new();
    git(only.path(), &["init", "-q"]);
    only.file("a.env", format!("A={SECRET_8Q}\n"));
    git(only.path(), &["add", "."]);
    git(only.path(), &["commit", "-qm", "x"]);
    let blob = git(only.path(), &["rev-parse", "HEAD:a.env"]);
    truncate_object(only.path(), &blob, 20);
    let (code, doc) = scan(only.path(), &[], &[]);
    assert_eq!(code, 2, "{doc}");
    assert_eq!(doc["summary"]["files"], 0);
}

#[test]
fn a_truncated_staged_blob_does_not_hang_a_pre_commit_scan() {
    let t = TempTree::new();
    git(t.path(), &["init", "-q"]);
    t.file("a.env", format!("A={SECRET_8Q}\n"));
    t.file("b.env", format!("B={SECRET_8Q_2}\n"));
    git(t.path(), &["add", "."]);
    let blob = git(t.path(), &["rev-parse", ":a.env"]);
    truncate_object(t.path(), &blob, 20);
    let (code, doc) = scan(t.path(), &["--staged"], &[]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(finding_paths(&doc), vec![("b.env".to_string(), "content".to_string())]);
    let errors = errors(&doc);
    assert!(errors.iter().any(|e| e.contains(&blob) && e.contains("corrupt")), "{errors:?}");
}

#[test]
fn a_corrupt_tip_commit_is_an_error_not_zero_commits() {
    let t = two_secret_repo();
    let head = git(t.path(), &["rev-parse", "HEAD"]);
    truncate_object(t.path(), &head, 0);
    let (code, doc) = scan(t.path(), &[], &[]);
    assert_eq!(code, 2, "{doc}");
    assert_eq!(doc["summary"]["commits"], 0);
    let errors = errors(&doc);
    assert!(errors.iter().any(|e| e.starts_with("ref refs/heads/main:")), "{errors:?}");
    assert!(errors.iter().any(|e| e.starts_with("HEAD:")), "{errors:?}");
    assert!(errors.iter().any(|e| e.starts_with(&format!("object {head} ("))), "{errors:?}");
}

#[test]
fn a_corrupt_tree_is_reported_by_id() {
    let t = two_secret_repo();
    let tree = git(t.path(), &["rev-parse", "HEAD^{tree}"]);
    truncate_object(t.path(), &tree, 10);
    let (code, doc) = scan(t.path(), &[], &[]);
    assert_eq!(code, 2, "{doc}");
    assert_eq!(doc["summary"]["commits"], 1);
    let errors = errors(&doc);
    assert!(errors.iter().any(|e| e.starts_with(&format!("tree {tree} "))), "{errors:?}");
}

#[test]
fn garbage_refs_and_refs_to_missing_objects_are_errors() {
    let t = two_secret_repo();
    std::fs::write(t.path().join(".git/refs/heads/garbage"), "not an object id\n").expect("ref");
    std::fs::write(
        t.path().join(".git/refs/heads/gone"),
        "0123456789012345678901234567890123456789\n",
    )
    .expect("ref");
    let (code, doc) = scan(t.path(), &[], &[]);
    assert_eq!(code, 1, "the good branch is still scanned: {doc}");
    assert_eq!(doc["findings"].as_array().map(Vec::len), Some(2));
    let errors = errors(&doc);
    assert!(errors.iter().any(|e| e.starts_with("ref refs/heads/garbage:")), "{errors:?}");
    assert!(errors.iter().any(|e| e.starts_with("ref refs/heads/gone:")), "{errors:?}");

    // Garbage in packed-refs stops the scan with a clear error.
    git(t.path(), &["pack-refs", "--all"]);
    let packed = t.path().join(".git/packed-refs");
    let mut text = std::fs::read_to_string(&packed).unwrap_or_default();
    text.push_str("garbage line\n");
    std::fs::write(&packed, text).expect("packed-refs");
    let (code, stdout, stderr) = run(azleak(t.path()).args(["git"]).timeout(WATCHDOG));
    no_raw_secret(&stdout, &stderr);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("cannot read refs: corrupted packed references file"), "{stderr}");
}

#[test]
fn a_corrupt_pack_is_reported_not_hung_on() {
    let t = two_secret_repo();
    git(t.path(), &["gc", "-q"]);
    let pack_dir = t.path().join(".git/objects/pack");
    let pack = std::fs::read_dir(&pack_dir)
        .expect("pack dir")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "pack"))
        .expect("a pack");
    let mut bytes = std::fs::read(&pack).expect("read pack");
    let n = bytes.len();
    for b in &mut bytes[12..n - 20] {
        *b ^= 0x5a;
    }
    let mut perms = std::fs::metadata(&pack).expect("pack").permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&pack, perms).expect("chmod");
    std::fs::write(&pack, bytes).expect("write pack");
    let (code, doc) = scan(t.path(), &[], &[]);
    assert_eq!(code, 2, "{doc}");
    assert!(!errors(&doc).is_empty());
}

#[test]
fn a_shallow_clone_is_scanned_and_marked_shallow() {
    let t = TempTree::new();
    let origin = t.path().join("origin");
    std::fs::create_dir(&origin).expect("dir");
    git(&origin, &["init", "-q"]);
    std::fs::write(origin.join("old.env"), format!("A={SECRET_8Q}\n")).expect("write");
    git(&origin, &["add", "."]);
    git(&origin, &["commit", "-qm", "old"]);
    std::fs::write(origin.join("new.env"), format!("B={SECRET_8Q_2}\n")).expect("write");
    git(&origin, &["add", "."]);
    git(&origin, &["commit", "-qm", "new"]);
    let url = format!("file://{}", origin.display());
    git(t.path(), &["clone", "-q", "--depth", "1", &url, "clone"]);
    let (code, doc) = scan(&t.path().join("clone"), &[], &[]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(doc["summary"]["shallow"], true);
    assert_eq!(doc["summary"]["commits"], 1);
    assert_eq!(doc["summary"]["errors"], serde_json::json!([]));
    // Both files are in the one commit the clone has.
    assert_eq!(doc["findings"].as_array().map(Vec::len), Some(2));
}

#[test]
fn an_empty_repository_is_a_clean_pass() {
    let t = TempTree::new();
    git(t.path(), &["init", "-q"]);
    let (code, doc) = scan(t.path(), &[], &[]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["summary"]["commits"], 0);
    assert_eq!(doc["summary"]["errors"], serde_json::json!([]));
    let (code, doc) = scan(t.path(), &["--staged"], &[]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["summary"]["files"], 0);
}

#[test]
fn a_bare_repository_scans_its_history_and_refuses_staged() {
    let t = two_secret_repo();
    let bare = TempTree::new();
    let url = format!("file://{}", t.path().display());
    git(bare.path(), &["clone", "-q", "--bare", &url, "r.git"]);
    let repo = bare.path().join("r.git");
    let (code, doc) = scan(&repo, &[], &[]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(doc["summary"]["commits"], 1);
    assert_eq!(doc["findings"].as_array().map(Vec::len), Some(2));
    let (code, stdout, stderr) = run(azleak(&repo).args(["git", "--staged"]).timeout(WATCHDOG));
    no_raw_secret(&stdout, &stderr);
    assert_eq!(code, 2);
    assert!(stderr.contains("--staged needs a repository with a working tree"), "{stderr}");
}

#[test]
fn a_pre_commit_hook_under_git_dir_and_work_tree_blocks_the_commit() {
    let t = TempTree::new();
    let repo = t.path().join("repo");
    let work = t.path().join("work");
    std::fs::create_dir_all(&repo).expect("dir");
    std::fs::create_dir_all(&work).expect("dir");
    git(&repo, &["init", "-q"]);
    let hook = repo.join(".git/hooks/pre-commit");
    std::fs::write(
        &hook,
        format!("#!/bin/sh\nexec '{}' git --staged --color never\n", azleak_bin().display()),
    )
    .expect("hook");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    std::fs::write(work.join("app.env"), format!("S={SECRET_8Q}\n")).expect("write");
    let git_dir = format!("--git-dir={}", repo.join(".git").display());
    let work_tree = format!("--work-tree={}", work.display());
    git(&work, &[&git_dir, &work_tree, "add", "app.env"]);
    let out = StdCommand::new("git")
        .current_dir(&work)
        .args(["-c", "user.name=T", "-c", "user.email=t@example.com", &git_dir, &work_tree])
        .args(["commit", "-qm", "add app settings"])
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("NO_COLOR")
        .output()
        .expect("git commit");
    let (stdout, stderr) =
        (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    no_raw_secret(&stdout, &stderr);
    assert!(!out.status.success(), "the hook let the commit through:\n{stdout}\n{stderr}");
    // git sends a hook's output to its standard error.
    let all = format!("{stdout}{stderr}");
    assert!(all.contains("app.env:1:3: azure.entra.client-secret (high)"), "{all}");
    // Nothing was committed.
    let head = StdCommand::new("git")
        .current_dir(&work)
        .args([&git_dir, "rev-parse", "--verify", "-q", "HEAD"])
        .output()
        .expect("git");
    assert!(!head.status.success(), "a commit was made");
}

#[test]
fn git_dir_and_work_tree_set_directly_name_the_repository() {
    // The current directory is another repository: GIT_DIR must win over it.
    let here = two_secret_repo();
    let there = TempTree::new();
    git(there.path(), &["init", "-q"]);
    there.file("c.env", format!("C={SECRET_8Q_2}\n"));
    git(there.path(), &["add", "."]);
    git(there.path(), &["commit", "-qm", "c"]);
    let there_git = there.path().join(".git");
    let (code, doc) = scan(here.path(), &[], &[("GIT_DIR", &there_git)]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(finding_paths(&doc), vec![("c.env".to_string(), "content".to_string())]);

    // A bare repository with GIT_WORK_TREE (the dotfiles pattern) can scan what is staged.
    let bare = TempTree::new();
    git(bare.path(), &["init", "-q", "--bare", "dot.git"]);
    let work = TempTree::new();
    work.file("token.env", format!("T={SECRET_8Q}\n"));
    let dot = bare.path().join("dot.git");
    let out = StdCommand::new("git")
        .current_dir(work.path())
        .env("GIT_DIR", &dot)
        .env("GIT_WORK_TREE", work.path())
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env_remove("GIT_INDEX_FILE")
        .args(["add", "token.env"])
        .output()
        .expect("git add");
    assert!(out.status.success());
    let env = [("GIT_DIR", dot.as_path()), ("GIT_WORK_TREE", work.path())];
    let (code, doc) = scan(work.path(), &["--staged"], &env);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(finding_paths(&doc), vec![("token.env".to_string(), "content".to_string())]);

    // An explicit REPO argument is that repository, whatever GIT_DIR says.
    let (code, doc) = scan(there.path(), &[here.path().to_str().expect("utf-8")], &env);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(doc["findings"].as_array().map(Vec::len), Some(2));
}

#[test]
fn a_missing_repository_error_says_it_once() {
    let t = TempTree::new();
    let (code, stdout, stderr) =
        run(azleak(t.path()).args(["git", "no-such-dir"]).timeout(WATCHDOG));
    assert_eq!(code, 2, "{stdout}");
    assert!(!stderr.contains("class="), "{stderr}");
    assert_eq!(stderr.matches("No such file or directory").count(), 1, "{stderr}");
}

/// A repository whose commit message, author and an annotated tag hold secrets.
fn metadata_repo() -> (TempRepo, git2::Oid, git2::Oid) {
    let r = TempRepo::new();
    let c1 = r.snapshot(Some("refs/heads/main"), &[], &[("README.md", "# app\n")], "init");
    let message = format!("Rotate settings\n\nthe old one was {SECRET_8Q}\n");
    let c2 = r.snapshot_by(
        ("Mallory", &format!("{SECRET_8Q_2}@example.com")),
        Some("refs/heads/main"),
        &[c1],
        &[("README.md", "# app v2\n")],
        &message,
    );
    let sig = git2::Signature::new("Tagger", "t@example.com", &git2::Time::new(1_700_000_000, 0))
        .expect("sig");
    {
        let target = r.repo.find_object(c1, None).expect("c1");
        let message = format!("release\nkey {SECRET_8Q}\n");
        r.repo.tag("v1", &target, &sig, &message, false).expect("tag");
    }
    (r, c1, c2)
}

#[test]
fn secrets_in_commit_messages_authors_and_tags_are_found_and_redacted() {
    let (r, c1, c2) = metadata_repo();
    let (code, doc) = scan(r.path(), &[], &[]);
    assert_eq!(code, 1, "{doc}");
    let short = |c: git2::Oid| c.to_string()[..12].to_string();
    let got: Vec<(String, String, u64, u64, String)> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap_or("").to_string(),
                f["part"].as_str().unwrap_or("content").to_string(),
                f["line"].as_u64().unwrap_or(0),
                f["column"].as_u64().unwrap_or(0),
                f["commit"]["commit"].as_str().unwrap_or("-").to_string(),
            )
        })
        .collect();
    let mut want = vec![
        (format!("<commit {} author>", short(c2)), "commit-author".into(), 1, 10, c2.to_string()),
        (format!("<commit {} message>", short(c2)), "commit-message".into(), 3, 17, c2.to_string()),
        ("<tag v1>".to_string(), "tag-message".into(), 2, 5, c1.to_string()),
    ];
    want.sort();
    let mut got_sorted = got.clone();
    got_sorted.sort();
    assert_eq!(got_sorted, want, "{doc}");
    for f in doc["findings"].as_array().expect("findings") {
        assert_eq!(f["rule_id"], HIGH);
    }
    // The commit details of the author finding show the e-mail redacted.
    let author = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["part"] == "commit-author")
        .expect("author finding");
    assert_eq!(author["commit"]["author_email"], "riG…@example.com");
    assert_eq!(doc["summary"]["commits"], 2);

    // Every format shows them without the raw secret, and SARIF stays a relative URI.
    for format in ["text", "json", "sarif", "github"] {
        let (code, stdout, stderr) = run(azleak(r.path())
            .args(["git", "--format", format, "--color", "never"])
            .timeout(WATCHDOG));
        assert_eq!(code, 1, "{format}: {stderr}");
        no_raw_secret(&stdout, &stderr);
        assert!(stdout.contains("commit") && stdout.contains("tag"), "{format}:\n{stdout}");
        if format == "sarif" {
            let sarif = json(&stdout);
            assert_eq!(crate::report::schema_problems(&sarif), Vec::<String>::new());
            let secrets = [SECRET_8Q, SECRET_8Q_2];
            assert_eq!(
                crate::report::github_sarif_problems(&sarif, &secrets),
                Vec::<String>::new()
            );
            for result in sarif["runs"][0]["results"].as_array().expect("results") {
                let uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                    .as_str()
                    .expect("uri");
                assert!(!uri.contains(':') && !uri.starts_with('/'), "{uri}");
            }
        }
    }
}

#[test]
fn a_range_scans_only_its_own_messages_and_staged_scans_none() {
    let (r, _c1, c2) = metadata_repo();
    let c3 = r.snapshot(Some("refs/heads/main"), &[c2], &[("README.md", "# v3\n")], "tidy");
    let (code, doc) = scan(r.path(), &["--range", &format!("{c2}..{c3}")], &[]);
    assert_eq!(code, 0, "c2's message is outside the range: {doc}");
    assert_eq!(doc["summary"]["commits"], 1);
    let (code, doc) = scan(r.path(), &["--range", &format!("{c2}~1..{c2}")], &[]);
    assert_eq!(code, 1, "{doc}");
    let parts: Vec<String> = finding_paths(&doc).into_iter().map(|(_, p)| p).collect();
    assert_eq!(parts, vec!["commit-author".to_string(), "commit-message".to_string()], "{doc}");

    // A staged scan has no commit yet: HEAD's message is not its business.
    r.repo.set_head("refs/heads/main").expect("head");
    r.repo.checkout_head(Some(git2::build::CheckoutBuilder::new().force())).expect("checkout");
    r.write("new.txt", "nothing here\n");
    r.stage("new.txt");
    let (code, doc) = scan(r.path(), &["--staged"], &[]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["summary"]["files"], 1);
}
