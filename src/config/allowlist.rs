//! Allowlists: what a team has decided is not a leak. Owns the compiled form of the
//! `[allowlist]` table of `azleak.toml` (gitignore-style path globs, exact secrets, secret
//! regexes, stopwords) and the detection of inline `azleak:allow` / `azleak:allow-next-line`
//! markers in scanned text. It does not read files or decide the order of filters (see
//! [`crate::filter::apply`]).

use std::collections::BTreeSet;
use std::path::Path;

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use regex::Regex;
use serde::Deserialize;

/// The marker that allows every finding on its own line.
pub const ALLOW_MARKER: &str = "azleak:allow";

/// The marker that allows every finding on the line after it.
pub const ALLOW_NEXT_LINE_MARKER: &str = "azleak:allow-next-line";

/// The `[allowlist]` table as written in `azleak.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default, rename_all = "kebab-case")]
pub struct AllowlistSyntax {
    /// Gitignore-style globs, relative to the config file's directory (`tests/fixtures/**`,
    /// `*.md`, `!keep.md`). Findings in matching files are not reported.
    pub paths: Vec<String>,
    /// Exact secret values that are not reported (a team's known fake values).
    pub secrets: Vec<String>,
    /// Regexes matched against the secret; a match anywhere in it allows the finding.
    pub secret_regexes: Vec<String>,
    /// Words (case-insensitive) whose presence in the secret allows the finding.
    pub stopwords: Vec<String>,
}

/// A problem with one allowlist entry, before the config file and line are attached. The
/// message never quotes the value (it may be a secret); the value is kept only to find its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryError {
    /// The config key, e.g. `allowlist.paths`.
    pub key: &'static str,
    /// The offending value as written.
    pub value: String,
    /// What is wrong with it.
    pub message: String,
}

/// Why a finding was allowlisted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllowReason {
    /// Its path matches `allowlist.paths`.
    Path,
    /// Its secret is listed in `allowlist.secrets`.
    Secret,
    /// Its secret matches one of `allowlist.secret-regexes`.
    SecretRegex,
    /// Its secret contains one of `allowlist.stopwords`.
    Stopword,
}

/// The compiled allowlist.
#[derive(Debug, Clone, Default)]
pub struct Allowlist {
    paths: Option<Gitignore>,
    secrets: BTreeSet<String>,
    regexes: Vec<Regex>,
    stopwords: Vec<String>,
}

impl Allowlist {
    /// Compiles the allowlist; path globs are anchored at `root` (the config file's directory).
    pub fn compile(syntax: &AllowlistSyntax, root: &Path) -> Result<Allowlist, EntryError> {
        let paths = if syntax.paths.is_empty() {
            None
        } else {
            let mut builder = GitignoreBuilder::new(root);
            for glob in &syntax.paths {
                if glob.trim().is_empty() {
                    return Err(EntryError {
                        key: "allowlist.paths",
                        value: glob.clone(),
                        message: "empty glob".into(),
                    });
                }
                // `ignore` reads an unclosed `[` as a literal, so `x[` would never match
                // anything the user meant: check each glob strictly first.
                let pattern = glob.strip_prefix('!').unwrap_or(glob);
                if let Err(e) = globset::GlobBuilder::new(pattern).literal_separator(true).build() {
                    return Err(EntryError {
                        key: "allowlist.paths",
                        value: glob.clone(),
                        message: format!("invalid glob: {}", e.kind()),
                    });
                }
                builder.add_line(None, glob).map_err(|e| EntryError {
                    key: "allowlist.paths",
                    value: glob.clone(),
                    message: format!("invalid glob: {}", glob_message(&e)),
                })?;
            }
            let built = builder.build().map_err(|e| EntryError {
                key: "allowlist.paths",
                value: syntax.paths.join(" "),
                message: format!("invalid glob: {}", glob_message(&e)),
            })?;
            Some(built)
        };
        let mut regexes = Vec::with_capacity(syntax.secret_regexes.len());
        for pattern in &syntax.secret_regexes {
            let regex = Regex::new(pattern).map_err(|e| EntryError {
                key: "allowlist.secret-regexes",
                value: pattern.clone(),
                message: format!("invalid regex: {}", crate::rules::regex_problem(pattern, &e)),
            })?;
            regexes.push(regex);
        }
        let mut stopwords = Vec::with_capacity(syntax.stopwords.len());
        for word in &syntax.stopwords {
            if word.is_empty() {
                return Err(EntryError {
                    key: "allowlist.stopwords",
                    value: word.clone(),
                    message: "empty stopword (it would allow every secret)".into(),
                });
            }
            stopwords.push(word.to_lowercase());
        }
        Ok(Allowlist {
            paths,
            secrets: syntax.secrets.iter().cloned().collect(),
            regexes,
            stopwords,
        })
    }

