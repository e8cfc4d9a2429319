//! Incremental re-scans of one repository with a datastore: what tonight's run walks, given the
//! refs and tips of the repository's last complete walk ([`crate::store::Walked`]).
//!
//! - Refs unchanged (same names, same targets, same HEAD, no new loose ref file): nothing is
//!   walked, and every finding last seen in that walk is still present.
//! - Otherwise the walk hides each old tip that still exists and is reachable from today's
//!   refs (a fast-forward, a merged branch); only commits they do not reach are walked, and
//!   only blobs those commits add are read. If every old tip is kept, every finding last seen
//!   in the old walk is still present; if some were dropped (a force-push, a deleted branch),
//!   only those whose introducing commit is reachable from the kept tips are, and the rewritten
//!   commits are walked and read again.
//!
//! This module reads refs and the commit graph; it does not scan or write the store.

use std::collections::HashSet;
use std::path::Path;

use git2::{ObjectType, Oid, Repository};
use sha2::{Digest, Sha256};

use crate::source::git::raw_id as raw;
use crate::store::{Store, StoreError, Touch, Walked};

/// The refs of a repository as they are now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refs {
    /// A digest of every ref's name and target (symbolic or direct), of HEAD, and of the names
    /// of the loose ref files (so a ref file libgit2 cannot parse changes it too).
    pub digest: String,
    /// The commits the refs and HEAD lead to (through annotated tags), sorted.
    pub tips: Vec<[u8; 20]>,
}

/// What to walk in a repository.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The refs now; `None` if some could not be read (the walk then reports why, and no walk
    /// is recorded).
    pub refs: Option<Refs>,
    /// The refs are those of the last complete walk: walk nothing.
    pub unchanged: bool,
    /// Commits whose history the walk leaves out (already walked).
    pub hide: Vec<[u8; 20]>,
    /// Stored findings still present though the run does not read them again.
    pub touch: Touch,
    /// Whether the repository is shallow.
    pub shallow: bool,
}

/// Plans the walk of the repository at `path` (named `name` in `store`) after `previous`, its
/// last complete walk under the current rules (`None`: walk everything). A repository that
/// cannot be opened is left to the walk, which reports it.
pub fn plan(
    path: &Path,
    name: &str,
    previous: Option<&Walked>,
    store: &Store,
) -> Result<Plan, StoreError> {
    let mut plan = Plan {
        refs: None,
        unchanged: false,
        hide: Vec::new(),
        touch: Touch::Nothing,
        shallow: false,
    };
    // Reading refs reads a few objects, each checked before libgit2 reads it; the walks of the
    // commit graph below read many, so they use a repository whose loose objects are checked.
    let Ok(opened) = crate::source::git::open_unchecked(path) else { return Ok(plan) };
    plan.shallow = opened.repo.is_shallow();
    plan.refs = read_refs(&opened);
    let (Some(previous), Some(now)) = (previous, &plan.refs) else { return Ok(plan) };
    if now.digest == previous.refs {
        plan.unchanged = true;
        plan.touch = Touch::AllOfRun(previous.run);
        return Ok(plan);
    }
    drop(opened);
    let Ok(opened) = crate::source::git::open(path) else { return Ok(plan) };
    let repo = &opened.repo;
    let kept = kept_tips(repo, &previous.tips, &now.tips);
    plan.touch = if kept.len() == previous.tips.len() {
        Touch::AllOfRun(previous.run)
    } else if kept.is_empty() {
        Touch::Nothing
    } else {
        let seen = store.last_seen_in(name, previous.run)?;
        let wanted: HashSet<Oid> = seen
            .iter()
            .filter_map(|(_, c)| c.as_deref().and_then(|c| Oid::from_str(c).ok()))
            .collect();
        let found = reachable(repo, &kept, wanted);
        Touch::Keys(
            seen.into_iter()
                .filter(|(_, c)| {
                    c.as_deref()
                        .and_then(|c| Oid::from_str(c).ok())
                        .is_some_and(|c| found.contains(&c))
                })
                .map(|(key, _)| key)
                .collect(),
        )
    };
    plan.hide = kept.iter().map(|o| raw(*o)).collect();
    Ok(plan)
}

/// The refs of the repository at `path` now (`None` if it or some ref cannot be read).
pub fn refs_now(path: &Path) -> Option<Refs> {
    let opened = crate::source::git::open_unchecked(path).ok()?;
    read_refs(&opened)
}

