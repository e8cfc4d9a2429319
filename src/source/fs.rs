//! The parallel file-system walk: `ignore`'s walker honouring `.gitignore`, `.ignore` and global
//! git excludes, scanning hidden files by default, never entering `.git/`. Each worker reads a
//! file within the size limit (reported as [`Skipped`] when over it) and hands it as a [`Blob`]
//! to the scan stage ([`BlobScan`], which classifies, expands and detects), and hands it each
//! entry's name too (a secret can be a file or directory name). Reading errors become
//! [`ScanError`]s naming the path.
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
use super::{Blob, BlobScan, Origin, ScanError, Scanned, SkipReason, Skipped, display_path};
use crate::finding::Finding;

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
pub enum Event {
    /// A file was read and scanned.
    Scanned(Scanned),
    /// A file or directory name was scanned.
    Name(Vec<Finding>),
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

/// Walks the roots in parallel. Each readable file within the size limit is handed to
/// `scanner` as a [`Blob`] (on a worker thread, with that worker's scratch space), and each
/// entry below a root its name (for a root, each name in its path). Events are passed to
/// `sink` on the calling thread, in no particular order.
pub fn walk<B: BlobScan>(
    options: &WalkOptions,
    scanner: &B,
    mut sink: impl FnMut(Event),
) -> Result<(), WalkError> {
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
    let (tx, rx) = mpsc::channel::<Vec<Event>>();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            walker.run(|| {
                let mut batch = Batch { events: Vec::new(), tx: tx.clone() };
                let mut scratch = scanner.scratch();
                let mut buffer = Vec::new();
                let roots = &roots;
                Box::new(move |entry| {
                    let mut alive = true;
                    let mut emit = |event: Event| {
                        if let Some(entry_path) = event_path(&entry, &event) {
                            roots.saw(entry_path, matches!(event, Event::Scanned { .. }));
                        }
                        alive &= batch.push(event);
                    };
                    match &entry {
                        Ok(entry) => {
                            let mut visit = Visit { scanner, scratch: &mut scratch, options };
                            visit.entry(entry, &mut buffer, &mut emit)
                        }
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
    let mut scratch = scanner.scratch();
    for path in ignored {
        roots.saw(&path, false);
        let path = display_path(&path);
        let start = super::name_start(&path);
        sink(Event::Name(scanner.scan_name(&mut scratch, &path, start..path.len())));
        sink(Event::Skipped(Skipped::new(path, SkipReason::Ignored)));
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
fn event_path<'e>(
    entry: &'e Result<ignore::DirEntry, ignore::Error>,
    event: &Event,
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
struct Batch {
    events: Vec<Event>,
    tx: mpsc::Sender<Vec<Event>>,
}

impl Batch {
    const SIZE: usize = 256;

    /// Adds an event; false if the receiver has gone.
    fn push(&mut self, event: Event) -> bool {
        self.events.push(event);
        self.events.len() < Self::SIZE || self.flush()
    }

    fn flush(&mut self) -> bool {
        self.tx.send(std::mem::take(&mut self.events)).is_ok()
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        if !self.events.is_empty() {
            self.flush();
        }
    }
}

/// What a worker needs to visit an entry.
struct Visit<'a, B: BlobScan> {
    scanner: &'a B,
    scratch: &'a mut B::Scratch,
    options: &'a WalkOptions,
}

impl<B: BlobScan> Visit<'_, B> {
    /// Scans one walk entry's name and content, or says why not.
    fn entry(
        &mut self,
        entry: &ignore::DirEntry,
        buffer: &mut Vec<u8>,
        emit: &mut impl FnMut(Event),
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
                    emit(Event::Name(self.scanner.scan_name(self.scratch, &path, start..end)));
                }
                start = end + 1;
            }
        } else {
            let start = super::name_start(&path);
            emit(Event::Name(self.scanner.scan_name(self.scratch, &path, start..path.len())));
        }
        if file_type.is_dir() {
            return;
        }
        let skip = |reason| Event::Skipped(Skipped::new(path.clone(), reason));
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
        let read = match read_file(entry.path(), self.options.max_file_size, buffer, stream) {
            Ok(read) => read,
            Err(e) => return emit(Event::Error(ScanError { path, message: e.to_string() })),
        };
        match read {
            Read::Whole { truncated } => {
                let origin = Origin::File(path);
                let blob = Blob { bytes: buffer, origin: &origin };
                emit(Event::Scanned(self.scanner.scan(self.scratch, blob)));
                if truncated {
                    emit(Event::Skipped(Skipped::new(origin.label(), SkipReason::Truncated)));
                }
            }
            Read::TooLarge => emit(skip(SkipReason::TooLarge)),
        }
    }
}

/// What [`read_file`] found.
enum Read {
    /// The buffer holds the whole file, or its first `max_file_size` bytes (`truncated`).
    Whole {
        /// A stream longer than the limit: the rest was not read.
        truncated: bool,
    },
    /// The file is larger than the size limit.
    TooLarge,
}

/// How much of a file is read before its size is checked against the limit.
const SIZE_CHECK_AFTER: u64 = 1 << 20;

/// Reads a file into `buffer` (reused across files). Of a regular file over the limit at most
/// [`SIZE_CHECK_AFTER`] bytes are read; a stream (`stream`) is read up to the limit and
/// truncated there.
fn read_file(
    path: &Path,
    max_file_size: u64,
    buffer: &mut Vec<u8>,
    stream: bool,
) -> std::io::Result<Read> {
    use std::io::Read as _;
    buffer.clear();
    let mut file = std::fs::File::open(path)?;
    let limit = max_file_size.saturating_add(1);
    // Most files are small: read them without asking their size (a system call per file),
    // and ask only when the first read fills its share, before reading a large file whole.
    let first = limit.min(SIZE_CHECK_AFTER);
    (&mut file).take(first).read_to_end(buffer)?;
    if buffer.len() as u64 == first && first < limit {
        if !stream && file.metadata()?.len() > max_file_size {
            return Ok(Read::TooLarge);
        }
        file.take(limit - first).read_to_end(buffer)?;
    }
    if buffer.len() as u64 > max_file_size {
        if !stream {
            return Ok(Read::TooLarge);
        }
        buffer.truncate(max_file_size as usize);
        return Ok(Read::Whole { truncated: true });
    }
    Ok(Read::Whole { truncated: false })
}

/// Converts a walker error into a skip (symlink loops) or an error naming the path.
fn walk_error(err: &ignore::Error) -> Event {
    let (path, inner) = unwrap_path(err);
    if let ignore::Error::Loop { child, .. } = inner {
        return Event::Skipped(Skipped::new(display_path(child), SkipReason::SymlinkLoop));
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
