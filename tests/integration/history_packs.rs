//! Issue #13, the packed read path of history scans (blobs sized by their pack entry and read
//! in pack order): a packed history, with delta chains, gives exactly the findings and
//! attributions of the same history loose; oversized deltas are skipped by their header; a
//! corrupt pack entry and a corrupt loose object beside a pack are reported by id while
//! everything else is scanned. Packed trees give the paths and introducing commits of loose
//! ones; a corrupt packed tree is reported by id. (Tests from the branch i13-hist.)

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::util::{SECRET_8Q, SECRET_8Q_2, TempTree, azleak, git_cli, json, run};

const WATCHDOG: Duration = Duration::from_secs(60);

/// `azleak git ARGS -f json` in `dir`: exit code and document; no raw secret printed.
fn scan(dir: &Path, args: &[&str]) -> (i32, Value) {
    let (code, stdout, stderr) =
        run(azleak(dir).arg("git").args(args).args(["-f", "json"]).timeout(WATCHDOG));
    assert!(code == 0 || code == 1 || code == 2, "exit {code} (hang or crash?)\n{stderr}");
    for secret in [SECRET_8Q, SECRET_8Q_2] {
        assert!(!stdout.contains(secret) && !stderr.contains(secret), "raw secret printed");
    }
    (code, json(&stdout))
}

/// (path, summary of the introducing commit, line, column, rule) of every finding, sorted.
fn attributions(doc: &Value) -> Vec<(String, String, u64, u64, String)> {
    let mut out: Vec<_> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap_or("").to_string(),
                f["commit"]["summary"].as_str().unwrap_or("").to_string(),
                f["line"].as_u64().unwrap_or(0),
                f["column"].as_u64().unwrap_or(0),
                f["rule_id"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    out.sort();
    out
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

/// A history of 12 commits editing one large config file a little each time (so a repack
/// stores most versions as deltas of each other), with a secret added in commit 4 and a second
/// one in commit 9, and a file that appears once.
fn edited_history(t: &TempTree) -> &Path {
    let dir = t.path();
    git_cli(dir, &["init", "-q"]);
    let mut lines: Vec<String> = (0..3000).map(|i| format!("setting_{i} = value {i}")).collect();
    for round in 0..12 {
        lines[round * 200] = format!("setting_{} = changed in round {round}", round * 200);
        if round == 4 {
            lines[1500] = format!("client_secret = {SECRET_8Q}");
        }
        if round == 9 {
            lines[2900] = format!("other = {SECRET_8Q_2}");
        }
        std::fs::write(dir.join("app.conf"), lines.join("\n")).expect("write");
        if round == 2 {
            std::fs::write(dir.join("once.env"), format!("S={SECRET_8Q_2}\n")).expect("write");
        }
        git_cli(dir, &["add", "-A"]);
        git_cli(dir, &["commit", "-qm", &format!("round {round}")]);
    }
    dir
}

/// Packs every object, with long delta chains, and removes the loose copies.
fn repack(dir: &Path) {
    git_cli(dir, &["repack", "-adfq", "--depth=50", "--window=50"]);
    git_cli(dir, &["prune-packed"]);
}

/// The pack's entries from `git verify-pack -v`: (id, type, size, offset, delta depth).
fn pack_entries(dir: &Path) -> Vec<(String, String, u64, u64, u32)> {
    let pack_dir = dir.join(".git/objects/pack");
    let idx = std::fs::read_dir(&pack_dir)
        .expect("pack dir")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "idx"))
        .expect("an index");
    let text = git_cli(dir, &["verify-pack", "-v", &idx.to_string_lossy()]);
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 5 || f[0].len() != 40 {
                return None;
            }
            let depth = f.get(5).and_then(|d| d.parse().ok()).unwrap_or(0);
            Some((f[0].into(), f[1].into(), f[2].parse().ok()?, f[4].parse().ok()?, depth))
        })
        .collect()
}

