//! Shared helpers: temporary trees of real files, the `azleak` command, and known secrets.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use tempfile::TempDir;

/// A current-format secret with a valid checksum (Microsoft's example).
pub const SECRET_8Q: &str = "zzz8Q~zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzblP";
/// Another valid current-format secret.
pub const SECRET_8Q_2: &str = "riG8Q~p-69WAm.dX4a6IDnOdcdbWB3dC5-DSDciR";
/// A 7Q~ secret.
pub const SECRET_7Q: &str = "YYz7Q~Sudoqwap1PnzEBA3zqBK~i5uesDIv.C";
/// A current-format shape with a wrong checksum (reported only at low confidence).
pub const SECRET_BAD_CHECKSUM: &str = "bP88Q~rcBcYjzzOhg1Hnn76Wm3jGgakZiZ.8vMgR";
/// A legacy secret (found only in context).
pub const SECRET_LEGACY: &str = "vkSikIWXgwvaeHts.swmrso[P*0JaYSw";

/// A temporary directory of real files.
pub struct TempTree {
    pub dir: TempDir,
}

impl TempTree {
    pub fn new() -> TempTree {
        TempTree { dir: tempfile::tempdir().expect("temp dir") }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file (creating parent directories) and returns its path.
    pub fn file(&self, rel: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.dir.path().join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create dirs");
        }
        std::fs::write(&path, contents).expect("write file");
        path
    }
}

/// The `azleak` binary, run in `dir`, with colour off and no inherited NO_COLOR surprises, nor
/// the GIT_INDEX_FILE, GIT_DIR and GIT_WORK_TREE of a git hook the tests may be run from.
pub fn azleak(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("azleak").expect("azleak binary");
    cmd.current_dir(dir)
        .env_remove("NO_COLOR")
        .env_remove("GITHUB_WORKSPACE")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE");
    cmd
}

/// Runs a command and returns (exit code, stdout, stderr).
pub fn run(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().expect("run azleak");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Parses JSON output.
pub fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("invalid JSON ({e}):\n{stdout}"))
}

/// The `azleak` binary's path.
pub fn azleak_bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("azleak")
}

/// JSON output with the one field that varies between runs, `summary.elapsed`, removed.
pub fn json_without_elapsed(stdout: &str) -> serde_json::Value {
    let mut doc = json(stdout);
    let summary = doc["summary"].as_object_mut().expect("summary object");
    assert!(summary.remove("elapsed").is_some(), "no summary.elapsed in:\n{stdout}");
    doc
}

/// Text output with the summary's elapsed time (`, 0.01s` at the end of the last line) replaced
/// by `, <elapsed>`, so it can be compared exactly.
pub fn text_without_elapsed(stdout: &str) -> String {
    let re = regex::Regex::new(r"(?m)^(azleak: .*), [0-9]+\.[0-9]{2}s$").expect("regex");
    assert!(re.is_match(stdout), "no summary line with an elapsed time in:\n{stdout}");
    re.replace(stdout, "$1, <elapsed>").into_owned()
}

/// The findings of a JSON report as `(path, line, column, end_column, rule_id, confidence)`.
pub fn locations(doc: &serde_json::Value) -> Vec<(String, u64, u64, u64, String, String)> {
    doc["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .map(|f| {
            (
                f["path"].as_str().expect("path").to_string(),
                f["line"].as_u64().expect("line"),
                f["column"].as_u64().expect("column"),
                f["end_column"].as_u64().expect("end_column"),
                f["rule_id"].as_str().expect("rule_id").to_string(),
                f["confidence"].as_str().expect("confidence").to_string(),
            )
        })
        .collect()
}

/// A finding location, for comparing with [`locations`].
pub fn loc(
    path: &str,
    line: u64,
    column: u64,
    end_column: u64,
    rule_id: &str,
    confidence: &str,
) -> (String, u64, u64, u64, String, String) {
    (path.to_string(), line, column, end_column, rule_id.to_string(), confidence.to_string())
}

/// The paths of the findings of a JSON report, in report order.
pub fn finding_paths(doc: &serde_json::Value) -> Vec<String> {
    locations(doc).into_iter().map(|l| l.0).collect()
}

/// Asserts two texts are equal, printing a line diff (`-` expected, `+` got) when they are not.
#[track_caller]
pub fn assert_text_eq(expected: &str, got: &str) {
    if expected != got {
        panic!("text differs (-expected +got):\n{}", line_diff(expected, got));
    }
}

