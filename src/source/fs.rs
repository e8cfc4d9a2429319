//! The parallel file-system walk: `ignore`'s walker honouring `.gitignore`, `.ignore` and global
//! git excludes, scanning hidden files by default, never entering `.git/`. Each worker reads a
//! file, applies the binary and size limits (reported as [`Skipped`]), decodes UTF-16 and UTF-32
//! text ([`super::classify`]) and hands the text to a callback, and hands it each entry's name
//! too (a secret can be a file or directory name). Reading errors become [`ScanError`]s naming
//! the path.
//!
//! A path given on the command line is read whatever it is (a FIFO, `/dev/stdin`, `<(cmd)`):
//! streams are read up to the size limit and the rest is reported as truncated. Inside a
//! directory only regular files are opened (opening a FIFO can block forever); the rest is
//! reported as skipped, like unfollowed symlinks. A directory root under which no file could be
//! scanned is an error: a CI gate must not pass on a scan that looked at nothing.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use ignore::overrides::OverrideBuilder;
use ignore::{WalkBuilder, WalkState};

use super::ignores::Ignores;
use super::{BINARY_PROBE, Content, ScanError, SkipReason, Skipped, classify, display_path};

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
    /// Files larger than this many bytes are skipped (streams given as roots are truncated).
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
    /// A file or directory name was handed to the callback, which returned `T`.
    Name(T),
    /// A path was not scanned (or, when truncated, not all of it).
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

/// What the scan callback is given.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// A file's text (UTF-8, decoded when it was UTF-16 or UTF-32).
    Content(&'a [u8]),
    /// A name in the entry's display path: `path[start..end]`.
    Name {
        /// Byte offset of the name in the display path.
        start: usize,
        /// Byte offset just past it.
        end: usize,
    },
}

