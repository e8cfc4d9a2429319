//! Issue #13, the parallel commit walk: a whole history of thousands of commits is walked in
//! parts on several threads and merged in order; the findings, introducing commits, paths,
//! summary and errors are those of the one-thread walk, including secrets introduced in one part
//! and still present (and renamed) in later parts, and an unreadable tree met by several parts.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::util::{SECRET_8Q, SECRET_8Q_2, TempTree, azleak, git_cli, json, run};

const WATCHDOG: Duration = Duration::from_secs(120);

/// Commits in the generated history: enough for a walk on two threads to be split in parts.
const COMMITS: usize = 4400;

/// `azleak git -jN -f json`: exit code and document; no raw secret printed.
fn scan(dir: &Path, jobs: &str) -> (i32, Value) {
    let (code, stdout, stderr) =
        run(azleak(dir).args(["git", jobs, "-f", "json"]).timeout(WATCHDOG));
    assert!(code == 0 || code == 1 || code == 2, "exit {code} (hang or crash?)\n{stderr}");
    for secret in [SECRET_8Q, SECRET_8Q_2] {
        assert!(!stdout.contains(secret) && !stderr.contains(secret), "raw secret printed");
    }
    (code, json(&stdout))
}

/// (path, summary of the introducing commit, line, rule) of every finding, sorted.
fn attributions(doc: &Value) -> Vec<(String, String, u64, String)> {
    let mut out: Vec<_> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap_or("").to_string(),
                f["commit"]["summary"].as_str().unwrap_or("").to_string(),
                f["line"].as_u64().unwrap_or(0),
                f["rule_id"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

/// A linear history of [`COMMITS`] commits written with `git fast-import`: each edits one of
/// 40 files; commit 1000 adds `config/app.env` with a secret, commit 3000 moves `config` to
/// `deploy/config` (same tree and blob), commit 4000 adds a second secret to `src/f7.txt`,
/// and a branch `side` from commit 2000 adds the second secret to `side.env`.
fn long_history(t: &TempTree) -> &Path {
    let dir = t.path();
    git_cli(dir, &["init", "-q"]);
    let mut stream = Vec::new();
    let blob = |path: &str, content: &str, out: &mut Vec<u8>| {
        write!(out, "M 100644 inline {path}\ndata {}\n{content}\n", content.len()).expect("w");
    };
    for i in 1..=COMMITS {
        let message = format!("commit {i}");
        write!(
            stream,
            "commit refs/heads/main\nmark :{i}\ncommitter T <t@example.com> {} +0000\n\
             data {}\n{message}\n",
            1_600_000_000 + i * 60,
            message.len()
        )
        .expect("w");
        if i > 1 {
            writeln!(stream, "from :{}", i - 1).expect("w");
        }
        let file = i % 40;
        let mut content = format!("file {file}\nversion {i}\n");
        if file == 7 && i >= 4000 {
            content.push_str(&format!("secret = {SECRET_8Q_2}\n"));
        }
        blob(&format!("src/f{file}.txt"), &content, &mut stream);
        if i == 1000 {
            blob("config/app.env", &format!("A=1\nclient_secret = {SECRET_8Q}\n"), &mut stream);
        }
        if i == 3000 {
            writeln!(stream, "R config deploy/config").expect("w");
        }
    }
    write!(
        stream,
        "commit refs/heads/side\ncommitter T <t@example.com> 1700000000 +0000\n\
         data 4\nside\nfrom :2000\n"
    )
    .expect("w");
    blob("side.env", &format!("S={SECRET_8Q_2}\n"), &mut stream);
    let path = dir.join("stream");
    std::fs::write(&path, stream).expect("write stream");
    let status = std::process::Command::new("git")
        .current_dir(dir)
        .args(["fast-import", "--quiet"])
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("GIT_DIR")
        .stdin(std::fs::File::open(&path).expect("stream"))
        .status()
        .expect("git fast-import");
    assert!(status.success());
    std::fs::remove_file(&path).expect("remove stream");
    dir
}

#[test]
fn a_walk_in_parts_gives_the_findings_and_commits_of_a_walk_in_one() {
    let t = TempTree::new();
    let dir = long_history(&t);
    let (code, one) = scan(dir, "-j1");
    assert_eq!(code, 1, "{one}");
    let expected: Vec<(String, String)> = [
        ("config/app.env", "commit 1000"),
        ("deploy/config/app.env", "commit 3000"),
        ("side.env", "side"),
        ("src/f7.txt", "commit 4007"),
    ]
    .iter()
    .map(|&(p, c)| (p.to_string(), c.to_string()))
    .collect();
    let found: Vec<(String, String)> =
        attributions(&one).into_iter().map(|(p, c, ..)| (p, c)).collect();
    assert_eq!(found, expected);
    let (code, parts) = scan(dir, "-j2");
    assert_eq!(code, 1, "{parts}");
    assert_eq!(attributions(&parts), attributions(&one));
    let (mut a, mut b) = (one["summary"].clone(), parts["summary"].clone());
    a["elapsed"] = Value::Null;
    b["elapsed"] = Value::Null;
    assert_eq!(a, b);
    assert_eq!(parts["summary"]["commits"], COMMITS as u64 + 1);
}

#[test]
fn an_unreadable_tree_met_by_several_parts_is_reported_once() {
    let t = TempTree::new();
    let dir = long_history(&t);
    // The tree of `config` (from commit 1000 to 2999, in both parts of a two-thread walk),
    // made unreadable: its zlib stream in the pack garbled.
    let tree = git_cli(dir, &["rev-parse", "main~2000:config"]);
    corrupt_in_pack(dir, &tree);
    let (code, one) = scan(dir, "-j1");
    let (code2, parts) = scan(dir, "-j2");
    assert_eq!(code, code2, "{one}\n{parts}");
    assert_ne!(code, 0, "{one}");
    let errors = |doc: &Value| -> Vec<String> {
        doc["summary"]["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .map(|e| format!("{} {}", e["path"].as_str().unwrap_or(""), e["message"]))
            .collect()
    };
    // Once at each path it is met at (config, then deploy/config), with the first commit there.
    let named: Vec<String> = errors(&one)
        .into_iter()
        .filter(|e| e.starts_with(&format!("tree {tree} ")) && e.contains(":config) "))
        .collect();
    assert_eq!(named.len(), 1, "{:?}", errors(&one));
    assert_eq!(errors(&parts), errors(&one));
    assert_eq!(attributions(&parts), attributions(&one));
}

/// Garbles the zlib stream of the pack entry of `id` (fast-import wrote one pack).
fn corrupt_in_pack(dir: &Path, id: &str) {
    let pack_dir = dir.join(".git/objects/pack");
    let files: Vec<_> =
        std::fs::read_dir(&pack_dir).expect("pack dir").flatten().map(|e| e.path()).collect();
    let idx = files.iter().find(|p| p.extension().is_some_and(|e| e == "idx")).expect("idx");
    let listing = git_cli(dir, &["verify-pack", "-v", &idx.to_string_lossy()]);
    let offset: usize = listing
        .lines()
        .find_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            (f.first() == Some(&id)).then(|| f[4].parse().expect("offset"))
        })
        .expect("the object is in the pack");
    let pack = idx.with_extension("pack");
    let mut bytes = std::fs::read(&pack).expect("read pack");
    // Past the entry header (and a delta's base): the zlib stream.
    for b in &mut bytes[offset + 6..offset + 14] {
        *b ^= 0xa5;
    }
    let mut perms = std::fs::metadata(&pack).expect("pack").permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&pack, perms).expect("chmod");
    std::fs::write(&pack, bytes).expect("write pack");
}