/// A minimal line diff from the longest common subsequence of lines.
pub fn line_diff(a: &str, b: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (a.split('\n').collect(), b.split('\n').collect());
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] =
                if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out.push_str(&format!(" {}\n", a[i]));
            (i, j) = (i + 1, j + 1);
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push_str(&format!("+{}\n", b[j]));
            j += 1;
        } else {
            out.push_str(&format!("-{}\n", a[i]));
            i += 1;
        }
    }
    out
}

/// Makes a file unreadable (mode 000) and returns a command that runs `azleak` in `t` as a user
/// the mode applies to: the current user when it is not root, else `nobody` through `setpriv`
/// (the tree is opened to others first). Returns `None`, after printing why, when neither works,
/// so the caller can skip.
#[cfg(unix)]
pub fn unreadable_for_azleak(t: &TempTree, paths: &[&Path]) -> Option<Command> {
    use std::os::unix::fs::PermissionsExt;
    for path in paths {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o000)).expect("chmod 000");
    }
    let readable = |p: &Path| std::fs::File::open(p).is_ok();
    if !paths.iter().any(|p| readable(p)) {
        return Some(isolated_azleak(t.path()));
    }
    // Root reads mode-000 files; run as nobody instead, if setpriv is there and works.
    std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let as_nobody = |program: &Path| {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"]).arg(program);
        cmd.current_dir(t.path()).env_remove("NO_COLOR");
        isolate(&mut cmd, t.path());
        cmd
    };
    let probe = as_nobody(Path::new("cat")).args(paths).output();
    let works = as_nobody(Path::new("true")).output().is_ok_and(|o| o.status.success());
    match probe {
        Ok(out) if works && !out.status.success() => Some(as_nobody(&azleak_bin())),
        _ => {
            eprintln!(
                "note: skipping: mode 000 files stay readable (running as root) and `setpriv` \
                 cannot drop to nobody here"
            );
            None
        }
    }
}

/// [`azleak`] isolated from the user's git configuration: `HOME` and `XDG_CONFIG_HOME` name a
/// directory that does not exist, so a global gitignore (`core.excludesFile`,
/// `~/.config/git/ignore`) on a developer's machine cannot hide the test's files.
pub fn isolated_azleak(dir: &Path) -> Command {
    let mut cmd = azleak(dir);
    isolate(&mut cmd, dir);
    cmd
}

fn isolate(cmd: &mut Command, dir: &Path) {
    let nowhere = dir.join(".no-home");
    cmd.env("HOME", &nowhere).env("XDG_CONFIG_HOME", &nowhere);
}

/// A temporary git repository built with `git2`. Commits have fixed authors and times (one
/// minute apart, UTC+01:00), so their ids are the same on every run.
pub struct TempRepo {
    pub dir: TempDir,
    pub repo: git2::Repository,
    clock: std::cell::Cell<i64>,
}

/// The default author of [`TempRepo`] commits.
pub const ALICE: (&str, &str) = ("Alice Example", "alice@example.com");
/// Another author.
pub const BOB: (&str, &str) = ("Bob Builder", "bob@example.com");
/// Time of the first commit of a [`TempRepo`] (2023-11-14T23:13:20+01:00).
pub const EPOCH: i64 = 1_700_000_000;

impl TempRepo {
    /// An empty repository (no commits) whose HEAD is `refs/heads/main`.
    pub fn new() -> TempRepo {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut opts = git2::RepositoryInitOptions::new();
        opts.initial_head("main");
        let repo = git2::Repository::init_opts(dir.path(), &opts).expect("git init");
        TempRepo { dir, repo, clock: std::cell::Cell::new(EPOCH) }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The signature of the next commit, by `who`.
    fn signature(&self, who: (&str, &str)) -> git2::Signature<'static> {
        let at = self.clock.get();
        self.clock.set(at + 60);
        git2::Signature::new(who.0, who.1, &git2::Time::new(at, 60)).expect("signature")
    }

    /// Commits a snapshot: the tree holds exactly `files` (`(path, contents)`), the commit has
    /// `parents` and is written by ALICE; `refname` (if any) is pointed at it. Returns its id.
    pub fn snapshot(
        &self,
        refname: Option<&str>,
        parents: &[git2::Oid],
        files: &[(&str, &str)],
        message: &str,
    ) -> git2::Oid {
        self.snapshot_by(ALICE, refname, parents, files, message)
    }

