//! Secrets in the metadata of a history: the full message of each commit, its author and
//! committer, and the message and tagger of each annotated tag. Each commit is read and scanned
//! once, in parallel (messages are small, so this costs little next to the blobs).
//!
//! Such findings have no file: their `path` is a pseudo path that says where the text was,
//! `<commit 1a2b3c4d5e6f message>`, `<commit 1a2b3c4d5e6f author>` or `<tag v1.0>`, and their
//! `part` says which kind of text it was. Lines and columns count within that text: the message
//! as written in the commit; for `author`, line 1 is `Name <email>` of the author and line 2 that
//! of the committer (when it differs). Their fingerprint depends on the rule, the part and the
//! secret, not on the commit id, so a baseline keeps accepting them after a rebase.

use std::collections::HashSet;

use git2::{ObjectType, Oid, Repository, Signature};
use rayon::prelude::*;

use super::{Source, commit_info, short};
use crate::finding::{Finding, Part};
use crate::source::{BlobScan, ScanError};

/// What scanning the metadata found.
#[derive(Default)]
pub(super) struct Metadata {
    /// Findings in messages, authors and tags.
    pub(super) findings: Vec<Finding>,
    /// Commits and tags that could not be read.
    pub(super) errors: Vec<ScanError>,
}

/// Scans the messages and people of `commits`, and (if `tags`) the annotated tags of the
/// repository. Runs on the current rayon pool.
pub(super) fn scan_metadata<B: BlobScan>(
    scanner: &B,
    source: &Source,
    commits: &[Oid],
    tags: bool,
) -> Metadata {
    let results: Vec<Result<Vec<Finding>, ScanError>> = commits
        .par_iter()
        .map_init(
            || (source.reopen(), scanner.scratch()),
            |(repo, scratch), &oid| match repo {
                Ok(repo) => scan_commit(scanner, scratch, repo, oid),
                Err(e) => {
                    Err(ScanError { path: format!("commit {oid}"), message: super::message(e) })
                }
            },
        )
        .collect();
    let mut out = Metadata::default();
    for result in results {
        match result {
            Ok(findings) => out.findings.extend(findings),
            Err(e) => out.errors.push(e),
        }
    }
    if tags {
        match source.reopen() {
            Ok(repo) => scan_tags(scanner, &repo, &mut out),
            Err(e) => {
                out.errors.push(ScanError { path: "tags".into(), message: super::message(&e) })
            }
        }
    }
    out
}

fn scan_commit<B: BlobScan>(
    scanner: &B,
    scratch: &mut B::Scratch,
    repo: &Repository,
    oid: Oid,
) -> Result<Vec<Finding>, ScanError> {
    let commit = repo
        .find_commit(oid)
        .map_err(|e| ScanError { path: format!("commit {oid}"), message: super::message(&e) })?;
    let label = short(oid);
    let mut findings = scan_text(
        scanner,
        scratch,
        &format!("<commit {label} message>"),
        Part::CommitMessage,
        commit.message_raw_bytes(),
    );
    let people = people(&commit.author(), Some(&commit.committer()));
    findings.extend(scan_text(
        scanner,
        scratch,
        &format!("<commit {label} author>"),
        Part::CommitAuthor,
        &people,
    ));
    if !findings.is_empty() {
        let info = commit_info(&commit);
        for f in &mut findings {
            f.commit = Some(info.clone());
        }
    }
    Ok(findings)
}

/// `Name <email>` of the author, and on a second line of the committer if it differs.
fn people(author: &Signature<'_>, committer: Option<&Signature<'_>>) -> Vec<u8> {
    let line = |s: &Signature<'_>| {
        let mut l = s.name_bytes().to_vec();
        l.extend_from_slice(b" <");
        l.extend_from_slice(s.email_bytes());
        l.push(b'>');
        l
    };
    let mut text = line(author);
    if let Some(c) = committer {
        let second = line(c);
        if second != text {
            text.push(b'\n');
            text.extend_from_slice(&second);
        }
    }
    text
}

fn scan_text<B: BlobScan>(
    scanner: &B,
    scratch: &mut B::Scratch,
    path: &str,
    part: Part,
    text: &[u8],
) -> Vec<Finding> {
    if text.is_empty() {
        return Vec::new();
    }
    let mut findings = scanner.scan_text(scratch, path, text);
    // Fingerprints are computed by the filter stage, over `<part>` (no commit id).
    for f in &mut findings {
        f.part = part;
    }
    findings
}

/// Annotated tags under `refs/tags/`: message, then tagger on the line after it.
fn scan_tags<B: BlobScan>(scanner: &B, repo: &Repository, out: &mut Metadata) {
    let Ok(references) = repo.references_glob("refs/tags/*") else { return };
    let mut seen = HashSet::new();
    let mut scratch = scanner.scratch();
    // Reference errors are reported by the commit walk, which reads every ref.
    for reference in references.flatten() {
        let Some(oid) = reference.target() else { continue };
        let name = crate::source::escape_invalid_utf8(reference.name_bytes());
        let name = name.strip_prefix("refs/tags/").unwrap_or(&name).to_string();
        let is_tag =
            matches!(repo.find_object(oid, None).map(|o| o.kind()), Ok(Some(ObjectType::Tag)));
        if !is_tag || !seen.insert(oid) {
            continue;
        }
        let tag = match repo.find_tag(oid) {
            Ok(tag) => tag,
            Err(e) => {
                out.errors
                    .push(ScanError { path: format!("tag {name}"), message: super::message(&e) });
                continue;
            }
        };
        let mut text = tag.message_bytes().unwrap_or_default().to_vec();
        if let Some(tagger) = tag.tagger() {
            if !text.is_empty() && !text.ends_with(b"\n") {
                text.push(b'\n');
            }
            text.extend_from_slice(&people(&tagger, None));
        }
        let mut findings =
            scan_text(scanner, &mut scratch, &format!("<tag {name}>"), Part::TagMessage, &text);
        if !findings.is_empty() {
            let info =
                tag.target().ok().and_then(|t| t.peel_to_commit().ok()).map(|c| commit_info(&c));
            for f in &mut findings {
                f.commit = info.clone();
            }
        }
        out.findings.extend(findings);
    }
}
