//! Baselines: accept today's findings once, then fail only on new ones. Entries are keyed by the
//! (rule, path, secret) fingerprint, so moving a line keeps a finding known while the same
//! secret in a new file is new; stale entries are counted and pruned; the file holds no secret.

use crate::util::{SECRET_8Q, SECRET_8Q_2, TempTree, azleak, json, run};

const BASELINE: &str = "azleak-baseline.json";

fn scan(t: &TempTree, extra: &[&str]) -> (i32, serde_json::Value, String) {
    let (code, out, err) =
        run(azleak(t.path()).args(["scan", "--format", "json"]).args(extra).arg("."));
    assert!(code == 0 || code == 1, "exit {code}\n{out}\n{err}");
    (code, json(&out), err)
}

fn baseline_json(t: &TempTree) -> serde_json::Value {
    json(&std::fs::read_to_string(t.path().join(BASELINE)).expect("baseline written"))
}

fn paths(doc: &serde_json::Value) -> Vec<String> {
    doc["findings"].as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap().into()).collect()
}

/// A tree with one known secret in `app.env` and a baseline of it.
fn baselined() -> TempTree {
    let t = TempTree::new();
    t.file("app.env", format!("# settings\nAZURE_CLIENT_SECRET={SECRET_8Q}\n"));
    t.file("keep.json", format!("{{\"ClientSecret\": \"{SECRET_8Q_2}\"}}\n"));
    let (code, doc, err) = scan(&t, &["--write-baseline", BASELINE]);
    assert_eq!(code, 0, "writing a baseline accepts every finding");
    assert_eq!(doc["findings"].as_array().unwrap().len(), 0);
    assert_eq!(doc["summary"]["in_baseline"], 2);
    assert!(err.contains("recorded 2 entries in baseline azleak-baseline.json"), "{err}");
    t
}

#[test]
fn written_baseline_holds_no_secret_and_no_line() {
    let t = baselined();
    let bytes = std::fs::read(t.path().join(BASELINE)).expect("baseline");
    let text = String::from_utf8(bytes).expect("utf-8");
    assert!(!text.contains(SECRET_8Q) && !text.contains(SECRET_8Q_2), "{text}");
    assert!(!text.contains(&SECRET_8Q[3..20]) && !text.contains(&SECRET_8Q_2[3..20]), "{text}");
    for key in ["\"line\"", "\"column\"", "\"commit\"", "\"secret\""] {
        assert!(!text.contains(key), "{key} in {text}");
    }
    let doc = baseline_json(&t);
    assert_eq!(doc["version"], 2);
    let entries = doc["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 2);
    let e = &entries[0];
    assert_eq!(e["path"], "app.env");
    assert_eq!(e["rule_id"], "azure.entra.client-secret");
    assert_eq!(e["hint"], "zzz…");
    assert_eq!(e["fingerprint"].as_str().unwrap().len(), 32);
    let date = e["first_seen"].as_str().unwrap();
    assert!(date.len() == 10 && date.as_bytes()[4] == b'-' && date.as_bytes()[7] == b'-', "{date}");
    let keys: Vec<&String> = e.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["fingerprint", "first_seen", "hint", "path", "rule_id"]);
    // Writing again from the same findings gives the same bytes.
    scan(&t, &["--write-baseline", BASELINE]);
    assert_eq!(std::fs::read_to_string(t.path().join(BASELINE)).unwrap(), text);
}

#[test]
fn scanning_again_with_the_baseline_reports_nothing_new() {
    let t = baselined();
    let (code, doc, _) = scan(&t, &["--baseline", BASELINE]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["summary"]["in_baseline"], 2);
    assert_eq!(doc["summary"]["stale_baseline"], 0);
    let (code, out, _) =
        run(azleak(t.path()).args(["scan", "--color", "never", "--baseline", BASELINE, "."]));
    assert_eq!(code, 0);
    assert!(out.contains(", 0 findings, 2 in baseline, "), "{out}");
}

#[test]
fn a_moved_secret_is_still_known() {
    let t = baselined();
    t.file("app.env", format!("# settings\n\n\nOTHER=1\n   AZURE_CLIENT_SECRET={SECRET_8Q}\n"));
    let (code, doc, _) = scan(&t, &["--baseline", BASELINE]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["summary"]["in_baseline"], 2);
}

