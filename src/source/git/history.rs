//! History scans: every commit reachable from all refs (or from a range), each unique blob read
//! and scanned once, each secret attributed to the commit that introduced it at each path.
//!
//! Three passes, so memory holds ids and paths, never contents:
//! 1. Walk commits parents-first (topological, reversed) and diff each commit's tree against its
//!    first parent's (or the empty tree), comparing object ids only and skipping identical
//!    subtrees. The first commit whose tree has a (blob, path) pair is recorded. A merge's tree
//!    is compared with its first parent; whatever it has that no parent has (a conflict
//!    resolution) is new in the merge; what came from another parent was recorded earlier.
//! 2. Read and scan the unique blobs in parallel, one at a time per thread.
//! 3. Group matches by (rule, secret, path): the earliest commit among the pairs holding that
//!    secret there introduced it. Other paths with the same secret become `other_locations`.
//!
//! In a range, pairs that came from outside it are not scanned, and a secret is reported only if
//! no parent of its introducing commit already had it at that path.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use git2::{ObjectType, Oid, Repository, RevparseMode, Sort, Tree};
use rayon::prelude::*;

use super::{GitError, Loaded, Progress, commit_info, load_blob, open, repo_error, short};
use crate::detect::Detector;
use crate::finding::{self, CommitInfo, Finding, OtherLocation};
use crate::scan::{ScanOutput, locate};
use crate::source::{ScanError, SkipReason, Skipped};

/// How to scan a history.
#[derive(Debug, Clone, Default)]
pub struct HistoryOptions {
    /// Only commits in this range (`A..B`: reachable from B, not from A; or a single revision:
    /// its whole history). `None`: every ref, HEAD and the stash.
    pub range: Option<String>,
    /// Blobs larger than this many bytes are skipped.
    pub max_file_size: u64,
    /// Worker threads (0: one per core).
    pub threads: usize,
}

/// Marks a (blob, path) pair that a range's commits inherited from outside the range.
const OUTSIDE: u32 = u32::MAX;

/// What the walk learned: commits in order, and where each pair first appeared.
#[derive(Default)]
struct Walk {
    /// Commit ids by topological index (parents first).
    commits: Vec<Oid>,
    /// Interned paths.
    paths: Vec<String>,
    path_ids: HashMap<Vec<u8>, u32>,
    /// Blob → (path, index of the first commit whose tree has the blob at that path), in walk
    /// order; the commit is [`OUTSIDE`] if a range inherited the pair.
    first_seen: HashMap<Oid, Vec<(u32, u32)>>,
    /// Gitlinks (submodules) met, by path id.
    submodules: HashSet<u32>,
    errors: Vec<ScanError>,
}

impl Walk {
    fn path_id(&mut self, path: &[u8]) -> u32 {
        if let Some(&id) = self.path_ids.get(path) {
            return id;
        }
        let id = self.paths.len() as u32;
        self.paths.push(String::from_utf8_lossy(path).into_owned());
        self.path_ids.insert(path.to_vec(), id);
        id
    }
}

/// What reading one unique blob gave.
enum BlobResult {
    Scanned { bytes: u64, findings: Vec<Finding> },
    Skipped(SkipReason),
    Error(String),
}

