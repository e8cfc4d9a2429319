//! Git sources, read with libgit2 (`git2`): the whole history or a commit range of a repository
//! ([`scan_history`]) and the staged changes in its index ([`scan_staged`]).
//!
//! This module owns walking commits, reading their trees, reading blobs (each unique blob once, with
//! the binary and size limits of directory scans), attributing each secret to the commit that
//! introduced it at a path, and the per-object errors met on the way (reported with the object
//! id, never fatal), including corrupt loose objects, which are checked before libgit2 may read
//! them (`loose`), and secrets in commit and tag metadata (`metadata`). The repository is
//! the one `PATH` is in, or, when `PATH` is `.`, the one `GIT_DIR` / `GIT_WORK_TREE` name, as
//! for git. It only reads objects: it never runs hooks, filters or diff drivers from the
//! repository, and never touches the working tree. Output formats and thresholds live elsewhere.

mod history;
mod loose;
mod metadata;
mod pack;
mod places;
mod staged;
mod trees;
mod walk;

use std::path::Path;

use git2::{Commit, ErrorCode, Odb, Oid, Repository};

use super::{Blob, BlobScan, Origin, SkipReason};
use crate::finding::{CommitInfo, Finding};

pub use history::{HistoryOptions, scan_history};
pub use staged::scan_staged;

/// Errors that stop a git scan before it produces anything. Problems with single objects are
/// not errors of this kind: they are listed in the summary and the scan goes on.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// The path is not inside a git repository, or the repository cannot be opened.
    #[error("{path}: cannot open git repository: {message}")]
    Open {
        /// The path given (or `GIT_DIR=...` when the environment named the repository).
        path: String,
        /// What libgit2 said (its message only, once).
        message: String,
    },
    /// A repository-wide operation failed (reading refs, the index, HEAD).
    #[error("{path}: {what}: {message}")]
    Repo {
        /// The repository.
        path: String,
        /// What was being done.
        what: String,
        /// What libgit2 said (its message only, once).
        message: String,
    },
    /// `--range` is not a revision or `A..B` range of this repository.
    #[error("{path}: bad --range {range:?}: {message}")]
    Range {
        /// The repository.
        path: String,
        /// The range as given.
        range: String,
        /// What is wrong with it.
        message: String,
    },
    /// A staged scan of a bare repository, which has no index to commit from.
    #[error("{path}: --staged needs a repository with a working tree (this one is bare)")]
    Bare {
        /// The repository.
        path: String,
    },
}

/// Receives progress of a long history scan (the CLI draws a progress bar with it). Called from
/// worker threads, so implementations must be `Sync`. Every method defaults to doing nothing.
pub trait Progress: Sync {
    /// One more commit was walked.
    fn commit(&self) {}
    /// The walk is over; this many unique blobs will now be read.
    fn blobs(&self, _total: u64) {}
    /// One blob was read (scanned or skipped); it was this many bytes long.
    fn blob(&self, _bytes: u64) {}
}

/// A [`Progress`] that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}

/// Process-wide libgit2 settings for scanning, applied once by the first scan:
/// - objects are not re-hashed on every read (`git cat-file` does not either; a corrupt object
///   still fails to inflate or parse);
/// - libgit2's object cache is off: a history scan reads each tree and blob about once, and the
///   cache (up to 256 MiB) would make memory grow with the history;
/// - pack files are mapped in 16 MiB windows, at most 64 MiB at a time (instead of the whole
///   pack), so resident memory does not grow with the size of the pack.
///
/// The window settings are plain globals of libgit2 that must not change while another thread
/// uses libgit2; the scans call this before they start any thread, and azleak uses libgit2 from
/// nowhere else.
pub fn configure_libgit2() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        git2::opts::strict_hash_verification(false);
        git2::opts::enable_caching(false);
        // SAFETY: see above: no other thread is using libgit2 at this point.
        unsafe {
            let _ = git2::opts::set_mwindow_size(16 << 20);
            let _ = git2::opts::set_mwindow_mapped_limit(64 << 20);
        }
    });
}

/// A repository opened for scanning: its corrupt loose objects are set aside (see
/// [`loose`]), and worker threads open their own handles of it the same way.
pub(crate) struct Opened {
    /// The handle of the calling thread.
    pub(crate) repo: Repository,
    /// How to open more handles (shared with worker threads).
    pub(crate) source: Source,
}

/// Where an [`Opened`] repository is, and its corrupt loose objects set aside.
pub(crate) struct Source {
    git_dir: std::path::PathBuf,
    from_env: bool,
    pub(crate) guard: loose::Guard,
}

impl Source {
    /// Another handle on the same repository, for a worker thread.
    pub(crate) fn reopen(&self) -> Result<Repository, git2::Error> {
        let repo = if self.from_env {
            Repository::open_from_env()?
        } else {
            Repository::open(&self.git_dir)?
        };
        self.guard.apply(&repo)?;
        Ok(repo)
    }
}

