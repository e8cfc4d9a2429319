//! `azleak git`: history, range and staged scans of real repositories built with git2 in
//! temporary directories, with exact findings and attribution.

use std::path::Path;

use git2::Oid;
use serde_json::Value;

use crate::util::{
    ALICE, BOB, SECRET_7Q, SECRET_8Q, SECRET_8Q_2, SECRET_LEGACY, TempRepo, azleak, json, run,
};

/// Runs `azleak git ARGS --format json` in `dir`; returns the exit code and the document.
fn git_json(dir: &Path, args: &[&str]) -> (i32, Value) {
    let (code, stdout, stderr) = run(azleak(dir).arg("git").args(args).args(["--format", "json"]));
    assert!(code == 0 || code == 1 || code == 2, "exit {code}\n{stderr}");
    (code, json(&stdout))
}

/// (rule, path, line, commit) of each finding, in report order.
fn rows(doc: &Value) -> Vec<(String, String, u64, String)> {
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap_or_default().to_string(),
                f["path"].as_str().unwrap_or_default().to_string(),
                f["line"].as_u64().unwrap_or_default(),
                f["commit"]["commit"].as_str().unwrap_or("-").to_string(),
            )
        })
        .collect()
}

fn row(rule: &str, path: &str, line: u64, commit: Oid) -> (String, String, u64, String) {
    (rule.to_string(), path.to_string(), line, commit.to_string())
}

/// A staged-scan row: no commit.
fn staged_row(rule: &str, path: &str, line: u64) -> (String, String, u64, String) {
    (rule.to_string(), path.to_string(), line, "-".to_string())
}

const HIGH: &str = "azure.entra.client-secret";
const SEVEN: &str = "azure.entra.client-secret.7q";
const LEGACY: &str = "azure.entra.client-secret.legacy";

fn env_line(secret: &str) -> String {
    format!("AZURE_CLIENT_SECRET=\"{secret}\"\n")
}

