//! Sharding one repository by path (issue 12): `azleak git REPO --shard K/N --shard-by path`
//! scans the blobs at the paths of shard K only, and `azleak merge` joins the shards' JSON
//! reports into exactly the report one process writes: same findings, same introducing
//! commits, same copy groups (rebuilt across shards from secret keys), same summary.

use std::path::Path;

use crate::util::{
    SECRET_7Q, SECRET_8Q, SECRET_8Q_2, TempTree, azleak, git_cli, json, json_without_elapsed, run,
};

/// A legacy-shaped secret (context only: no checksum), different for each `seed`.
fn legacy(seed: u64) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.~_-";
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..34)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            ALPHABET[(x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 58) as usize] as char
        })
        .collect()
}

fn commit(repo: &Path, message: &str) {
    git_cli(repo, &["add", "-A"]);
    git_cli(repo, &["-c", "commit.gpgsign=false", "commit", "-qm", message]);
}

/// A history where secrets are copied between paths (so copy groups span shards), kept
/// through later edits of their file (so the introducing commit is an older version of the
/// path), renamed, allowed inline at one copy, and named in a commit message.
fn make_repo(repo: &Path) {
    std::fs::create_dir_all(repo.join("svc")).unwrap();
    git_cli(repo, &["init", "-q"]);
    let write = |rel: &str, text: &str| {
        let path = repo.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("app.env", &format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n"));
    write("svc/config.yml", &format!("azure:\n  client_secret: \"{SECRET_8Q}\"\n"));
    write("c.txt", &format!("CLIENT_SECRET: \"{SECRET_8Q_2}\"\n"));
    for i in 0..24 {
        write(
            &format!("svc/s{i}/settings.env"),
            &format!("AZURE_CLIENT_SECRET=\"{}\"\n", legacy(i)),
        );
    }
    commit(repo, "first");
    write("app.env", &format!("# app\nAZURE_CLIENT_SECRET={SECRET_8Q}\nLOG=debug\n"));
    write("svc/s3/settings.env", &format!("X=1\nAZURE_CLIENT_SECRET=\"{}\"\n", legacy(3)));
    commit(repo, "edit");
    write("deploy/new.env", &format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n"));
    write("e.txt", &format!("ClientSecret = \"{SECRET_7Q}\"\n"));
    write("tests/fixture.env", &format!("AZURE_CLIENT_SECRET={SECRET_8Q_2} # azleak:allow\n"));
    for i in 0..8 {
        // The same legacy secret as svc/s{i}, copied elsewhere.
        write(&format!("ops/o{i}.env"), &format!("AZURE_CLIENT_SECRET=\"{}\"\n", legacy(i)));
    }
    commit(repo, &format!("rotate: old value was {SECRET_7Q}"));
    std::fs::create_dir_all(repo.join("moved")).unwrap();
    git_cli(repo, &["mv", "c.txt", "moved/c.txt"]);
    commit(repo, "move");
}

#[test]
fn path_shards_merge_into_the_report_of_one_process() {
    let t = TempTree::new();
    let repo = t.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    make_repo(&repo);
    t.file("list.txt", "repo\n");
    let (code, one, err) = run(azleak(t.path()).args(["git", "--repos", "list.txt", "-f", "json"]));
    assert_eq!(code, 1, "{err}");
    let one_doc = json(&one);
    let total_files = one_doc["summary"]["files"].as_u64().unwrap();
    assert!(one_doc["groups"].as_array().is_some_and(|g| !g.is_empty()), "{one}");

    let mut shard_files = 0;
    let mut shards_with_findings = 0;
    // Which shard reported each copy of the secret at app.env, svc/config.yml, deploy/new.env.
    let copies = ["app.env", "svc/config.yml", "deploy/new.env"];
    let mut copy_shards = std::collections::BTreeSet::new();
    let mut reports = Vec::new();
    for k in 1..=3 {
        let out = format!("shard-{k}.json");
        let (code, _, err) = run(azleak(t.path()).args([
            "git",
            "repo",
            "--shard",
            &format!("{k}/3"),
            "--shard-by",
            "path",
            "-f",
            "json",
            "-o",
            &out,
        ]));
        assert!(code <= 1, "{err}");
        let doc = json(&std::fs::read_to_string(t.path().join(&out)).unwrap());
        let files = doc["summary"]["files"].as_u64().unwrap();
        assert!(files < total_files, "shard {k} read {files} of {total_files} blobs");
        shard_files += files;
        shards_with_findings += usize::from(!doc["findings"].as_array().unwrap().is_empty());
        if doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| copies.iter().any(|c| f["path"] == *c))
        {
            copy_shards.insert(k);
        }
        // Every shard lists its copies for the merge; no secret is written in them.
        let copies = doc["summary"]["shard_copies"].to_string();
        assert!(!copies.contains(SECRET_8Q) && !copies.contains(&legacy(1)), "{copies}");
        // Commits are counted by the first shard only.
        assert_eq!(doc["summary"]["commits"].is_null(), k != 1, "shard {k}");
        reports.push(out);
    }
    assert_eq!(shard_files, total_files, "each blob is counted by one shard");
    assert!(shards_with_findings >= 2, "the secrets are spread over the shards");
    assert!(copy_shards.len() >= 2, "the copies of one secret are in one shard: {copy_shards:?}");

    let (code, merged, err) = run(azleak(t.path()).arg("merge").args(&reports));
    assert_eq!(code, 1, "findings: {err}");
    assert_eq!(json_without_elapsed(&merged), json_without_elapsed(&one));
    // Laid out the same, too: only the elapsed time differs.
    let elapsed = regex::Regex::new(r#""elapsed": [0-9.e-]+"#).unwrap();
    assert_eq!(elapsed.replace(&merged, "").as_ref(), elapsed.replace(&one, "").as_ref());
    // A copy group that spans shards: the secret at app.env, svc/config.yml, deploy/new.env.
    let doc = json(&merged);
    let group = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "deploy/new.env")
        .and_then(|f| f["group"].as_str())
        .expect("deploy/new.env is in a group");
    let listed = doc["groups"].as_array().unwrap().iter().find(|g| g["id"] == group).unwrap();
    assert_eq!(listed["copies"], 3, "{listed}");
}

#[test]
fn path_shards_need_a_shard_and_no_datastore() {
    let t = TempTree::new();
    let repo = t.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    make_repo(&repo);
    let (code, _, err) = run(azleak(t.path()).args(["git", "repo", "--shard-by", "path"]));
    assert_eq!(code, 2);
    assert!(err.contains("--shard-by path needs --shard"), "{err}");
    let (code, _, err) = run(azleak(t.path()).args([
        "git",
        "repo",
        "--shard",
        "1/2",
        "--shard-by",
        "path",
        "--datastore",
        "s.db",
    ]));
    assert_eq!(code, 2);
    assert!(err.contains("cannot record into --datastore"), "{err}");
    assert!(!t.path().join("s.db").exists());
}
