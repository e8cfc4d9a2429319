//! The parallel file-system walk: `ignore`'s walker honouring `.gitignore`, `.ignore` and global
//! git excludes, scanning hidden files by default, never entering `.git/`. Each worker reads a
//! file, applies the binary and size limits (reported as [`Skipped`]) and hands the bytes to a
//! callback. Reading errors become [`ScanError`]s naming the path.

use std::path::PathBuf;
use std::sync::mpsc;

use ignore::overrides::OverrideBuilder;
use ignore::{WalkBuilder, WalkState};

use super::{BINARY_PROBE, ScanError, SkipReason, Skipped, display_path, is_binary};

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
    let (tx, rx) = mpsc::channel::<Vec<Event<T>>>();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            walker.run(|| {
                let mut batch = Batch { events: Vec::new(), tx: tx.clone() };
                let mut state = init();
                let mut buffer = Vec::new();
                let scan = &scan;
                Box::new(move |entry| {
                    let event = match entry {
                        Ok(entry) => {
                            visit(&entry, options.max_file_size, &mut buffer, |path, bytes| {
                                scan(&mut state, path, bytes)
                            })
                        }
                        Err(err) => Some(walk_error(err)),
                    };
                    match event.map(|e| batch.push(e)) {
                        Some(false) => WalkState::Quit,
                        _ => WalkState::Continue,
                    }
                })
            });
            drop(tx);
        });
        for events in rx {
            for event in events {
                sink(event);
            }
        }
    });
    Ok(())
}

/// A worker's events, sent to the collecting thread in batches (one channel message per file
/// costs more than scanning a small file) and when the worker ends.
struct Batch<T> {
    events: Vec<Event<T>>,
    tx: mpsc::Sender<Vec<Event<T>>>,
}

impl<T> Batch<T> {
    const SIZE: usize = 256;

    /// Adds an event; false if the receiver has gone.
    fn push(&mut self, event: Event<T>) -> bool {
        self.events.push(event);
        self.events.len() < Self::SIZE || self.flush()
    }

    fn flush(&mut self) -> bool {
        self.tx.send(std::mem::take(&mut self.events)).is_ok()
    }
}

impl<T> Drop for Batch<T> {
    fn drop(&mut self) {
        if !self.events.is_empty() {
            self.flush();
        }
    }
}

/// Reads one walk entry and scans it, or says why not.
fn visit<T>(
    entry: &ignore::DirEntry,
    max_file_size: u64,
    buffer: &mut Vec<u8>,
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
    match read_text(entry.path(), max_file_size, buffer) {
        Ok(Read::Text) => {}
        Ok(Read::Binary) => {
            return Some(Event::Skipped(Skipped { path, reason: SkipReason::Binary }));
        }
        Ok(Read::TooLarge) => {
            return Some(Event::Skipped(Skipped { path, reason: SkipReason::TooLarge }));
        }
        Err(e) => return error(e),
    }
    let bytes = buffer.as_slice();
    let result = scan(&path, bytes);
    Some(Event::Scanned { bytes: bytes.len() as u64, result })
}

/// What [`read_text`] found.
enum Read {
    /// The buffer holds the whole file.
    Text,
    /// A NUL byte in the first 8 KiB; the rest was not read.
    Binary,
    /// The file is larger than the size limit.
    TooLarge,
}

/// Reads a file into `buffer` (reused across files), stopping after the first 8 KiB when they
/// hold a NUL byte, so binary files cost one small read.
fn read_text(
    path: &std::path::Path,
    max_file_size: u64,
    buffer: &mut Vec<u8>,
) -> std::io::Result<Read> {
    use std::io::Read as _;
    buffer.clear();
    let mut file = std::fs::File::open(path)?;
    if file.metadata()?.len() > max_file_size {
        return Ok(Read::TooLarge);
    }
    (&mut file).take(BINARY_PROBE as u64).read_to_end(buffer)?;
    if is_binary(buffer) {
        return Ok(Read::Binary);
    }
    if buffer.len() == BINARY_PROBE {
        file.take(max_file_size.saturating_sub(BINARY_PROBE as u64).saturating_add(1))
            .read_to_end(buffer)?;
    }
    if buffer.len() as u64 > max_file_size {
        return Ok(Read::TooLarge);
    }
    Ok(Read::Text)
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
