//! Shared helpers: temporary trees of real files, the `azleak` command, and known secrets.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use tempfile::TempDir;

/// A current-format secret with a valid checksum (Microsoft's example).
pub const SECRET_8Q: &str = "zzz8Q~zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzblP";
/// Another valid current-format secret.
pub const SECRET_8Q_2: &str = "riG8Q~p-69WAm.dX4a6IDnOdcdbWB3dC5-DSDciR";
/// A 7Q~ secret.
pub const SECRET_7Q: &str = "YYz7Q~Sudoqwap1PnzEBA3zqBK~i5uesDIv.C";
/// A current-format shape with a wrong checksum (reported only at low confidence).
pub const SECRET_BAD_CHECKSUM: &str = "bP88Q~rcBcYjzzOhg1Hnn76Wm3jGgakZiZ.8vMgR";
/// A legacy secret (found only in context).
pub const SECRET_LEGACY: &str = "vkSikIWXgwvaeHts.swmrso[P*0JaYSw";

/// A temporary directory of real files.
pub struct TempTree {
    pub dir: TempDir,
}

impl TempTree {
    pub fn new() -> TempTree {
        TempTree { dir: tempfile::tempdir().expect("temp dir") }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file (creating parent directories) and returns its path.
    pub fn file(&self, rel: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.dir.path().join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create dirs");
        }
        std::fs::write(&path, contents).expect("write file");
        path
    }
}

/// The `azleak` binary, run in `dir`, with colour off and no inherited NO_COLOR surprises.
pub fn azleak(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("azleak").expect("azleak binary");
    cmd.current_dir(dir).env_remove("NO_COLOR");
    cmd
}

/// Runs a command and returns (exit code, stdout, stderr).
pub fn run(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().expect("run azleak");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Parses JSON output.
pub fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("invalid JSON ({e}):\n{stdout}"))
}