    /// [`TempRepo::snapshot`] by another author.
    pub fn snapshot_by(
        &self,
        who: (&str, &str),
        refname: Option<&str>,
        parents: &[git2::Oid],
        files: &[(&str, &str)],
        message: &str,
    ) -> git2::Oid {
        let mut index = git2::Index::new().expect("index");
        for (path, contents) in files {
            let id = self.repo.blob(contents.as_bytes()).expect("write blob");
            index.add(&index_entry(path, id, 0o100644)).expect("add entry");
        }
        self.commit_index(&mut index, who, refname, parents, message)
    }

    /// Commits `files` plus a gitlink (submodule) at `gitlink` pointing at `target`.
    pub fn snapshot_with_gitlink(
        &self,
        refname: Option<&str>,
        parents: &[git2::Oid],
        files: &[(&str, &str)],
        gitlink: &str,
        target: git2::Oid,
    ) -> git2::Oid {
        let mut index = git2::Index::new().expect("index");
        for (path, contents) in files {
            let id = self.repo.blob(contents.as_bytes()).expect("write blob");
            index.add(&index_entry(path, id, 0o100644)).expect("add entry");
        }
        index.add(&index_entry(gitlink, target, 0o160000)).expect("add gitlink");
        self.commit_index(&mut index, ALICE, refname, parents, "add submodule")
    }

    fn commit_index(
        &self,
        index: &mut git2::Index,
        who: (&str, &str),
        refname: Option<&str>,
        parents: &[git2::Oid],
        message: &str,
    ) -> git2::Oid {
        let tree_id = index.write_tree_to(&self.repo).expect("write tree");
        let tree = self.repo.find_tree(tree_id).expect("tree");
        let parents: Vec<git2::Commit<'_>> =
            parents.iter().map(|p| self.repo.find_commit(*p).expect("parent")).collect();
        let parent_refs: Vec<&git2::Commit<'_>> = parents.iter().collect();
        let sig = self.signature(who);
        let id = self.repo.commit(None, &sig, &sig, message, &tree, &parent_refs).expect("commit");
        if let Some(name) = refname {
            self.repo.reference(name, id, true, "test").expect("update ref");
        }
        id
    }

    /// Writes a file in the working tree (creating parent directories).
    pub fn write(&self, rel: &str, contents: &str) {
        let path = self.path().join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create dirs");
        }
        std::fs::write(path, contents).expect("write file");
    }

    /// Stages a working-tree file (`git add`).
    pub fn stage(&self, rel: &str) {
        let mut index = self.repo.index().expect("index");
        index.add_path(Path::new(rel)).expect("git add");
        index.write().expect("write index");
    }

    /// Commits the index on HEAD (`git commit`), by ALICE.
    pub fn commit_staged(&self, message: &str) -> git2::Oid {
        let mut index = self.repo.index().expect("index");
        let tree_id = index.write_tree().expect("write tree");
        let tree = self.repo.find_tree(tree_id).expect("tree");
        let parent = self.repo.head().ok().and_then(|h| h.peel_to_commit().ok());
        let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
        let sig = self.signature(ALICE);
        self.repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &parents).expect("commit")
    }
}

fn index_entry(path: &str, id: git2::Oid, mode: u32) -> git2::IndexEntry {
    index_entry_bytes(path.as_bytes(), id, mode)
}

/// An index entry for a path given as bytes (not necessarily UTF-8).
pub fn index_entry_bytes(path: &[u8], id: git2::Oid, mode: u32) -> git2::IndexEntry {
    git2::IndexEntry {
        ctime: git2::IndexTime::new(0, 0),
        mtime: git2::IndexTime::new(0, 0),
        dev: 0,
        ino: 0,
        mode,
        uid: 0,
        gid: 0,
        file_size: 0,
        id,
        flags: path.len().min(0xfff) as u16,
        flags_extended: 0,
        path: path.to_vec(),
    }
}

/// The `git` CLI in `dir`, isolated from the user's configuration and from a `GIT_DIR`,
/// `GIT_WORK_TREE` or `GIT_INDEX_FILE` inherited from a hook; returns its trimmed stdout.
pub fn git_cli(dir: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=T", "-c", "user.email=t@example.com"])
        .args(["-c", "init.defaultBranch=main"])
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .output()
        .expect("run git");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
