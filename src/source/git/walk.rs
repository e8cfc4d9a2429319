//! The commit walk of a history scan: which commits to visit (every ref, or a range), and where
//! each (blob, path) pair first appears.
//!
//! Commits are visited parents first (topological order, reversed). For each, its tree is read
//! recursively, except subtrees already seen at the same path: a (tree, path) pair is read once
//! in the whole history, and every (blob, path) pair is recorded with the first commit whose tree
//! has it, which is the commit that introduced it there. Only ids and paths are kept; no blob is
//! read. This needs no diff against parents, so merges are covered whatever their number of
//! parents: what a merge has that no parent had (a conflict resolution) is first seen in it.
//! Trees are read raw and parsed in place (module `trees`); the entries of a tree that the tree
//! last read at the same path has too (same mode, name and id) were recorded with that tree, so
//! only the entries that differ are looked up in the tables (on git/git, the tables' hashing and
//! comparing were about a fifth of a history scan's CPU time; a commit changes a few entries of
//! a root tree of hundreds).
//!
//! The order comes from libgit2's walk; if a missing or corrupt commit stops it, a depth-first
//! walk that reads each commit itself takes over, reporting the commits it cannot read and
//! scanning everything still reachable without them.
//!
//! In a range, the trees of the commits just outside it (the parents of its commits that are not
//! in it) are read first, and their pairs marked as inherited: they are not the range's doing.
//!
//! Paths (of files, directories, symbolic links and submodules) are interned once each, with the
//! first commit whose tree has them, so the history scan can scan each name once and attribute
//! a secret in a name to the commit that introduced the path. Paths are kept as written in
//! reports: invalid UTF-8 escaped as `\xHH` ([`escape_invalid_utf8`]); the bytes of such paths
//! are kept too, to look them up in trees.

use std::collections::HashSet;
use std::path::Path;

use git2::{ObjectType, Oid, Repository, RevparseMode, Sort};

use rayon::prelude::*;

use super::trees::{self, Before, Kind};
use super::{GitError, Progress, Source, repo_error, short};
use crate::source::{ScanError, escape_invalid_utf8};

/// The walk's tables: keyed by ids and paths read from the repository, hashed with foldhash
/// (libgit2's ids are already uniform; SipHash was a tenth of the walk).
type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
type FastSet<K> = HashSet<K, foldhash::fast::RandomState>;

/// An object id as raw bytes: compared and hashed in Rust (comparing `Oid`s calls libgit2).
pub(super) type Id = [u8; 20];

/// The raw bytes of a SHA-1 object id.
pub(super) fn id(oid: Oid) -> Id {
    super::raw_id(oid)
}

/// Marks a (blob, path) pair that a range's commits inherited from outside the range.
pub(super) const OUTSIDE: u32 = u32::MAX;

/// What the walk learned: commits in order, and where each pair first appeared.
#[derive(Default)]
pub(super) struct Walk {
    /// Commit ids by topological index (parents first).
    pub(super) commits: Vec<Oid>,
    /// Interned paths (of files and of directories), as written in reports.
    pub(super) paths: Vec<String>,
    /// Index of the first commit whose tree has each path (by path id), or [`OUTSIDE`] if a
    /// range inherited the path.
    pub(super) path_first: Vec<u32>,
    path_ids: FastMap<Vec<u8>, u32>,
    /// The bytes of the paths that are not UTF-8 (their `paths` entry is escaped).
    raw_paths: FastMap<u32, Vec<u8>>,
    /// Blob → (path, index of the first commit whose tree has the blob at that path), in walk
    /// order; the commit is [`OUTSIDE`] if a range inherited the pair.
    pub(super) first_seen: FastMap<Id, Vec<(u32, u32)>>,
    /// The (blob, path) pairs in `first_seen`, so recording a pair is O(1) even for a blob found
    /// at thousands of paths (the empty file).
    pairs_seen: FastSet<(Id, u32)>,
    /// (tree, path) pairs already read.
    trees_seen: FastSet<(Id, u32)>,
    /// The raw bytes of the tree last read at each directory path (by path id): an entry of a
    /// tree read there later that this one has too was recorded with it, and is passed over.
    /// Bounded by [`LAST_TREES_MAX`] bytes, and emptied when the walk is done.
    last_tree: FastMap<u32, Vec<u8>>,
    /// The bytes held in `last_tree`.
    last_tree_bytes: usize,
    /// Buffers for raw trees, kept for reuse.
    spare: Vec<Vec<u8>>,
    /// Gitlinks (submodules) met, by path id.
    pub(super) submodules: FastSet<u32>,
    /// Objects that could not be read.
    pub(super) errors: Vec<ScanError>,
    /// The unreadable (tree, path) pairs this walk met itself: (position in `errors`, tree, path
    /// id), so parts of a parallel walk that met the same one report it once.
    unreadable_trees: Vec<(usize, Id, u32)>,
    /// The unreadable (tree, path) pairs of the parts merged into this walk.
    unreadable_merged: FastSet<(Id, u32)>,
}