    /// Whether nothing is allowlisted.
    pub fn is_empty(&self) -> bool {
        self.paths.is_none()
            && self.secrets.is_empty()
            && self.regexes.is_empty()
            && self.stopwords.is_empty()
    }

    /// Whether a `/`-separated path relative to the config root matches a path glob (or lies in
    /// a directory that does). Paths outside the root never match.
    pub fn allows_path(&self, relative: &str) -> bool {
        let Some(globs) = &self.paths else { return false };
        if relative.is_empty()
            || relative.starts_with('/')
            || relative == ".."
            || relative.starts_with("../")
            || Path::new(relative).has_root()
        {
            return false;
        }
        globs.matched_path_or_any_parents(relative, false).is_ignore()
    }

    /// Why a secret is allowlisted, if it is.
    pub fn allows_secret(&self, secret: &str) -> Option<AllowReason> {
        if self.secrets.contains(secret) {
            return Some(AllowReason::Secret);
        }
        if self.regexes.iter().any(|r| r.is_match(secret)) {
            return Some(AllowReason::SecretRegex);
        }
        if !self.stopwords.is_empty() {
            let lower = secret.to_lowercase();
            if self.stopwords.iter().any(|w| lower.contains(w.as_str())) {
                return Some(AllowReason::Stopword);
            }
        }
        None
    }

    /// Why a finding at `relative` with `secret` is allowlisted, if it is.
    pub fn allows(&self, relative: &str, secret: &str) -> Option<AllowReason> {
        if self.allows_path(relative) {
            return Some(AllowReason::Path);
        }
        self.allows_secret(secret)
    }
}

/// The innermost message of a glob error, without the wrapping `ignore` adds.
fn glob_message(err: &ignore::Error) -> String {
    match err {
        ignore::Error::WithPath { err, .. }
        | ignore::Error::WithDepth { err, .. }
        | ignore::Error::WithLineNumber { err, .. } => glob_message(err),
        ignore::Error::Glob { err, .. } => err.clone(),
        other => other.to_string(),
    }
}

/// Whether the line starting at byte `line_start` of `bytes` carries an inline allow: the line
/// itself contains `azleak:allow` (not followed by `-`, so `azleak:allow-next-line` does not
/// allow its own line), or the line before it contains `azleak:allow-next-line`. Works in any
/// comment syntax (`#`, `//`, `<!-- -->`, `REM`, `--`, ...), since only the marker is looked for.
pub fn inline_allowed(bytes: &[u8], line_start: usize) -> bool {
    let line_start = line_start.min(bytes.len());
    let line_end =
        memchr::memchr(b'\n', &bytes[line_start..]).map_or(bytes.len(), |i| line_start + i);
    if has_allow(&bytes[line_start..line_end]) {
        return true;
    }
    if line_start == 0 {
        return false;
    }
    // bytes[line_start - 1] is the newline ending the previous line.
    let prev_end = line_start - 1;
    let prev_start = memchr::memrchr(b'\n', &bytes[..prev_end]).map_or(0, |i| i + 1);
    memchr::memmem::find(&bytes[prev_start..prev_end], ALLOW_NEXT_LINE_MARKER.as_bytes()).is_some()
}

