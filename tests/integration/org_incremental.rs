//! Incremental re-scans with a datastore (issue 12): a re-scan walks only the commits the last
//! complete walk's tips do not reach (nothing when the refs are unchanged), reports what those
//! commits add with the right commit, survives rewritten history and rule changes, and keeps
//! the last-seen run of findings that are still there.

use std::path::{Path, PathBuf};

use crate::util::{SECRET_7Q, SECRET_8Q, SECRET_8Q_2, TempTree, azleak, git_cli, json, run};

fn init(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    git_cli(dir, &["init", "-q"]);
    dir.to_path_buf()
}

/// Writes `file` (or deletes it when `contents` is `None`) and commits; returns the commit id.
fn commit(repo: &Path, file: &str, contents: Option<&str>, message: &str) -> String {
    match contents {
        Some(text) => std::fs::write(repo.join(file), text).unwrap(),
        None => std::fs::remove_file(repo.join(file)).unwrap(),
    }
    git_cli(repo, &["add", "-A"]);
    git_cli(repo, &["-c", "commit.gpgsign=false", "commit", "-qm", message]);
    git_cli(repo, &["rev-parse", "HEAD"])
}

fn secret_line(secret: &str) -> String {
    format!("AZURE_CLIENT_SECRET={secret}\n")
}

/// `azleak git app --datastore azleak.db -f json` in `t`: (exit code, JSON, stderr); exit 2
/// only where a test asks for it.
fn scan(t: &TempTree, extra: &[&str]) -> (i32, serde_json::Value, String) {
    let (code, out, err) = run(azleak(t.path())
        .args(["git", "app", "--datastore", "azleak.db", "-f", "json"])
        .args(extra));
    assert!((0..=2).contains(&code), "exit {code}: {err}");
    (code, json(&out), err)
}

/// (commits walked, blobs read) of a JSON report.
fn counts(doc: &serde_json::Value) -> (u64, u64) {
    (doc["summary"]["commits"].as_u64().unwrap(), doc["summary"]["files"].as_u64().unwrap())
}

/// (path, commit) of each finding.
fn found(doc: &serde_json::Value) -> Vec<(String, String)> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["commit"]["commit"].as_str().unwrap().into(),
            )
        })
        .collect()
}

/// path → last-seen run of each stored finding, from the datastore itself.
fn last_seen(t: &TempTree) -> Vec<(String, i64)> {
    let db = rusqlite::Connection::open(t.path().join("azleak.db")).unwrap();
    let mut stmt = db.prepare("SELECT data, last_run FROM findings").unwrap();
    let mut rows: Vec<(String, i64)> = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .unwrap()
        .map(|row| {
            let (data, run) = row.unwrap();
            let doc: serde_json::Value = serde_json::from_str(&data).unwrap();
            (doc["path"].as_str().unwrap().to_string(), run)
        })
        .collect();
    rows.sort();
    rows
}

#[test]
fn an_unchanged_rescan_walks_no_commit_and_keeps_every_finding_seen() {
    let t = TempTree::new();
    let repo = init(&t.path().join("app"));
    commit(&repo, "app.env", Some(&secret_line(SECRET_8Q)), "one");
    commit(&repo, "b.txt", Some("x\n"), "two");
    commit(&repo, "c.txt", Some("y\n"), "three");
    let (code, first, err) = scan(&t, &[]);
    assert_eq!((code, counts(&first)), (1, (3, 3)), "{err}");

    let (code, second, _) = scan(&t, &[]);
    assert_eq!((code, counts(&second)), (0, (0, 0)));
    assert!(found(&second).is_empty());
    // Not read again, but still there: seen by run 2.
    assert_eq!(last_seen(&t), [("app.env".to_string(), 2)]);

    // A new branch and a lightweight tag at existing commits: refs changed, no new commit.
    git_cli(&repo, &["branch", "other", "HEAD~1"]);
    git_cli(&repo, &["tag", "v1", "HEAD~2"]);
    let (code, third, _) = scan(&t, &[]);
    assert_eq!((code, counts(&third)), (0, (0, 0)));
    assert_eq!(last_seen(&t), [("app.env".to_string(), 3)]);

    // The report from the store still has the finding, with its introducing commit.
    let (_, out, _) =
        run(azleak(t.path()).args(["report", "--datastore", "azleak.db", "-f", "json"]));
    assert_eq!(found(&json(&out)), found(&first));
}

#[test]
fn a_new_commit_with_a_new_secret_is_exactly_the_new_finding_with_its_commit() {
    let t = TempTree::new();
    let repo = init(&t.path().join("app"));
    let c1 = commit(&repo, "app.env", Some(&secret_line(SECRET_8Q)), "one");
    for i in 0..5 {
        commit(&repo, &format!("f{i}.txt"), Some(&format!("plain {i}\n")), "more");
    }
    let (_, first, err) = scan(&t, &[]);
    assert_eq!(counts(&first), (6, 6), "{err}");

    // One new commit: a new secret in a new file, and a change to the old file that keeps its
    // secret (not a new finding: the secret was already there).
    std::fs::write(repo.join("app.env"), format!("# top\n{}", secret_line(SECRET_8Q))).unwrap();
    let c7 = commit(&repo, "new.env", Some(&secret_line(SECRET_8Q_2)), "new secret");
    let (code, second, _) = scan(&t, &[]);
    assert_eq!(code, 1);
    // Only the new commit walked, only its two new blobs read.
    assert_eq!(counts(&second), (1, 2));
    assert_eq!(found(&second), [("new.env".to_string(), c7.clone())]);
    assert_eq!(last_seen(&t), [("app.env".to_string(), 2), ("new.env".to_string(), 2)]);

    // The store now says what one full scan says: same fingerprints, same introducing commits.
    let (_, full, _) = run(azleak(t.path()).args(["git", "app", "-f", "json"]));
    let full = json(&full);
    assert_eq!(found(&full), [("app.env".to_string(), c1), ("new.env".to_string(), c7)]);
    let (_, stored, _) =
        run(azleak(t.path()).args(["report", "--datastore", "azleak.db", "-f", "json"]));
    let stored = json(&stored);
    assert_eq!(found(&stored), found(&full));
    let fps = |d: &serde_json::Value| -> Vec<String> {
        d["findings"].as_array().unwrap().iter().map(|f| f["fingerprint"].to_string()).collect()
    };
    assert_eq!(fps(&stored), fps(&full));
}