/// Scans the history of the repository at `repo_path`. Fails only if the repository, its refs or
/// the range cannot be read; unreadable objects are listed in the summary's errors.
pub fn scan_history(
    detector: &Detector,
    repo_path: &Path,
    options: &HistoryOptions,
    progress: &dyn Progress,
) -> Result<ScanOutput, GitError> {
    let started = Instant::now();
    let repo = open(repo_path)?;
    let mut walk = Walk::default();
    let threads = match options.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    walk_commits(&repo, repo_path, options.range.as_deref(), threads, &mut walk, progress)?;

    // Unique blobs, with every (path, commit) where they first appeared, oldest first.
    let mut blobs: Vec<(Oid, Vec<(u32, u32)>)> = std::mem::take(&mut walk.first_seen)
        .into_iter()
        .filter_map(|(blob, mut occ)| {
            occ.retain(|&(_, commit)| commit != OUTSIDE);
            occ.sort_by_key(|&(path, commit)| (commit, path));
            (!occ.is_empty()).then_some((blob, occ))
        })
        .collect();
    // Oldest first: neighbouring blobs share delta bases in the pack.
    blobs.sort_by_key(|(oid, occ)| (occ[0].1, *oid));
    progress.blobs(blobs.len() as u64);

    let results = scan_blobs(detector, &repo, &blobs, options, progress);

    let mut out = ScanOutput::default();
    out.summary.commits = walk.commits.len() as u64;
    out.summary.shallow = repo.is_shallow();
    out.summary.errors = std::mem::take(&mut walk.errors);
    for &path in &walk.submodules {
        out.summary.skipped.push(Skipped {
            path: walk.paths[path as usize].clone(),
            reason: SkipReason::Submodule,
        });
    }
    // (rule, secret, path) → (commit index, the match in the blob where that commit has it).
    let mut introduced: BTreeMap<(String, String, u32), (u32, Finding)> = BTreeMap::new();
    for ((oid, occ), result) in blobs.iter().zip(results) {
        let (first_path, first_commit) = occ[0];
        let name = || {
            format!(
                "{}:{}",
                short(walk.commits[first_commit as usize]),
                walk.paths[first_path as usize]
            )
        };
        match result {
            BlobResult::Scanned { bytes, findings } => {
                out.summary.files += 1;
                out.summary.bytes += bytes;
                for f in findings {
                    for &(path, commit) in occ {
                        let key = (f.rule_id.clone(), f.secret.reveal().to_string(), path);
                        let better = introduced.get(&key).is_none_or(|(c, g)| {
                            (commit, f.line, f.column) < (*c, g.line, g.column)
                        });
                        if better {
                            introduced.insert(key, (commit, f.clone()));
                        }
                    }
                }
            }
            BlobResult::Skipped(reason) => {
                out.summary.skipped.push(Skipped { path: name(), reason });
            }
            BlobResult::Error(message) => {
                out.summary
                    .errors
                    .push(ScanError { path: format!("blob {oid} ({})", name()), message });
            }
        }
    }
    if options.range.is_some() {
        drop_inherited(&repo, &walk, &mut introduced, &mut out.summary.errors);
    }
    out.findings = assemble(&repo, &walk, introduced, &mut out.summary.errors);
    finding::sort_findings(&mut out.findings);
    out.summary.sort();
    out.summary.elapsed = started.elapsed();
    Ok(out)
}

/// Walks the commits parents-first and records where each (blob, path) pair first appears.
fn walk_commits(
    repo: &Repository,
    repo_path: &Path,
    range: Option<&str>,
    threads: usize,
    walk: &mut Walk,
    progress: &dyn Progress,
) -> Result<(), GitError> {
    let mut revwalk = repo.revwalk().map_err(repo_error(repo_path, "cannot walk commits"))?;
    revwalk
        .set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE)
        .map_err(repo_error(repo_path, "cannot sort commits"))?;
    match range {
        None => {
            // Every ref: local and remote branches, tags, notes, the stash; refs that do not
            // lead to a commit are ignored by libgit2.
            revwalk.push_glob("refs/*").map_err(repo_error(repo_path, "cannot read refs"))?;
            match repo.head() {
                Ok(head) => {
                    if let Ok(commit) = head.peel_to_commit() {
                        revwalk
                            .push(commit.id())
                            .map_err(repo_error(repo_path, "cannot walk HEAD"))?;
                    }
                }
                Err(e) if super::is_unborn(&e) => {}
                Err(e) => return Err(repo_error(repo_path, "cannot read HEAD")(e)),
            }
        }
        Some(spec) => push_range(repo, repo_path, spec, &mut revwalk)?,
    }
    for item in revwalk {
        match item {
            Ok(oid) => walk.commits.push(oid),
            Err(e) => {
                walk.errors.push(ScanError { path: "commit walk".into(), message: e.to_string() })
            }
        }
    }
    diff_commits(repo, threads, walk, progress);
    Ok(())
}