impl Walk {
    /// The id of a path, interned on first sight with `commit`, the index of the commit being
    /// read (commits are read in order, so that is the first commit that has the path).
    fn path_id(&mut self, path: &[u8], commit: u32) -> u32 {
        if let Some(&id) = self.path_ids.get(path) {
            return id;
        }
        let id = self.paths.len() as u32;
        match std::str::from_utf8(path) {
            Ok(text) => self.paths.push(text.to_string()),
            Err(_) => {
                self.paths.push(escape_invalid_utf8(path));
                self.raw_paths.insert(id, path.to_vec());
            }
        }
        self.path_first.push(commit);
        self.path_ids.insert(path.to_vec(), id);
        id
    }

    /// A path as git has it (bytes), to look it up in a tree.
    pub(super) fn git_path(&self, id: u32) -> std::path::PathBuf {
        match self.raw_paths.get(&id) {
            Some(raw) => super::path_of_bytes(raw),
            None => std::path::PathBuf::from(&self.paths[id as usize]),
        }
    }

    /// Records a (blob, path) pair unless an earlier commit had it.
    fn record(&mut self, blob: &Id, path: u32, commit: u32) {
        let blob = *blob;
        if self.pairs_seen.insert((blob, path)) {
            self.first_seen.entry(blob).or_default().push((path, commit));
        }
    }
}

/// Walks the commits parents-first and records where each (blob, path) pair first appears.
/// Without a range, the commits reachable from `hide` are left out, and their trees read as a
/// range's boundary.
///
/// A whole-history walk of many commits on several `threads` is split into parts of
/// consecutive commits read in parallel (each with its own handle from `source`) and merged in
/// order: the result is the one-part walk's, paths, ids, pairs and errors alike.
#[allow(clippy::too_many_arguments)]
pub(super) fn walk_commits(
    repo: &Repository,
    source: &Source,
    repo_path: &Path,
    range: Option<&str>,
    hide: &[Oid],
    walk: &mut Walk,
    progress: &dyn Progress,
    pool: Option<&rayon::ThreadPool>,
) -> Result<(), GitError> {
    let threads = pool.map_or(1, rayon::ThreadPool::current_num_threads);
    let (tips, hidden) = match range {
        None => (ref_tips(repo, repo_path, &mut walk.errors)?, hide.to_vec()),
        Some(spec) => range_ends(repo, repo_path, spec)?,
    };
    walk.commits = match ordered_by_libgit2(repo, &tips, &hidden) {
        Ok(commits) => commits,
        Err(e) => {
            // A missing or corrupt commit stops libgit2's walk: walk by hand, reporting and
            // skipping what cannot be read.
            let known = walk.errors.len();
            let commits = ordered_by_hand(repo, &tips, &hidden, &mut walk.errors);
            if walk.errors.len() == known {
                walk.errors
                    .push(ScanError { path: "commit walk".into(), message: super::message(&e) });
            }
            commits
        }
    };
    if range.is_some() || !hidden.is_empty() {
        read_boundary(&mut TreeSource::new(repo), walk);
    }
    let commits = std::mem::take(&mut walk.commits);
    // A range (or a walk with hidden commits) is walked in one part: what it inherited (read
    // by `read_boundary`) is in `walk`.
    let parts = if range.is_some() || !hidden.is_empty() || threads <= 1 {
        1
    } else {
        (commits.len() / MIN_PART).clamp(1, threads * PARTS_PER_THREAD)
    };
    if parts == 1 {
        read_commits(&mut TreeSource::new(repo), &commits, 0..commits.len(), walk, progress);
    } else {
        let size = commits.len().div_ceil(parts);
        let ranges: Vec<_> =
            (0..parts).map(|k| k * size..((k + 1) * size).min(commits.len())).collect();
        // A wave of parts at a time, merged in commit order: memory holds the merged tables and
        // one wave of parts.
        for wave in ranges.chunks(threads) {
            let read = || -> Vec<Option<Walk>> {
                wave.par_iter()
                    .map(|range| {
                        let repo = source.reopen().ok()?;
                        let mut part = Walk::default();
                        let mut from = TreeSource::new(&repo);
                        read_commits(&mut from, &commits, range.clone(), &mut part, progress);
                        Some(part)
                    })
                    .collect()
            };
            let done = match pool {
                Some(pool) => pool.install(read),
                None => read(),
            };
            for (range, part) in wave.iter().zip(done) {
                let part = part.unwrap_or_else(|| {
                    // No handle for a worker: this part on the calling thread's.
                    let mut part = Walk::default();
                    let mut from = TreeSource::new(repo);
                    read_commits(&mut from, &commits, range.clone(), &mut part, progress);
                    part
                });
                walk.merge(part);
            }
        }
    }
    walk.commits = commits;
    // The trees last read are for passing over entries while reading: not kept for the scan.
    walk.last_tree = FastMap::default();
    walk.last_tree_bytes = 0;
    walk.spare = Vec::new();
    Ok(())
}

