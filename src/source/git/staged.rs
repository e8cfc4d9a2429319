//! Pre-commit scans: the blobs of the index that differ from HEAD's tree, that is what
//! `git commit` would record (not the working tree, so `git commit -a` and partially staged
//! files behave). A secret is reported only if the staged change adds it: one already in HEAD's
//! version of the file (or, for a pure rename, of the file it was renamed from) is not.
//! The names of the paths the index adds (files, and directories that HEAD's tree does not have)
//! are scanned too, each once. No history is walked, so the cost depends on the size of the
//! change, not of the repository: loose objects are checked one by one before libgit2 reads
//! them (HEAD's commit and trees first, then each blob), not all up front; if HEAD's commit or
//! a tree is corrupt, every loose object is checked and the corrupt ones set aside, as in
//! history scans.

use std::collections::HashSet;
use std::path::Path;
use std::time::Instant;

use git2::{Delta, DiffFindOptions, DiffOptions, FileMode, Oid, Repository, Tree};

use super::{
    Earlier, GitError, Loaded, Opened, is_unborn, load_blob, open, open_unchecked, path_of_bytes,
    repo_error,
};
use crate::finding::Finding;
use crate::scan::ScanOutput;
use crate::source::{Blob, BlobScan, Origin, ScanError, SkipReason, Skipped, escape_invalid_utf8};

/// Scans the staged changes of the repository at `repo_path`. Works before the first commit
/// (everything staged is new). Fails only if the repository, HEAD or the index cannot be read.
pub fn scan_staged<B: BlobScan>(
    scanner: &B,
    repo_path: &Path,
    max_file_size: u64,
) -> Result<ScanOutput, GitError> {
    let started = Instant::now();
    let opened = open_unchecked(repo_path)?;
    // What the diff reads (HEAD's commit and trees) is checked before it reads it; anything
    // corrupt there, and the whole object database is checked and its corrupt objects set aside.
    let opened = if head_is_sound(&opened) { opened } else { open(repo_path)? };
    let guard = &opened.source.guard;
    let repo = &opened.repo;
    if repo.is_bare() {
        return Err(GitError::Bare { path: super::repo_name(repo_path) });
    }
    // An unreadable HEAD stops the scan: say which corrupt objects made it so.
    let head_error = |e: git2::Error| {
        let mut message = super::message(&e);
        for corrupt in &guard.corrupt {
            message.push_str(&format!("; {corrupt}"));
        }
        GitError::Repo {
            path: super::repo_name(repo_path),
            what: "cannot read HEAD".into(),
            message,
        }
    };
    let head_tree = match repo.head() {
        Ok(head) => Some(head.peel_to_tree().map_err(head_error)?),
        Err(e) if is_unborn(&e) => None,
        Err(e) => return Err(head_error(e)),
    };
    // In a hook of `git commit -a` or `git commit PATHS`, what git is about to commit is not
    // .git/index but the index it names in GIT_INDEX_FILE (as for every git command it runs).
    let index = match std::env::var_os("GIT_INDEX_FILE").filter(|f| !f.is_empty()) {
        Some(file) => git2::Index::open(Path::new(&file)).map_err(repo_error(
            repo_path,
            &format!("cannot read the index {} (GIT_INDEX_FILE)", Path::new(&file).display()),
        ))?,
        None => repo.index().map_err(repo_error(repo_path, "cannot read the index"))?,
    };
    let mut diff_options = DiffOptions::new();
    diff_options.ignore_submodules(false).include_typechange(true);
    let mut diff = repo
        .diff_tree_to_index(head_tree.as_ref(), Some(&index), Some(&mut diff_options))
        .map_err(repo_error(repo_path, "cannot compare the index with HEAD"))?;
    // Exact renames only: found by id, without reading any content.
    let mut find = DiffFindOptions::new();
    find.renames(true).exact_match_only(true);
    diff.find_similar(Some(&mut find))
        .map_err(repo_error(repo_path, "cannot find renames in the index"))?;

    let odb = repo.odb().map_err(repo_error(repo_path, "cannot open the object database"))?;
    let mut scratch = scanner.scratch();
    let mut out = ScanOutput::default();
    out.summary.errors = opened.source.guard.corrupt.clone();
    let mut names_seen = HashSet::new();
    for delta in diff.deltas() {
        if !matches!(
            delta.status(),
            Delta::Added | Delta::Modified | Delta::Renamed | Delta::Copied | Delta::Typechange
        ) {
            continue;
        }
        let new = delta.new_file();
        let raw_path = new.path_bytes().unwrap_or_default();
        if matches!(delta.status(), Delta::Added | Delta::Renamed | Delta::Copied) {
            let names = NewNames { head: head_tree.as_ref(), seen: &mut names_seen };
            out.findings.extend(names.scan(scanner, &mut scratch, raw_path));
        }
        let path = escape_invalid_utf8(raw_path);
        match new.mode() {
            FileMode::Commit => {
                out.summary.skipped.push(Skipped::new(path, SkipReason::Submodule));
                continue;
            }
            FileMode::Blob | FileMode::BlobExecutable => {}
            // Symbolic links and anything else hold no file content.
            _ => continue,
        }
        let old = delta.old_file();
        let old_blob = (delta.status() != Delta::Added
            && matches!(old.mode(), FileMode::Blob | FileMode::BlobExecutable))
        .then(|| old.id());
        if let Err(e) = guard.check_object(new.id()) {
            out.summary.errors.push(e);
            continue;
        }
        match load_blob(&odb, new.id(), max_file_size, None) {
            Ok(Loaded::Bytes(object)) => {
                let origin = Origin::Index(path.clone());
                let mut scanned =
                    scanner.scan(&mut scratch, Blob { bytes: object.data(), origin: &origin });
                if !scanned.findings.is_empty() {
                    if let Some(old_id) = old_blob {
                        let errors = &mut out.summary.errors;
                        let before = match guard.check_object(old_id) {
                            Ok(()) => read_old(repo, old_id, &path, errors),
                            Err(e) => {
                                errors.push(e);
                                Vec::new()
                            }
                        };
                        let mut before = Earlier::new(&before, Origin::Index(path.clone()));
                        scanned.findings.retain(|f| !before.holds(scanner, &mut scratch, f));
                    }
                }
                out.summary.add(scanned, &mut out.findings);
            }
            Ok(Loaded::Skipped(reason)) => out.summary.skipped.push(Skipped::new(path, reason)),
            Err(e) => out.summary.errors.push(ScanError {
                path: format!("blob {} ({path})", new.id()),
                message: super::message(&e),
            }),
        }
    }
    Ok(out.finish(started))
}