#[test]
fn rewritten_history_and_a_deleted_branch_are_walked_again_and_what_is_gone_is_not_seen() {
    let t = TempTree::new();
    let repo = init(&t.path().join("app"));
    commit(&repo, "README", Some("base\n"), "base");
    // stable: one commit with a secret, never rewritten.
    git_cli(&repo, &["checkout", "-qb", "stable"]);
    commit(&repo, "s.env", Some(&secret_line(SECRET_7Q)), "stable secret");
    // feature: a secret, later deleted with its branch.
    git_cli(&repo, &["checkout", "-q", "main"]);
    git_cli(&repo, &["checkout", "-qb", "feature"]);
    commit(&repo, "f.env", Some(&secret_line(SECRET_8Q_2)), "feature secret");
    // main: a secret, later rebased onto a new commit (same blob, new commit).
    git_cli(&repo, &["checkout", "-q", "main"]);
    let old = commit(&repo, "a.env", Some(&secret_line(SECRET_8Q)), "main secret");
    let (_, first, err) = scan(&t, &[]);
    assert_eq!(first["findings"].as_array().unwrap().len(), 3, "{err}");

    git_cli(&repo, &["branch", "-qD", "feature"]);
    git_cli(&repo, &["reset", "-q", "--hard", "HEAD~1"]);
    commit(&repo, "x.txt", Some("x\n"), "inserted");
    git_cli(&repo, &["-c", "commit.gpgsign=false", "cherry-pick", &old]);
    let new = git_cli(&repo, &["rev-parse", "HEAD"]);
    assert_ne!(new, old);
    let (code, second, _) = scan(&t, &[]);
    assert_eq!(code, 1);
    // stable's tip is kept (base is hidden through it): only the two rewritten commits.
    assert_eq!(counts(&second).0, 2);
    // The rebased secret is found again, at its new commit.
    assert_eq!(found(&second), [("a.env".to_string(), new)]);
    // stable's secret is still there (seen by run 2); the deleted branch's is not.
    assert_eq!(
        last_seen(&t),
        [("a.env".to_string(), 2), ("f.env".to_string(), 1), ("s.env".to_string(), 2)]
    );
    // And the next run has nothing to walk.
    let (code, third, _) = scan(&t, &[]);
    assert_eq!((code, counts(&third)), (0, (0, 0)));
}

#[test]
fn new_rules_walk_everything_again_and_then_are_incremental_too() {
    let t = TempTree::new();
    let repo = init(&t.path().join("app"));
    commit(&repo, "app.env", Some(&secret_line(SECRET_8Q)), "one");
    commit(&repo, "b.txt", Some("ORGTOK_ABCDEFGHIJ0123456789\n"), "two");
    let (_, first, err) = scan(&t, &[]);
    assert_eq!((counts(&first), found(&first).len()), ((2, 2), 1), "{err}");
    t.file("rules/extra.toml", EXTRA_RULE);
    let rules = ["--rules", "rules/extra.toml"];
    let (_, second, err) = scan(&t, &rules);
    assert_eq!(counts(&second), (2, 2), "{err}");
    assert_eq!(
        found(&second).iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(),
        ["app.env", "b.txt"]
    );
    let (code, third, _) = scan(&t, &rules);
    assert_eq!((code, counts(&third)), (0, (0, 0)));
    // Back to the built-in rules: their last walk was replaced, so everything is walked.
    let (_, fourth, _) = scan(&t, &[]);
    assert_eq!(counts(&fourth).0, 2);
}

#[test]
fn a_walk_that_met_an_unreadable_object_is_not_recorded_and_the_next_run_walks_again() {
    let t = TempTree::new();
    let repo = init(&t.path().join("app"));
    commit(&repo, "app.env", Some(&secret_line(SECRET_8Q)), "one");
    let (_, first, err) = scan(&t, &[]);
    assert_eq!(counts(&first), (1, 1), "{err}");
    // A new commit whose blob is missing from the object store.
    commit(&repo, "lost.txt", Some("this blob goes missing\n"), "two");
    let blob = git_cli(&repo, &["rev-parse", "HEAD:lost.txt"]);
    std::fs::remove_file(repo.join(".git/objects").join(&blob[..2]).join(&blob[2..])).unwrap();
    let (code, second, _) = scan(&t, &[]);
    assert_eq!((code, counts(&second).0), (2, 1));
    assert!(!second["summary"]["errors"].as_array().unwrap().is_empty(), "{second}");
    // Not recorded as complete: the next run walks the whole history again.
    let (_, third, _) = scan(&t, &[]);
    assert_eq!(counts(&third).0, 2);
}

/// A user rule (a new signature), so the rule set's version changes.
const EXTRA_RULE: &str = r#"
[[rules]]
id = "test.org.token"
name = "Org test token"
description = "A made-up token, so the rule set changes."
remediation = "Rotate it."
keywords = ["ORGTOK_"]
pattern = 'ORGTOK_([A-Z0-9]{20})'
confidence = "medium"
examples = ["ORGTOK_ABCDEFGHIJ0123456789"]
"#;