#[test]
fn the_same_secret_in_a_new_file_is_new() {
    let t = baselined();
    t.file("copy/app.env", format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n"));
    let (code, doc, _) = scan(&t, &["--baseline", BASELINE]);
    assert_eq!(code, 1);
    assert_eq!(paths(&doc), ["copy/app.env"]);
    assert_eq!(doc["summary"]["in_baseline"], 2);
}

#[test]
fn a_new_secret_in_a_known_file_is_new() {
    let t = baselined();
    t.file("app.env", format!("AZURE_CLIENT_SECRET={SECRET_8Q}\nOTHER={SECRET_8Q_2}\n"));
    let (code, doc, _) = scan(&t, &["--baseline", BASELINE]);
    assert_eq!(code, 1);
    assert_eq!(doc["findings"][0]["line"], 2);
}

#[test]
fn removed_secrets_are_stale_and_pruned() {
    let t = baselined();
    t.file("keep.json", "{}\n");
    let (code, doc, _) = scan(&t, &["--baseline", BASELINE]);
    assert_eq!(code, 0);
    assert_eq!(doc["summary"]["stale_baseline"], 1);
    assert_eq!(doc["summary"]["in_baseline"], 1);
    let (code, out, _) =
        run(azleak(t.path()).args(["scan", "--color", "never", "--baseline", BASELINE, "."]));
    assert_eq!(code, 0);
    assert!(out.contains("1 in baseline, 1 stale baseline entries"), "{out}");

    let (code, doc, err) = scan(&t, &["--baseline", BASELINE, "--prune-baseline"]);
    assert_eq!(code, 0);
    assert!(err.contains("pruned 1 stale entry from baseline azleak-baseline.json"), "{err}");
    assert_eq!(doc["summary"]["stale_baseline"], 1);
    let entries = baseline_json(&t)["entries"].as_array().unwrap().clone();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["path"], "app.env");
    let (_, doc, _) = scan(&t, &["--baseline", BASELINE]);
    assert_eq!(doc["summary"]["stale_baseline"], 0);
}