#[test]
fn history_attributes_a_secret_to_the_commit_that_introduced_it() {
    let r = TempRepo::new();
    let c1 = r.snapshot(Some("refs/heads/main"), &[], &[("README.md", "# app\n")], "init");
    let env = format!("DEBUG=1\n{}", env_line(SECRET_8Q));
    let c2 = r.snapshot_by(
        BOB,
        Some("refs/heads/main"),
        &[c1],
        &[("README.md", "# app\n"), ("config/app.env", &env)],
        "Add app settings\n\nwith a body",
    );
    let moved = format!("# settings\n{env}");
    let _c3 = r.snapshot(
        Some("refs/heads/main"),
        &[c2],
        &[("README.md", "# app\n"), ("config/app.env", &moved)],
        "Document settings",
    );
    let (code, doc) = git_json(r.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(rows(&doc), vec![row(HIGH, "config/app.env", 2, c2)]);
    let f = &doc["findings"][0];
    assert_eq!(f["column"], 22);
    assert_eq!(f["end_column"], 62);
    assert_eq!(f["secret"], "zzz…");
    assert_eq!(f["commit"]["author_name"], "Bob Builder");
    assert_eq!(f["commit"]["author_email"], "bob@example.com");
    assert_eq!(f["commit"]["date"], "2023-11-14T23:14:20+01:00");
    assert_eq!(f["commit"]["summary"], "Add app settings");
    assert!(f.get("group").is_none() && doc.get("groups").is_none(), "{f}");
    assert_eq!(doc["scan"], "history");
    // Three unique blobs (README and two versions of app.env), each read once.
    assert_eq!(doc["summary"]["files"], 3);
    assert_eq!(doc["summary"]["commits"], 3);
    assert_eq!(doc["summary"]["shallow"], false);
}

#[test]
fn a_secret_added_then_removed_is_still_found() {
    let r = TempRepo::new();
    let c1 = r.snapshot(
        Some("refs/heads/main"),
        &[],
        &[("deploy.py", &format!("import os\n{}", env_line(SECRET_8Q)))],
        "hard-code it",
    );
    let c2 = r.snapshot(Some("refs/heads/main"), &[c1], &[("deploy.py", "import os\n")], "oops");
    r.snapshot(Some("refs/heads/main"), &[c2], &[("deploy.py", "import os\n\n")], "tidy");
    let (code, doc) = git_json(r.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(rows(&doc), vec![row(HIGH, "deploy.py", 2, c1)]);
}

#[test]
fn the_same_secret_in_two_files_is_one_finding_per_path_listing_the_other() {
    let r = TempRepo::new();
    let yaml = format!("auth:\n  client_secret: {SECRET_8Q}\n");
    let c1 = r.snapshot(Some("refs/heads/main"), &[], &[("ci/pipeline.yaml", &yaml)], "ci");
    let sh = format!("#!/bin/sh\nexport {}", env_line(SECRET_8Q));
    let c2 = r.snapshot(
        Some("refs/heads/main"),
        &[c1],
        &[("ci/pipeline.yaml", &yaml), ("scripts/login.sh", &sh)],
        "script",
    );
    let (code, doc) = git_json(r.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(
        rows(&doc),
        vec![row(HIGH, "ci/pipeline.yaml", 2, c1), row(HIGH, "scripts/login.sh", 2, c2)]
    );
    // Both findings name one group, which lists each copy once.
    let group = doc["findings"][0]["group"].clone();
    assert!(group.is_string(), "{doc}");
    assert_eq!(doc["findings"][1]["group"], group);
    assert_eq!(doc["findings"][0]["copies"], 2);
    assert_eq!(
        doc["groups"],
        serde_json::json!([{"id": group, "rule_id": "azure.entra.client-secret", "copies": 2,
            "locations": [
                {"path": "ci/pipeline.yaml", "line": 2, "column": 18, "end_column": 58,
                    "commit": c1.to_string()},
                {"path": "scripts/login.sh", "line": 2, "column": 29, "end_column": 69,
                    "commit": c2.to_string()}]}])
    );
    let (_, text, _) = run(azleak(r.path()).args(["git", "--color", "never"]));
    assert!(text.contains("this secret appears in 2 places; also at:"), "{text}");
    assert!(
        text.contains(&format!("      scripts/login.sh:2:29 (commit {})", &c2.to_string()[..12]))
    );
}

#[test]
fn a_rename_keeps_the_original_commit_and_the_blob_is_scanned_once() {
    let r = TempRepo::new();
    let json_text = format!("{{\n  \"ClientSecret\": \"{SECRET_8Q}\"\n}}\n");
    let c1 = r.snapshot(Some("refs/heads/main"), &[], &[("old/settings.json", &json_text)], "add");
    let c2 =
        r.snapshot(Some("refs/heads/main"), &[c1], &[("new/settings.json", &json_text)], "move");
    let (code, doc) = git_json(r.path(), &[]);
    assert_eq!(code, 1);
    // One finding per path: the original path with its commit; the new path with the first
    // commit that had the secret there (the rename), each listing the other.
    assert_eq!(
        rows(&doc),
        vec![row(HIGH, "new/settings.json", 2, c2), row(HIGH, "old/settings.json", 2, c1)]
    );
    let locations = &doc["groups"][0]["locations"];
    assert_eq!(doc["findings"][0]["group"], doc["groups"][0]["id"]);
    assert_eq!(locations[1]["path"], "old/settings.json");
    assert_eq!(locations[1]["commit"], c1.to_string());
    assert_eq!(doc["summary"]["files"], 1, "the renamed blob is read once");
}

#[test]
fn merges_attribute_branch_secrets_to_the_branch_and_resolutions_to_the_merge() {
    let r = TempRepo::new();
    let base = r.snapshot(Some("refs/heads/main"), &[], &[("app.cfg", "x = 1\n")], "base");
    // A secret added on a feature branch, merged later: the branch commit introduced it.
    let feature = r.snapshot_by(
        BOB,
        Some("refs/heads/feature"),
        &[base],
        &[("app.cfg", "x = 2\n"), ("feature.env", &env_line(SECRET_8Q_2))],
        "feature work",
    );
    let main2 = r.snapshot(Some("refs/heads/main"), &[base], &[("app.cfg", "x = 3\n")], "main");
    // The conflict on app.cfg is resolved with a secret that neither parent has.
    let resolved = format!("x = 4\n{}", env_line(SECRET_8Q));
    let merge = r.snapshot(
        Some("refs/heads/main"),
        &[main2, feature],
        &[("app.cfg", &resolved), ("feature.env", &env_line(SECRET_8Q_2))],
        "Merge branch 'feature'",
    );
    let (code, doc) = git_json(r.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(
        rows(&doc),
        vec![row(HIGH, "app.cfg", 2, merge), row(HIGH, "feature.env", 1, feature)]
    );
    assert_eq!(doc["findings"][1]["commit"]["author_name"], "Bob Builder");
}

#[test]
fn every_ref_is_walked_branches_tags_remotes_and_stash() {
    let r = TempRepo::new();
    let base = r.snapshot(Some("refs/heads/main"), &[], &[("a.txt", "a\n")], "base");
    let branch = r.snapshot(
        Some("refs/heads/feature/poc"),
        &[base],
        &[("a.txt", "a\n"), ("poc.env", &env_line(SECRET_8Q))],
        "poc",
    );
    // Only reachable from an annotated tag (its branch is gone).
    let tagged = r.snapshot(
        None,
        &[base],
        &[("a.txt", "a\n"), ("hotfix.env", &env_line(SECRET_8Q_2))],
        "hotfix",
    );
    let object = r.repo.find_object(tagged, None).expect("object");
    let sig = git2::Signature::new(ALICE.0, ALICE.1, &git2::Time::new(1_700_000_000, 0)).unwrap();
    r.repo.tag("v1.0.1-hotfix", &object, &sig, "hotfix", false).expect("tag");
    // Only reachable from a remote-tracking branch.
    let remote = r.snapshot(
        Some("refs/remotes/origin/wip"),
        &[base],
        &[("a.txt", "a\n"), ("wip.py", &format!("CLIENT_SECRET = \"{SECRET_7Q}\"\n"))],
        "wip",
    );
    // Only reachable from the stash.
    let stash = r.snapshot(
        Some("refs/stash"),
        &[base],
        &[("a.txt", "a\n"), ("stash.env", &env_line(SECRET_LEGACY))],
        "WIP on main",
    );
    let (code, doc) = git_json(r.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(
        rows(&doc),
        vec![
            row(HIGH, "hotfix.env", 1, tagged),
            row(HIGH, "poc.env", 1, branch),
            row(LEGACY, "stash.env", 1, stash),
            row(SEVEN, "wip.py", 1, remote),
        ]
    );
    assert_eq!(doc["summary"]["commits"], 5);
}

#[test]
fn binary_blobs_are_scanned_for_checksum_secrets_and_oversized_ones_skipped() {
    let r = TempRepo::new();
    let dll = format!("MZ\0\0{}\0", env_line(SECRET_8Q));
    let big = format!("{}{}", "#".repeat(200), env_line(SECRET_8Q_2));
    let c1 = r.snapshot(
        Some("refs/heads/main"),
        &[],
        &[("tools/Deploy.dll", &dll), ("big.env", &big), ("ok.txt", "fine\n")],
        "binaries",
    );
    let (code, doc) = git_json(r.path(), &["--max-file-size", "100"]);
    // Since issue #8 a binary blob is scanned for checksum-verified secrets.
    assert_eq!(code, 1);
    assert_eq!(doc["findings"][0]["path"], "tools/Deploy.dll");
    let short = &c1.to_string()[..12];
    assert_eq!(
        doc["summary"]["skipped"],
        serde_json::json!([
            {"path": format!("{short}:big.env"), "reason": "too-large"},
            {"path": format!("{short}:tools/Deploy.dll"), "reason": "binary"},
        ])
    );
    assert_eq!(doc["summary"]["files"], 2);
}

#[test]
fn submodules_are_listed_as_skipped_not_recursed() {
    let r = TempRepo::new();
    let c1 = r.snapshot(Some("refs/heads/main"), &[], &[("a.txt", "a\n")], "base");
    r.snapshot_with_gitlink(Some("refs/heads/main"), &[c1], &[("a.txt", "a\n")], "vendor/lib", c1);
    let (code, doc) = git_json(r.path(), &[]);
    assert_eq!(code, 0);
    assert_eq!(
        doc["summary"]["skipped"],
        serde_json::json!([{"path": "vendor/lib", "reason": "submodule"}])
    );
}

#[test]
fn an_empty_repository_is_not_an_error() {
    let r = TempRepo::new();
    let (code, doc) = git_json(r.path(), &[]);
    assert_eq!(code, 0);
    assert_eq!(rows(&doc), vec![]);
    assert_eq!(doc["summary"]["commits"], 0);
    let (code, doc) = git_json(r.path(), &["--staged"]);
    assert_eq!(code, 0);
    assert_eq!(rows(&doc), vec![]);
}

#[test]
fn a_missing_object_is_reported_with_its_id_and_the_scan_goes_on() {
    let r = TempRepo::new();
    let c1 = r.snapshot(
        Some("refs/heads/main"),
        &[],
        &[("lost.txt", "this blob will be deleted\n"), ("app.env", &env_line(SECRET_8Q))],
        "init",
    );
    let lost = r.repo.blob(b"this blob will be deleted\n").expect("blob id");
    let hex = lost.to_string();
    std::fs::remove_file(r.path().join(".git/objects").join(&hex[..2]).join(&hex[2..]))
        .expect("delete loose object");
    let (code, doc) = git_json(r.path(), &[]);
    assert_eq!(code, 1, "findings win over errors");
    assert_eq!(rows(&doc), vec![row(HIGH, "app.env", 1, c1)]);
    let errors = doc["summary"]["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{errors:?}");
    let short = &c1.to_string()[..12];
    assert_eq!(errors[0]["path"], format!("blob {hex} ({short}:lost.txt)"));

    // Nothing else found: exit 2, and the error is on standard error too.
    let r2 = TempRepo::new();
    r2.snapshot(Some("refs/heads/main"), &[], &[("lost.txt", "gone\n")], "init");
    let hex = r2.repo.blob(b"gone\n").expect("blob id").to_string();
    std::fs::remove_file(r2.path().join(".git/objects").join(&hex[..2]).join(&hex[2..]))
        .expect("delete loose object");
    let (code, _, stderr) = run(azleak(r2.path()).arg("git"));
    assert_eq!(code, 2);
    assert!(stderr.contains(&format!("blob {hex}")), "{stderr}");
}

#[test]
fn a_missing_commit_is_reported_and_the_rest_of_history_is_scanned() {
    let r = TempRepo::new();
    let c1 = r.snapshot(Some("refs/heads/main"), &[], &[("a.txt", "1\n")], "one");
    let c2 = r.snapshot(Some("refs/heads/main"), &[c1], &[("a.txt", "2\n")], "two");
    let c3 = r.snapshot(
        Some("refs/heads/main"),
        &[c2],
        &[("a.txt", "2\n"), ("app.env", &env_line(SECRET_8Q))],
        "three",
    );
    let hex = c2.to_string();
    std::fs::remove_file(r.path().join(".git/objects").join(&hex[..2]).join(&hex[2..]))
        .expect("delete loose commit");
    let (code, doc) = git_json(r.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(rows(&doc), vec![row(HIGH, "app.env", 1, c3)]);
    let errors = doc["summary"]["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["path"], format!("commit {hex}"));
    // c1 is reachable only through the missing commit.
    assert_eq!(doc["summary"]["commits"], 1);
}

#[test]
fn a_shallow_clone_scans_what_is_there_and_says_so() {
    if std::process::Command::new("git").arg("--version").output().is_err() {
        println!("note: git CLI not found; shallow clone test skipped");
        return;
    }
    let r = TempRepo::new();
    let c1 = r.snapshot(
        Some("refs/heads/main"),
        &[],
        &[("a.env", &env_line(SECRET_8Q)), ("b.txt", "1\n")],
        "one",
    );
    let c2 = r.snapshot(
        Some("refs/heads/main"),
        &[c1],
        &[("a.env", &env_line(SECRET_8Q)), ("b.txt", "2\n")],
        "two",
    );
    let c3 = r.snapshot(
        Some("refs/heads/main"),
        &[c2],
        &[("a.env", &env_line(SECRET_8Q)), ("b.txt", "3\n"), ("c.env", &env_line(SECRET_8Q_2))],
        "three",
    );
    let clone = tempfile::tempdir().expect("temp dir");
    let dest = clone.path().join("shallow");
    let url = format!("file://{}", r.path().display());
    let status = std::process::Command::new("git")
        .args(["clone", "-q", "--depth", "2", "--branch", "main", &url])
        .arg(&dest)
        .status()
        .expect("git clone");
    assert!(status.success());
    let (code, doc) = git_json(&dest, &[]);
    assert_eq!(code, 1);
    // c1 is beyond the boundary: its secret is attributed to the oldest commit present.
    assert_eq!(rows(&doc), vec![row(HIGH, "a.env", 1, c2), row(HIGH, "c.env", 1, c3)]);
    assert_eq!(doc["summary"]["shallow"], true);
    assert_eq!(doc["summary"]["commits"], 2);
    let (_, text, _) = run(azleak(&dest).arg("git"));
    assert!(text.contains("2 commits (shallow clone: history before it is absent)"), "{text}");
}

#[test]
fn a_range_reports_only_what_its_commits_added() {
    let r = TempRepo::new();
    let old = env_line(SECRET_8Q);
    let base = r.snapshot(Some("refs/heads/main"), &[], &[("a.env", &old)], "base");
    // Main moves on with another secret after the branch point.
    let main2 = r.snapshot(
        Some("refs/heads/main"),
        &[base],
        &[("a.env", &old), ("main.env", &env_line(SECRET_LEGACY))],
        "main work",
    );
    // The branch edits a.env (keeping the old secret) and adds a 7Q~ secret there, adds a new
    // file with another secret, then merges main in.
    let edited = format!("# edited\n{old}CLIENT_SECRET = \"{SECRET_7Q}\"\n");
    let b1 = r.snapshot_by(
        BOB,
        Some("refs/heads/pr"),
        &[base],
        &[("a.env", &edited), ("new.yaml", &format!("client_secret: {SECRET_8Q_2}\n"))],
        "pr work",
    );
    r.snapshot(
        Some("refs/heads/pr"),
        &[b1, main2],
        &[
            ("a.env", &edited),
            ("new.yaml", &format!("client_secret: {SECRET_8Q_2}\n")),
            ("main.env", &env_line(SECRET_LEGACY)),
        ],
        "Merge branch 'main' into pr",
    );
    let (code, doc) = git_json(r.path(), &["--range", "main..pr"]);
    assert_eq!(code, 1);
    assert_eq!(rows(&doc), vec![row(SEVEN, "a.env", 3, b1), row(HIGH, "new.yaml", 1, b1)]);
    assert_eq!(doc["summary"]["commits"], 2);
    // The whole history has all four.
    let (_, doc) = git_json(r.path(), &[]);
    assert_eq!(rows(&doc).len(), 4);
    // A bad range is a usage error naming the range.
    let (code, _, stderr) = run(azleak(r.path()).args(["git", "--range", "main..nope"]));
    assert_eq!(code, 2);
    assert!(stderr.contains("main..nope"), "{stderr}");
}

#[test]
fn staged_reports_what_the_index_adds_not_head_nor_the_working_tree() {
    let r = TempRepo::new();
    r.write("app.env", &format!("A=1\n{}", env_line(SECRET_8Q)));
    r.stage("app.env");
    r.commit_staged("init");
    // Partially staged: one new secret staged, another only in the working tree.
    let staged = format!("A=1\n{}B=2\nCLIENT_SECRET = \"{SECRET_7Q}\"\n", env_line(SECRET_8Q));
    r.write("app.env", &staged);
    r.stage("app.env");
    r.write("app.env", &format!("{staged}{}", env_line(SECRET_8Q_2)));
    // A staged new file.
    r.write("functions/local.settings.json", &format!("{{\"ClientSecret\": \"{SECRET_8Q_2}\"}}\n"));
    r.stage("functions/local.settings.json");
    // An unstaged new file.
    r.write("notes.env", &env_line(SECRET_LEGACY));
    let (code, doc) = git_json(r.path(), &["--staged"]);
    assert_eq!(code, 1);
    assert_eq!(
        rows(&doc),
        vec![staged_row(SEVEN, "app.env", 4), staged_row(HIGH, "functions/local.settings.json", 1)]
    );
    assert_eq!(doc["scan"], "staged");
    assert_eq!(doc["summary"]["files"], 2);
}

#[test]
fn staged_works_before_the_first_commit() {
    let r = TempRepo::new();
    r.write("src/config.py", &format!("x = 1\n{}", env_line(SECRET_8Q)));
    r.stage("src/config.py");
    let (code, doc) = git_json(r.path(), &["--staged"]);
    assert_eq!(code, 1);
    assert_eq!(rows(&doc), vec![staged_row(HIGH, "src/config.py", 2)]);
}

#[test]
fn staged_ignores_a_pure_rename_of_a_committed_secret() {
    let r = TempRepo::new();
    r.write("old.env", &env_line(SECRET_8Q));
    r.stage("old.env");
    r.commit_staged("init");
    std::fs::rename(r.path().join("old.env"), r.path().join("new.env")).expect("rename");
    let mut index = r.repo.index().expect("index");
    index.remove_path(Path::new("old.env")).expect("git rm");
    index.add_path(Path::new("new.env")).expect("git add");
    index.write().expect("write index");
    let (code, doc) = git_json(r.path(), &["--staged"]);
    assert_eq!(code, 0, "{doc}");
}

#[test]
fn sarif_carries_commit_details_and_commit_free_fingerprints() {
    // The same content committed at different times (different commit ids, as after a rebase)
    // gives the same fingerprints.
    let mut fingerprints = Vec::new();
    for extra_commits in 0..2 {
        let r = TempRepo::new();
        let mut parents = Vec::new();
        for i in 0..extra_commits {
            let text = format!("{i}\n");
            parents = vec![r.snapshot(Some("refs/heads/main"), &parents, &[("x", &text)], "x")];
        }
        let yaml = format!("client_secret: {SECRET_8Q}\n");
        let c = r.snapshot(
            Some("refs/heads/main"),
            &parents,
            &[("a.yaml", &yaml), ("b.yaml", &yaml)],
            "secrets",
        );
        let (code, stdout, _) = run(azleak(r.path()).args(["git", "--format", "sarif"]));
        assert_eq!(code, 1);
        let sarif = json(&stdout);
        let results = sarif["runs"][0]["results"].as_array().expect("results").clone();
        assert_eq!(results.len(), 2);
        let first = &results[0];
        assert_eq!(first["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "a.yaml");
        assert_eq!(first["locations"][0]["physicalLocation"]["region"]["startLine"], 1);
        assert_eq!(first["properties"]["commit"], c.to_string());
        assert_eq!(first["properties"]["author"], "Alice Example");
        assert_eq!(first["properties"]["authorEmail"], "alice@example.com");
        assert!(first["properties"]["date"].as_str().is_some_and(|d| d.ends_with("+01:00")));
        assert_eq!(
            first["relatedLocations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "b.yaml"
        );
        assert_eq!(first["properties"]["copies"], 2);
        // The second copy's result points back to the first, which lists them all.
        assert_eq!(
            results[1]["relatedLocations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "a.yaml"
        );
        let invocation = &sarif["runs"][0]["invocations"][0]["properties"];
        assert_eq!(invocation["scanKind"], "history");
        assert_eq!(invocation["commitsScanned"], extra_commits + 1);
        assert_eq!(invocation["shallow"], false);
        fingerprints
            .push(results.iter().map(|r| r["partialFingerprints"].clone()).collect::<Vec<_>>());
    }
    assert_eq!(fingerprints[0], fingerprints[1]);
}

#[test]
fn help_describes_the_three_modes_and_staged_conflicts_with_range() {
    let r = TempRepo::new();
    let (code, help, _) = run(azleak(r.path()).args(["git", "--help"]));
    assert_eq!(code, 0);
    for needle in ["--range <BASE..HEAD>", "--staged", "[REPO]", "pre-commit", "pull request"] {
        assert!(help.contains(needle), "{needle} not in:\n{help}");
    }
    let (code, _, stderr) = run(azleak(r.path()).args(["git", "--staged", "--range", "a..b"]));
    assert_eq!(code, 2);
    assert!(stderr.contains("cannot be used with"), "{stderr}");
}

#[test]
fn not_a_repository_is_an_error_naming_the_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (code, _, stderr) = run(azleak(dir.path()).args(["git", "nowhere"]));
    assert_eq!(code, 2);
    assert!(stderr.contains("nowhere: cannot open git repository"), "{stderr}");
}

#[test]
fn history_findings_are_known_by_a_baseline_and_a_config_allowlist() {
    let r = TempRepo::new();
    let env = format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n");
    let c1 = r.snapshot(Some("refs/heads/main"), &[], &[("app.env", &env)], "Add settings");
    // Accept today's history once.
    let (code, _, stderr) =
        run(azleak(r.path()).args(["git", "--write-baseline", "azleak-baseline.json"]));
    assert_eq!(code, 0, "{stderr}");
    let baseline = std::fs::read_to_string(r.path().join("azleak-baseline.json")).expect("file");
    assert!(!baseline.contains(SECRET_8Q), "{baseline}");
    let (code, doc) = git_json(r.path(), &["--baseline", "azleak-baseline.json"]);
    assert_eq!((code, rows(&doc)), (0, vec![]));
    assert_eq!(doc["summary"]["in_baseline"], 1);
    // The same secret copied to a new file later is new, attributed to the commit that copied it.
    let c2 = r.snapshot(
        Some("refs/heads/main"),
        &[c1],
        &[("app.env", &env), ("deploy/job.sh", &env)],
        "Copy settings",
    );
    let (code, doc) = git_json(r.path(), &["--baseline", "azleak-baseline.json"]);
    assert_eq!(code, 1);
    assert_eq!(rows(&doc), vec![row(HIGH, "deploy/job.sh", 1, c2)]);
    // The repository's azleak.toml (at its root, read even when run from elsewhere) allowlists it.
    std::fs::write(r.path().join("azleak.toml"), "[allowlist]\npaths = [\"deploy/**\"]\n")
        .expect("write config");
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let repo = r.path().to_string_lossy().into_owned();
    let baseline = r.path().join("azleak-baseline.json").to_string_lossy().into_owned();
    let (code, doc) = git_json(elsewhere.path(), &[&repo, "--baseline", &baseline]);
    assert_eq!((code, rows(&doc)), (0, vec![]));
    assert_eq!(doc["summary"]["allowlisted"], 1);
}

/// `SECRET_B64=<base64 of the secret>`: found only by decoding.
fn base64_line(secret: &str) -> String {
    use base64::Engine;
    format!("SECRET_B64={}\n", base64::engine::general_purpose::STANDARD.encode(secret))
}

#[test]
fn staged_and_range_do_not_report_an_encoded_secret_the_file_already_had() {
    let r = TempRepo::new();
    r.write("app.env", &format!("A=1\n{}", base64_line(SECRET_8Q)));
    r.stage("app.env");
    let base = r.commit_staged("init");
    // Another line of the file changes; the encoded secret was already committed.
    r.write("app.env", &format!("A=2\n{}", base64_line(SECRET_8Q)));
    r.stage("app.env");
    let (code, doc) = git_json(r.path(), &["--staged"]);
    assert_eq!((code, rows(&doc)), (0, vec![]), "{doc}");
    r.commit_staged("edit");
    let range = format!("{base}..HEAD");
    let (code, doc) = git_json(r.path(), &["--range", &range]);
    assert_eq!((code, rows(&doc)), (0, vec![]), "{doc}");
    // A newly added encoded secret is still reported by both.
    r.write("app.env", &format!("A=2\n{}{}", base64_line(SECRET_8Q), base64_line(SECRET_8Q_2)));
    r.stage("app.env");
    let (code, doc) = git_json(r.path(), &["--staged"]);
    assert_eq!((code, rows(&doc)), (1, vec![staged_row(HIGH, "app.env", 3)]));
    let added = r.commit_staged("add another");
    let (code, doc) = git_json(r.path(), &["--range", &range]);
    assert_eq!((code, rows(&doc)), (1, vec![row(HIGH, "app.env", 3, added)]));
}

#[test]
fn history_reports_a_secret_copy_without_an_inline_allow_next_to_an_allowed_one() {
    let r = TempRepo::new();
    let allowed = format!("TEST_SECRET={SECRET_8Q} # azleak:allow\n");
    let c1 = r.snapshot(Some("refs/heads/main"), &[], &[("a.env", &allowed)], "test value");
    // The same value is later used for real, on another line of the same file, unmarked.
    let c2 = r.snapshot(
        Some("refs/heads/main"),
        &[c1],
        &[("a.env", &format!("{allowed}{}", env_line(SECRET_8Q)))],
        "use it",
    );
    let (code, doc) = git_json(r.path(), &[]);
    assert_eq!((code, rows(&doc)), (1, vec![row(HIGH, "a.env", 2, c2)]), "{doc}");
    // In one blob, too (a directory scan reports line 2).
    let r = TempRepo::new();
    let both = format!("{allowed}{}", env_line(SECRET_8Q));
    let c1 = r.snapshot(Some("refs/heads/main"), &[], &[("a.env", &both)], "both");
    let (code, doc) = git_json(r.path(), &[]);
    assert_eq!((code, rows(&doc)), (1, vec![row(HIGH, "a.env", 2, c1)]), "{doc}");
    // For audits (--no-inline-allow) the secret is attributed to where it first appeared.
    let (code, doc) = git_json(r.path(), &["--no-inline-allow"]);
    assert_eq!((code, rows(&doc)), (1, vec![row(HIGH, "a.env", 1, c1)]), "{doc}");
    // Only marked copies: allowed.
    let r = TempRepo::new();
    r.snapshot(Some("refs/heads/main"), &[], &[("a.env", &allowed)], "test value");
    let (code, doc) = git_json(r.path(), &[]);
    assert_eq!((code, &doc["summary"]["allowed_inline"]), (0, &Value::from(1)), "{doc}");
}

#[test]
fn a_secret_quoted_in_the_commit_message_is_redacted_in_every_format() {
    let r = TempRepo::new();
    let message = format!("Hardcode {SECRET_8Q} for the demo\n\nIt is {SECRET_8Q}.");
    r.snapshot(Some("refs/heads/main"), &[], &[("a.env", &env_line(SECRET_8Q))], &message);
    for format in ["text", "json", "sarif", "github"] {
        let (code, out, err) = run(azleak(r.path()).args(["git", "--format", format]));
        assert_eq!(code, 1, "{format}: {err}");
        assert!(!out.contains(SECRET_8Q) && !err.contains(SECRET_8Q), "{format}:\n{out}{err}");
    }
    let (_, doc) = git_json(r.path(), &[]);
    assert_eq!(doc["findings"][0]["commit"]["summary"], "Hardcode zzz… for the demo");
}

/// In a pre-commit hook of `git commit -a` or `git commit PATHS`, git commits a different index
/// than `.git/index` and names it in GIT_INDEX_FILE: that is the one to scan.
#[test]
fn staged_scans_the_index_named_by_git_index_file() {
    let r = TempRepo::new();
    r.write("a.env", "A=1\n");
    r.stage("a.env");
    r.commit_staged("init");
    // The index being committed holds the secret; .git/index does not (as in `git commit -a`).
    r.write("a.env", &env_line(SECRET_8Q));
    r.stage("a.env");
    let next = r.path().join(".git").join("next-index-1.lock");
    std::fs::copy(r.path().join(".git").join("index"), &next).expect("copy index");
    let head = r.repo.head().and_then(|h| h.peel_to_tree()).expect("HEAD tree");
    let mut index = r.repo.index().expect("index");
    index.read_tree(&head).expect("reset index");
    index.write().expect("write index");
    let (code, doc) = git_json(r.path(), &["--staged"]);
    assert_eq!((code, rows(&doc)), (0, vec![]), "{doc}");
    let (code, out, err) = run(azleak(r.path())
        .args(["git", "--staged", "--format", "json"])
        .env("GIT_INDEX_FILE", &next));
    assert_eq!(code, 1, "{err}");
    assert_eq!(rows(&json(&out)), vec![staged_row(HIGH, "a.env", 1)]);
}