/// The fewest commits a part of a parallel walk has: each part reads the whole tree of its
/// first commit again (what a one-part walk knows from the commits before it).
const MIN_PART: usize = 2000;
/// Parts per worker thread, so that a slow part does not leave the other threads idle long.
const PARTS_PER_THREAD: usize = 8;

/// Most bytes of raw trees a walker keeps to pass over unchanged entries ([`Walk::last_tree`]):
/// past it the kept trees are dropped (the next tree read at each path is then read in full),
/// so a repository of very many directories does not hold a copy of all their trees.
const LAST_TREES_MAX: usize = 32 << 20;

/// Where a walker reads trees: its libgit2 handle, and that handle's object database.
struct TreeSource<'a> {
    repo: &'a Repository,
    odb: Option<git2::Odb<'a>>,
}

impl<'a> TreeSource<'a> {
    fn new(repo: &'a Repository) -> TreeSource<'a> {
        TreeSource { repo, odb: repo.odb().ok() }
    }

    /// Reads the raw bytes of the tree `id` into `out` (see [`trees`]).
    fn read(&mut self, id: Oid, out: &mut Vec<u8>) -> Result<(), git2::Error> {
        if let Some(object) = self.odb.as_ref().and_then(|odb| odb.read(id).ok()) {
            if object.kind() == ObjectType::Tree && trees::valid(object.data()) {
                out.clear();
                out.extend_from_slice(object.data());
                return Ok(());
            }
        }
        self.read_by_libgit2(id, out)
    }

    /// Reads the tree `id` with libgit2's tree parse, into `out` in raw form.
    fn read_by_libgit2(&mut self, id: Oid, out: &mut Vec<u8>) -> Result<(), git2::Error> {
        let tree = self.repo.find_tree(id)?;
        out.clear();
        for entry in tree.iter() {
            let mode = u16::try_from(entry.filemode_raw()).unwrap_or(0);
            trees::write_entry(out, mode, entry.name_bytes(), &super::raw_id(entry.id()));
        }
        Ok(())
    }
}

/// Reads the trees of the commits at positions `range` of `commits` into `walk`.
fn read_commits(
    from: &mut TreeSource<'_>,
    commits: &[Oid],
    range: std::ops::Range<usize>,
    walk: &mut Walk,
    progress: &dyn Progress,
) {
    let mut path = Vec::new();
    for index in range {
        let oid = commits[index];
        progress.commit();
        match from.repo.find_commit(oid) {
            Ok(commit) => read_tree(from, commit.tree_id(), &mut path, index as u32, oid, walk),
            Err(e) => walk
                .errors
                .push(ScanError { path: format!("commit {oid}"), message: super::message(&e) }),
        }
    }
}

impl Walk {
    /// Adds what a part of the walk learned, its commits all after those merged so far: its
    /// paths get the ids a one-part walk would have given them (in the order the part met
    /// them), its pairs are kept where no earlier commit had them, and an unreadable tree that
    /// an earlier part reported at the same path is not reported again.
    fn merge(&mut self, part: Walk) {
        let Walk { path_ids, path_first, first_seen, submodules, errors, unreadable_trees, .. } =
            part;
        let mut by_id: Vec<Option<Vec<u8>>> = vec![None; path_first.len()];
        for (bytes, local) in path_ids {
            by_id[local as usize] = Some(bytes);
        }
        let remap: Vec<u32> = by_id
            .into_iter()
            .zip(path_first)
            .map(|(bytes, commit)| self.path_id(&bytes.unwrap_or_default(), commit))
            .collect();
        let mut first_seen: Vec<_> = first_seen.into_iter().collect();
        first_seen.sort_unstable_by_key(|(blob, _)| *blob);
        for (blob, pairs) in first_seen {
            for (local, commit) in pairs {
                let path = remap[local as usize];
                if self.pairs_seen.insert((blob, path)) {
                    self.first_seen.entry(blob).or_default().push((path, commit));
                }
            }
        }
        self.submodules.extend(submodules.into_iter().map(|local| remap[local as usize]));
        let again: FastSet<usize> = unreadable_trees
            .into_iter()
            .filter(|&(_, tree, local)| {
                !self.unreadable_merged.insert((tree, remap[local as usize]))
            })
            .map(|(at, _, _)| at)
            .collect();
        self.errors.extend(
            errors.into_iter().enumerate().filter(|(at, _)| !again.contains(at)).map(|(_, e)| e),
        );
    }
}

/// Range scans: reads the trees of the parents of range commits that are outside the range, so
/// what the range inherited from them is known (and marked [`OUTSIDE`]).
fn read_boundary(from: &mut TreeSource<'_>, walk: &mut Walk) {
    let repo = from.repo;
    let in_range: HashSet<Oid> = walk.commits.iter().copied().collect();
    let mut outside = Vec::new();
    for &oid in &walk.commits {
        match repo.find_commit(oid) {
            Ok(commit) => {
                outside.extend(commit.parent_ids().filter(|p| !in_range.contains(p)));
            }
            Err(e) => walk
                .errors
                .push(ScanError { path: format!("commit {oid}"), message: super::message(&e) }),
        }
    }
    outside.sort();
    outside.dedup();
    let mut path = Vec::new();
    for oid in outside {
        match repo.find_commit(oid) {
            Ok(commit) => read_tree(from, commit.tree_id(), &mut path, OUTSIDE, oid, walk),
            Err(e) => walk
                .errors
                .push(ScanError { path: format!("commit {oid}"), message: super::message(&e) }),
        }
    }
}

/// Reads a tree at `path` (unless this tree was already read at this path) and records its
/// blobs and gitlinks, recursing into subtrees. Unreadable trees are reported and skipped.
/// Entries that the tree last read at this path has too (same mode, name and id) were recorded
/// with that tree (their subtrees read at their paths) and are passed over.
fn read_tree(
    from: &mut TreeSource<'_>,
    tree_id: Oid,
    path: &mut Vec<u8>,
    index: u32,
    commit: Oid,
    walk: &mut Walk,
) {
    let prefix = walk.path_id(path, index);
    if !walk.trees_seen.insert((id(tree_id), prefix)) {
        return;
    }
    let mut raw = walk.spare.pop().unwrap_or_default();
    if let Err(e) = from.read(tree_id, &mut raw) {
        let at = escape_invalid_utf8(path);
        walk.unreadable_trees.push((walk.errors.len(), id(tree_id), prefix));
        walk.errors.push(ScanError {
            path: format!("tree {tree_id} ({}:{at})", short(commit)),
            message: super::message(&e),
        });
        walk.spare.push(raw);
        return;
    }
    let last = walk.last_tree.remove(&prefix);
    walk.last_tree_bytes -= last.as_ref().map_or(0, Vec::len);
    let mut before = last.as_deref().map(Before::new);
    for entry in trees::entries(&raw) {
        if before.as_mut().is_some_and(|b| b.has(&entry)) {
            continue;
        }
        let len = path.len();
        if len > 0 {
            path.push(b'/');
        }
        path.extend_from_slice(entry.name);
        match entry.kind() {
            Kind::Tree => {
                let tree = Oid::from_bytes(entry.id).expect("20 bytes make an id");
                read_tree(from, tree, path, index, commit, walk);
            }
            // Symbolic links hold a target path, not content (directory scans skip them too),
            // but their names are scanned.
            Kind::Link => {
                walk.path_id(path, index);
            }
            Kind::Blob => {
                let id = walk.path_id(path, index);
                walk.record(entry.id, id, index);
            }
            Kind::Commit => {
                let id = walk.path_id(path, index);
                walk.submodules.insert(id);
            }
        }
        path.truncate(len);
    }
    walk.spare.extend(last);
    if walk.last_tree_bytes + raw.len() > LAST_TREES_MAX {
        walk.last_tree.clear();
        walk.last_tree_bytes = 0;
    }
    walk.last_tree_bytes += raw.len();
    walk.last_tree.insert(prefix, raw);
}

/// The commits every ref (branches, remote branches, tags, notes, the stash) and HEAD lead to.
/// Refs to other objects (a tag of a tree or blob) lead to no commit and are passed over; every
/// ref that cannot be read (garbage in its file, a missing or corrupt object on the way to its
/// commit) is reported as an error naming it, so a scan that could not start where a ref points
/// never passes silently.
fn ref_tips(
    repo: &Repository,
    repo_path: &Path,
    errors: &mut Vec<ScanError>,
) -> Result<Vec<Oid>, GitError> {
    let mut tips = Vec::new();
    let mut listed = HashSet::new();
    let references = repo.references().map_err(repo_error(repo_path, "cannot read refs"))?;
    for reference in references {
        let reference = match reference {
            Ok(r) => r,
            Err(e) => {
                errors.push(ScanError { path: "refs".into(), message: super::message(&e) });
                continue;
            }
        };
        let name = escape_invalid_utf8(reference.name_bytes());
        match tip_of(repo, &reference) {
            Ok(Some(oid)) => tips.push(oid),
            Ok(None) => {}
            Err(message) => errors.push(ScanError { path: format!("ref {name}"), message }),
        }
        listed.insert(name);
    }
    // libgit2's iterator passes over loose ref files it cannot parse: find them.
    for name in loose_ref_names(&repo.commondir().join("refs"), "refs") {
        if listed.contains(&name) {
            continue;
        }
        match repo.find_reference(&name) {
            Ok(reference) => match tip_of(repo, &reference) {
                Ok(tip) => tips.extend(tip),
                Err(message) => errors.push(ScanError { path: format!("ref {name}"), message }),
            },
            Err(e) => {
                errors.push(ScanError { path: format!("ref {name}"), message: super::message(&e) })
            }
        }
    }
    match repo.head() {
        Ok(head) => match tip_of(repo, &head) {
            Ok(tip) => tips.extend(tip),
            Err(message) => errors.push(ScanError { path: "HEAD".into(), message }),
        },
        Err(e) if super::is_unborn(&e) && repo.find_reference("HEAD").is_ok() => {}
        Err(e) => errors.push(ScanError { path: "HEAD".into(), message: super::message(&e) }),
    }
    tips.sort();
    tips.dedup();
    Ok(tips)
}

/// The names of the loose ref files under `dir` (named `prefix/...`), lock files left out.
fn loose_ref_names(dir: &Path, prefix: &str) -> Vec<String> {
    let mut names = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return names };
    for entry in entries.flatten() {
        let Some(file) = entry.file_name().to_str().map(str::to_string) else { continue };
        let name = format!("{prefix}/{file}");
        match entry.file_type() {
            Ok(t) if t.is_dir() => names.extend(loose_ref_names(&entry.path(), &name)),
            Ok(_) if !file.ends_with(".lock") => names.push(name),
            _ => {}
        }
    }
    names
}