/// Whether the repository of `path` comes from the environment, the way git finds it: `path` is
/// `.` (the default) and `GIT_DIR` or `GIT_WORK_TREE` is set. A repository named on the
/// command line is that repository, whatever the environment says.
fn from_env(path: &Path) -> bool {
    path == Path::new(".")
        && ["GIT_DIR", "GIT_WORK_TREE"]
            .iter()
            .any(|v| std::env::var_os(v).is_some_and(|value| !value.is_empty()))
}

/// How a repository from the environment is named in messages.
fn env_name() -> String {
    match std::env::var_os("GIT_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => format!("GIT_DIR={}", super::display_path(Path::new(&dir))),
        None => ".".into(),
    }
}

/// Opens the repository containing `path` (searching parent directories, like git), or the one
/// `GIT_DIR` / `GIT_WORK_TREE` name (see [`from_env`]), and checks all its loose objects.
pub(crate) fn open(path: &Path) -> Result<Opened, GitError> {
    open_with(path, true)
}

/// [`open`] without checking loose objects: the caller checks each object before libgit2
/// reads it ([`loose::Guard::check_object`]), or falls back to [`open`].
pub(crate) fn open_unchecked(path: &Path) -> Result<Opened, GitError> {
    open_with(path, false)
}

fn open_with(path: &Path, check_all: bool) -> Result<Opened, GitError> {
    configure_libgit2();
    let env = from_env(path);
    let opened = if env {
        Repository::open_from_env()
    } else {
        Repository::open_ext(path, git2::RepositoryOpenFlags::empty(), std::iter::empty::<&str>())
    };
    let name = || if env { env_name() } else { super::display_path(path) };
    let repo = opened.map_err(|e| GitError::Open { path: name(), message: message(&e) })?;
    if env {
        set_env_work_tree(&repo).map_err(repo_error(path, "cannot use GIT_WORK_TREE"))?;
    }
    let guard = if check_all {
        loose::Guard::check(&repo, env)
    } else {
        loose::Guard::unchecked(&repo, env)
    };
    if guard.unsafe_to_read() {
        return Err(GitError::Repo {
            path: name(),
            what: "corrupt loose objects".into(),
            message: guard.corrupt.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "),
        });
    }
    guard.apply(&repo).map_err(repo_error(path, "cannot open the object database"))?;
    let git_dir = repo.path().to_path_buf();
    Ok(Opened { repo, source: Source { git_dir, from_env: env, guard } })
}

/// libgit2 ignores `GIT_WORK_TREE` for a bare repository (`core.bare = true`); git does not
/// (`git --git-dir=dotfiles.git --work-tree=$HOME commit`): give it that working tree.
fn set_env_work_tree(repo: &Repository) -> Result<(), git2::Error> {
    let Some(work_tree) = std::env::var_os("GIT_WORK_TREE").filter(|w| !w.is_empty()) else {
        return Ok(());
    };
    if repo.workdir().is_some() {
        return Ok(());
    }
    let work_tree = std::path::absolute(Path::new(&work_tree))
        .map_err(|e| git2::Error::from_str(&format!("GIT_WORK_TREE: {e}")))?;
    repo.set_workdir(&work_tree, false)
}

/// How `azleak git PATH` names its repository in messages.
pub(crate) fn repo_name(path: &Path) -> String {
    if from_env(path) { env_name() } else { super::display_path(path) }
}

/// The root of the working tree `azleak git PATH` scans, when the environment names it
/// (`GIT_DIR` or `GIT_WORK_TREE` set and `PATH` is `.`): where its `azleak.toml` is looked for.
/// `None` when `PATH` alone says where the repository is.
pub fn env_root(path: &Path) -> Option<std::path::PathBuf> {
    if !from_env(path) {
        return None;
    }
    let repo = Repository::open_from_env().ok()?;
    set_env_work_tree(&repo).ok()?;
    Some(repo.workdir().unwrap_or_else(|| repo.path()).to_path_buf())
}

/// What libgit2 said, without its class and code (`...; class=Odb (9); code=NotFound (-3)`).
pub(crate) fn message(error: &git2::Error) -> String {
    error.message().to_string()
}
/// Wraps a repository-wide libgit2 error.
pub(crate) fn repo_error(repo_path: &Path, what: &str) -> impl FnOnce(git2::Error) -> GitError {
    let path = repo_name(repo_path);
    let what = what.to_string();
    move |e| GitError::Repo { path, what, message: message(&e) }
}

/// The raw bytes of a SHA-1 object id (libgit2 here is SHA-1 only).
pub(crate) fn raw_id(oid: Oid) -> [u8; 20] {
    oid.as_bytes().try_into().unwrap_or([0; 20])
}

/// What reading a blob gave.
pub(crate) enum Loaded<'odb> {
    /// Its bytes, to hand to the scan stage.
    Bytes(git2::OdbObject<'odb>),
    /// Not read, and why.
    Skipped(SkipReason),
}

