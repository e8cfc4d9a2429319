//! Where bytes come from: the file-system walk (`fs`), standard input and git repositories
//! (`git`), and what a source reports besides content: paths it skipped (with the reason) and
//! paths or objects it could not read.

pub mod fs;
pub mod git;

use std::fmt;

use serde::Serialize;

/// Why a path was not scanned. Skips are counted and listed, never silent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SkipReason {
    /// A NUL byte in the first 8 KiB.
    Binary,
    /// Larger than `--max-file-size`.
    TooLarge,
    /// A symbolic link that leads back to one of its own parents.
    SymlinkLoop,
    /// A git submodule (history scans do not recurse into them).
    Submodule,
    /// Neither a regular file nor a directory (a socket, a FIFO, a device).
    NotAFile,
    /// Scanned as written, but decoding its encoded text (percent, JSON escapes, base64,
    /// joined literals) stopped when its decoding budget ran out: secrets written encoded
    /// further on may be missed.
    DecodeBudget,
}

impl SkipReason {
    /// Short human description.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Binary => "binary",
            SkipReason::TooLarge => "too large",
            SkipReason::SymlinkLoop => "symlink loop",
            SkipReason::Submodule => "submodule",
            SkipReason::NotAFile => "not a regular file",
            SkipReason::DecodeBudget => "decoding budget exhausted",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A path that was deliberately not scanned.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Skipped {
    /// The path (or `commit:path` / blob id in history scans).
    pub path: String,
    /// Why.
    pub reason: SkipReason,
}

/// A path that could not be read or walked.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ScanError {
    /// The path (or object id) at fault.
    pub path: String,
    /// What went wrong.
    pub message: String,
}

impl fmt::Display for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Number of leading bytes inspected for a NUL to decide a file is binary.
pub const BINARY_PROBE: usize = 8 * 1024;

/// Whether content looks binary: a NUL byte in its first 8 KiB.
pub fn is_binary(bytes: &[u8]) -> bool {
    memchr::memchr(0, &bytes[..bytes.len().min(BINARY_PROBE)]).is_some()
}

/// Turns a path into the `/`-separated form used in reports, without a leading `./`.
pub fn display_path(path: &std::path::Path) -> String {
    let text = path.to_string_lossy();
    let text = text.strip_prefix("./").unwrap_or(&text);
    if std::path::MAIN_SEPARATOR == '\\' { text.replace('\\', "/") } else { text.to_string() }
}
