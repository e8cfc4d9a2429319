//! Which walk entries `.gitignore`, `.ignore`, `.git/info/exclude` and the global git excludes
//! ignore, decided here rather than inside `ignore`'s walker so each ignored entry can be
//! counted and listed (the walker drops them without a word). The rules are `ignore`'s own
//! matchers ([`Gitignore`]) with its precedence: `.ignore` files first, then `.gitignore`, then
//! `.git/info/exclude`, then the global excludes; within each kind the deepest directory wins.
//! Each directory's files are read once, on first need, and shared by every worker.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use ignore::gitignore::{Gitignore, GitignoreBuilder};

/// The ignore files of one directory, and its parent's.
struct Level {
    dot_ignore: Gitignore,
    gitignore: Gitignore,
    exclude: Gitignore,
    parent: Option<Arc<Level>>,
    /// No ignore file here or in any parent: nothing to match (most directories of a tree).
    none: bool,
}

/// A map keyed by paths, with a fast hash (these keys are the walk's own directories).
type PathMap<V> = HashMap<PathBuf, V, foldhash::fast::RandomState>;

/// Decides whether entries are ignored; shared by the walk's workers.
pub(super) struct Ignores {
    global: Gitignore,
    levels: RwLock<PathMap<Arc<Level>>>,
    /// Each root as given and as an absolute path, longest first.
    roots: Vec<(PathBuf, PathBuf)>,
    /// Problems met reading ignore files (a malformed glob, an unreadable file).
    pub(super) errors: Mutex<Vec<(PathBuf, String)>>,
}

impl Ignores {
    /// Matchers for walks of `roots`.
    pub(super) fn new(roots: &[PathBuf]) -> Ignores {
        let (global, err) = Gitignore::global();
        let errors = err.map(|e| vec![(PathBuf::from("<global git excludes>"), e.to_string())]);
        let mut roots: Vec<(PathBuf, PathBuf)> = roots
            .iter()
            .map(|r| {
                let abs = std::fs::canonicalize(r)
                    .or_else(|_| std::path::absolute(r))
                    .unwrap_or_else(|_| r.clone());
                (r.clone(), abs)
            })
            .collect();
        roots.sort_by_key(|(r, _)| std::cmp::Reverse(r.as_os_str().len()));
        Ignores {
            global,
            levels: RwLock::new(PathMap::default()),
            roots,
            errors: Mutex::new(errors.unwrap_or_default()),
        }
    }

    /// Whether a walk entry (below a root) is ignored.
    pub(super) fn is_ignored(&self, entry: &ignore::DirEntry) -> bool {
        let Some(abs) = self.absolute(entry.path(), entry.depth()) else { return false };
        let Some(dir) = abs.parent() else { return false };
        let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
        let level = self.level(dir);
        if level.none && self.global.is_empty() {
            return false;
        }
        let levels = std::iter::successors(Some(&*level), |l| l.parent.as_deref());
        for kind in 0..3 {
            for l in levels.clone() {
                let matcher = [&l.dot_ignore, &l.gitignore, &l.exclude][kind];
                let m = matcher.matched(&abs, is_dir);
                if !m.is_none() {
                    return m.is_ignore();
                }
            }
        }
        self.global.matched(&abs, is_dir).is_ignore()
    }

    /// The absolute path of a walk entry `depth` levels below its root: the walk joins names
    /// onto the root as given, so the root is a prefix of the entry's bytes (compared as bytes:
    /// parsing components per entry was most of this check's cost).
    fn absolute(&self, path: &Path, depth: usize) -> Option<PathBuf> {
        let bytes = path.as_os_str().as_encoded_bytes();
        for (root, abs_root) in &self.roots {
            let Some(rest) = bytes.strip_prefix(root.as_os_str().as_encoded_bytes()) else {
                continue;
            };
            let boundary = rest.is_empty()
                || std::path::is_separator(char::from(rest[0]))
                || root.as_os_str().as_encoded_bytes().last().is_some_and(|&b| b == b'/');
            if !boundary || (rest.is_empty() != (depth == 0)) {
                continue;
            }
            let Ok(rel) = path.strip_prefix(root) else { continue };
            let mut abs = OsString::with_capacity(abs_root.as_os_str().len() + rest.len() + 1);
            abs.push(abs_root.as_os_str());
            let mut abs = PathBuf::from(abs);
            abs.push(rel);
            return Some(abs);
        }
        None
    }

    /// The matchers of an absolute directory, built on first need.
    fn level(&self, dir: &Path) -> Arc<Level> {
        if let Some(level) = self.levels.read().expect("ignore levels").get(dir) {
            return level.clone();
        }
        let parent = dir.parent().map(|p| self.level(p));
        let dot_ignore = self.read(dir, &[".ignore"]);
        let gitignore = self.read(dir, &[".gitignore"]);
        let exclude = self.read(dir, &[".git", "info", "exclude"]);
        let none = dot_ignore.is_empty()
            && gitignore.is_empty()
            && exclude.is_empty()
            && parent.as_ref().is_none_or(|p| p.none);
        let level = Arc::new(Level { dot_ignore, gitignore, exclude, parent, none });
        self.levels
            .write()
            .expect("ignore levels")
            .entry(dir.to_path_buf())
            .or_insert(level)
            .clone()
    }

    /// Reads one ignore file of `dir`, if it is there.
    fn read(&self, dir: &Path, rel: &[&str]) -> Gitignore {
        let mut file = dir.to_path_buf();
        file.extend(rel);
        if !file.is_file() {
            return Gitignore::empty();
        }
        let mut builder = GitignoreBuilder::new(dir);
        let mut problems = Vec::new();
        if let Some(e) = builder.add(&file) {
            problems.push(e.to_string());
        }
        let matcher = builder.build().unwrap_or_else(|e| {
            problems.push(e.to_string());
            Gitignore::empty()
        });
        if !problems.is_empty() {
            let mut errors = self.errors.lock().expect("ignore errors");
            errors.extend(problems.into_iter().map(|p| (file.clone(), p)));
        }
        matcher
    }
}