/// Whether a line contains `azleak:allow` not followed by `-`.
fn has_allow(line: &[u8]) -> bool {
    memchr::memmem::find_iter(line, ALLOW_MARKER.as_bytes())
        .any(|at| line.get(at + ALLOW_MARKER.len()) != Some(&b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(paths: &[&str]) -> Allowlist {
        let syntax = AllowlistSyntax {
            paths: paths.iter().map(|s| s.to_string()).collect(),
            ..AllowlistSyntax::default()
        };
        Allowlist::compile(&syntax, Path::new("/repo")).expect("compiles")
    }

    #[test]
    fn path_globs_are_gitignore_style() {
        let a = list(&["tests/fixtures/**", "*.md", "/rules", "!keep.md"]);
        assert!(a.allows_path("tests/fixtures/a/b.env"));
        assert!(a.allows_path("README.md"));
        assert!(a.allows_path("docs/x.md"));
        assert!(!a.allows_path("keep.md"));
        assert!(a.allows_path("rules/x.toml"));
        assert!(!a.allows_path("src/rules/x.toml"));
        assert!(!a.allows_path("tests/other.env"));
        assert!(!a.allows_path("../tests/fixtures/a.env"));
        assert!(!a.allows_path("/abs/tests/fixtures/a.env"));
    }

    #[test]
    fn secrets_regexes_and_stopwords() {
        let syntax = AllowlistSyntax {
            secrets: vec!["exact-value".into()],
            secret_regexes: vec!["^fake".into()],
            stopwords: vec!["TestOnly".into()],
            ..AllowlistSyntax::default()
        };
        let a = Allowlist::compile(&syntax, Path::new("/repo")).expect("compiles");
        assert_eq!(a.allows_secret("exact-value"), Some(AllowReason::Secret));
        assert_eq!(a.allows_secret("exact-value2"), None);
        assert_eq!(a.allows_secret("fake8Q~abc"), Some(AllowReason::SecretRegex));
        assert_eq!(a.allows_secret("ab8Q~xxtestonlyxx"), Some(AllowReason::Stopword));
        assert_eq!(a.allows("src/a", "real"), None);
    }

    #[test]
    fn bad_entries_name_their_key() {
        let bad_regex = AllowlistSyntax { secret_regexes: vec!["(".into()], ..Default::default() };
        let e = Allowlist::compile(&bad_regex, Path::new("/r")).unwrap_err();
        assert_eq!(e.key, "allowlist.secret-regexes");
        let bad_glob = AllowlistSyntax { paths: vec!["a[z-a]".into()], ..Default::default() };
        let e = Allowlist::compile(&bad_glob, Path::new("/r")).unwrap_err();
        assert_eq!(e.key, "allowlist.paths");
        for glob in ["x[", "!x[", "src/**/y[ab"] {
            let unclosed = AllowlistSyntax { paths: vec![glob.into()], ..Default::default() };
            let e = Allowlist::compile(&unclosed, Path::new("/r")).unwrap_err();
            assert!(e.message.contains("unclosed"), "{glob}: {}", e.message);
            assert!(!e.message.contains(glob), "{}", e.message);
        }
    }

    #[test]
    fn inline_markers() {
        let text = b"a = 1 # azleak:allow\nb = 2\n// azleak:allow-next-line\nc = 3\nd = 4\n";
        let starts: Vec<usize> = std::iter::once(0)
            .chain(memchr::memchr_iter(b'\n', text).map(|i| i + 1))
            .filter(|&i| i < text.len())
            .collect();
        let allowed: Vec<bool> = starts.iter().map(|&s| inline_allowed(text, s)).collect();
        assert_eq!(allowed, [true, false, false, true, false]);
    }
}
