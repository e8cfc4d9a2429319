//! Settings: discovery of `azleak.toml` at the repository root and command-line overrides
//! layered on top of it into one typed [`Settings`], which the filter stage
//! ([`crate::filter`]) and the commands then read. The file's schema and parsing live in
//! `file`, sizes in `size`, allowlists in [`allowlist`], baselines in [`baseline`]. It does not
//! parse command lines (see `cli`), filter findings, or write any file.

pub mod allowlist;
pub mod baseline;
mod file;
mod size;

use std::path::{Component, Path, PathBuf};

use crate::finding::{Confidence, Finding, Part};
use crate::report::ScanKind;
use crate::rules::{RuleError, RuleSet};
use crate::source::display_path;
use crate::verify::{Endpoint, StorageEndpoint};
pub use allowlist::{Allowlist, AllowlistSyntax};
pub use baseline::{Baseline, BaselineError};
use file::line_of_value;
pub(crate) use file::value_free;
pub use file::{ConfigFile, VerifySyntax, parse};
pub use size::{SizeError, parse_size, size_of};

/// Names of the config file looked for at the repository root, in this order.
pub const CONFIG_FILE_NAMES: [&str; 2] = ["azleak.toml", ".azleak.toml"];

/// Default maximum size of a scanned file: 100 MiB.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 100 << 20;

/// The starter file written by `azleak init`. It parses to the defaults.
pub const STARTER_CONFIG: &str = include_str!("starter.toml");

/// Errors loading settings. Each names the file at fault, and for config files the line and key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config {}: {source}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A key or value of the config file is wrong.
    #[error("{}:{line}:{column}: {}{message}", .path.display(), key_prefix(.key))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The dotted key at fault (`allowlist.paths`), empty when the file is not TOML.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// Both `azleak.toml` and `.azleak.toml` exist.
    #[error("both {} and {} exist; keep one", .first.display(), .second.display())]
    Ambiguous {
        /// The first file.
        first: PathBuf,
        /// The second file.
        second: PathBuf,
    },
    /// A rule file failed to load.
    #[error(transparent)]
    Rules(#[from] RuleError),
    /// The baseline failed to load.
    #[error(transparent)]
    Baseline(#[from] BaselineError),
    /// An app inventory failed to load.
    #[error(transparent)]
    Inventory(#[from] crate::inventory::InventoryError),
}

fn key_prefix(key: &str) -> String {
    if key.is_empty() { String::new() } else { format!("key `{key}`: ") }
}

/// Where settings come from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ConfigSource {
    /// `azleak.toml` or `.azleak.toml` at the repository root, if there is one.
    #[default]
    Discover,
    /// This file (`--config FILE`).
    File(PathBuf),
    /// No file (`--no-config`).
    Ignore,
}

/// What to do with a baseline file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum BaselineMode {
    /// No baseline.
    #[default]
    Off,
    /// Report only findings not in the file (`--baseline FILE`); with `prune`, rewrite the file
    /// without its stale entries (`--prune-baseline`).
    Check {
        /// The baseline file.
        path: PathBuf,
        /// Remove stale entries from the file.
        prune: bool,
    },
    /// Record every current finding in the file and report none (`--write-baseline FILE`).
    Write {
        /// The baseline file.
        path: PathBuf,
    },
}

/// Command-line values that override the config file. `None` means "not given".
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Which config file to read.
    pub config: ConfigSource,
    /// Extra rule files (`--rules`), loaded after the config file's.
    pub rules: Vec<PathBuf>,
    /// `--min-confidence`.
    pub min_confidence: Option<Confidence>,
    /// `--max-file-size`.
    pub max_file_size: Option<u64>,
    /// `--hidden` (true) or `--no-hidden` (false).
    pub hidden: Option<bool>,
    /// `--no-inline-allow`: report findings on `azleak:allow` lines too.
    pub no_inline_allow: bool,
    /// `--baseline`, `--prune-baseline`, `--write-baseline`.
    pub baseline: BaselineMode,
    /// `--app-inventory` files, read after the config file's.
    pub app_inventory: Vec<PathBuf>,
    /// `--verify`, `--no-verify`, `--authority`, `--storage-endpoint`, `--verify-timeout`,
    /// `--verify-rate`.
    pub verify: VerifyOverrides,
}

/// Command-line values of the `[verify]` settings. `None` means "not given".
#[derive(Debug, Clone, Default)]
pub struct VerifyOverrides {
    /// `--verify` (true) or `--no-verify` (false).
    pub enabled: Option<bool>,
    /// `--authority`.
    pub authority: Option<Endpoint>,
    /// `--storage-endpoint`.
    pub storage: Option<StorageEndpoint>,
    /// `--verify-timeout`, seconds.
    pub timeout_secs: Option<u64>,
    /// `--verify-rate`, requests per second per host.
    pub rate: Option<f64>,
}