#[test]
fn a_packed_history_with_delta_chains_gives_the_findings_of_the_loose_one() {
    let t = TempTree::new();
    let dir = edited_history(&t);
    let (loose_code, loose) = scan(dir, &[]);
    assert_eq!(loose_code, 1, "{loose}");
    repack(dir);
    let entries = pack_entries(dir);
    assert!(
        entries.iter().filter(|e| e.1 == "blob" && e.4 >= 5).count() >= 3,
        "the pack has blobs at the end of long delta chains: {entries:?}"
    );
    let loose_left = std::fs::read_dir(dir.join(".git/objects"))
        .expect("objects")
        .flatten()
        .filter(|e| e.file_name().len() == 2)
        .count();
    assert_eq!(loose_left, 0, "every object is packed");
    for threads in ["1", "2"] {
        let (code, packed) = scan(dir, &["-j", threads]);
        assert_eq!(code, 1, "{packed}");
        assert_eq!(attributions(&packed), attributions(&loose), "-j{threads}");
        assert_eq!(packed["summary"]["files"], loose["summary"]["files"]);
        assert_eq!(packed["summary"]["bytes"], loose["summary"]["bytes"]);
        assert_eq!(errors(&packed), Vec::<String>::new());
    }
    // Each secret with the commit that introduced it at its path.
    let found: Vec<(String, String, u64)> =
        attributions(&loose).into_iter().map(|f| (f.0, f.1, f.2)).collect();
    let expected =
        [("app.conf", "round 4", 1501), ("app.conf", "round 9", 2901), ("once.env", "round 2", 1)];
    let expected: Vec<(String, String, u64)> =
        expected.iter().map(|&(p, c, l)| (p.to_string(), c.to_string(), l)).collect();
    assert_eq!(found, expected);
}

#[test]
fn delta_chains_deeper_than_the_readers_cache_give_the_findings_of_the_loose_history() {
    // 150 versions of one file, a secret added in version 40 and another in version 120:
    // packed with chains up to 250 deep, longer than the 64 resolved objects a pack reader
    // keeps, so reading a blob walks back past what its worker has cached.
    let t = TempTree::new();
    let dir = t.path();
    git_cli(dir, &["init", "-q"]);
    let mut lines: Vec<String> = (0..2000).map(|i| format!("setting_{i} = value {i}")).collect();
    for round in 0..150 {
        lines[(round * 13) % 2000] = format!("setting = changed in round {round}");
        if round == 40 {
            lines[1999] = format!("client_secret = {SECRET_8Q}");
        }
        if round == 120 {
            lines[1998] = format!("other = {SECRET_8Q_2}");
        }
        std::fs::write(dir.join("app.conf"), lines.join("\n")).expect("write");
        git_cli(dir, &["add", "-A"]);
        git_cli(dir, &["commit", "-qm", &format!("round {round}")]);
    }
    let (loose_code, loose) = scan(dir, &[]);
    assert_eq!(loose_code, 1, "{loose}");
    git_cli(dir, &["repack", "-adfq", "--depth=250", "--window=250"]);
    git_cli(dir, &["prune-packed"]);
    let deepest = pack_entries(dir).iter().filter(|e| e.1 == "blob").map(|e| e.4).max();
    assert!(deepest > Some(64), "chains deeper than the cache: {deepest:?}");
    for jobs in ["-j1", "-j2"] {
        let (code, packed) = scan(dir, &[jobs]);
        assert_eq!(code, 1, "{packed}");
        assert_eq!(attributions(&packed), attributions(&loose), "{jobs}");
        assert_eq!(packed["summary"]["files"], loose["summary"]["files"], "{jobs}");
        assert_eq!(packed["summary"]["bytes"], loose["summary"]["bytes"], "{jobs}");
        assert_eq!(errors(&packed), Vec::<String>::new());
    }
    let found: Vec<(String, String)> =
        attributions(&loose).into_iter().map(|(path, summary, ..)| (path, summary)).collect();
    let expected = [("app.conf", "round 120"), ("app.conf", "round 40")];
    let expected: Vec<(String, String)> =
        expected.iter().map(|&(p, s)| (p.to_string(), s.to_string())).collect();
    assert_eq!(found, expected);
}

#[test]
fn a_packed_delta_larger_than_the_limit_is_skipped_by_its_header() {
    let t = TempTree::new();
    let dir = edited_history(&t);
    repack(dir);
    // Every version of app.conf is ~70 KB; its deltas are far smaller. once.env is tiny.
    let entries = pack_entries(dir);
    assert!(entries.iter().any(|e| e.1 == "blob" && e.4 > 0 && e.2 < 20_000), "{entries:?}");
    let (code, doc) = scan(dir, &["--max-file-size", "20K"]);
    assert_eq!(code, 1, "once.env is still scanned: {doc}");
    let found = attributions(&doc);
    assert_eq!(found.iter().map(|f| f.0.as_str()).collect::<Vec<_>>(), ["once.env"]);
    let too_large = doc["summary"]["skipped"]
        .as_array()
        .expect("skipped")
        .iter()
        .filter(|s| s["reason"] == "too-large")
        .count();
    assert_eq!(too_large, 12, "each version of app.conf, delta or not: {doc}");
}

