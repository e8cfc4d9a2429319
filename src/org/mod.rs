//! Org-scale runs: which repositories one run scans (named, listed in a file, or every clone in
//! a directory), how each is named in reports (its `origin` remote without credentials, else
//! its path), and how a run is split into deterministic shards (`--shard K/N`) whose JSON
//! reports [`merge`] joins back into the report of one process.
//!
//! This module does not scan: the CLI scans each repository with the history source and the
//! one scan stage, then combines the outputs with [`combine`].

pub mod incremental;
pub mod merge;

use std::collections::HashMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::finding::{CopyGroup, Finding};
use crate::scan::{ScanOutput, Summary};
use crate::source::PathShard;
use crate::source::ScanError;

/// Errors in the list of repositories or the shard options.
#[derive(Debug, thiserror::Error)]
pub enum OrgError {
    /// The `--repos` file cannot be read.
    #[error("--repos {path}: {source}")]
    ReposFile {
        /// The file (`-` for standard input).
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The `--repos-dir` directory cannot be listed.
    #[error("--repos-dir {path}: {source}")]
    ReposDir {
        /// The directory.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `--shard` is not `K/N` with 1 ≤ K ≤ N.
    #[error("bad shard {0:?}: expected K/N with 1 <= K <= N (e.g. 2/4)")]
    Shard(String),
    /// `JOB_COMPLETION_INDEX` is not an index below the shard count.
    #[error(
        "JOB_COMPLETION_INDEX={value:?} is not an index from 0 to {max} (--shard-count {count})"
    )]
    JobIndex {
        /// The variable's value.
        value: String,
        /// Largest valid index.
        max: u32,
        /// The shard count.
        count: u32,
    },
}

/// The repositories a run names: each path given, then each line of the `--repos` file (blank
/// lines and `#` comments left out; `-` reads standard input), then every subdirectory of
/// `--repos-dir` (sorted by name). A path that is not a repository is kept: scanning it fails
/// and is reported, never silently dropped.
pub fn list_repos(
    paths: &[PathBuf],
    repos_file: Option<&Path>,
    repos_dir: Option<&Path>,
    stdin: &mut dyn BufRead,
) -> Result<Vec<PathBuf>, OrgError> {
    let mut repos = paths.to_vec();
    if let Some(file) = repos_file {
        let name = file.display().to_string();
        let err = |source| OrgError::ReposFile { path: name.clone(), source };
        let text = if file == Path::new("-") {
            let mut text = String::new();
            stdin.read_to_string(&mut text).map_err(err)?;
            text
        } else {
            std::fs::read_to_string(file).map_err(err)?
        };
        for line in text.lines().map(str::trim) {
            if !line.is_empty() && !line.starts_with('#') {
                repos.push(PathBuf::from(line));
            }
        }
    }
    if let Some(dir) = repos_dir {
        let err = |source| OrgError::ReposDir { path: dir.display().to_string(), source };
        let mut found = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(err)? {
            let entry = entry.map_err(err)?;
            if entry.file_type().map_err(err)?.is_dir() {
                found.push(entry.path());
            }
        }
        found.sort();
        repos.extend(found);
    }
    Ok(repos)
}

/// How a repository is named in reports, shards and the datastore: its `origin` remote URL with
/// any user name or token removed (`https://tok@host/x` → `https://host/x`), else the path as
/// given, `/`-separated.
pub fn repo_name(path: &Path) -> String {
    let url = git2::Repository::open(path)
        .ok()
        .and_then(|r| r.find_remote("origin").ok().and_then(|o| o.url().ok().map(str::to_string)));
    match url {
        Some(url) => strip_credentials(&url),
        None => path.to_string_lossy().replace('\\', "/"),
    }
}

/// A URL without the user information before its host (`scheme://user:pass@host/...`).
/// scp-like remotes (`git@host:org/repo`) name a login, not a secret, and are kept.
pub fn strip_credentials(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let host_end = rest.find('/').unwrap_or(rest.len());
        if let Some(at) = rest[..host_end].rfind('@') {
            return format!("{scheme}://{}", &rest[at + 1..]);
        }
    }
    url.to_string()
}

/// One of `count` disjoint parts of a run. Shards are 1-based on the command line
/// (`--shard 2/4`) and 0-based here and in `JOB_COMPLETION_INDEX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 0-based index, below `count`.
    pub index: u32,
    /// How many shards.
    pub count: u32,
}

