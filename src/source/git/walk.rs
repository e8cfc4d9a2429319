//! The commit walk of a history scan: which commits to visit (every ref, or a range), and where
//! each (blob, path) pair first appears.
//!
//! Commits are visited parents first (topological order, reversed). For each, its tree is read
//! recursively, except subtrees already seen at the same path: a (tree, path) pair is read once
//! in the whole history, and every (blob, path) pair is recorded with the first commit whose tree
//! has it, which is the commit that introduced it there. Only ids and paths are kept; no blob is
//! read. This needs no diff against parents, so merges are covered whatever their number of
//! parents: what a merge has that no parent had (a conflict resolution) is first seen in it.
//!
//! In a range, the trees of the commits just outside it (the parents of its commits that are not
//! in it) are read first, and their pairs marked as inherited: they are not the range's doing.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use git2::{ObjectType, Oid, Repository, RevparseMode, Sort};

use super::{GitError, Progress, repo_error, short};
use crate::source::ScanError;

/// Marks a (blob, path) pair that a range's commits inherited from outside the range.
pub(super) const OUTSIDE: u32 = u32::MAX;

/// What the walk learned: commits in order, and where each pair first appeared.
#[derive(Default)]
pub(super) struct Walk {
    /// Commit ids by topological index (parents first).
    pub(super) commits: Vec<Oid>,
    /// Interned paths (of files and of directories).
    pub(super) paths: Vec<String>,
    path_ids: HashMap<Vec<u8>, u32>,
    /// Blob → (path, index of the first commit whose tree has the blob at that path), in walk
    /// order; the commit is [`OUTSIDE`] if a range inherited the pair.
    pub(super) first_seen: HashMap<Oid, Vec<(u32, u32)>>,
    /// (tree, path) pairs already read.
    trees_seen: HashSet<(Oid, u32)>,
    /// Gitlinks (submodules) met, by path id.
    pub(super) submodules: HashSet<u32>,
    /// Objects that could not be read.
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

    /// Records a (blob, path) pair unless an earlier commit had it.
    fn record(&mut self, blob: Oid, path: u32, commit: u32) {
        let occurrences = self.first_seen.entry(blob).or_default();
        if !occurrences.iter().any(|&(p, _)| p == path) {
            occurrences.push((path, commit));
        }
    }
}

/// Walks the commits parents-first and records where each (blob, path) pair first appears.
pub(super) fn walk_commits(
    repo: &Repository,
    repo_path: &Path,
    range: Option<&str>,
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
    if range.is_some() {
        read_boundary(repo, walk);
    }
    let mut path = Vec::new();
    for index in 0..walk.commits.len() {
        let oid = walk.commits[index];
        progress.commit();
        match repo.find_commit(oid) {
            Ok(commit) => read_tree(repo, commit.tree_id(), &mut path, index as u32, oid, walk),
            Err(e) => walk
                .errors
                .push(ScanError { path: format!("commit {oid}"), message: e.to_string() }),
        }
    }
    Ok(())
}

/// Range scans: reads the trees of the parents of range commits that are outside the range, so
/// what the range inherited from them is known (and marked [`OUTSIDE`]).
fn read_boundary(repo: &Repository, walk: &mut Walk) {
    let in_range: HashSet<Oid> = walk.commits.iter().copied().collect();
    let mut outside = Vec::new();
    for &oid in &walk.commits {
        match repo.find_commit(oid) {
            Ok(commit) => {
                outside.extend(commit.parent_ids().filter(|p| !in_range.contains(p)));
            }
            Err(e) => walk
                .errors
                .push(ScanError { path: format!("commit {oid}"), message: e.to_string() }),
        }
    }
    outside.sort();
    outside.dedup();
    let mut path = Vec::new();
    for oid in outside {
        match repo.find_commit(oid) {
            Ok(commit) => read_tree(repo, commit.tree_id(), &mut path, OUTSIDE, oid, walk),
            Err(e) => walk
                .errors
                .push(ScanError { path: format!("commit {oid}"), message: e.to_string() }),
        }
    }
}

/// Reads a tree at `path` (unless this tree was already read at this path) and records its
/// blobs and gitlinks, recursing into subtrees. Unreadable trees are reported and skipped.
fn read_tree(
    repo: &Repository,
    tree_id: Oid,
    path: &mut Vec<u8>,
    index: u32,
    commit: Oid,
    walk: &mut Walk,
) {
    let prefix = walk.path_id(path);
    if !walk.trees_seen.insert((tree_id, prefix)) {
        return;
    }
    let tree = match repo.find_tree(tree_id) {
        Ok(tree) => tree,
        Err(e) => {
            let at = String::from_utf8_lossy(path);
            walk.errors.push(ScanError {
                path: format!("tree {tree_id} ({}:{at})", short(commit)),
                message: e.to_string(),
            });
            return;
        }
    };
    for entry in tree.iter() {
        let len = path.len();
        if len > 0 {
            path.push(b'/');
        }
        path.extend_from_slice(entry.name_bytes());
        match entry.kind() {
            Some(ObjectType::Tree) => read_tree(repo, entry.id(), path, index, commit, walk),
            // Symbolic links hold a target path, not content (directory scans skip them too).
            Some(ObjectType::Blob) if entry.filemode() != 0o120000 => {
                let id = walk.path_id(path);
                walk.record(entry.id(), id, index);
            }
            Some(ObjectType::Commit) => {
                let id = walk.path_id(path);
                walk.submodules.insert(id);
            }
            _ => {}
        }
        path.truncate(len);
    }
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
