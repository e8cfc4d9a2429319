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
                // JSON leaves out the usual part, content.
                f["part"].as_str().unwrap_or("content").to_string(),
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

// ---- Secrets in path names, in git history, ranges and staged scans ----

/// The `git` CLI in `dir` (see `util::git_cli`).
fn git(dir: &Path, args: &[&str]) -> String {
    crate::util::git_cli(dir, args)
}

/// A history: c1 has `conf/app.env`; c2 adds a directory named by a secret (two text files and a
/// binary one) and `keys/<secret 2>.txt`; c3 changes a file in that directory.
fn path_history() -> (TempRepo, [git2::Oid; 3]) {
    let r = TempRepo::new();
    let c1 = r.snapshot(Some("refs/heads/main"), &[], &[("conf/app.env", "A=1\n")], "init");
    let dir = format!("{SECRET_8Q}/a.txt");
    let dir_b = format!("{SECRET_8Q}/b.txt");
    let bin = format!("{SECRET_8Q}/bin.dat");
    // A name is the secret alone: `.` may continue a secret, so `<secret>.txt` is no match.
    let key = format!("keys/{SECRET_8Q_2}");
    let mut files = vec![
        ("conf/app.env", "A=1\n"),
        (dir.as_str(), "one\n"),
        (dir_b.as_str(), "two\n"),
        (bin.as_str(), "\0\x01binary"),
        (key.as_str(), "nothing\n"),
    ];
    let c2 = r.snapshot(Some("refs/heads/main"), &[c1], &files, "add keys");
    files[1].1 = "one, changed\n";
    let c3 = r.snapshot(Some("refs/heads/main"), &[c2], &files, "change a");
    (r, [c1, c2, c3])
}