/// Every ref's name and target, HEAD's, and the loose ref files' names, digested; and the
/// commits they lead to. `None` if a ref cannot be read or leads to an unreadable object.
fn read_refs(opened: &crate::source::git::Opened) -> Option<Refs> {
    let repo = &opened.repo;
    let mut lines: Vec<Vec<u8>> = Vec::new();
    let mut tips = Vec::new();
    let mut add = |name: &[u8], reference: &git2::Reference<'_>| -> Option<()> {
        let mut line = name.to_vec();
        line.push(0);
        match reference.target() {
            Some(oid) => {
                line.extend_from_slice(oid.to_string().as_bytes());
                tips.extend(commit_of(opened, oid)?);
            }
            None => {
                line.extend_from_slice(b"-> ");
                line.extend_from_slice(reference.symbolic_target_bytes()?);
                if name == b"HEAD" {
                    // HEAD on a branch: the branch is listed; an unborn branch leads nowhere.
                    if let Ok(resolved) = reference.resolve() {
                        tips.extend(commit_of(opened, resolved.target()?)?);
                    }
                }
            }
        }
        lines.push(line);
        Some(())
    };
    for reference in repo.references().ok()? {
        let reference = reference.ok()?;
        let name = reference.name_bytes().to_vec();
        add(&name, &reference)?;
    }
    if let Ok(head) = repo.find_reference("HEAD") {
        add(b"HEAD", &head)?;
    }
    let mut files = Vec::new();
    loose_ref_files(&repo.commondir().join("refs"), b"refs", &mut files);
    for file in files {
        let mut line = b"file\0".to_vec();
        line.extend(file);
        lines.push(line);
    }
    lines.sort();
    let mut h = Sha256::new();
    for line in &lines {
        h.update(line);
        h.update(b"\n");
    }
    tips.sort();
    tips.dedup();
    Some(Refs {
        digest: hex::encode(&h.finalize()[..16]),
        tips: tips.into_iter().map(raw).collect(),
    })
}

/// The commit `oid` leads to through annotated tags; `Some(None)` for a tree or a blob.
fn commit_of(opened: &crate::source::git::Opened, mut oid: Oid) -> Option<Option<Oid>> {
    let repo = &opened.repo;
    for _ in 0..32 {
        opened.source.guard.check_object(oid).ok()?;
        let object = repo.find_object(oid, None).ok()?;
        match object.kind() {
            Some(ObjectType::Commit) => {
                repo.find_commit(oid).ok()?;
                return Some(Some(oid));
            }
            Some(ObjectType::Tag) => oid = object.as_tag()?.target_id(),
            _ => return Some(None),
        }
    }
    None
}

/// The names of the loose ref files under `dir` (lock files left out).
fn loose_ref_files(dir: &Path, prefix: &[u8], out: &mut Vec<Vec<u8>>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let file = entry.file_name();
        let mut name = prefix.to_vec();
        name.push(b'/');
        name.extend_from_slice(file.as_encoded_bytes());
        match entry.file_type() {
            Ok(t) if t.is_dir() => loose_ref_files(&entry.path(), &name, out),
            Ok(_) if !name.ends_with(b".lock") => out.push(name),
            _ => {}
        }
    }
}

/// The old tips that still exist and that today's tips reach. Unchanged tips are kept as they
/// are; for the others, one walk of what today's tips add (hiding the unchanged ones), then one
/// walk of what the remaining old tips have that the unchanged ones do not (those it yields
/// are dropped). A walk that fails keeps what it proved and drops the rest: more is walked,
/// nothing is missed.
fn kept_tips(repo: &Repository, old: &[[u8; 20]], current: &[[u8; 20]]) -> Vec<Oid> {
    let current: HashSet<Oid> = current.iter().filter_map(|t| Oid::from_bytes(t).ok()).collect();
    let old: Vec<Oid> = old.iter().filter_map(|t| Oid::from_bytes(t).ok()).collect();
    let mut kept: Vec<Oid> = old.iter().copied().filter(|t| current.contains(t)).collect();
    let mut unresolved: HashSet<Oid> = old
        .iter()
        .copied()
        .filter(|t| !current.contains(t) && repo.find_commit(*t).is_ok())
        .collect();
    if !unresolved.is_empty() {
        let pushed: Vec<Oid> = current.iter().copied().collect();
        let mut reached = Vec::new();
        let _ = walk(repo, &pushed, &kept, |oid| {
            if unresolved.remove(&oid) {
                reached.push(oid);
            }
            !unresolved.is_empty()
        });
        kept.extend(reached);
    }
    if !unresolved.is_empty() && !kept.is_empty() {
        let pushed: Vec<Oid> = unresolved.iter().copied().collect();
        let mut dropped = HashSet::new();
        if walk(repo, &pushed, &kept, |oid| {
            if unresolved.contains(&oid) {
                dropped.insert(oid);
            }
            dropped.len() < unresolved.len()
        })
        .is_ok()
        {
            kept.extend(unresolved.difference(&dropped));
        }
    }
    kept.sort();
    kept.dedup();
    kept
}

/// Which of `wanted` the commits `from` reach (stops once all are found).
fn reachable(repo: &Repository, from: &[Oid], mut wanted: HashSet<Oid>) -> HashSet<Oid> {
    let mut found = HashSet::new();
    if wanted.is_empty() {
        return found;
    }
    let _ = walk(repo, from, &[], |oid| {
        if wanted.remove(&oid) {
            found.insert(oid);
        }
        !wanted.is_empty()
    });
    found
}

/// Walks the commits reachable from `push` and not from `hide`, calling `visit` on each until
/// it returns false.
fn walk(
    repo: &Repository,
    push: &[Oid],
    hide: &[Oid],
    mut visit: impl FnMut(Oid) -> bool,
) -> Result<(), git2::Error> {
    let mut revwalk = repo.revwalk()?;
    for &oid in push {
        revwalk.push(oid)?;
    }
    for &oid in hide {
        revwalk.hide(oid)?;
    }
    for oid in revwalk {
        if !visit(oid?) {
            break;
        }
    }
    Ok(())
}