/// Reads a blob, checking its size before inflating it: `size` if the caller knows it (from the
/// pack entry, see [`places`]), else from the object header libgit2 reads. A blob larger than
/// `max_size` once read (a wrong `size`) is skipped all the same.
pub(crate) fn load_blob<'odb>(
    odb: &'odb Odb<'_>,
    oid: Oid,
    max_size: u64,
    size: Option<u64>,
) -> Result<Loaded<'odb>, git2::Error> {
    let size = match size {
        Some(size) => size,
        None => odb.read_header(oid)?.0 as u64,
    };
    if size > max_size {
        return Ok(Loaded::Skipped(SkipReason::TooLarge));
    }
    let object = odb.read(oid)?;
    if object.len() as u64 > max_size {
        return Ok(Loaded::Skipped(SkipReason::TooLarge));
    }
    Ok(Loaded::Bytes(object))
}

/// An earlier version of a file, to tell the secrets a change adds from those it already had.
pub(crate) struct Earlier<'a> {
    bytes: &'a [u8],
    origin: Origin,
    /// (rule, secret, member) of every secret the scan stage finds in it, on first need.
    found: Option<Vec<(String, String, Option<String>)>>,
}

impl<'a> Earlier<'a> {
    /// The earlier content, from `origin` (used only to name it in messages).
    pub(crate) fn new(bytes: &'a [u8], origin: Origin) -> Earlier<'a> {
        Earlier { bytes, origin, found: None }
    }

    /// Whether it already held the secret of `finding`, for the same rule and (inside an
    /// archive) in the same member: written as is, or in any form the scan stage finds
    /// (encoded, in an archive member, in UTF-16), so re-committing a secret is not "adding"
    /// it. The earlier content is scanned once, and only if a secret outside any archive is not
    /// there as written.
    pub(crate) fn holds<B: BlobScan>(
        &mut self,
        scanner: &B,
        scratch: &mut B::Scratch,
        finding: &Finding,
    ) -> bool {
        let secret = finding.secret.reveal();
        if finding.member.is_none() && memchr::memmem::find(self.bytes, secret.as_bytes()).is_some()
        {
            return true;
        }
        let (bytes, origin) = (self.bytes, &self.origin);
        let found = self.found.get_or_insert_with(|| {
            scanner
                .scan(scratch, Blob { bytes, origin })
                .findings
                .into_iter()
                .map(|f| (f.rule_id, f.secret.reveal().to_string(), f.member))
                .collect()
        });
        found.iter().any(|(rule, s, member)| {
            s == secret && *rule == finding.rule_id && *member == finding.member
        })
    }
}

/// A path from the bytes git stores (on Unix, any bytes; elsewhere, as UTF-8, lossily).
pub(crate) fn path_of_bytes(bytes: &[u8]) -> std::path::PathBuf {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        std::path::PathBuf::from(std::ffi::OsStr::from_bytes(bytes))
    }
    #[cfg(not(unix))]
    {
        std::path::PathBuf::from(String::from_utf8_lossy(bytes).into_owned())
    }
}

/// Whether a HEAD lookup failed only because there are no commits yet.
pub(crate) fn is_unborn(err: &git2::Error) -> bool {
    matches!(err.code(), ErrorCode::UnbornBranch | ErrorCode::NotFound)
}

/// The report form of a commit: id, author, author date and summary line.
pub(crate) fn commit_info(commit: &Commit<'_>) -> CommitInfo {
    let author = commit.author();
    CommitInfo {
        commit: commit.id().to_string(),
        author_name: String::from_utf8_lossy(author.name_bytes()).into_owned(),
        author_email: String::from_utf8_lossy(author.email_bytes()).into_owned(),
        date: rfc3339(author.when()),
        summary: commit
            .summary_bytes()
            .map(String::from_utf8_lossy)
            .unwrap_or_default()
            .into_owned(),
    }
}

/// Formats a git time as RFC 3339 in the author's own offset (`2024-05-01T09:30:00+02:00`).
pub(crate) fn rfc3339(time: git2::Time) -> String {
    let offset = chrono::FixedOffset::east_opt(time.offset_minutes() * 60)
        .unwrap_or_else(|| chrono::FixedOffset::east_opt(0).expect("UTC is a valid offset"));
    chrono::DateTime::from_timestamp(time.seconds(), 0)
        .unwrap_or_default()
        .with_timezone(&offset)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// The first 12 hex digits of an object id, as shown in reports.
pub(crate) fn short(oid: Oid) -> String {
    let mut text = oid.to_string();
    text.truncate(12);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_rfc3339_in_the_authors_offset() {
        assert_eq!(rfc3339(git2::Time::new(0, 0)), "1970-01-01T00:00:00+00:00");
        assert_eq!(rfc3339(git2::Time::new(1_700_000_000, 120)), "2023-11-15T00:13:20+02:00");
        assert_eq!(rfc3339(git2::Time::new(1_700_000_000, -330)), "2023-11-14T16:43:20-05:30");
        assert_eq!(rfc3339(git2::Time::new(951_782_400, 0)), "2000-02-29T00:00:00+00:00");
    }
}