/// Validated `[verify]` settings with the command line on top.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VerifySettings {
    /// Whether to verify at all (default off: nothing contacts the network).
    pub enabled: bool,
    /// The Entra authority, if one was configured.
    pub authority: Option<Endpoint>,
    /// The storage endpoint, if one was configured.
    pub storage: Option<StorageEndpoint>,
    /// Timeout of one request, seconds.
    pub timeout_secs: Option<u64>,
    /// Requests per second per host.
    pub rate: Option<f64>,
}

/// How much of the repository a scan covered; decides which baseline entries can be stale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Coverage {
    /// The whole repository (a directory scan of its root, a full history scan).
    Whole,
    /// Only these root-relative paths and what lies under them.
    Under(Vec<String>),
    /// Some unknown part (standard input, a commit range, staged changes): nothing is stale.
    Partial,
    /// The paths of one shard of the whole repository (`--shard-by path`).
    Shard(crate::source::PathShard),
}

/// Validated settings: the config file with command-line overrides on top.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The repository root (absolute): path allowlists and baseline paths are relative to it.
    pub root: PathBuf,
    /// The config file read, if any.
    pub config_path: Option<PathBuf>,
    /// Extra rule files: the config file's (resolved against its directory), then `--rules`.
    pub rules: Vec<PathBuf>,
    /// Ids of rules not to run.
    pub disabled_rules: Vec<String>,
    /// The reporting threshold.
    pub min_confidence: Confidence,
    /// Files larger than this are skipped.
    pub max_file_size: u64,
    /// Scan hidden files and directories.
    pub hidden: bool,
    /// Open archives and scan their members (config key `archives`).
    pub archives: bool,
    /// Path and secret allowlists.
    pub allowlist: Allowlist,
    /// Honour `azleak:allow` markers.
    pub inline_allow: bool,
    /// App-registration exports: the config file's (resolved against its directory), then
    /// `--app-inventory`.
    pub app_inventory: Vec<PathBuf>,
    /// The app inventory read from `app_inventory` (`None` when no file is given).
    pub inventory: Option<std::sync::Arc<crate::inventory::Inventory>>,
    /// What to do with a baseline.
    pub baseline_mode: BaselineMode,
    /// How much of the repository the scan covers (set by the command; default `Partial`).
    pub coverage: Coverage,
    /// `--verify` and its settings.
    pub verify: VerifySettings,
    /// The loaded baseline (`Check`), or the existing file's entries (`Write`, for dates).
    baseline: Baseline,
    /// The config file's text, to point errors found after parsing at a line.
    config_text: Option<String>,
    /// The config file's `rules` entries as written (the first entries of `rules`).
    config_rules: Vec<String>,
    cwd: PathBuf,
}

/// The `[verify]` table checked (URLs parsed, numbers in range) with the overrides on top;
/// `invalid(key, value, message)` makes the error for a bad entry.
fn verify_settings(
    file: &VerifySyntax,
    overrides: &VerifyOverrides,
    invalid: impl Fn(&str, &str, String) -> ConfigError,
) -> Result<VerifySettings, ConfigError> {
    let authority = match (&overrides.authority, &file.authority) {
        (Some(a), _) => Some(a.clone()),
        (None, Some(text)) => {
            Some(Endpoint::parse(text).map_err(|e| invalid("authority", text, e.to_string()))?)
        }
        (None, None) => None,
    };
    let storage = match (&overrides.storage, &file.storage_endpoint) {
        (Some(s), _) => Some(s.clone()),
        (None, Some(text)) => Some(
            StorageEndpoint::parse(text)
                .map_err(|e| invalid("storage-endpoint", text, e.to_string()))?,
        ),
        (None, None) => None,
    };
    if file.timeout_secs == Some(0) {
        return Err(invalid("timeout-secs", "timeout-secs", "must be at least 1".into()));
    }
    if file.rate.is_some_and(|r| !(r > 0.0 && r.is_finite())) {
        return Err(invalid("rate", "rate", "must be a positive number".into()));
    }
    Ok(VerifySettings {
        enabled: overrides.enabled.or(file.enabled).unwrap_or(false),
        authority,
        storage,
        timeout_secs: overrides.timeout_secs.or(file.timeout_secs),
        rate: overrides.rate.or(file.rate),
    })
}