#[test]
fn secrets_in_paths_of_a_history_are_found_once_at_the_commit_that_added_the_path() {
    let (r, [c1, c2, c3]) = path_history();
    let (code, doc) = git_json(r.path(), &[]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(
        places(&doc),
        [
            (format!("keys/{}", hint(SECRET_8Q_2)), "path".into(), 1, 6, short(c2)),
            (hint(SECRET_8Q), "path".into(), 1, 1, short(c2)),
        ],
        "the directory once (not per file, not again in c3), each at the commit adding it"
    );
    for f in doc["findings"].as_array().expect("findings") {
        assert_eq!(f["rule_id"], HIGH);
        assert_eq!(f["commit"]["summary"], "add keys");
    }
    // What the history skipped in that directory is listed with its path redacted.
    let skipped = doc["summary"]["skipped"].as_array().expect("skipped");
    assert_eq!(skipped.len(), 1, "{doc}");
    assert_eq!(skipped[0]["path"], format!("{}:{}/bin.dat", short(c2), hint(SECRET_8Q)));
    assert_eq!(skipped[0]["reason"], "binary");

    // A range reports only the paths it introduced.
    let (code, doc) = git_json(r.path(), &["--range", &format!("{c2}..{c3}")]);
    assert_eq!((code, places(&doc)), (0, vec![]), "the paths came before the range: {doc}");
    let (code, doc) = git_json(r.path(), &["--range", &format!("{c1}..{c3}")]);
    assert_eq!(code, 1);
    assert_eq!(places(&doc).len(), 2, "{doc}");

    // Every format: found, and the raw secret nowhere (run_checked asserts it).
    for format in ["text", "sarif", "github"] {
        let (code, out, _) = run_checked(r.path(), &["git", "-f", format, "--verbose"]);
        assert_eq!(code, 1, "{format}");
        assert!(out.contains(&hint(SECRET_8Q)), "{format}: {out}");
    }
    let (_, out, _) = run_checked(r.path(), &["git", "--color", "never"]);
    assert!(out.contains(", in the path (a file or directory name)\n"), "{out}");
}

#[test]
fn a_corrupt_blob_under_a_secret_named_directory_is_reported_with_the_path_redacted() {
    let t = TempTree::new();
    git(t.path(), &["init", "-q"]);
    t.file(&format!("{SECRET_8Q}/a.txt"), "some text\n");
    git(t.path(), &["add", "."]);
    git(t.path(), &["commit", "-qm", "add"]);
    let blob = git(t.path(), &["rev-parse", &format!("HEAD:{SECRET_8Q}/a.txt")]);
    let object = t.path().join(".git/objects").join(&blob[..2]).join(&blob[2..]);
    let mut perms = std::fs::metadata(&object).expect("object").permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&object, perms).expect("chmod");
    std::fs::OpenOptions::new().write(true).open(&object).expect("open").set_len(20).expect("cut");

    let (code, out, err) = run_checked(t.path(), &["git", "-f", "json"]);
    assert_eq!(code, 1, "the name is still found: {err}");
    let doc = json(&out);
    assert_eq!(places(&doc).len(), 1, "{doc}");
    let errors: Vec<&str> = doc["summary"]["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["path"].as_str())
        .collect();
    assert!(
        errors
            .iter()
            .any(|p| p.starts_with(&format!("blob {blob} (")) && p.contains(&hint(SECRET_8Q))),
        "{errors:?}"
    );
    assert!(err.contains(&format!("{}/a.txt", hint(SECRET_8Q))), "stderr names it: {err}");
}

/// An index entry for a regular file at a path given as bytes.
fn entry(path: &[u8], id: git2::Oid) -> git2::IndexEntry {
    crate::util::index_entry_bytes(path, id, 0o100644)
}

/// Commits `files` (raw paths) on `refs/heads/main` with `parents`.
fn commit_raw(
    r: &TempRepo,
    parents: &[git2::Oid],
    files: &[(&[u8], &str)],
    msg: &str,
) -> git2::Oid {
    let mut index = git2::Index::new().expect("index");
    for (path, contents) in files {
        let id = r.repo.blob(contents.as_bytes()).expect("blob");
        index.add(&entry(path, id)).expect("add");
    }
    let tree = r.repo.find_tree(index.write_tree_to(&r.repo).expect("tree")).expect("tree");
    let sig = git2::Signature::new("T", "t@example.com", &git2::Time::new(EPOCH, 0)).expect("sig");
    let parents: Vec<git2::Commit<'_>> =
        parents.iter().map(|p| r.repo.find_commit(*p).expect("parent")).collect();
    let parents: Vec<&git2::Commit<'_>> = parents.iter().collect();
    r.repo.commit(Some("refs/heads/main"), &sig, &sig, msg, &tree, &parents).expect("commit")
}

#[test]
fn invalid_utf8_paths_in_history_are_escaped_and_still_found_in_their_parents() {
    let r = TempRepo::new();
    let path: &[u8] = b"conf\xFF/key\xFE.env";
    let c1 = commit_raw(&r, &[], &[(path, &format!("K={SECRET_8Q}\n"))], "add");
    let c2 = commit_raw(&r, &[c1], &[(path, &format!("K={SECRET_8Q}\nX=1\n"))], "more");
    let (code, out, _) = run_checked(r.path(), &["git", "-f", "json"]);
    assert_eq!(code, 1);
    assert!(!out.contains('\u{FFFD}'), "lossy: {out}");
    let doc = json(&out);
    assert_eq!(
        places(&doc),
        [("conf\\xFF/key\\xFE.env".into(), "content".into(), 1, 3, short(c1))]
    );
    // In a range, the parent's version is found at the path's real bytes: not "added" by c2.
    let (code, doc) = git_json(r.path(), &["--range", &format!("{c1}..{c2}")]);
    assert_eq!((code, places(&doc)), (0, vec![]), "{doc}");
}

#[test]
fn staged_scans_find_secrets_in_the_names_of_paths_the_index_adds() {
    let r = TempRepo::new();
    r.write("dir/a.txt", "a\n");
    r.stage("dir/a.txt");
    r.commit_staged("init");
    let file = format!("dir/{SECRET_8Q}");
    let in_new_dir = [format!("{SECRET_8Q_2}/x.txt"), format!("{SECRET_8Q_2}/y.txt")];
    r.write("dir/a.txt", "a, changed\n");
    for path in [&file, &in_new_dir[0], &in_new_dir[1]] {
        r.write(path, "nothing\n");
    }
    for path in ["dir/a.txt", &file, &in_new_dir[0], &in_new_dir[1]] {
        r.stage(path);
    }
    let (code, doc) = git_json(r.path(), &["--staged"]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(
        places(&doc),
        [
            (format!("dir/{}", hint(SECRET_8Q)), "path".into(), 1, 5, String::new()),
            (hint(SECRET_8Q_2), "path".into(), 1, 1, String::new()),
        ],
        "the new file and the new directory (once); not dir/, which HEAD has"
    );
    assert_eq!(doc["summary"]["files"], 4);

    // Once committed, changing those files adds no path.
    r.commit_staged("add");
    r.write(&file, "changed\n");
    r.stage(&file);
    let (code, doc) = git_json(r.path(), &["--staged"]);
    assert_eq!((code, places(&doc)), (0, vec![]), "{doc}");
}

// ---- Earlier versions in UTF-16 ----

fn utf16le(text: &str) -> Vec<u8> {
    let mut out = vec![0xFF, 0xFE];
    for unit in text.encode_utf16() {
        out.extend_from_slice(&unit.to_le_bytes());
    }
    out
}

#[test]
fn restaging_a_utf16_file_that_held_the_secret_does_not_add_it() {
    let r = TempRepo::new();
    let before = format!("$secret = \"{SECRET_8Q}\"\r\n");
    std::fs::write(r.path().join("env.ps1"), utf16le(&before)).expect("write");
    r.stage("env.ps1");
    let c1 = r.commit_staged("add");
    std::fs::write(r.path().join("env.ps1"), utf16le(&format!("{before}$x = 1\r\n")))
        .expect("write");
    r.stage("env.ps1");
    let (code, doc) = git_json(r.path(), &["--staged"]);
    assert_eq!((code, places(&doc)), (0, vec![]), "the secret was already committed: {doc}");
    let c2 = r.commit_staged("more");
    let (code, doc) = git_json(r.path(), &["--range", &format!("{c1}..{c2}")]);
    assert_eq!((code, places(&doc)), (0, vec![]), "{doc}");

    // A second secret the change adds is reported (the new version is decoded too).
    let added = format!("{before}$y = \"{SECRET_8Q_2}\"\r\n");
    std::fs::write(r.path().join("env.ps1"), utf16le(&added)).expect("write");
    r.stage("env.ps1");
    let (code, doc) = git_json(r.path(), &["--staged"]);
    assert_eq!(code, 1);
    assert_eq!(places(&doc), [("env.ps1".into(), "content".into(), 2, 7, String::new())]);
    let c3 = r.commit_staged("add another");
    let (code, doc) = git_json(r.path(), &["--range", &format!("{c2}..{c3}")]);
    assert_eq!(code, 1);
    assert_eq!(places(&doc), [("env.ps1".into(), "content".into(), 2, 7, short(c3))]);
}

// ---- github annotations of metadata findings ----

#[test]
fn github_annotations_of_metadata_findings_have_no_file_and_say_where_the_secret_was() {
    let r = TempRepo::new();
    let c1 = r.snapshot(Some("refs/heads/main"), &[], &[("a.txt", "a\n")], "init");
    let c2 = r.snapshot_by(
        ("Mallory", &format!("{SECRET_8Q_2}@example.com")),
        Some("refs/heads/main"),
        &[c1],
        &[("a.txt", "b\n"), (&format!("conf/{SECRET_8Q}"), "x\n")],
        &format!("rotate\n\nold: {SECRET_8Q}\n"),
    );
    let sig = git2::Signature::new("T", "t@example.com", &git2::Time::new(EPOCH, 0)).expect("sig");
    let target = r.repo.find_object(c1, None).expect("c1");
    r.repo.tag("v1", &target, &sig, &format!("key {SECRET_8Q}\n"), false).expect("tag");

    let (code, out, _) = run_checked(r.path(), &["git", "-f", "github"]);
    assert_eq!(code, 1);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 5, "4 findings and the notice:\n{out}");
    let annotation = |needle: &str| -> &str {
        lines.iter().find(|l| l.contains(needle)).unwrap_or_else(|| panic!("{needle}:\n{out}"))
    };
    for (needle, place) in [
        ("Found in the message of commit", format!("the message of commit {}", short(c2))),
        ("Found in the author", format!("the author or committer of commit {}", short(c2))),
        ("Found in the message or tagger of tag", "the message or tagger of tag v1".to_string()),
    ] {
        let line = annotation(needle);
        assert!(line.starts_with("::error title=azleak azure.entra.client-secret::"), "{line}");
        assert!(line.contains(&format!("Found in {place}.")), "{line}");
        assert!(!line.contains("file=") && !line.contains("line="), "{line}");
    }
    // A path finding keeps its (redacted) path as the file, without a line or column.
    let line = annotation("Found in the path");
    let want =
        format!("::error file=conf/{},title=azleak azure.entra.client-secret::", hint(SECRET_8Q));
    assert!(line.starts_with(&want), "{line}");
    assert!(lines[4].starts_with("::notice title=azleak::4 findings"), "{out}");
}

// ---- Commit fields redacted by the report-level redactor alone ----

#[test]
fn commit_fields_of_content_findings_show_secrets_found_anywhere_redacted() {
    // The summary and author of the commit quote secrets found elsewhere (the message body, a
    // path); the file's own secret is another one.
    let r = TempRepo::new();
    r.snapshot_by(
        (&format!("Eve {SECRET_8Q_2}"), "eve@example.com"),
        Some("refs/heads/main"),
        &[],
        &[("app.env", &format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n"))],
        &format!("move {SECRET_8Q_2} out\n"),
    );
    for format in ["text", "json", "sarif", "github"] {
        let (code, out, _) = run_checked(r.path(), &["git", "-f", format, "--color", "never"]);
        assert_eq!(code, 1, "{format}");
        assert!(out.contains(&hint(SECRET_8Q_2)), "{format}: {out}");
    }
    let (_, doc) = git_json(r.path(), &[]);
    let content = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["part"].is_null())
        .expect("content finding");
    assert_eq!(content["commit"]["summary"], format!("move {} out", hint(SECRET_8Q_2)));
    assert_eq!(content["commit"]["author_name"], format!("Eve {}", hint(SECRET_8Q_2)));
    // Asked for, they are shown as written.
    let (_, out, _) = run(isolated_azleak(r.path()).args(["git", "-f", "json", "--show-secrets"]));
    assert!(out.contains(&format!("move {SECRET_8Q_2} out")), "{out}");
}

// ---- Pre-commit scans check the loose objects they read, before libgit2 reads them ----

/// Truncates a loose object of the repository at `dir` (libgit2 1.9.7 would loop forever on it).
fn truncate_object(dir: &Path, oid: &str, len: u64) {
    let path = dir.join(".git/objects").join(&oid[..2]).join(&oid[2..]);
    let mut perms = std::fs::metadata(&path).expect("object").permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&path, perms).expect("chmod");
    std::fs::OpenOptions::new().write(true).open(&path).expect("open").set_len(len).expect("cut");
}

/// A repository (git CLI, loose objects) with `dir/old.env` committed and a change staged that
/// adds a secret to it and a new file `new.env` with another.
fn staged_repo() -> TempTree {
    let t = TempTree::new();
    git(t.path(), &["init", "-q"]);
    t.file("dir/old.env", "A=1\n");
    t.file("top.txt", "x\n");
    git(t.path(), &["add", "."]);
    git(t.path(), &["commit", "-qm", "init"]);
    t.file("dir/old.env", format!("A=1\nB={SECRET_8Q}\n"));
    t.file("new.env", format!("C={SECRET_8Q_2}\n"));
    git(t.path(), &["add", "."]);
    t
}

fn error_paths(doc: &Value) -> Vec<String> {
    let errors = doc["summary"]["errors"].as_array().expect("errors");
    errors.iter().map(|e| format!("{}: {}", e["path"], e["message"])).collect()
}

#[test]
fn a_staged_scan_checks_heads_version_of_a_file_before_reading_it() {
    let t = staged_repo();
    let old = git(t.path(), &["rev-parse", "HEAD:dir/old.env"]);
    truncate_object(t.path(), &old, 5);
    let (code, doc) = git_json(t.path(), &["--staged"]);
    assert_eq!(code, 1, "{doc}");
    let paths: Vec<String> = places(&doc).into_iter().map(|p| p.0).collect();
    assert_eq!(paths, ["dir/old.env", "new.env"], "both new secrets: {doc}");
    let errors = error_paths(&doc);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains(&format!("object {old} (")), "{errors:?}");
    assert!(errors[0].contains("corrupt loose object"), "{errors:?}");
}