impl Shard {
    /// Parses `K/N` (1 ≤ K ≤ N).
    pub fn parse(text: &str) -> Result<Shard, OrgError> {
        let bad = || OrgError::Shard(text.to_string());
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let (k, n): (u32, u32) =
            (k.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
        if k == 0 || k > n {
            return Err(bad());
        }
        Ok(Shard { index: k - 1, count: n })
    }

    /// The shard of a Kubernetes Indexed Job: `JOB_COMPLETION_INDEX` (0-based) of `count`.
    pub fn from_job_index(value: &str, count: u32) -> Result<Shard, OrgError> {
        let bad =
            || OrgError::JobIndex { value: value.to_string(), max: count.saturating_sub(1), count };
        let index: u32 = value.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// Whether the repository named `name` belongs to this shard: a hash of the name, so the
    /// split does not depend on the order or the machine, and every name is in exactly one.
    pub fn contains(&self, name: &str) -> bool {
        self.part().holds(name.as_bytes())
    }

    /// The same split applied to the paths of each repository (`--shard-by path`).
    pub fn part(&self) -> PathShard {
        PathShard { index: self.index, count: self.count }
    }
}

/// The output of one repository of a multi-repository run, after its own filter stage.
#[derive(Debug)]
pub struct RepoOutput {
    /// The repository's name ([`repo_name`]).
    pub name: String,
    /// Its filtered findings and summary, or why it could not be scanned.
    pub output: Result<ScanOutput, String>,
}

/// Joins the outputs of several repositories into one: each finding names its repository
/// ([`qualify`]), skipped and error paths are prefixed with `NAME: `, counts are summed, and a
/// repository that failed is one error (`NAME: message`) counted in
/// `summary.repositories_failed`. The result does not depend on the order of `outputs`, so
/// shards merge into the same report.
pub fn combine(outputs: Vec<RepoOutput>) -> ScanOutput {
    let mut all = ScanOutput::default();
    let s = &mut all.summary;
    s.repositories = Some(0);
    s.repositories_failed = Some(0);
    for RepoOutput { name, output } in outputs {
        match output {
            Ok(mut out) => {
                qualify(&name, &mut out.findings);
                add_summary(s, qualified_summary(&name, out.summary));
                all.findings.extend(out.findings);
                all.blob_ids.extend(out.blob_ids);
            }
            Err(message) => {
                *s.repositories_failed.get_or_insert(0) += 1;
                s.errors.push(ScanError { path: name, message });
            }
        }
    }
    crate::finding::sort_findings(&mut all.findings);
    all.summary.sort();
    all
}

/// Names the repository `name` in each of its findings that names none yet, and gives their
/// copy groups ids of the repository's own: a copy group lists the copies of one secret in one
/// repository, so two forks holding the same secret at the same place have a group each, with
/// different ids (derived from the repository's name and the group's id within it, never from
/// the secret). Findings already qualified are left as they are, so qualifying twice changes
/// nothing.
pub fn qualify(name: &str, findings: &mut [Finding]) {
    let mut groups: HashMap<String, Arc<CopyGroup>> = HashMap::new();
    for f in findings.iter_mut().filter(|f| f.repository.is_none()) {
        f.repository = Some(name.to_string());
        if let Some(group) = &mut f.copies {
            let qualified = groups.entry(group.id.clone()).or_insert_with(|| {
                let id = qualified_group_id(name, &group.id);
                Arc::new(CopyGroup { id, locations: group.locations.clone() })
            });
            *group = Arc::clone(qualified);
        }
    }
}

/// The id of the copy group `id` of the repository `name` in a run over several repositories.
pub fn qualified_group_id(name: &str, id: &str) -> String {
    let parts: [&[u8]; 3] = [b"azleak-copies-repository-v1", name.as_bytes(), id.as_bytes()];
    crate::finding::hash_parts(&parts)[..16].to_string()
}

/// One repository's summary as part of a run's: it counts as one repository, and its skipped
/// and error paths are prefixed with `NAME: `.
pub fn qualified_summary(name: &str, mut s: Summary) -> Summary {
    s.repositories = Some(s.repositories.unwrap_or(1));
    for k in &mut s.skipped {
        k.path = format!("{name}: {}", k.path);
    }
    for e in &mut s.errors {
        e.path = format!("{name}: {}", e.path);
    }
    for c in s.shard_copies.iter_mut().filter(|c| c.repository.is_none()) {
        c.repository = Some(name.to_string());
    }
    s
}

/// Adds a summary (of a repository, or of a shard's run) to a run's: counts are summed (an
/// optional count stays `None` only if both are), a run is shallow if any part is, and the
/// elapsed time is the longest part's (shards run side by side). Paths are taken as they are.
pub fn add_summary(s: &mut Summary, other: Summary) {
    let sum = |a: Option<u64>, b: Option<u64>| match (a, b) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
    };
    s.repositories = sum(s.repositories, other.repositories);
    s.repositories_failed = sum(s.repositories_failed, other.repositories_failed);
    s.commits = sum(s.commits, other.commits);
    s.shallow = match (s.shallow, other.shallow) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(false) || b.unwrap_or(false)),
    };
    s.files += other.files;
    s.bytes += other.bytes;
    s.archive_members += other.archive_members;
    s.binary += other.binary;
    s.below_threshold += other.below_threshold;
    s.allowed_inline += other.allowed_inline;
    s.allowlisted += other.allowlisted;
    s.in_baseline += other.in_baseline;
    s.stale_baseline += other.stale_baseline;
    s.elapsed = s.elapsed.max(other.elapsed);
    s.skipped.extend(other.skipped);
    s.errors.extend(other.errors);
    s.shard_copies.extend(other.shard_copies);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_names() {
        let shards: Vec<Shard> =
            (1..=4).map(|k| Shard::parse(&format!("{k}/4")).unwrap()).collect();
        for i in 0..200 {
            let name = format!("repo-{i}");
            assert_eq!(shards.iter().filter(|s| s.contains(&name)).count(), 1, "{name}");
        }
        assert_eq!(Shard::from_job_index("3", 4).unwrap(), shards[3]);
        assert!(Shard::parse("0/4").is_err());
        assert!(Shard::parse("5/4").is_err());
        assert!(Shard::parse("x").is_err());
        assert!(Shard::from_job_index("4", 4).is_err());
    }

    #[test]
    fn credentials_are_stripped_from_urls() {
        assert_eq!(
            strip_credentials("https://x:tok@github.com/o/r.git"),
            "https://github.com/o/r.git"
        );
        assert_eq!(strip_credentials("git@github.com:o/r.git"), "git@github.com:o/r.git");
        assert_eq!(strip_credentials("/srv/r@x"), "/srv/r@x");
    }
}