/// Commits diffed per unit of work handed to a thread.
const BLOCK: usize = 64;

/// What one commit's tree has that its first parent's lacks.
struct CommitDiff {
    changes: Vec<Change>,
    /// A merge: changes may have come from another parent.
    merge: bool,
    errors: Vec<ScanError>,
}

/// Diffs every commit against its first parent on worker threads (each with its own repository
/// handle), and records the changes on this thread, block by block in topological order, so the
/// first commit recorded for a pair is the earliest. Memory holds a few blocks at a time.
fn diff_commits(repo: &Repository, threads: usize, walk: &mut Walk, progress: &dyn Progress) {
    let commits = std::mem::take(&mut walk.commits);
    let blocks = commits.len().div_ceil(BLOCK);
    let next = AtomicUsize::new(0);
    let git_dir = repo.path().to_path_buf();
    let (tx, rx) = mpsc::channel::<(usize, Vec<CommitDiff>)>();
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            let (tx, next, commits, git_dir) = (tx.clone(), &next, &commits, &git_dir);
            scope.spawn(move || {
                let worker = Repository::open(git_dir);
                let mut trees = TreeCache::default();
                loop {
                    let block = next.fetch_add(1, Ordering::Relaxed);
                    if block >= blocks {
                        break;
                    }
                    let oids = &commits[block * BLOCK..((block + 1) * BLOCK).min(commits.len())];
                    let diffs = oids
                        .iter()
                        .map(|&oid| match &worker {
                            Ok(r) => diff_commit(r, oid, &mut trees),
                            Err(e) => CommitDiff {
                                changes: Vec::new(),
                                merge: false,
                                errors: vec![ScanError {
                                    path: format!("commit {oid}"),
                                    message: e.to_string(),
                                }],
                            },
                        })
                        .collect();
                    if tx.send((block, diffs)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut pending = BTreeMap::new();
        let mut expected = 0;
        for (block, diffs) in rx {
            pending.insert(block, diffs);
            while let Some(diffs) = pending.remove(&expected) {
                for (i, diff) in diffs.into_iter().enumerate() {
                    let index = expected * BLOCK + i;
                    progress.commit();
                    record(repo, commits[index], index as u32, diff, walk);
                }
                expected += 1;
            }
        }
    });
    walk.commits = commits;
}

/// Trees read recently by one worker: a commit's trees are mostly its child's parent trees, and
/// libgit2's own object cache is off. Emptied when it grows past a bound.
#[derive(Default)]
struct TreeCache<'r> {
    trees: HashMap<Oid, Tree<'r>>,
    /// Root tree id of commits diffed recently, so a parent commit need not be read again.
    roots: HashMap<Oid, Oid>,
}

impl<'r> TreeCache<'r> {
    const MAX: usize = 512;

    fn get(&mut self, repo: &'r Repository, oid: Oid) -> Result<Tree<'r>, git2::Error> {
        if let Some(tree) = self.trees.get(&oid) {
            return Ok(tree.clone());
        }
        let tree = repo.find_tree(oid)?;
        if self.trees.len() >= Self::MAX {
            self.trees.clear();
            self.roots.clear();
        }
        self.trees.insert(oid, tree.clone());
        Ok(tree)
    }
}

/// Diffs one commit's tree against its first parent's (or the empty tree).
fn diff_commit<'r>(repo: &'r Repository, oid: Oid, trees: &mut TreeCache<'r>) -> CommitDiff {
    let mut diff = CommitDiff { changes: Vec::new(), merge: false, errors: Vec::new() };
    let roots = repo.find_commit(oid).and_then(|commit| {
        diff.merge = commit.parent_count() > 1;
        trees.roots.insert(oid, commit.tree_id());
        let parent = match commit.parent_count() {
            0 => None,
            _ => {
                let parent = commit.parent_id(0)?;
                let root = match trees.roots.get(&parent) {
                    Some(root) => *root,
                    None => commit.parent(0)?.tree_id(),
                };
                Some(trees.get(repo, root)?)
            }
        };
        Ok((trees.get(repo, commit.tree_id())?, parent))
    });
    match roots {
        Ok((tree, parent)) => {
            let mut path = Vec::new();
            diff_trees(
                repo,
                trees,
                parent.as_ref(),
                &tree,
                &mut path,
                &mut diff.changes,
                &mut diff.errors,
                oid,
            );
        }
        Err(e) => {
            diff.errors.push(ScanError { path: format!("commit {oid}"), message: e.to_string() })
        }
    }
    diff
}

/// Records the pairs a commit's diff found that no earlier commit had.
fn record(repo: &Repository, oid: Oid, index: u32, diff: CommitDiff, walk: &mut Walk) {
    walk.errors.extend(diff.errors);
    // Other parents' trees, read only if a merge brings a pair not seen yet.
    let mut others: Option<Vec<Tree<'_>>> = None;
    for change in diff.changes {
        let path = walk.path_id(&change.path);
        if change.submodule {
            walk.submodules.insert(path);
            continue;
        }
        let seen = walk.first_seen.get(&change.blob);
        if seen.is_some_and(|occ| occ.iter().any(|&(p, _)| p == path)) {
            continue;
        }
        // Not seen before: new in this commit (for a merge, if no other parent has it either:
        // a conflict resolution), or, in a range, inherited from a parent outside the range.
        let inherited = diff.merge && {
            let trees =
                others.get_or_insert_with(|| other_parent_trees(repo, oid, &mut walk.errors));
            trees.iter().any(|t| {
                t.get_path(Path::new(&walk.paths[path as usize]))
                    .is_ok_and(|e| e.id() == change.blob)
            })
        };
        let commit = if inherited { OUTSIDE } else { index };
        walk.first_seen.entry(change.blob).or_default().push((path, commit));
    }
}

/// The trees of a merge's parents after the first.
fn other_parent_trees<'r>(
    repo: &'r Repository,
    oid: Oid,
    errors: &mut Vec<ScanError>,
) -> Vec<Tree<'r>> {
    let trees = repo.find_commit(oid).and_then(|commit| {
        (1..commit.parent_count()).map(|i| commit.parent(i)?.tree()).collect::<Result<Vec<_>, _>>()
    });
    trees.unwrap_or_else(|e| {
        errors.push(ScanError { path: format!("commit {oid}"), message: e.to_string() });
        Vec::new()
    })
}