impl Settings {
    /// Loads settings for a scan of the repository at `root`: reads the config file chosen by
    /// `overrides.config`, validates it, layers the overrides on top, and reads the baseline.
    pub fn load(root: &Path, overrides: &Overrides) -> Result<Settings, ConfigError> {
        let cwd = std::env::current_dir().unwrap_or_default();
        let root = normalize(&cwd.join(root));
        let config_path = match &overrides.config {
            ConfigSource::Ignore => None,
            ConfigSource::File(path) => Some(path.clone()),
            // Shown relative to the current directory when it is under it.
            ConfigSource::Discover => discover(&root)?.map(|p| match p.strip_prefix(&cwd) {
                Ok(rest) => rest.to_path_buf(),
                Err(_) => p,
            }),
        };
        let (file, config_text) = match &config_path {
            None => (ConfigFile::default(), None),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|source| ConfigError::Read { path: path.clone(), source })?;
                (parse(path, &text)?, Some(text))
            }
        };
        let allowlist = Allowlist::compile(&file.allowlist, &root).map_err(|e| {
            let (line, column) = line_of_value(config_text.as_deref().unwrap_or(""), &e.value);
            ConfigError::Invalid {
                path: config_path.clone().unwrap_or_default(),
                line,
                column,
                key: e.key.to_string(),
                message: e.message,
            }
        })?;
        let verify = verify_settings(&file.verify, &overrides.verify, |key, value, message| {
            let (line, column) = line_of_value(config_text.as_deref().unwrap_or(""), value);
            ConfigError::Invalid {
                path: config_path.clone().unwrap_or_default(),
                line,
                column,
                key: format!("verify.{key}"),
                message,
            }
        })?;
        let config_dir = config_path
            .as_ref()
            .and_then(|p| p.parent())
            .map(|p| cwd.join(p))
            .unwrap_or_else(|| root.clone());
        let config_rules = file.rules.iter().map(|p| p.to_string_lossy().into_owned()).collect();
        let mut rules: Vec<PathBuf> = file.rules.iter().map(|p| config_dir.join(p)).collect();
        rules.extend(overrides.rules.iter().cloned());
        let mut app_inventory: Vec<PathBuf> =
            file.app_inventory.iter().map(|p| config_dir.join(p)).collect();
        app_inventory.extend(overrides.app_inventory.iter().cloned());
        // Read before the scan, so a bad file fails in a second, not after an hour of history.
        let inventory = if app_inventory.is_empty() {
            None
        } else {
            Some(std::sync::Arc::new(crate::inventory::Inventory::load(&app_inventory)?))
        };
        let baseline = match &overrides.baseline {
            BaselineMode::Off => Baseline::default(),
            BaselineMode::Check { path, .. } => Baseline::load(path)?,
            BaselineMode::Write { path } => Baseline::load_if_exists(path)?,
        };
        Ok(Settings {
            root,
            config_path,
            rules,
            disabled_rules: file.disable_rules,
            min_confidence: overrides
                .min_confidence
                .or(file.min_confidence)
                .unwrap_or(Confidence::Medium),
            max_file_size: overrides
                .max_file_size
                .or(file.max_file_size)
                .unwrap_or(DEFAULT_MAX_FILE_SIZE),
            hidden: overrides.hidden.or(file.scan_hidden).unwrap_or(true),
            archives: file.archives.unwrap_or(true),
            allowlist,
            inline_allow: !overrides.no_inline_allow,
            app_inventory,
            inventory,
            baseline_mode: overrides.baseline.clone(),
            coverage: Coverage::Partial,
            verify,
            baseline,
            config_text,
            config_rules,
            cwd,
        })
    }

    /// The built-in rules plus the extra rule files, without the disabled ones. An unknown id in
    /// `disable-rules` is an error naming its line.
    pub fn load_rules(&self) -> Result<RuleSet, ConfigError> {
        let mut rules = RuleSet::builtin()?;
        for (i, path) in self.rules.iter().enumerate() {
            match (rules.add_paths(std::slice::from_ref(path)), self.config_rules.get(i)) {
                // A path from the config file that cannot be read: point at its entry, and do
                // not repeat the value (whatever was pasted there).
                (Err(RuleError::Read { path: at, source }), Some(value)) if at == *path => {
                    let text = self.config_text.as_deref().unwrap_or("");
                    let (line, column) = line_of_value(text, value);
                    return Err(ConfigError::Invalid {
                        path: self.config_path.clone().unwrap_or_default(),
                        line,
                        column,
                        key: "rules".into(),
                        message: format!("entry {i}: cannot read the rule file: {source}"),
                    });
                }
                (result, _) => result?,
            }
        }
        let unknown = rules.disable(&self.disabled_rules);
        if let Some(id) = unknown.first() {
            let (line, column) = line_of_value(self.config_text.as_deref().unwrap_or(""), id);
            return Err(ConfigError::Invalid {
                path: self.config_path.clone().unwrap_or_default(),
                line,
                column,
                key: "disable-rules".into(),
                message: "no rule has this id (see `azleak rules list`)".into(),
            });
        }
        Ok(rules)
    }

    /// Sets [`Settings::coverage`] for a directory scan of `roots` (as given on the command line).
    pub fn cover_roots(&mut self, roots: &[PathBuf]) {
        let mut under = Vec::new();
        for root in roots {
            let abs = normalize(&self.cwd.join(root));
            match abs.strip_prefix(&self.root) {
                Ok(rest) if rest.as_os_str().is_empty() => {
                    self.coverage = Coverage::Whole;
                    return;
                }
                Ok(rest) => under.push(display_path(rest)),
                Err(_) => {}
            }
        }
        self.coverage = Coverage::Under(under);
    }

    /// The loaded baseline (`--baseline`), or the existing file's entries (`--write-baseline`,
    /// for their first-seen dates); empty without one.
    pub fn baseline(&self) -> &Baseline {
        &self.baseline
    }

    /// The directory azleak ran in: relative finding paths of file scans are relative to it.
    pub fn cwd(&self) -> &Path {
        &self.cwd
    }

    /// A finding's path relative to the repository root, `/`-separated. Paths of git scans
    /// (history and staged) already are; file paths are resolved against the current directory.
    /// A path outside the root, and standard input (`-`), are returned as given. A finding in
    /// commit or tag metadata has no path: it is named by its part (`<commit-message>`), so its
    /// fingerprint and baseline entry do not depend on the commit id and survive a rebase.
    pub fn relative_path(&self, f: &Finding, kind: ScanKind) -> String {
        if !matches!(f.part, Part::Content | Part::Path) {
            return format!("<{}>", f.part.as_str());
        }
        if kind != ScanKind::Files || f.commit.is_some() || f.path == "-" {
            return f.path.clone();
        }
        root_relative(&self.root, &self.cwd, &f.path).unwrap_or_else(|| f.path.clone())
    }

    /// What a scan of this kind covered: staged changes never cover a whole file set.
    pub fn coverage_of(&self, kind: ScanKind) -> &Coverage {
        if kind == ScanKind::Staged { &Coverage::Partial } else { &self.coverage }
    }
}