#[test]
fn a_corrupt_entry_of_a_pack_is_reported_by_id_and_the_rest_is_scanned() {
    let t = TempTree::new();
    let dir = edited_history(&t);
    repack(dir);
    let once = git_cli(dir, &["rev-parse", "HEAD:once.env"]);
    let entries = pack_entries(dir);
    let entry = entries.iter().find(|e| e.0 == once).expect("once.env is packed");
    // Past its 1-3 byte entry header: garble the zlib stream of once.env.
    garble_pack(dir, entry.3 as usize + 4);
    let (code, doc) = scan(dir, &[]);
    assert_eq!(code, 1, "the secrets of app.conf are still found: {doc}");
    let errors = errors(&doc);
    assert!(errors.iter().any(|e| e.starts_with(&format!("blob {once} ("))), "{errors:?}");
    let paths: Vec<String> = attributions(&doc).into_iter().map(|f| f.0).collect();
    assert_eq!(paths, ["app.conf", "app.conf"]);
}

#[test]
fn a_corrupt_base_of_a_delta_chain_reports_each_blob_on_it_and_the_rest_is_scanned() {
    let t = TempTree::new();
    let dir = edited_history(&t);
    repack(dir);
    let entries = pack_entries(dir);
    let blobs: Vec<_> = entries.iter().filter(|e| e.1 == "blob").collect();
    // The one whole version of app.conf (~70 KB): the others are deltas resolved through it.
    let base = blobs.iter().find(|e| e.4 == 0 && e.2 > 50_000).expect("a whole app.conf");
    let deltas = blobs.iter().filter(|e| e.4 > 0 && e.2 < 50_000).count();
    assert!(deltas >= 5, "{entries:?}");
    garble_pack(dir, base.3 as usize + 4);
    for jobs in ["-j1", "-j2"] {
        let (code, doc) = scan(dir, &[jobs]);
        assert_eq!(code, 1, "the secret of once.env is still found: {doc}");
        let errors = errors(&doc);
        assert!(errors.iter().any(|e| e.starts_with(&format!("blob {} (", base.0))), "{errors:?}");
        let unreadable = errors.iter().filter(|e| e.starts_with("blob ")).count();
        assert!(unreadable > deltas / 2, "the deltas on it are reported too: {errors:?}");
        let paths: Vec<String> = attributions(&doc).into_iter().map(|f| f.0).collect();
        assert!(paths.contains(&"once.env".to_string()), "{paths:?}");
    }
}

#[test]
fn a_corrupt_loose_object_beside_a_pack_is_reported_and_the_packed_blobs_are_scanned() {
    let t = TempTree::new();
    let dir = edited_history(&t);
    repack(dir);
    std::fs::write(dir.join("late.env"), format!("L={SECRET_8Q}\n")).expect("write");
    git_cli(dir, &["add", "late.env"]);
    git_cli(dir, &["commit", "-qm", "late"]);
    let late = git_cli(dir, &["rev-parse", "HEAD:late.env"]);
    let path = dir.join(".git/objects").join(&late[..2]).join(&late[2..]);
    let mut perms = std::fs::metadata(&path).expect("loose object").permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&path, perms).expect("chmod");
    let len = std::fs::metadata(&path).expect("loose object").len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .expect("open")
        .set_len(len / 2)
        .expect("truncate");
    let (code, doc) = scan(dir, &[]);
    assert_eq!(code, 1, "{doc}");
    let errors = errors(&doc);
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with(&format!("object {late} ("))
                && e.contains("corrupt loose object")),
        "{errors:?}"
    );
    let paths: Vec<String> = attributions(&doc).into_iter().map(|f| f.0).collect();
    assert_eq!(paths, ["app.conf", "app.conf", "once.env"], "late.env is not read");
}

