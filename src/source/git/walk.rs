//! The commit walk of a history scan: which commits to visit (every ref, or a range), and, for
//! each, the (blob, path) pairs its tree has that its first parent's lacks, found by comparing
//! object ids only (no content is read) and skipping identical subtrees. Records the first commit
//! of each pair, in topological order (parents first), so that commit introduced it.
//!
//! Commits are diffed on worker threads, each with its own repository handle and a small cache
//! of recent trees, and recorded on the calling thread in order. A merge's tree is compared with
//! its first parent; a pair no parent has (a conflict resolution) is new in the merge, and one
//! that came from another parent was recorded when that parent was walked, or, in a range, is
//! marked as inherited from outside the range.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use git2::{ObjectType, Oid, Repository, RevparseMode, Sort, Tree};

use super::{GitError, Progress, repo_error, short};
use crate::source::ScanError;

/// Marks a (blob, path) pair that a range's commits inherited from outside the range.
pub(super) const OUTSIDE: u32 = u32::MAX;

/// What the walk learned: commits in order, and where each pair first appeared.
#[derive(Default)]
pub(super) struct Walk {
    /// Commit ids by topological index (parents first).
    pub(super) commits: Vec<Oid>,
    /// Interned paths.
    pub(super) paths: Vec<String>,
    path_ids: HashMap<Vec<u8>, u32>,
    /// Blob → (path, index of the first commit whose tree has the blob at that path), in walk
    /// order; the commit is [`OUTSIDE`] if a range inherited the pair.
    pub(super) first_seen: HashMap<Oid, Vec<(u32, u32)>>,
    /// Gitlinks (submodules) met, by path id.
    pub(super) submodules: HashSet<u32>,
    pub(super) errors: Vec<ScanError>,
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

/// Walks the commits parents-first and records where each (blob, path) pair first appears.
pub(super) fn walk_commits(
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