/// The commit a ref leads to, through any annotated tags, checking that the commit can be read;
/// `None` for a ref to a tree or a blob.
fn tip_of(repo: &Repository, reference: &git2::Reference<'_>) -> Result<Option<Oid>, String> {
    let resolved = reference.resolve().map_err(|e| super::message(&e))?;
    let mut oid = resolved.target().ok_or("points at nothing")?;
    // Tags of tags are allowed, up to git's own limit.
    for _ in 0..32 {
        let object = repo.find_object(oid, None).map_err(|e| super::message(&e))?;
        match object.kind() {
            Some(ObjectType::Commit) => {
                // find_object reads only the header of some objects: parse the commit too.
                repo.find_commit(oid).map_err(|e| super::message(&e))?;
                return Ok(Some(oid));
            }
            Some(ObjectType::Tag) => {
                let tag = object.into_tag().map_err(|_| "unreadable tag".to_string())?;
                oid = tag.target_id();
            }
            _ => return Ok(None),
        }
    }
    Err("too many tags of tags".into())
}

/// The ends of `--range`: `A..B` gives tips `[B]` and hidden `[A]`; a single revision gives
/// tips `[it]`.
fn range_ends(
    repo: &Repository,
    repo_path: &Path,
    spec: &str,
) -> Result<(Vec<Oid>, Vec<Oid>), GitError> {
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
    if revspec.mode().contains(RevparseMode::RANGE) {
        let (Some(from), Some(to)) = (from, to) else {
            return Err(bad("a range needs both ends".into()));
        };
        Ok((vec![to], vec![from]))
    } else {
        Ok((from.into_iter().collect(), Vec::new()))
    }
}