/// Walks the roots in parallel. For each readable text file within the limits, `scan` is called
/// (on a worker thread, with that worker's state from `init`) with the display path and its
/// text, and for each entry below a root with its name (for a root, each name in its path).
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
    F: Fn(&mut S, &str, Target<'_>) -> T + Sync,
{
    let mut dir_roots = Vec::new();
    for root in &options.roots {
        match std::fs::metadata(root) {
            Ok(meta) if meta.is_dir() => dir_roots.push(RootSeen::new(root)),
            Ok(_) => {}
            // A dangling symlink is reported by the walker, naming the path.
            Err(_) if std::fs::symlink_metadata(root).is_ok() => {}
            Err(e) => {
                return Err(WalkError::Root { path: display_path(root), message: e.to_string() });
            }
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
    // Ignore files are applied by `Ignores`, not by the walker, so that what they ignore is
    // counted (an ignored directory once: it is not entered).
    let ignores = options.respect_ignore.then(|| Arc::new(Ignores::new(&options.roots)));
    let ignored = Arc::new(Mutex::new(Vec::<PathBuf>::new()));
    builder
        .hidden(!options.hidden)
        .standard_filters(false)
        .hidden(!options.hidden)
        .follow_links(options.follow)
        .overrides(overrides)
        .threads(options.threads);
    {
        let ignores = ignores.clone();
        let ignored = ignored.clone();
        builder.filter_entry(move |entry| {
            if entry.file_name() == ".git" {
                return false;
            }
            if ignores.as_ref().is_some_and(|i| i.is_ignored(entry)) {
                ignored.lock().expect("ignored paths").push(entry.path().to_path_buf());
                return false;
            }
            true
        });
    }
    let walker = builder.build_parallel();
    let roots = Roots { pending: AtomicUsize::new(dir_roots.len()), dirs: dir_roots };
    let (tx, rx) = mpsc::channel::<Vec<Event<T>>>();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            walker.run(|| {
                let mut batch = Batch { events: Vec::new(), tx: tx.clone() };
                let mut state = init();
                let mut buffer = Vec::new();
                let scan = &scan;
                let roots = &roots;
                Box::new(move |entry| {
                    let mut scan = |path: &str, target: Target<'_>| scan(&mut state, path, target);
                    let mut alive = true;
                    let mut emit = |event: Event<T>| {
                        if let Some(entry_path) = event_path(&entry, &event) {
                            roots.saw(entry_path, matches!(event, Event::Scanned { .. }));
                        }
                        alive &= batch.push(event);
                    };
                    match &entry {
                        Ok(entry) => visit(entry, options, &mut buffer, &mut scan, &mut emit),
                        Err(err) => {
                            if let Some(path) = error_path(err) {
                                roots.failed(path);
                            }
                            emit(walk_error(err))
                        }
                    }
                    if alive { WalkState::Continue } else { WalkState::Quit }
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
    // Ignored entries and ignore-file problems, named (and their names scanned) here.
    let ignored = std::mem::take(&mut *ignored.lock().expect("ignored paths"));
    let mut state = init();
    for path in ignored {
        roots.saw(&path, false);
        let path = display_path(&path);
        let start = super::name_start(&path);
        sink(Event::Name(scan(&mut state, &path, Target::Name { start, end: path.len() })));
        sink(Event::Skipped(Skipped { path, reason: SkipReason::Ignored }));
    }
    if let Some(ignores) = &ignores {
        for (path, message) in std::mem::take(&mut *ignores.errors.lock().expect("errors")) {
            sink(Event::Error(ScanError { path: display_path(&path), message }));
        }
    }
    for root in &roots.dirs {
        if !root.scanned.load(Ordering::Relaxed) {
            let why = if root.seen.load(Ordering::Relaxed) {
                "nothing scanned: every file under this directory was skipped or unreadable"
            } else {
                "nothing scanned: no file under this directory"
            };
            sink(Event::Error(ScanError { path: display_path(&root.path), message: why.into() }));
        }
    }
    Ok(())
}

/// The file-system path an event is about, for [`Roots::saw`] (names are not files).
fn event_path<'e, T>(
    entry: &'e Result<ignore::DirEntry, ignore::Error>,
    event: &Event<T>,
) -> Option<&'e Path> {
    match (entry, event) {
        (_, Event::Name(_)) => None,
        (Ok(entry), _) => Some(entry.path()),
        (Err(_), _) => None,
    }
}

/// Whether anything under each directory root was scanned (or met at all).
struct Roots {
    dirs: Vec<RootSeen>,
    /// Directory roots under which nothing has been scanned yet: once 0, [`Roots::saw`] is free.
    pending: AtomicUsize,
}

struct RootSeen {
    path: PathBuf,
    scanned: AtomicBool,
    seen: AtomicBool,
}

impl RootSeen {
    fn new(path: &Path) -> RootSeen {
        RootSeen {
            path: path.to_path_buf(),
            scanned: AtomicBool::new(false),
            seen: AtomicBool::new(false),
        }
    }
}

impl Roots {
    /// A root that cannot be read is an error already: not also "nothing scanned".
    fn failed(&self, path: &Path) {
        for root in &self.dirs {
            if root.path == path && !root.scanned.swap(true, Ordering::Relaxed) {
                self.pending.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }

    fn saw(&self, path: &Path, scanned: bool) {
        if self.pending.load(Ordering::Relaxed) == 0 {
            return;
        }
        for root in &self.dirs {
            if root.scanned.load(Ordering::Relaxed) || !path.starts_with(&root.path) {
                continue;
            }
            root.seen.store(true, Ordering::Relaxed);
            if scanned && !root.scanned.swap(true, Ordering::Relaxed) {
                self.pending.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }
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

/// Scans one walk entry's name and content, or says why not.
fn visit<T>(
    entry: &ignore::DirEntry,
    options: &WalkOptions,
    buffer: &mut Vec<u8>,
    scan: &mut impl FnMut(&str, Target<'_>) -> T,
    emit: &mut impl FnMut(Event<T>),
) {
    let path = display_path(entry.path());
    let Some(file_type) = entry.file_type() else { return };
    let root = entry.depth() == 0;
    // Below a root each entry's own name is scanned (a directory's once, not once per file
    // in it); so is each name in a root's path, since every path below it repeats them.
    if root {
        let mut start = 0;
        for component in path.split('/') {
            let end = start + component.len();
            if !matches!(component, "" | "." | "..") {
                emit(Event::Name(scan(&path, Target::Name { start, end })));
            }
            start = end + 1;
        }
    } else {
        let start = super::name_start(&path);
        emit(Event::Name(scan(&path, Target::Name { start, end: path.len() })));
    }
    if file_type.is_dir() {
        return;
    }
    let skip = |reason| Event::Skipped(Skipped { path: path.clone(), reason });
    let stream = if file_type.is_file() {
        false
    } else if root {
        // Given on the command line: read it, whatever it is (a FIFO, /dev/stdin, <(cmd)).
        true
    } else if file_type.is_symlink() {
        // Not followed (no --follow), like ripgrep: counted, not scanned.
        return emit(skip(SkipReason::Symlink));
    } else {
        return emit(skip(SkipReason::NotAFile));
    };
    let read = match read_text(entry.path(), options.max_file_size, buffer, stream) {
        Ok(read) => read,
        Err(e) => return emit(Event::Error(ScanError { path, message: e.to_string() })),
    };
    match read {
        Read::Text { truncated } => {
            let Content::Text(text, _) = classify(buffer) else {
                return emit(skip(SkipReason::Binary));
            };
            let result = scan(&path, Target::Content(&text));
            emit(Event::Scanned { bytes: buffer.len() as u64, result });
            if truncated {
                emit(skip(SkipReason::Truncated));
            }
        }
        Read::Binary => emit(skip(SkipReason::Binary)),
        Read::TooLarge => emit(skip(SkipReason::TooLarge)),
    }
}

/// What [`read_text`] found.
enum Read {
    /// The buffer holds the whole file, or its first `max_file_size` bytes (`truncated`).
    Text {
        /// A stream longer than the limit: the rest was not read.
        truncated: bool,
    },
    /// Binary: not text in any encoding [`classify`] knows; the rest was not read.
    Binary,
    /// The file is larger than the size limit.
    TooLarge,
}

/// Reads a file into `buffer` (reused across files), stopping after the first 8 KiB when they
/// show it is binary, so binary files cost one small read. A regular file over the limit is
/// not read; a stream (`stream`) is read up to the limit and truncated there.
fn read_text(
    path: &Path,
    max_file_size: u64,
    buffer: &mut Vec<u8>,
    stream: bool,
) -> std::io::Result<Read> {
    use std::io::Read as _;
    buffer.clear();
    let mut file = std::fs::File::open(path)?;
    if !stream && file.metadata()?.len() > max_file_size {
        return Ok(Read::TooLarge);
    }
    (&mut file).take(BINARY_PROBE as u64).read_to_end(buffer)?;
    if super::text_encoding(buffer).is_none() {
        return Ok(Read::Binary);
    }
    if buffer.len() == BINARY_PROBE {
        file.take(max_file_size.saturating_sub(BINARY_PROBE as u64).saturating_add(1))
            .read_to_end(buffer)?;
    }
    if buffer.len() as u64 > max_file_size {
        if !stream {
            return Ok(Read::TooLarge);
        }
        buffer.truncate(max_file_size as usize);
        return Ok(Read::Text { truncated: true });
    }
    Ok(Read::Text { truncated: false })
}

/// Converts a walker error into a skip (symlink loops) or an error naming the path.
fn walk_error<T>(err: &ignore::Error) -> Event<T> {
    let (path, inner) = unwrap_path(err);
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

/// The innermost path a walker error is about.
fn error_path(err: &ignore::Error) -> Option<&Path> {
    match err {
        ignore::Error::WithPath { path, err } => error_path(err).or(Some(path)),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            error_path(err)
        }
        _ => None,
    }
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