impl Coverage {
    /// Whether a root-relative path lies in what the scan covered.
    pub fn covers(&self, path: &str) -> bool {
        match self {
            Coverage::Whole => true,
            Coverage::Under(prefixes) => prefixes.iter().any(|p| is_under(path, p)),
            Coverage::Partial => false,
            Coverage::Shard(shard) => shard.holds(path.as_bytes()),
        }
    }
}

/// Whether a `/`-separated path is `prefix` or lies under it.
fn is_under(path: &str, prefix: &str) -> bool {
    path == prefix || path.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('/'))
}

/// The repository root for a scan of `path`: the nearest directory at or above it that holds a
/// `.git` or a config file (`azleak.toml`, `.azleak.toml`), else `path` itself if it is a
/// directory, else the current directory.
pub fn find_root(path: &Path) -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_default();
    let abs = normalize(&cwd.join(path));
    let dir = if abs.is_dir() {
        abs.clone()
    } else {
        abs.parent().map(Path::to_path_buf).unwrap_or_default()
    };
    for ancestor in dir.ancestors() {
        let marked = ancestor.join(".git").exists()
            || CONFIG_FILE_NAMES.iter().any(|n| ancestor.join(n).is_file());
        if marked {
            return ancestor.to_path_buf();
        }
    }
    if abs.is_dir() { abs } else { cwd }
}

/// The config file at a repository root, if any.
pub fn discover(root: &Path) -> Result<Option<PathBuf>, ConfigError> {
    let found: Vec<PathBuf> =
        CONFIG_FILE_NAMES.iter().map(|n| root.join(n)).filter(|p| p.is_file()).collect();
    match found.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one.clone())),
        [first, second, ..] => {
            Err(ConfigError::Ambiguous { first: first.clone(), second: second.clone() })
        }
    }
}

/// Makes an absolute path lexically normal: no `.`, and `..` applied.
/// `path` (relative to `cwd`, or absolute) relative to `root`, `/`-separated; `None` when it
/// lies outside the root.
pub fn root_relative(root: &Path, cwd: &Path, path: &str) -> Option<String> {
    let abs = normalize(&cwd.join(path));
    if let Ok(rest) = abs.strip_prefix(root) {
        return Some(display_path(rest));
    }
    // The root or the path may go through a symbolic link: compare canonical forms.
    let (a, r) = (abs.canonicalize().ok()?, root.canonicalize().ok()?);
    a.strip_prefix(&r).ok().map(display_path)
}

fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_under_prefixes() {
        assert!(is_under("src/a.rs", "src"));
        assert!(is_under("src", "src"));
        assert!(!is_under("srcx/a.rs", "src"));
        assert_eq!(normalize(Path::new("/a/./b/../c")), PathBuf::from("/a/c"));
    }
}