/// Commits reachable from `tips` and not from `hidden`, parents first, by libgit2's walk.
fn ordered_by_libgit2(
    repo: &Repository,
    tips: &[Oid],
    hidden: &[Oid],
) -> Result<Vec<Oid>, git2::Error> {
    let mut revwalk = repo.revwalk()?;
    revwalk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE)?;
    for &tip in tips {
        revwalk.push(tip)?;
    }
    for &oid in hidden {
        revwalk.hide(oid)?;
    }
    revwalk.collect()
}

/// The same order, found by a depth-first walk that reads each commit itself: a commit that
/// cannot be read is reported and treated as absent (its own parents are then not reached
/// through it), and the rest is still walked. Slower than libgit2's walk; used only after it
/// failed.
fn ordered_by_hand(
    repo: &Repository,
    tips: &[Oid],
    hidden: &[Oid],
    errors: &mut Vec<ScanError>,
) -> Vec<Oid> {
    let mut excluded = HashSet::new();
    let mut stack: Vec<Oid> = hidden.to_vec();
    while let Some(oid) = stack.pop() {
        if excluded.insert(oid) {
            if let Ok(commit) = repo.find_commit(oid) {
                stack.extend(commit.parent_ids());
            }
        }
    }
    // Post-order: a commit is emitted once all its parents have been.
    let mut order = Vec::new();
    let mut visited = HashSet::new();
    let mut stack: Vec<(Oid, bool)> = tips.iter().rev().map(|&t| (t, false)).collect();
    while let Some((oid, parents_done)) = stack.pop() {
        if parents_done {
            order.push(oid);
            continue;
        }
        if excluded.contains(&oid) || !visited.insert(oid) {
            continue;
        }
        match repo.find_commit(oid) {
            Ok(commit) => {
                stack.push((oid, true));
                let parents: Vec<Oid> = commit.parent_ids().collect();
                for parent in parents.into_iter().rev() {
                    if !visited.contains(&parent) && !excluded.contains(&parent) {
                        stack.push((parent, false));
                    }
                }
            }
            Err(e) => errors
                .push(ScanError { path: format!("commit {oid}"), message: super::message(&e) }),
        }
    }
    order
}
