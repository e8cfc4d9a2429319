//! Pre-commit scans: the blobs of the index that differ from HEAD's tree, that is what
//! `git commit` would record (not the working tree, so `git commit -a` and partially staged
//! files behave). A secret is reported only if the staged change adds it: one already in HEAD's
//! version of the file (or, for a pure rename, of the file it was renamed from) is not.
//! No history is walked, so the cost depends on the size of the change, not of the repository.

use std::path::Path;
use std::time::Instant;

use git2::{Delta, DiffFindOptions, DiffOptions, FileMode, Oid, Repository};

use super::{Earlier, GitError, Loaded, is_unborn, load_blob, open, repo_error};
use crate::scan::ScanOutput;
use crate::source::{Blob, BlobScan, Origin, ScanError, SkipReason, Skipped};

/// Scans the staged changes of the repository at `repo_path`. Works before the first commit
/// (everything staged is new). Fails only if the repository, HEAD or the index cannot be read.
pub fn scan_staged<B: BlobScan>(
    scanner: &B,
    repo_path: &Path,
    max_file_size: u64,
) -> Result<ScanOutput, GitError> {
    let started = Instant::now();
    let opened = open(repo_path)?;
    let repo = &opened.repo;
    if repo.is_bare() {
        return Err(GitError::Bare { path: super::repo_name(repo_path) });
    }
    let head_tree = match repo.head() {
        Ok(head) => Some(head.peel_to_tree().map_err(repo_error(repo_path, "cannot read HEAD"))?),
        Err(e) if is_unborn(&e) => None,
        Err(e) => return Err(repo_error(repo_path, "cannot read HEAD")(e)),
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
    for delta in diff.deltas() {
        if !matches!(
            delta.status(),
            Delta::Added | Delta::Modified | Delta::Renamed | Delta::Copied | Delta::Typechange
        ) {
            continue;
        }
        let new = delta.new_file();
        let path = new.path_bytes().map(String::from_utf8_lossy).unwrap_or_default().into_owned();
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
        match load_blob(&odb, new.id(), max_file_size) {
            Ok(Loaded::Bytes(object)) => {
                let origin = Origin::Index(path.clone());
                let mut scanned =
                    scanner.scan(&mut scratch, Blob { bytes: object.data(), origin: &origin });
                if !scanned.findings.is_empty() {
                    if let Some(old_id) = old_blob {
                        let before = read_old(repo, old_id, &path, &mut out.summary.errors);
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