/// Sets up the walk of `--range`: `A..B`, or a single revision and its ancestors.
fn push_range(
    repo: &Repository,
    repo_path: &Path,
    spec: &str,
    revwalk: &mut git2::Revwalk<'_>,
) -> Result<(), GitError> {
    let bad = |message: String| GitError::Range {
        path: crate::source::display_path(repo_path),
        range: spec.to_string(),
        message,
    };
    let revspec = repo.revparse(spec).map_err(|e| bad(e.message().to_string()))?;
    if revspec.mode().contains(RevparseMode::MERGE_BASE) {
        return Err(bad("'A...B' is not supported; use 'A..B'".into()));
    }
    let peel = |object: Option<&git2::Object<'_>>| -> Result<Option<Oid>, GitError> {
        object
            .map(|o| o.peel_to_commit().map(|c| c.id()).map_err(|e| bad(e.message().to_string())))
            .transpose()
    };
    let (from, to) = (peel(revspec.from())?, peel(revspec.to())?);
    let walk_error = |e: git2::Error| bad(e.message().to_string());
    if revspec.mode().contains(RevparseMode::RANGE) {
        let (Some(from), Some(to)) = (from, to) else {
            return Err(bad("a range needs both ends".into()));
        };
        revwalk.push(to).map_err(walk_error)?;
        revwalk.hide(from).map_err(walk_error)?;
    } else if let Some(single) = from {
        revwalk.push(single).map_err(walk_error)?;
    }
    Ok(())
}

