//! The parallel file-system walk: `ignore`'s walker honouring `.gitignore`, `.ignore` and global
//! git excludes, scanning hidden files by default, never entering `.git/`. Each worker reads a
//! file, applies the binary and size limits (reported as [`Skipped`]) and hands the bytes to a
//! callback. Reading errors become [`ScanError`]s naming the path.

use std::path::PathBuf;
use std::sync::mpsc;

use ignore::overrides::OverrideBuilder;
use ignore::{WalkBuilder, WalkState};

use super::{ScanError, SkipReason, Skipped, display_path, is_binary};

/// How to walk.
#[derive(Debug, Clone)]
pub struct WalkOptions {
    /// Roots: files or directories.
    pub roots: Vec<PathBuf>,
    /// Honour `.gitignore`, `.ignore` and git excludes.
    pub respect_ignore: bool,
    /// Scan hidden files and directories (dotfiles).
    pub hidden: bool,
    /// Follow symbolic links.
    pub follow: bool,
    /// Gitignore-style globs of paths not to scan.
    pub excludes: Vec<String>,
    /// Files larger than this many bytes are skipped.
    pub max_file_size: u64,
    /// Worker threads (0: one per core).
    pub threads: usize,
}

/// What a walk produces for each path it meets.
pub enum Event<T> {
    /// A file was read and handed to the callback, which returned `T`.
    Scanned {
        /// Bytes read.
        bytes: u64,
        /// The callback's result.
        result: T,
    },
    /// A path was not scanned.
    Skipped(Skipped),
    /// A path could not be read.
    Error(ScanError),
}

/// Errors that stop a walk before it starts.
#[derive(Debug, thiserror::Error)]
pub enum WalkError {
    /// An `--exclude` glob is malformed.
    #[error("invalid --exclude glob {glob:?}: {message}")]
    Glob {
        /// The glob.
        glob: String,
        /// What is wrong with it.
        message: String,
    },
    /// A root does not exist or cannot be read.
    #[error("{path}: {message}")]
    Root {
        /// The root.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// Walks the roots in parallel. For each readable text file within the limits, `scan` is called
/// (on a worker thread, with that worker's state from `init`) with the display path and bytes.
/// Events are passed to `sink` on the calling thread, in no particular order.
pub fn walk<S, T, I, F>(
    options: &WalkOptions,
    init: I,
    scan: F,
    mut sink: impl FnMut(Event<T>),
) -> Result<(), WalkError>
where
    T: Send,
    S: Send,
    I: Fn() -> S + Sync,
    F: Fn(&mut S, &str, &[u8]) -> T + Sync,
{
    for root in &options.roots {
        if let Err(e) = std::fs::symlink_metadata(root) {
            return Err(WalkError::Root { path: display_path(root), message: e.to_string() });
        }
    }
    let Some((first, rest)) = options.roots.split_first() else { return Ok(()) };
    let mut builder = WalkBuilder::new(first);
    for root in rest {
        builder.add(root);
    }
    let mut overrides = OverrideBuilder::new(std::env::current_dir().unwrap_or_default());
    for glob in &options.excludes {
        overrides
            .add(&format!("!{glob}"))
            .map_err(|e| WalkError::Glob { glob: glob.clone(), message: e.to_string() })?;
    }
    let overrides = overrides.build().map_err(|e| WalkError::Glob {
        glob: options.excludes.join(" "),
        message: e.to_string(),
    })?;
    builder
        .hidden(!options.hidden)
        .ignore(options.respect_ignore)
        .git_ignore(options.respect_ignore)
        .git_global(options.respect_ignore)
        .git_exclude(options.respect_ignore)
        .parents(options.respect_ignore)
        .require_git(false)
        .follow_links(options.follow)
        .overrides(overrides)
        .threads(options.threads)
        .filter_entry(|entry| entry.file_name() != ".git");
    let walker = builder.build_parallel();
    let (tx, rx) = mpsc::channel::<Event<T>>();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            walker.run(|| {
                let tx = tx.clone();
                let mut state = init();
                let scan = &scan;
                Box::new(move |entry| {
                    let event = match entry {
                        Ok(entry) => visit(&entry, options.max_file_size, |path, bytes| {
                            scan(&mut state, path, bytes)
                        }),
                        Err(err) => Some(walk_error(err)),
                    };
                    if let Some(event) = event {
                        if tx.send(event).is_err() {
                            return WalkState::Quit;
                        }
                    }
                    WalkState::Continue
                })
            });
            drop(tx);
        });
        for event in rx {
            sink(event);
        }
    });
    Ok(())
}

/// Reads one walk entry and scans it, or says why not.
fn visit<T>(
    entry: &ignore::DirEntry,
    max_file_size: u64,
    scan: impl FnOnce(&str, &[u8]) -> T,
) -> Option<Event<T>> {
    let path = display_path(entry.path());
    let file_type = entry.file_type()?;
    if file_type.is_dir() {
        return None;
    }
    if !file_type.is_file() {
        if file_type.is_symlink() {
            // Not followed (no --follow): links are not scanned, like ripgrep.
            return None;
        }
        return Some(Event::Skipped(Skipped { path, reason: SkipReason::NotAFile }));
    }
    let error = |e: std::io::Error| {
        Some(Event::Error(ScanError { path: path.clone(), message: e.to_string() }))
    };
    let size = match entry.metadata() {
        Ok(m) => m.len(),
        Err(e) => {
            return Some(Event::Error(ScanError { path: path.clone(), message: e.to_string() }));
        }
    };
    if size > max_file_size {
        return Some(Event::Skipped(Skipped { path, reason: SkipReason::TooLarge }));
    }
    let bytes = match std::fs::read(entry.path()) {
        Ok(b) => b,
        Err(e) => return error(e),
    };
    if bytes.len() as u64 > max_file_size {
        return Some(Event::Skipped(Skipped { path, reason: SkipReason::TooLarge }));
    }
    if is_binary(&bytes) {
        return Some(Event::Skipped(Skipped { path, reason: SkipReason::Binary }));
    }
    let result = scan(&path, &bytes);
    Some(Event::Scanned { bytes: bytes.len() as u64, result })
}

/// Converts a walker error into a skip (symlink loops) or an error naming the path.
fn walk_error<T>(err: ignore::Error) -> Event<T> {
    let (path, inner) = unwrap_path(&err);
    if let ignore::Error::Loop { child, .. } = inner {
        return Event::Skipped(Skipped {
            path: display_path(child),
            reason: SkipReason::SymlinkLoop,
        });
    }
    Event::Error(ScanError {
        path: path.unwrap_or_else(|| "<walk>".into()),
        message: inner.to_string(),
    })
}

/// Finds the innermost error and the path it is about.
fn unwrap_path(err: &ignore::Error) -> (Option<String>, &ignore::Error) {
    match err {
        ignore::Error::WithPath { path, err } => {
            let (inner_path, inner) = unwrap_path(err);
            (inner_path.or_else(|| Some(display_path(path))), inner)
        }
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            unwrap_path(err)
        }
        other => (None, other),
    }
}
