//! Which walk entries `.gitignore`, `.ignore`, `.git/info/exclude` and the global git excludes
//! ignore, decided here rather than inside `ignore`'s walker so each ignored entry can be
//! counted and listed (the walker drops them without a word). The rules are `ignore`'s own
//! matchers ([`Gitignore`]) with its precedence: `.ignore` files first, then `.gitignore`, then
//! `.git/info/exclude`, then the global excludes; within each kind the deepest directory wins.
//! Each directory's files are read once, on first need, and shared by every worker.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use ignore::gitignore::{Gitignore, GitignoreBuilder};

/// The ignore files of one directory, and its parent's.
struct Level {
    dot_ignore: Gitignore,
    gitignore: Gitignore,
    exclude: Gitignore,
    parent: Option<Arc<Level>>,
}

/// Decides whether entries are ignored; shared by the walk's workers.
pub(super) struct Ignores {
    global: Gitignore,
    levels: RwLock<HashMap<PathBuf, Arc<Level>>>,
    /// Each root as given and as an absolute path.
    roots: HashMap<PathBuf, PathBuf>,
    /// Problems met reading ignore files (a malformed glob, an unreadable file).
    pub(super) errors: Mutex<Vec<(PathBuf, String)>>,
}

impl Ignores {
    /// Matchers for walks of `roots`.
    pub(super) fn new(roots: &[PathBuf]) -> Ignores {
        let (global, err) = Gitignore::global();
        let errors = err.map(|e| vec![(PathBuf::from("<global git excludes>"), e.to_string())]);
        let roots = roots
            .iter()
            .map(|r| {
                let abs = std::fs::canonicalize(r)
                    .or_else(|_| std::path::absolute(r))
                    .unwrap_or_else(|_| r.clone());
                (r.clone(), abs)
            })
            .collect();
        Ignores {
            global,
            levels: RwLock::new(HashMap::new()),
            roots,
            errors: Mutex::new(errors.unwrap_or_default()),
        }
    }

    /// Whether a walk entry (below a root) is ignored.
    pub(super) fn is_ignored(&self, entry: &ignore::DirEntry) -> bool {
        let path = entry.path();
        let Some(root) = path.ancestors().nth(entry.depth()) else { return false };
        let Some(abs_root) = self.roots.get(root) else { return false };
        let Ok(rel) = path.strip_prefix(root) else { return false };
        let abs = abs_root.join(rel);
        let Some(dir) = abs.parent() else { return false };
        let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
        let level = self.level(dir);
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

    /// The matchers of an absolute directory, built on first need.
    fn level(&self, dir: &Path) -> Arc<Level> {
        if let Some(level) = self.levels.read().expect("ignore levels").get(dir) {
            return level.clone();
        }
        let parent = dir.parent().map(|p| self.level(p));
        let level = Arc::new(Level {
            dot_ignore: self.read(dir, &[".ignore"]),
            gitignore: self.read(dir, &[".gitignore"]),
            exclude: self.read(dir, &[".git", "info", "exclude"]),
            parent,
        });
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
