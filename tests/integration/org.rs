//! Org scale (issue 12): several repositories in one run, failures counted, shards merged into
//! the single-process report, and the datastore (incremental re-scans, reports, triage).

use std::path::Path;

use crate::util::{
    SECRET_8Q, SECRET_8Q_2, TempTree, azleak, git_cli, json, json_without_elapsed, run,
};

/// A repository at `dir/name` with one commit holding `files`.
pub(crate) fn clone_at(dir: &Path, name: &str, files: &[(&str, &str)]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(&path).unwrap();
    git_cli(&path, &["init", "-q"]);
    for (file, contents) in files {
        std::fs::write(path.join(file), contents).unwrap();
    }
    git_cli(&path, &["add", "-A"]);
    git_cli(
        &path,
        &["-c", "commit.gpgsign=false", "commit", "-qm", "first", "--date=2024-01-01T00:00:00Z"],
    );
    path
}

fn commit(path: &Path, file: &str, contents: &str) {
    std::fs::write(path.join(file), contents).unwrap();
    git_cli(path, &["add", "-A"]);
    git_cli(path, &["-c", "commit.gpgsign=false", "commit", "-qm", "more"]);
}

fn secret_line(secret: &str) -> String {
    format!("AZURE_CLIENT_SECRET={secret}\n")
}

/// Three clones: `a` with an origin URL carrying a token, `b` without a remote, `c` clean.
fn three_clones(t: &TempTree) {
    let clones = t.path().join("clones");
    let a = clone_at(&clones, "a", &[("app.env", &secret_line(SECRET_8Q))]);
    git_cli(&a, &["remote", "add", "origin", "https://ci:tok3n@github.com/org/a.git"]);
    clone_at(&clones, "b", &[("x.env", &secret_line(SECRET_8Q_2))]);
    clone_at(&clones, "c", &[("README", "nothing here\n")]);
}

#[test]
fn every_format_names_the_repository_of_each_finding_from_a_directory_of_clones() {
    let t = TempTree::new();
    three_clones(&t);
    let (code, out, err) =
        run(azleak(t.path()).args(["git", "--repos-dir", "clones", "-f", "json"]));
    assert_eq!(code, 1, "{err}");
    let doc = json(&out);
    let repos: Vec<(&str, &str)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["repository"].as_str().unwrap(), f["path"].as_str().unwrap()))
        .collect();
    // The origin URL without its token; a clone without a remote by its path.
    assert_eq!(repos, [("clones/b", "x.env"), ("https://github.com/org/a.git", "app.env")]);
    assert_eq!(doc["summary"]["repositories"], 3);
    assert_eq!(doc["summary"]["repositories_failed"], 0);
    assert_eq!(doc["summary"]["commits"], 3);

    let text = run(azleak(t.path()).args(["git", "--repos-dir", "clones"])).1;
    assert!(
        text.contains("https://github.com/org/a.git: app.env:1:21: azure.entra.client-secret"),
        "{text}"
    );
    assert!(text.contains("clones/b: x.env:1:21:"), "{text}");
    let sarif =
        json(&run(azleak(t.path()).args(["git", "--repos-dir", "clones", "-f", "sarif"])).1);
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[1]["properties"]["repository"], "https://github.com/org/a.git");
    assert_eq!(
        results[1]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "app.env"
    );
    let github = run(azleak(t.path()).args(["git", "--repos-dir", "clones", "-f", "github"])).1;
    assert!(github.contains("In repository clones/b."), "{github}");
    for output in [&out, &text, &sarif.to_string(), &github] {
        assert!(!output.contains("tok3n"), "the remote's token leaked:\n{output}");
        assert!(!output.contains(SECRET_8Q), "a secret leaked:\n{output}");
    }
}