/// A blob (or gitlink) that differs between two trees.
struct Change {
    blob: Oid,
    path: Vec<u8>,
    submodule: bool,
}

/// Collects the blobs and gitlinks of `new` that `old` lacks or has with another id, comparing
/// ids only (no content is read) and skipping identical subtrees. Unreadable subtrees are
/// reported and skipped.
#[allow(clippy::too_many_arguments)]
fn diff_trees<'r>(
    repo: &'r Repository,
    trees: &mut TreeCache<'r>,
    old: Option<&Tree<'r>>,
    new: &Tree<'r>,
    path: &mut Vec<u8>,
    changes: &mut Vec<Change>,
    errors: &mut Vec<ScanError>,
    commit: Oid,
) {
    for entry in new.iter() {
        let name = entry.name_bytes();
        let before = old.and_then(|t| t.get_name_bytes(name));
        if before.as_ref().is_some_and(|b| b.id() == entry.id()) {
            continue;
        }
        let len = path.len();
        if len > 0 {
            path.push(b'/');
        }
        path.extend_from_slice(name);
        match entry.kind() {
            Some(ObjectType::Tree) => {
                let old_sub = before
                    .filter(|b| b.kind() == Some(ObjectType::Tree))
                    .and_then(|b| trees.get(repo, b.id()).ok());
                match trees.get(repo, entry.id()) {
                    Ok(sub) => diff_trees(
                        repo,
                        trees,
                        old_sub.as_ref(),
                        &sub,
                        path,
                        changes,
                        errors,
                        commit,
                    ),
                    Err(e) => errors.push(ScanError {
                        path: format!("tree {} ({}:{})", entry.id(), short(commit), lossy(path)),
                        message: e.to_string(),
                    }),
                }
            }
            // Symbolic links hold a target path, not content (directory scans skip them too).
            Some(ObjectType::Blob) if entry.filemode() != 0o120000 => {
                changes.push(Change { blob: entry.id(), path: path.clone(), submodule: false });
            }
            Some(ObjectType::Commit) => {
                changes.push(Change { blob: entry.id(), path: path.clone(), submodule: true });
            }
            _ => {}
        }
        path.truncate(len);
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Reads and scans each unique blob once, in parallel; each thread has its own repository
/// handle and scratch space and holds one blob at a time.
fn scan_blobs(
    detector: &Detector,
    repo: &Repository,
    blobs: &[(Oid, Vec<(u32, u32)>)],
    options: &HistoryOptions,
    progress: &dyn Progress,
) -> Vec<BlobResult> {
    let git_dir = repo.path().to_path_buf();
    let scan = || {
        blobs
            .par_iter()
            .map_init(
                || (Repository::open(&git_dir), detector.scratch()),
                |(repo, scratch), (oid, _)| {
                    let odb = match repo {
                        Ok(r) => r.odb(),
                        Err(e) => Err(git2::Error::from_str(e.message())),
                    };
                    let result = match odb {
                        Ok(odb) => scan_blob(detector, scratch, &odb, *oid, options.max_file_size),
                        Err(e) => BlobResult::Error(e.to_string()),
                    };
                    let bytes = match &result {
                        BlobResult::Scanned { bytes, .. } => *bytes,
                        _ => 0,
                    };
                    progress.blob(bytes);
                    result
                },
            )
            .collect()
    };
    match rayon::ThreadPoolBuilder::new().num_threads(options.threads).build() {
        Ok(pool) => pool.install(scan),
        Err(_) => scan(),
    }
}

fn scan_blob(
    detector: &Detector,
    scratch: &mut crate::detect::Scratch,
    odb: &git2::Odb<'_>,
    oid: Oid,
    max_size: u64,
) -> BlobResult {
    match load_blob(odb, oid, max_size) {
        Ok(Loaded::Text(object)) => {
            let bytes = object.data();
            let matches = detector.scan(bytes, scratch);
            let findings = locate(detector, "", bytes, &matches);
            BlobResult::Scanned { bytes: bytes.len() as u64, findings }
        }
        Ok(Loaded::Skipped(reason)) => BlobResult::Skipped(reason),
        Err(e) => BlobResult::Error(e.to_string()),
    }
}

/// Range scans: drops secrets that a parent of their introducing commit already had at that
/// path (the range changed the file but did not add that secret).
fn drop_inherited(
    repo: &Repository,
    walk: &Walk,
    introduced: &mut BTreeMap<(String, String, u32), (u32, Finding)>,
    errors: &mut Vec<ScanError>,
) {
    introduced.retain(|(_, secret, path), (commit, _)| {
        let oid = walk.commits[*commit as usize];
        let path = Path::new(&walk.paths[*path as usize]);
        let parents = match repo.find_commit(oid) {
            Ok(c) => c.parents().collect::<Vec<_>>(),
            Err(e) => {
                errors.push(ScanError { path: format!("commit {oid}"), message: e.to_string() });
                return true;
            }
        };
        !parents.iter().any(|parent| {
            let Ok(entry) = parent.tree().and_then(|t| t.get_path(path)) else { return false };
            match repo.find_blob(entry.id()) {
                Ok(blob) => memchr::memmem::find(blob.content(), secret.as_bytes()).is_some(),
                Err(_) => false,
            }
        })
    });
}

/// Turns the introduced secrets into findings with commit details and the other paths where
/// each secret appears.
fn assemble(
    repo: &Repository,
    walk: &Walk,
    introduced: BTreeMap<(String, String, u32), (u32, Finding)>,
    errors: &mut Vec<ScanError>,
) -> Vec<Finding> {
    let mut infos: HashMap<u32, Option<CommitInfo>> = HashMap::new();
    let mut findings = Vec::with_capacity(introduced.len());
    for ((rule, secret, path), (commit, mut f)) in introduced {
        let info = infos.entry(commit).or_insert_with(|| {
            let oid = walk.commits[commit as usize];
            match repo.find_commit(oid) {
                Ok(c) => Some(commit_info(&c)),
                Err(e) => {
                    errors
                        .push(ScanError { path: format!("commit {oid}"), message: e.to_string() });
                    None
                }
            }
        });
        let path = &walk.paths[path as usize];
        f.path = path.clone();
        f.fingerprint = finding::fingerprint(&rule, path, &secret);
        f.commit = info.clone().or_else(|| {
            Some(CommitInfo {
                commit: walk.commits[commit as usize].to_string(),
                author_name: String::new(),
                author_email: String::new(),
                date: String::new(),
                summary: String::new(),
            })
        });
        findings.push(f);
    }
    // Every other path where the same rule found the same secret.
    let mut by_secret: HashMap<(&str, &str), Vec<OtherLocation>> = HashMap::new();
    for f in &findings {
        by_secret.entry((&f.rule_id, f.secret.reveal())).or_default().push(OtherLocation {
            path: f.path.clone(),
            line: f.line,
            column: f.column,
            end_column: f.end_column,
            commit: f.commit.as_ref().map(|c| c.commit.clone()),
        });
    }
    let others: Vec<Vec<OtherLocation>> = findings
        .iter()
        .map(|f| {
            let mut list: Vec<OtherLocation> = by_secret[&(f.rule_id.as_str(), f.secret.reveal())]
                .iter()
                .filter(|o| o.path != f.path)
                .cloned()
                .collect();
            list.sort();
            list
        })
        .collect();
    for (f, list) in findings.iter_mut().zip(others) {
        f.other_locations = list;
    }
    findings
}