#[test]
fn scanning_a_subdirectory_does_not_make_the_rest_stale() {
    let t = TempTree::new();
    // The repository root (where baseline paths start) is found by its .git.
    std::fs::create_dir(t.path().join(".git")).unwrap();
    t.file("a/one.env", format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n"));
    t.file("b/two.env", format!("AZURE_CLIENT_SECRET={SECRET_8Q_2}\n"));
    scan(&t, &["--write-baseline", BASELINE]);
    t.file("a/one.env", "gone\n");
    let (code, out, err) = run(azleak(t.path()).args([
        "scan",
        "--format",
        "json",
        "--baseline",
        BASELINE,
        "--prune-baseline",
        "b",
    ]));
    assert_eq!(code, 0, "{err}");
    let doc = json(&out);
    assert_eq!(doc["summary"]["stale_baseline"], 0, "a/ was not scanned");
    assert_eq!(baseline_json(&t)["entries"].as_array().unwrap().len(), 2);
    let (_, doc, _) = scan(&t, &["--baseline", BASELINE]);
    assert_eq!(doc["summary"]["stale_baseline"], 1);
}

#[test]
fn first_seen_dates_survive_rewrites() {
    let t = baselined();
    let text = std::fs::read_to_string(t.path().join(BASELINE)).unwrap();
    let today = baseline_json(&t)["entries"][0]["first_seen"].as_str().unwrap().to_string();
    std::fs::write(t.path().join(BASELINE), text.replace(&today, "2020-01-02")).unwrap();
    t.file("new.env", format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n"));
    scan(&t, &["--write-baseline", BASELINE]);
    let doc = baseline_json(&t);
    let dates: Vec<(&str, &str)> = doc["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["path"].as_str().unwrap(), e["first_seen"].as_str().unwrap()))
        .collect();
    assert_eq!(
        dates,
        [("app.env", "2020-01-02"), ("keep.json", "2020-01-02"), ("new.env", today.as_str())]
    );
}

#[test]
fn fingerprints_do_not_depend_on_where_azleak_runs() {
    let t = baselined();
    std::fs::create_dir(t.path().join("sub")).unwrap();
    let (code, out, err) = run(azleak(&t.path().join("sub")).args([
        "scan",
        "--format",
        "json",
        "--baseline",
        "../azleak-baseline.json",
        "..",
    ]));
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(json(&out)["summary"]["in_baseline"], 2);
}

#[test]
fn a_missing_or_broken_baseline_is_an_error_naming_it() {
    let t = TempTree::new();
    let (code, _, err) = run(azleak(t.path()).args(["scan", "--baseline", "nope.json", "."]));
    assert_eq!(code, 2);
    assert!(err.contains("cannot read baseline nope.json"), "{err}");
    t.file("bad.json", "{\n  \"version\": 2,\n  \"entries\": []\n}\n");
    let (code, _, err) = run(azleak(t.path()).args(["scan", "--baseline", "bad.json", "."]));
    assert_eq!(code, 2);
    assert!(err.contains("baseline bad.json:4:1: missing field `tool`"), "{err}");
}

#[test]
fn pruning_needs_a_whole_scan() {
    let t = baselined();
    let (code, _, err) = run(azleak(t.path())
        .args(["scan", "--baseline", BASELINE, "--prune-baseline", "-"])
        .write_stdin("nothing here\n"));
    assert_eq!(code, 2);
    assert!(err.contains("--prune-baseline needs a scan of the whole repository"), "{err}");
}

#[test]
fn writing_a_baseline_for_a_subdirectory_keeps_the_other_entries() {
    let t = TempTree::new();
    std::fs::create_dir(t.path().join(".git")).unwrap();
    t.file("a/one.env", format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n"));
    t.file("b/two.env", format!("AZURE_CLIENT_SECRET={SECRET_8Q_2}\n"));
    scan(&t, &["--write-baseline", BASELINE]);
    t.file("b/two.env", "gone\n");
    t.file("b/three.env", format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n"));
    let (code, _, err) =
        run(azleak(t.path()).args(["scan", "--quiet", "--write-baseline", BASELINE, "b"]));
    assert_eq!((code, err.as_str()), (0, ""));
    let doc = baseline_json(&t);
    let paths: Vec<&str> =
        doc["entries"].as_array().unwrap().iter().map(|e| e["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["a/one.env", "b/three.env"], "b/two.env is gone, a/ was not scanned");
}

#[cfg(unix)]
#[test]
fn baseline_behind_a_symlink_is_written_through_the_link() {
    let t = TempTree::new();
    t.file("app.env", format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n"));
    std::fs::create_dir(t.path().join("shared")).expect("dir");
    // The link's target does not exist yet: writing creates it.
    std::os::unix::fs::symlink("shared/real.json", t.path().join(BASELINE)).expect("symlink");
    let (code, _, err) = scan(&t, &["--write-baseline", BASELINE]);
    assert_eq!(code, 0, "{err}");
    let link = std::fs::symlink_metadata(t.path().join(BASELINE)).expect("link");
    assert!(link.file_type().is_symlink(), "the link must not be replaced by a file");
    let written = std::fs::read_to_string(t.path().join("shared/real.json")).expect("target");
    assert!(written.contains("azure.entra.client-secret") && !written.contains(SECRET_8Q));
}

#[test]
fn a_baseline_from_another_version_is_refused_for_its_version_not_its_fields() {
    let t = TempTree::new();
    t.file("app.env", format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n"));
    // A future format with a field this version does not know.
    t.file(
        "future.json",
        r#"{"version": 3, "tool": "azleak", "generated": "2030-01-01", "entries": []}"#,
    );
    for flag in ["--baseline", "--write-baseline"] {
        let (code, _, err) = run(azleak(t.path()).args(["scan", ".", flag, "future.json"]));
        assert_eq!(code, 2, "{flag}: {err}");
        assert!(
            err.contains("future.json") && err.contains("version 3 is not supported"),
            "{flag}: {err}"
        );
    }
}

#[cfg(unix)]
#[test]
fn a_written_baseline_has_the_permissions_of_an_ordinary_file_or_keeps_its_own() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).expect("stat").permissions().mode();
    let t = TempTree::new();
    t.file("app.env", format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n"));
    // What the umask gives any new file.
    let ordinary = t.file("ordinary.txt", "x");
    let (code, _, _) = scan(&t, &["--write-baseline", BASELINE]);
    assert_eq!(code, 0);
    let baseline = t.path().join(BASELINE);
    assert_eq!(mode(&baseline) & 0o777, mode(&ordinary) & 0o777, "a new baseline");
    // An existing baseline keeps its mode when it is rewritten.
    std::fs::set_permissions(&baseline, std::fs::Permissions::from_mode(0o664)).expect("chmod");
    let (code, _, _) = scan(&t, &["--write-baseline", BASELINE]);
    assert_eq!(code, 0);
    assert_eq!(mode(&baseline) & 0o777, 0o664, "a rewritten baseline");
}
