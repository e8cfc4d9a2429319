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

// ---- Mock HTTP servers on 127.0.0.1 (verification tests) ----

/// One request a [`MockServer`] received.
#[derive(Debug, Clone)]
pub struct MockRequest {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    /// Header names lowercased, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub at: std::time::Instant,
}

impl MockRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// What a [`MockServer`] answers.
#[derive(Debug, Clone)]
pub struct MockReply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// Wait this long before answering (past a client's timeout, for the slow case).
    pub delay: std::time::Duration,
}

impl MockReply {
    pub fn new(status: u16, body: &str) -> MockReply {
        MockReply {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_string(),
            delay: std::time::Duration::ZERO,
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> MockReply {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

type Handler = dyn Fn(&MockRequest) -> MockReply + Send + Sync;

/// A tiny HTTP/1.1 server on 127.0.0.1 (std sockets): one request per connection, answered by
/// the handler, `Connection: close`. Counts every connection accepted and keeps every request.
pub struct MockServer {
    pub addr: std::net::SocketAddr,
    connections: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    requests: std::sync::Arc<std::sync::Mutex<Vec<MockRequest>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl MockServer {
    pub fn start(
        handler: impl Fn(&MockRequest) -> MockReply + Send + Sync + 'static,
    ) -> MockServer {
        use std::sync::atomic::Ordering;
        use std::sync::{Arc, Mutex};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local addr");
        let connections = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let (c, r, s) = (connections.clone(), requests.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                c.fetch_add(1, Ordering::SeqCst);
                let (r, handler) = (r.clone(), handler.clone());
                std::thread::spawn(move || serve_one(stream, &r, &*handler));
            }
        });
        MockServer { addr, connections, requests, stop }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn connections(&self) -> usize {
        self.connections.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn requests(&self) -> Vec<MockRequest> {
        self.requests.lock().expect("requests").clone()
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wake the accept loop so it sees the flag (this connection is not counted after stop).
        let _ = std::net::TcpStream::connect(self.addr);
    }
}

fn serve_one(
    mut stream: std::net::TcpStream,
    requests: &std::sync::Mutex<Vec<MockRequest>>,
    handler: &Handler,
) {
    use std::io::{Read, Write};
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(5)));
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
        if data.len() > 1 << 20 {
            return;
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or("").split(' ');
    let method = first.next().unwrap_or("").to_string();
    let target = first.next().unwrap_or("").to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while data.len() < head_end + length {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    }
    let body = String::from_utf8_lossy(&data[head_end..]).into_owned();
    let request = MockRequest { method, target, headers, body, at: std::time::Instant::now() };
    requests.lock().expect("requests").push(request.clone());
    let reply = handler(&request);
    std::thread::sleep(reply.delay);
    let mut out = format!(
        "HTTP/1.1 {} Mock\r\nContent-Length: {}\r\nConnection: close\r\n",
        reply.status,
        reply.body.len()
    );
    for (k, v) in &reply.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(&reply.body);
    let _ = stream.write_all(out.as_bytes());
    let _ = stream.flush();
}

// ---- Mock Entra authority and storage endpoint ----

/// The one tenant, client and secret the mock authority issues a token for.
pub const MOCK_TENANT: &str = "11111111-2222-3333-4444-555555555555";
pub const MOCK_CLIENT: &str = "aaaaaaaa-0000-0000-0000-000000000001";
/// Client ids the mock authority answers in a fixed way, whatever the secret.
pub const CLIENT_EXPIRED: &str = "aaaaaaaa-0000-0000-0000-000000000002";
pub const CLIENT_UNKNOWN: &str = "aaaaaaaa-0000-0000-0000-000000000003";
pub const CLIENT_DISABLED: &str = "aaaaaaaa-0000-0000-0000-000000000004";
pub const CLIENT_BLOCKED_CA: &str = "aaaaaaaa-0000-0000-0000-000000000005";
pub const CLIENT_500: &str = "aaaaaaaa-0000-0000-0000-000000000006";
pub const CLIENT_SLOW: &str = "aaaaaaaa-0000-0000-0000-000000000007";
pub const CLIENT_REDIRECT: &str = "aaaaaaaa-0000-0000-0000-000000000008";
pub const CLIENT_RATE_LIMITED: &str = "aaaaaaaa-0000-0000-0000-000000000009";
/// A tenant the mock authority does not know.
pub const TENANT_MISSING: &str = "99999999-2222-3333-4444-555555555555";

/// A mock Entra token endpoint: a token (a JWT with `app_displayname` and `tid` claims) for
/// MOCK_TENANT / MOCK_CLIENT / `secret`; the AADSTS error or behaviour each CLIENT_* stands
/// for; 429 with `Retry-After: 1` on the first request of CLIENT_RATE_LIMITED, then a token; a
/// 302 to `redirect_to` for CLIENT_REDIRECT; AADSTS7000215 for any other secret.
pub fn mock_authority(secret: &'static str, redirect_to: String) -> MockServer {
    let limited = std::sync::atomic::AtomicUsize::new(0);
    MockServer::start(move |req| {
        let form: std::collections::HashMap<String, String> =
            url::form_urlencoded::parse(req.body.as_bytes()).into_owned().collect();
        let get = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
        let well_formed = req.method == "POST"
            && req.header("content-type") == Some("application/x-www-form-urlencoded")
            && get("grant_type") == "client_credentials"
            && get("scope") == "https://graph.microsoft.com/.default";
        if !well_formed {
            return MockReply::new(400, r#"{"error":"invalid_request","error_codes":[900144]}"#);
        }
        let tenant =
            req.target.strip_suffix("/oauth2/v2.0/token").unwrap_or("").trim_start_matches('/');
        let error = |status: u16, code: u32| {
            MockReply::new(
                status,
                &format!(
                    r#"{{"error":"invalid_client","error_description":"AADSTS{code}: mock. Trace ID: x","error_codes":[{code}]}}"#
                ),
            )
        };
        let token = || {
            use base64::Engine;
            let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
            let claims = format!(r#"{{"app_displayname":"billing-api","tid":"{tenant}"}}"#);
            let jwt =
                format!("{}.{}.{}", b64(r#"{"alg":"RS256"}"#), b64(&claims), b64("signature"));
            MockReply::new(
                200,
                &format!(r#"{{"token_type":"Bearer","expires_in":3599,"access_token":"{jwt}"}}"#),
            )
        };
        if tenant != MOCK_TENANT {
            return error(400, 90002);
        }
        match get("client_id") {
            CLIENT_EXPIRED => error(401, 7000222),
            CLIENT_UNKNOWN => error(400, 700016),
            CLIENT_DISABLED => error(401, 7000112),
            CLIENT_BLOCKED_CA => error(400, 53003),
            CLIENT_500 => MockReply::new(500, "internal error"),
            CLIENT_SLOW => {
                let mut reply = token();
                reply.delay = std::time::Duration::from_secs(3);
                reply
            }
            CLIENT_REDIRECT => MockReply::new(302, "").header("Location", &redirect_to),
            CLIENT_RATE_LIMITED => {
                if limited.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                    MockReply::new(429, "").header("Retry-After", "1")
                } else {
                    token()
                }
            }
            MOCK_CLIENT if get("client_secret") == secret => token(),
            _ => error(401, 7000215),
        }
    })
}

/// A mock blob service, path style (`/{account}/?comp=list&maxresults=1`), that knows one
/// account and its base64 key. It checks each request's Shared Key signature on its own, from
/// Microsoft's documented string-to-sign for the Blob service ("Authorize with Shared Key"):
///
/// ```text
/// VERB \n Content-Encoding \n Content-Language \n Content-Length \n Content-MD5 \n
/// Content-Type \n Date \n If-Modified-Since \n If-Match \n If-None-Match \n
/// If-Unmodified-Since \n Range \n CanonicalizedHeaders CanonicalizedResource
/// ```
///
/// CanonicalizedHeaders: every `x-ms-` header, name lowercased, sorted, `name:value\n`.
/// CanonicalizedResource: `/{account}{path}`, then `\n{name}:{value}` for each query parameter,
/// names lowercased and sorted. Signature: base64(HMAC-SHA256(base64decode(key), that)).
/// Answers 200 with a container list when it matches, else 403 `AuthenticationFailed`; anything
/// but a body-less GET of `comp=list` is 405 (only read-only requests may come).
pub fn mock_storage(account: &'static str, key: &'static str) -> MockServer {
    MockServer::start(move |req| {
        use base64::Engine;
        use hmac::{KeyInit, Mac};
        let denied = || {
            MockReply::new(403, "<Error><Code>AuthenticationFailed</Code></Error>")
                .header("x-ms-error-code", "AuthenticationFailed")
        };
        let (path, query) = req.target.split_once('?').unwrap_or((&req.target, ""));
        let mut params: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.to_ascii_lowercase(), v.into_owned()))
            .collect();
        params.sort();
        let read_only = req.method == "GET"
            && req.body.is_empty()
            && params.iter().any(|(k, v)| k == "comp" && v == "list");
        if !read_only {
            return MockReply::new(405, "");
        }
        if !path.starts_with(&format!("/{account}/")) {
            return MockReply::new(404, "").header("x-ms-error-code", "ResourceNotFound");
        }
        let header = |name: &str| req.header(name).unwrap_or("").to_string();
        let length = match header("content-length").as_str() {
            "0" => String::new(),
            other => other.to_string(),
        };
        let mut ms: Vec<(String, String)> =
            req.headers.iter().filter(|(k, _)| k.starts_with("x-ms-")).cloned().collect();
        ms.sort();
        let mut to_sign = format!(
            "{}\n{}\n{}\n{length}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n",
            req.method,
            header("content-encoding"),
            header("content-language"),
            header("content-md5"),
            header("content-type"),
            header("date"),
            header("if-modified-since"),
            header("if-match"),
            header("if-none-match"),
            header("if-unmodified-since"),
            header("range"),
        );
        for (k, v) in &ms {
            to_sign.push_str(&format!("{k}:{v}\n"));
        }
        to_sign.push_str(&format!("/{account}{path}"));
        for (k, v) in &params {
            to_sign.push_str(&format!("\n{k}:{v}"));
        }
        let key_bytes = base64::engine::general_purpose::STANDARD.decode(key).expect("mock key");
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key_bytes).expect("hmac");
        mac.update(to_sign.as_bytes());
        let expected =
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        if header("authorization") == format!("SharedKey {account}:{expected}")
            && !header("x-ms-date").is_empty()
            && !header("x-ms-version").is_empty()
        {
            MockReply::new(
                200,
                "<?xml version=\"1.0\"?><EnumerationResults><Containers/></EnumerationResults>",
            )
        } else {
            denied()
        }
    })
}