/// A history with nested directories: a secret added in `deploy/env/prod.env` in commit 1,
/// that directory renamed to `ops/env` in commit 2 (same trees and blob), a second secret in
/// `ops/env/more/extra.env` in commit 3.
fn nested_history(t: &TempTree) -> &Path {
    let dir = t.path();
    git_cli(dir, &["init", "-q"]);
    let env = dir.join("deploy/env");
    std::fs::create_dir_all(&env).expect("mkdir");
    for i in 0..8 {
        std::fs::write(env.join(format!("file{i}.txt")), format!("plain text {i}\n")).expect("w");
    }
    std::fs::write(dir.join("README"), "readme\n").expect("write");
    git_cli(dir, &["add", "-A"]);
    git_cli(dir, &["commit", "-qm", "round 0"]);
    std::fs::write(env.join("prod.env"), format!("client_secret = {SECRET_8Q}\n")).expect("w");
    git_cli(dir, &["add", "-A"]);
    git_cli(dir, &["commit", "-qm", "round 1"]);
    std::fs::create_dir_all(dir.join("ops")).expect("mkdir");
    git_cli(dir, &["mv", "deploy/env", "ops/env"]);
    git_cli(dir, &["commit", "-qm", "round 2"]);
    std::fs::create_dir_all(dir.join("ops/env/more")).expect("mkdir");
    std::fs::write(dir.join("ops/env/more/extra.env"), format!("other = {SECRET_8Q_2}\n"))
        .expect("write");
    git_cli(dir, &["add", "-A"]);
    git_cli(dir, &["commit", "-qm", "round 3"]);
    dir
}

#[test]
fn packed_trees_give_the_paths_and_commits_of_the_loose_ones() {
    let t = TempTree::new();
    let dir = nested_history(&t);
    let (code, loose) = scan(dir, &[]);
    assert_eq!(code, 1, "{loose}");
    let expected: Vec<(String, String)> =
        attributions(&loose).into_iter().map(|(path, summary, ..)| (path, summary)).collect();
    assert!(expected.contains(&("deploy/env/prod.env".into(), "round 1".into())), "{expected:?}");
    assert!(
        expected.contains(&("ops/env/more/extra.env".into(), "round 3".into())),
        "{expected:?}"
    );
    repack(dir);
    let trees = pack_entries(dir).iter().filter(|e| e.1 == "tree").count();
    assert!(trees >= 8, "the trees are packed: {trees}");
    for jobs in ["-j1", "-j2"] {
        let (code, packed) = scan(dir, &[jobs]);
        assert_eq!(code, 1, "{packed}");
        assert_eq!(attributions(&packed), attributions(&loose), "{jobs}");
        assert_eq!(packed["summary"]["files"], loose["summary"]["files"], "{jobs}");
    }
}

#[test]
fn a_corrupt_packed_tree_is_reported_by_id_and_the_rest_is_scanned() {
    let t = TempTree::new();
    let dir = nested_history(&t);
    repack(dir);
    let more = git_cli(dir, &["rev-parse", "HEAD:ops/env/more"]);
    let entries = pack_entries(dir);
    let entry = entries.iter().find(|e| e.0 == more).expect("the tree of ops/env/more is packed");
    // Past its entry header (and the base offset of a delta): garble its zlib stream.
    garble_pack(dir, entry.3 as usize + 6);
    let (code, doc) = scan(dir, &[]);
    assert_eq!(code, 1, "the secret of prod.env is still found: {doc}");
    let errors = errors(&doc);
    assert!(errors.iter().any(|e| e.starts_with(&format!("tree {more} ("))), "{errors:?}");
    let found: Vec<(String, String)> =
        attributions(&doc).into_iter().map(|(path, summary, ..)| (path, summary)).collect();
    // Everything but what only the corrupt tree holds (ops/env/more/extra.env).
    let expected = [("deploy/env/prod.env", "round 1"), ("ops/env/prod.env", "round 2")];
    let expected: Vec<(String, String)> =
        expected.iter().map(|&(p, s)| (p.to_string(), s.to_string())).collect();
    assert_eq!(found, expected);
}

/// Flips 8 bytes of the repository's one pack file from `start` (the pack is read-only as git
/// writes it).
fn garble_pack(dir: &Path, start: usize) {
    let pack = dir.join(".git/objects/pack").join(
        std::fs::read_dir(dir.join(".git/objects/pack"))
            .expect("pack dir")
            .flatten()
            .map(|e| e.file_name())
            .find(|n| n.to_string_lossy().ends_with(".pack"))
            .expect("a pack"),
    );
    let mut bytes = std::fs::read(&pack).expect("read pack");
    for b in &mut bytes[start..start + 8] {
        *b ^= 0xa5;
    }
    let mut perms = std::fs::metadata(&pack).expect("pack").permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&pack, perms).expect("chmod");
    std::fs::write(&pack, bytes).expect("write pack");
}