#[test]
fn a_repository_that_cannot_be_scanned_is_reported_and_counted_and_the_others_go_on() {
    let t = TempTree::new();
    three_clones(&t);
    std::fs::create_dir_all(t.path().join("not-a-repo")).unwrap();
    t.file("list.txt", "# nightly\nclones/a\n\nmissing\nnot-a-repo\nclones/c\n");
    let (code, out, err) = run(azleak(t.path()).args(["git", "--repos", "list.txt", "-f", "json"]));
    // Findings, but two repositories were left unscanned: exit 2.
    assert_eq!(code, 2, "{err}");
    let doc = json(&out);
    assert_eq!(doc["findings"].as_array().unwrap().len(), 1);
    assert_eq!(doc["summary"]["repositories"], 2);
    assert_eq!(doc["summary"]["repositories_failed"], 2);
    let errors: Vec<&str> = doc["summary"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(errors, ["missing", "not-a-repo"]);
    assert!(err.contains("azleak: missing: no such directory"), "{err}");
    assert!(err.contains("not-a-repo"), "{err}");
    let (_, text, _) = run(azleak(t.path()).args(["git", "--repos", "list.txt"]));
    assert!(
        text.contains("azleak: 2 repositories (2 more could not be scanned), 2 commits"),
        "{text}"
    );

    // The same list on standard input.
    let (code, out, _) = run(azleak(t.path())
        .args(["git", "--repos", "-", "-f", "json"])
        .write_stdin("clones/a\nclones/b\n"));
    assert_eq!(code, 1);
    assert_eq!(json(&out)["findings"].as_array().unwrap().len(), 2);
}

#[test]
fn four_shards_merged_give_the_report_of_one_process() {
    let t = TempTree::new();
    let clones = t.path().join("clones");
    for i in 0..12 {
        let secret = if i % 2 == 0 { SECRET_8Q } else { SECRET_8Q_2 };
        let path = clone_at(&clones, &format!("r{i:02}"), &[("app.env", &secret_line(secret))]);
        commit(&path, &format!("more{i}.env"), &secret_line(SECRET_8Q));
    }
    let (code, single, _) =
        run(azleak(t.path()).args(["git", "--repos-dir", "clones", "-f", "json"]));
    assert_eq!(code, 1);
    let mut parts = Vec::new();
    let mut sizes = Vec::new();
    for k in 1..=4 {
        let out = format!("shard-{k}.json");
        let (code, _, err) = run(azleak(t.path()).args([
            "git",
            "--repos-dir",
            "clones",
            "-f",
            "json",
            "-o",
            &out,
            "--shard",
            &format!("{k}/4"),
        ]));
        assert!(code == 0 || code == 1, "{err}");
        sizes.push(
            json(&std::fs::read_to_string(t.path().join(&out)).unwrap())["summary"]["repositories"]
                .as_u64()
                .unwrap(),
        );
        parts.push(out);
    }
    // Every repository in exactly one shard.
    assert_eq!(sizes.iter().sum::<u64>(), 12, "{sizes:?}");
    let mut merge = azleak(t.path());
    merge.arg("merge").args(&parts);
    let (code, merged, err) = run(&mut merge);
    assert_eq!(code, 1, "{err}");
    assert_eq!(json_without_elapsed(&merged), json_without_elapsed(&single));
    assert_eq!(json(&single)["findings"].as_array().unwrap().len(), 24);
    // One SARIF from the shards, as the merge job of a CI matrix uploads it.
    let mut merge = azleak(t.path());
    merge.args(["merge", "--format", "sarif"]).args(&parts);
    let (code, sarif, err) = run(&mut merge);
    assert_eq!(code, 1, "{err}");
    let sarif = json(&sarif);
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 24);
    let single_doc = json(&single);
    let single_fps: Vec<&str> = single_doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["fingerprint"].as_str().unwrap())
        .collect();
    let sarif_fps: Vec<&str> =
        results.iter().map(|r| r["properties"]["fingerprint"].as_str().unwrap()).collect();
    assert_eq!(sarif_fps, single_fps);
    assert!(results.iter().all(|r| r["properties"]["repository"].is_string()));

    // Kubernetes Indexed Jobs: JOB_COMPLETION_INDEX 2 of --shard-count 4 is shard 3/4.
    let (_, indexed, _) = run(azleak(t.path())
        .args(["git", "--repos-dir", "clones", "-f", "json", "--shard-count", "4"])
        .env("JOB_COMPLETION_INDEX", "2"));
    let third = std::fs::read_to_string(t.path().join("shard-3.json")).unwrap();
    assert_eq!(json_without_elapsed(&indexed), json_without_elapsed(&third));
    let (code, _, err) = run(azleak(t.path())
        .args(["git", "--repos-dir", "clones", "--shard-count", "4"])
        .env("JOB_COMPLETION_INDEX", "4"));
    assert_eq!(code, 2);
    assert!(err.contains("JOB_COMPLETION_INDEX=\"4\" is not an index from 0 to 3"), "{err}");
}

