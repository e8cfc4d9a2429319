//! Merging the datastores of shards (issue 12): `azleak merge --datastore OUT IN...` gives the
//! store one process would have written: the same report, the same triage, and re-scans from
//! it are incremental; merging the same store again adds nothing.

use std::path::Path;

use crate::util::{
    SECRET_7Q, SECRET_8Q, SECRET_8Q_2, TempTree, azleak, git_cli, json_without_elapsed, run,
};

fn clone_at(dir: &Path, name: &str, file: &str, contents: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(&path).unwrap();
    git_cli(&path, &["init", "-q"]);
    std::fs::write(path.join(file), contents).unwrap();
    git_cli(&path, &["add", "-A"]);
    git_cli(&path, &["-c", "commit.gpgsign=false", "commit", "-qm", "first"]);
}

fn report(t: &TempTree, db: &str) -> serde_json::Value {
    let (code, out, err) =
        run(azleak(t.path()).args(["report", "--datastore", db, "-f", "json", "--status", "all"]));
    assert_eq!(code, 1, "{err}");
    json_without_elapsed(&out)
}

#[test]
fn shard_datastores_merge_into_the_store_of_one_process() {
    let t = TempTree::new();
    let clones = t.path().join("clones");
    for (i, secret) in [SECRET_8Q, SECRET_8Q_2, SECRET_7Q].iter().enumerate() {
        clone_at(&clones, &format!("r{i}"), "app.env", &format!("AZURE_CLIENT_SECRET={secret}\n"));
    }
    clone_at(&clones, "clean", "README", "nothing\n");
    let (code, _, err) =
        run(azleak(t.path()).args(["git", "--repos-dir", "clones", "--datastore", "one.db"]));
    assert_eq!(code, 1, "{err}");
    for k in 1..=3 {
        let (code, _, err) = run(azleak(t.path()).args([
            "git",
            "--repos-dir",
            "clones",
            "--shard",
            &format!("{k}/3"),
            "--datastore",
            &format!("shard-{k}.db"),
        ]));
        assert!(code <= 1, "{err}");
    }
    // A status set in one shard's store is merged too.
    let one = report(&t, "one.db");
    let fp = one["findings"][0]["fingerprint"].as_str().unwrap().to_string();
    for db in ["one.db", "shard-1.db", "shard-2.db", "shard-3.db"] {
        let (code, _, err) =
            run(azleak(t.path()).args(["triage", &fp, "--status", "accepted", "--datastore", db]));
        assert_eq!(code, 0, "{err}");
    }

    let merge = || {
        run(azleak(t.path()).args([
            "merge",
            "--datastore",
            "merged.db",
            "shard-1.db",
            "shard-2.db",
            "shard-3.db",
        ]))
    };
    let (code, out, err) = merge();
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("3 new runs, 4 repositories, 3 findings"), "{out}");
    let merged = report(&t, "merged.db");
    assert_eq!(merged, report(&t, "one.db"));
    assert_eq!(merged["findings"].as_array().unwrap().len(), 3);
    assert_eq!(merged["summary"]["repositories"], 4);
    // Triage carried over: the accepted finding is not open.
    let (_, open, _) =
        run(azleak(t.path()).args(["report", "--datastore", "merged.db", "-f", "json"]));
    assert_eq!(json_without_elapsed(&open)["findings"].as_array().unwrap().len(), 2);

    // Merging the same stores again adds nothing.
    let (code, out, _) = merge();
    assert_eq!(code, 0);
    assert!(out.contains("0 new runs"), "{out}");
    assert_eq!(report(&t, "merged.db"), merged);

    // The merged store knows what was walked: a re-scan from it walks nothing.
    let (code, out, err) = run(azleak(t.path()).args([
        "git",
        "--repos-dir",
        "clones",
        "--datastore",
        "merged.db",
        "-f",
        "json",
    ]));
    assert_eq!(code, 0, "{err}");
    let doc = json_without_elapsed(&out);
    assert_eq!(
        (doc["summary"]["commits"].as_u64(), doc["summary"]["files"].as_u64()),
        (Some(0), Some(0))
    );

    // Not a datastore: refused, naming the file.
    t.file("junk.db", "not sqlite at all, just text that is long enough to be a header....");
    let (code, _, err) =
        run(azleak(t.path()).args(["merge", "--datastore", "merged.db", "junk.db"]));
    assert_eq!(code, 2);
    assert!(err.contains("junk.db"), "{err}");
    let (code, _, err) =
        run(azleak(t.path()).args(["merge", "--datastore", "merged.db", "missing.db"]));
    assert_eq!(code, 2);
    assert!(err.contains("missing.db: no such file"), "{err}");
}