#[test]
fn a_staged_scan_with_a_corrupt_tree_or_commit_in_head_does_not_hang() {
    for what in ["HEAD^{tree}", "HEAD:dir", "HEAD"] {
        let t = staged_repo();
        let oid = git(t.path(), &["rev-parse", what]);
        truncate_object(t.path(), &oid, 10);
        let (code, out, err) = run_checked(t.path(), &["git", "--staged", "-f", "json"]);
        assert_eq!(code, 2, "{what}: {out}{err}");
        // The corrupt object is named, whether the scan stopped (HEAD unreadable) or went on.
        assert!(out.contains(&oid) || err.contains(&oid), "{what}: {out}{err}");
    }
}

#[test]
fn a_staged_scan_reads_nothing_it_does_not_need() {
    // A corrupt loose object the staged change does not involve (an older file version) is
    // not read, so it neither stops nor fails the pre-commit scan.
    let t = TempTree::new();
    git(t.path(), &["init", "-q"]);
    t.file("gone.txt", "old\n");
    git(t.path(), &["add", "."]);
    git(t.path(), &["commit", "-qm", "one"]);
    let gone = git(t.path(), &["rev-parse", "HEAD:gone.txt"]);
    git(t.path(), &["rm", "-q", "gone.txt"]);
    t.file("kept.txt", "kept\n");
    git(t.path(), &["add", "."]);
    git(t.path(), &["commit", "-qm", "two"]);
    truncate_object(t.path(), &gone, 10);
    t.file("new.env", format!("C={SECRET_8Q_2}\n"));
    git(t.path(), &["add", "new.env"]);
    let (code, doc) = git_json(t.path(), &["--staged"]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(error_paths(&doc), Vec::<String>::new());
    // The history scan reads it, and says so (and nothing else is found there).
    let (code, doc) = git_json(t.path(), &[]);
    assert_eq!(code, 2);
    assert!(error_paths(&doc).iter().any(|e| e.contains(&gone)), "{doc}");
}

// ---- Baselines of metadata findings survive a rebase ----

#[test]
fn a_baselined_secret_in_a_commit_message_stays_accepted_after_a_rebase() {
    let r = TempRepo::new();
    let message = format!("rotate\n\nold: {SECRET_8Q}\n");
    let c1 = r.snapshot(Some("refs/heads/main"), &[], &[("a.txt", "a\n")], &message);
    let (code, _, err) =
        run_checked(r.path(), &["git", "--write-baseline", "azleak-baseline.json"]);
    assert_eq!(code, 0, "{err}");
    let baseline =
        std::fs::read_to_string(r.path().join("azleak-baseline.json")).expect("baseline");
    assert!(!baseline.contains(&c1.to_string()[..12]), "no commit id in the entry: {baseline}");
    // The same message on a rewritten commit (another id, as after a rebase).
    let base = r.snapshot(None, &[], &[("b.txt", "b\n")], "base");
    let c2 = r.snapshot(Some("refs/heads/main"), &[base], &[("a.txt", "a\n")], &message);
    assert_ne!(c1, c2);
    let (code, doc) = git_json(r.path(), &["--baseline", "azleak-baseline.json"]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["summary"]["in_baseline"], 1, "{doc}");
}