#[test]
fn merge_refuses_reports_of_different_kinds_and_names_the_file() {
    let t = TempTree::new();
    t.file("a.json", r#"{"version":2,"tool":{"name":"azleak","version":"0.1.0"},"scan":"history","min_confidence":"medium","findings":[],"summary":{"files":0}}"#);
    t.file("b.json", r#"{"version":2,"tool":{"name":"azleak","version":"0.1.0"},"scan":"files","min_confidence":"medium","findings":[],"summary":{"files":0}}"#);
    t.file("c.json", "not json");
    let (code, _, err) = run(azleak(t.path()).args(["merge", "a.json", "b.json"]));
    assert_eq!(code, 2);
    assert!(
        err.contains("b.json: scan is \"files\", but the first report's is \"history\""),
        "{err}"
    );
    let (code, _, err) = run(azleak(t.path()).args(["merge", "a.json", "c.json"]));
    assert_eq!(code, 2);
    assert!(err.contains("c.json: not an azleak JSON report"), "{err}");
}

fn files_scanned(out: &str) -> u64 {
    json(out)["summary"]["files"].as_u64().unwrap()
}

fn fingerprints(out: &str) -> Vec<String> {
    json(out)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["fingerprint"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_datastore_rescan_reads_only_new_blobs_and_reports_and_triage_work_from_the_store() {
    let t = TempTree::new();
    let repo = clone_at(t.path(), "app", &[("app.env", &secret_line(SECRET_8Q)), ("b.txt", "x\n")]);
    let scan = |extra: &[&str]| {
        let mut cmd = azleak(t.path());
        cmd.args(["git", "app", "--datastore", "azleak.db", "-f", "json"]).args(extra);
        run(&mut cmd)
    };
    let (code, first, err) = scan(&[]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(files_scanned(&first), 2);
    // Nothing changed: no blob is read again, and nothing new is found.
    let (code, second, _) = scan(&[]);
    assert_eq!((code, files_scanned(&second), fingerprints(&second).len()), (0, 0, 0));
    // One new blob with a new secret: only it is read.
    commit(&repo, "new.env", &secret_line(SECRET_8Q_2));
    let (code, third, _) = scan(&[]);
    assert_eq!((code, files_scanned(&third)), (1, 1));
    // New rules: every blob is scanned again.
    t.file("rules/extra.toml", EXTRA_RULE);
    let (_, fourth, err) = scan(&["--rules", "rules/extra.toml"]);
    assert_eq!(files_scanned(&fourth), 3, "{err}");

    let report = |extra: &[&str]| {
        let mut cmd = azleak(t.path());
        cmd.args(["report", "--datastore", "azleak.db", "-f", "json"]).args(extra);
        run(&mut cmd)
    };
    let (code, all, err) = report(&[]);
    assert_eq!(code, 1, "{err}");
    let all_fps = fingerprints(&all);
    assert_eq!(all_fps.len(), 2, "{all}");
    assert_eq!(json(&all)["findings"][0]["repository"], "app");
    // New since run 1: only the secret committed later.
    let (_, new, _) = report(&["--new-since", "1"]);
    assert_eq!(json(&new)["findings"][0]["path"], "new.env");
    assert_eq!(fingerprints(&new).len(), 1);
    let (_, none, _) = report(&["--new-since", "2999-01-01"]);
    assert!(fingerprints(&none).is_empty());

    // Triage the first finding: default reports show only open findings.
    let first_fp = fingerprints(&first)[0].clone();
    let (code, out, err) = run(azleak(t.path()).args([
        "triage",
        &first_fp,
        "--status",
        "false-positive",
        "--note",
        "test value",
        "--datastore",
        "azleak.db",
    ]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("1 fingerprint marked false-positive"), "{out}");
    let (_, open, _) = report(&[]);
    assert_eq!(
        fingerprints(&open),
        all_fps.iter().filter(|f| **f != first_fp).cloned().collect::<Vec<_>>()
    );
    let (_, everything, _) = report(&["--status", "all"]);
    assert_eq!(fingerprints(&everything), all_fps);
    let (_, fps, _) = report(&["--status", "false-positive"]);
    assert_eq!(fingerprints(&fps), std::slice::from_ref(&first_fp));
    // Triage from a report file.
    t.file("r.json", &all);
    let (code, out, _) = run(azleak(t.path()).args([
        "triage",
        "--from",
        "r.json",
        "--status",
        "rotated",
        "--datastore",
        "azleak.db",
    ]));
    assert_eq!(code, 0);
    assert!(out.contains("2 fingerprints marked rotated"), "{out}");
    let (code, open, _) = report(&[]);
    assert_eq!((code, fingerprints(&open).len()), (0, 0));

    // No raw secret in the store (it was not scanned with --show-secrets).
    let bytes = std::fs::read(t.path().join("azleak.db")).unwrap();
    for secret in [SECRET_8Q, SECRET_8Q_2] {
        assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "raw secret stored");
    }
    // Text and SARIF render from the store too.
    let (_, text, _) =
        run(azleak(t.path()).args(["report", "--datastore", "azleak.db", "--status", "all"]));
    assert!(text.contains("app: app.env:1:21: azure.entra.client-secret"), "{text}");
}

#[test]
fn a_datastore_with_show_secrets_keeps_the_secret_for_later_reports() {
    let t = TempTree::new();
    clone_at(t.path(), "app", &[("app.env", &secret_line(SECRET_8Q))]);
    let (code, _, err) =
        run(azleak(t.path()).args(["git", "app", "--datastore", "s.db", "--show-secrets"]));
    assert_eq!(code, 1, "{err}");
    let (_, shown, _) = run(azleak(t.path()).args([
        "report",
        "--datastore",
        "s.db",
        "-f",
        "json",
        "--show-secrets",
    ]));
    assert_eq!(json(&shown)["findings"][0]["secret"], SECRET_8Q);
    let (_, hidden, _) =
        run(azleak(t.path()).args(["report", "--datastore", "s.db", "-f", "json"]));
    assert_eq!(json(&hidden)["findings"][0]["secret"], "zzz…");
    assert!(!hidden.contains(SECRET_8Q));
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