/// Whether HEAD's commit (through any tags) and every tree of it are free of corrupt loose
/// objects, each checked before libgit2 reads it. `true` before the first commit, and when
/// HEAD cannot be resolved (the scan then reports that).
fn head_is_sound(opened: &Opened) -> bool {
    let (repo, guard) = (&opened.repo, &opened.source.guard);
    let Some(mut oid) = repo.head().ok().and_then(|h| h.resolve().ok()).and_then(|h| h.target())
    else {
        return true;
    };
    // To the tree, through tags (at most git's depth of tags of tags) and the commit.
    let mut root = None;
    for _ in 0..34 {
        if guard.check_object(oid).is_err() {
            return false;
        }
        match repo.find_object(oid, None).map(|o| (o.kind(), o)) {
            Ok((Some(git2::ObjectType::Tag), o)) => match o.into_tag() {
                Ok(tag) => oid = tag.target_id(),
                Err(_) => return true,
            },
            Ok((Some(git2::ObjectType::Commit), _)) => match repo.find_commit(oid) {
                Ok(commit) => oid = commit.tree_id(),
                Err(_) => return true,
            },
            Ok((Some(git2::ObjectType::Tree), _)) => {
                root = Some(oid);
                break;
            }
            _ => return true,
        }
    }
    let mut trees: Vec<Oid> = root.into_iter().collect();
    let mut seen = HashSet::new();
    while let Some(id) = trees.pop() {
        if !seen.insert(id) {
            continue;
        }
        // The root was checked on the way.
        if Some(id) != root && guard.check_object(id).is_err() {
            return false;
        }
        let Ok(tree) = repo.find_tree(id) else { continue };
        trees.extend(
            tree.iter().filter(|e| e.kind() == Some(git2::ObjectType::Tree)).map(|e| e.id()),
        );
    }
    true
}

/// The paths a staged change adds, for scanning their names.
struct NewNames<'a, 'repo> {
    /// HEAD's tree (`None` before the first commit: every path is new).
    head: Option<&'a Tree<'repo>>,
    /// Paths already looked at (a new directory of many files is scanned once).
    seen: &'a mut HashSet<Vec<u8>>,
}

impl NewNames<'_, '_> {
    /// Scans the last name of each prefix of `path` (its directories, then the file) that HEAD's
    /// tree does not have, placed at that prefix, as directory scans place them.
    fn scan<B: BlobScan>(self, scanner: &B, scratch: &mut B::Scratch, path: &[u8]) -> Vec<Finding> {
        let mut findings = Vec::new();
        let ends = memchr::memchr_iter(b'/', path).chain(std::iter::once(path.len()));
        let mut start = 0;
        for end in ends {
            let prefix = &path[..end];
            let name_at = start;
            start = end + 1;
            if end == name_at || !self.seen.insert(prefix.to_vec()) {
                continue;
            }
            if self.head.is_some_and(|tree| tree.get_path(&path_of_bytes(prefix)).is_ok()) {
                continue;
            }
            let shown = escape_invalid_utf8(prefix);
            let from = escape_invalid_utf8(&path[..name_at]).len();
            findings.extend(scanner.scan_name(scratch, &shown, from..shown.len()));
        }
        findings
    }
}

/// HEAD's version of a staged file, to tell added secrets from ones already committed.
fn read_old(repo: &Repository, oid: Oid, path: &str, errors: &mut Vec<ScanError>) -> Vec<u8> {
    match repo.find_blob(oid) {
        Ok(blob) => blob.content().to_vec(),
        Err(e) => {
            errors.push(ScanError {
                path: format!("blob {oid} (HEAD:{path})"),
                message: super::message(&e),
            });
            Vec::new()
        }
    }
}
