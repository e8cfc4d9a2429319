//! `azleak scan DIR`: what the directory walk scans and skips (`walk`), where findings are
//! placed, in 1-based lines and character columns (`locations`), and which confidence is
//! reported, in which order, with which exit code (`outcome`). Every test writes real files into
//! a temporary directory and runs the real binary.

mod locations;
mod outcome;
mod walk;

use crate::util::{TempTree, isolated_azleak, json, run};

const RULE_8Q: &str = "azure.entra.client-secret";
const RULE_7Q: &str = "azure.entra.client-secret.7q";
const RULE_LEGACY: &str = "azure.entra.client-secret.legacy";

/// `key = "SECRET"` on one line: the secret starts at column 8 and ends before column 48.
fn assignment(secret: &str) -> String {
    format!("key = \"{secret}\"\n")
}

/// Runs `azleak scan . --format json` plus `args` in `t`; returns (exit code, JSON, stderr).
fn scan_json(t: &TempTree, args: &[&str]) -> (i32, serde_json::Value, String) {
    let (code, out, err) =
        run(isolated_azleak(t.path()).args(["scan", ".", "--format", "json"]).args(args));
    (code, json(&out), err)
}
