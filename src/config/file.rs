//! The `azleak.toml` file as written: its schema ([`ConfigFile`], unknown keys rejected) and
//! parsing with errors that point at the file, line, column and dotted key. Layering with the
//! command line and validation of allowlist entries happen in [`super::Settings::load`].

use std::fmt;
use std::path::Path;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use super::ConfigError;
use super::allowlist::AllowlistSyntax;
use super::size::SizeError;
use crate::finding::Confidence;

/// `azleak.toml` as written. Every key is optional; unknown keys are errors.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default, rename_all = "kebab-case")]
pub struct ConfigFile {
    /// Extra rule files or directories of `*.toml` rule files, relative to this file.
    pub rules: Vec<std::path::PathBuf>,
    /// Ids of rules not to run.
    pub disable_rules: Vec<String>,
    /// Report findings of at least this confidence (`high`, `medium`, `low`).
    pub min_confidence: Option<Confidence>,
    /// Skip files larger than this: bytes, or a string like `"64K"`, `"100M"`, `"1G"`.
    #[serde(deserialize_with = "size")]
    pub max_file_size: Option<u64>,
    /// Scan hidden files and directories (default true).
    pub scan_hidden: Option<bool>,
    /// Open archives (zip family, tar, gzip, bzip2, xz, zstd) and scan their members
    /// (default true); `--no-archives` turns it off too.
    pub archives: Option<bool>,
    /// App-registration exports (`az ad app list --all`, Graph `/applications`) to name the
    /// credential each client secret is, relative to this file.
    pub app_inventory: Vec<std::path::PathBuf>,
    /// What is not a leak.
    pub allowlist: AllowlistSyntax,
    /// `--verify` settings: `[verify]`.
    pub verify: VerifySyntax,
}

/// The `[verify]` table as written. Verification contacts the network, so it is off unless
/// `enabled = true` here or `--verify` is given.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default, rename_all = "kebab-case")]
pub struct VerifySyntax {
    /// Verify findings with their issuers (`--verify`).
    pub enabled: Option<bool>,
    /// Entra authority (`--authority`), e.g. `https://login.microsoftonline.us`.
    pub authority: Option<String>,
    /// Storage blob endpoint (`--storage-endpoint`), e.g.
    /// `https://{account}.blob.core.usgovcloudapi.net`.
    pub storage_endpoint: Option<String>,
    /// Connect plus read timeout of one request, seconds (`--verify-timeout`).
    pub timeout_secs: Option<u64>,
    /// Requests per second to one host (`--verify-rate`).
    pub rate: Option<f64>,
}

fn size<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    struct SizeVisitor;
    impl Visitor<'_> for SizeVisitor {
        type Value = u64;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a size in bytes or a string like \"64K\", \"100M\" or \"1G\"")
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
            let v = u64::try_from(v).map_err(|_| E::custom("a size cannot be negative"))?;
            self.visit_u64(v)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
            // As for `--max-file-size 0`: a limit of 0 bytes would skip every file.
            if v == 0 { Err(E::custom(SizeError::Zero.expected())) } else { Ok(v) }
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
            // Say what is expected, never the value (it may be a secret pasted by mistake).
            super::size::size_of(v).map_err(|e| E::custom(e.expected()))
        }
    }
    d.deserialize_any(SizeVisitor).map(Some)
}

/// Parses config text; `path` names the file in errors, which carry the line, column and key.
pub fn parse(path: &Path, text: &str) -> Result<ConfigFile, ConfigError> {
    toml::from_str(text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        let (line, column) = line_column(text, offset);
        ConfigError::Invalid {
            path: path.to_path_buf(),
            line,
            column,
            key: known_key(key_at(text, offset), e.message().starts_with("unknown field")),
            message: value_free(e.message().trim()),
        }
    })
}

/// A parser's message without the offending value or key it quotes (`invalid type: string
/// "…"`, `unknown variant `…``, `unknown field `…``): the file, line, column and key say
/// where the problem is, and a value pasted by mistake may be a secret.
pub(crate) fn value_free(message: &str) -> String {
    static QUOTED: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r#"(?s)(invalid (?:type|value): (?:string|character|integer|floating point|byte array|bytes|borrowed str|str)) (?:"(?:[^"\\]|\\.)*"|`.*?`(, expected|$))"#,
        )
        .expect("valid regex")
    });
    static NAMED: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(?s)unknown (variant|field) `.*?`(, expected|, there are no|$)")
            .expect("valid regex")
    });
    let message = QUOTED.replace_all(message, "$1$2");
    NAMED.replace_all(&message, "unknown $1$2").into_owned()
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// The line and column of a value's first quoted occurrence in config text ((1, 1) if absent).
pub(super) fn line_of_value(text: &str, value: &str) -> (usize, usize) {
    for quoted in [format!("\"{value}\""), format!("'{value}'"), value.to_string()] {
        if let Some(at) = text.find(&quoted) {
            return line_column(text, at);
        }
    }
    (1, 1)
}

/// The dotted key being defined at a byte offset: the last `key =` at or before it, prefixed
/// by its `[table]`, or the table itself when the offset is on a header.
/// Every key an `azleak.toml` can hold, dotted.
const KNOWN_KEYS: &[&str] = &[
    "rules",
    "disable-rules",
    "min-confidence",
    "max-file-size",
    "scan-hidden",
    "archives",
    "max-archive-depth",
    "allowlist",
    "allowlist.paths",
    "allowlist.secrets",
    "allowlist.secret-regexes",
    "allowlist.stopwords",
    "verify",
    "verify.enabled",
    "verify.authority",
    "verify.storage-endpoint",
    "verify.timeout-secs",
    "verify.rate",
];

/// The key an error is reported under: one azleak knows, or, for an unknown field of a file
/// that parses, a key-shaped name (lowercase bare keys, dotted: a misspelt `min-confidenc`).
/// In a file that does not parse, the text taken for a key may be anything, a pasted secret
/// included: anything else is not repeated (the line and column still say where it is).
fn known_key(key: String, unknown_field: bool) -> String {
    let bare = |part: &str| {
        part.len() <= 40
            && part.starts_with(|c: char| c.is_ascii_lowercase())
            && part
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    };
    let misspelt = unknown_field && key.split('.').all(bare);
    if KNOWN_KEYS.contains(&key.as_str()) || misspelt { key } else { String::new() }
}

fn key_at(text: &str, offset: usize) -> String {
    let mut table = String::new();
    let mut key = String::new();
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        if start > offset {
            break;
        }
        let t = line.trim();
        if let Some(name) = table_header(t) {
            table = name;
            key.clear();
        } else if let Some((k, _)) = t.split_once('=') {
            if let Some(k) = key_text(k.trim()) {
                key = k;
            }
        }
        start += line.len();
    }
    match (table.is_empty(), key.is_empty()) {
        (true, _) => key,
        (false, true) => table,
        (false, false) => format!("{table}.{key}"),
    }
}

/// The name of a `[table]` or `[[array]]` header line.
fn table_header(line: &str) -> Option<String> {
    let inner = line.strip_prefix('[')?;
    let (inner, close) = match inner.strip_prefix('[') {
        Some(rest) => (rest, "]]"),
        None => (inner, "]"),
    };
    let end = inner.find(close)?;
    let rest = inner[end + close.len()..].trim();
    if !(rest.is_empty() || rest.starts_with('#')) {
        return None;
    }
    key_text(inner[..end].trim())
}

/// A bare or quoted key (dotted parts allowed), without its quotes; `None` for other text.
fn key_text(k: &str) -> Option<String> {
    let bare = |c: char| c.is_ascii_alphanumeric() || "-_.".contains(c);
    let quoted = k.len() >= 2
        && ((k.starts_with('"') && k.ends_with('"')) || (k.starts_with('\'') && k.ends_with('\'')));
    if quoted {
        Some(k[1..k.len() - 1].to_string())
    } else if !k.is_empty() && k.chars().all(bare) {
        Some(k.to_string())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starter_config_parses_to_the_defaults() {
        let file =
            parse(Path::new("azleak.toml"), super::super::STARTER_CONFIG).expect("starter parses");
        assert_eq!(file, ConfigFile::default());
    }

    #[test]
    fn errors_name_line_and_key() {
        let text =
            "min-confidence = \"high\"\n\n[allowlist]\npaths = [\"a\"]\nstopword = [\"x\"]\n";
        let e = parse(Path::new("azleak.toml"), text).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.starts_with("azleak.toml:5:1: key `allowlist.stopword`: unknown field"),
            "{msg}"
        );
        let e = parse(Path::new("c.toml"), "max-file-size = \"ten\"\n").unwrap_err();
        assert!(e.to_string().starts_with("c.toml:1:17: key `max-file-size`:"), "{e}");
        let e = parse(Path::new("c.toml"), "min-confidence = \"certain\"\n").unwrap_err();
        assert!(e.to_string().contains("key `min-confidence`"), "{e}");
    }

    #[test]
    fn sizes_accept_numbers_and_suffixes() {
        let f = parse(Path::new("c"), "max-file-size = 1024\n").expect("parses");
        assert_eq!(f.max_file_size, Some(1024));
        let f = parse(Path::new("c"), "max-file-size = \"2M\"\n").expect("parses");
        assert_eq!(f.max_file_size, Some(2 << 20));
        for zero in ["0", "\"0\"", "\"0K\""] {
            let e =
                parse(Path::new("c.toml"), &format!("\n  max-file-size = {zero}\n")).unwrap_err();
            let msg = e.to_string();
            assert!(
                msg.starts_with(
                    "c.toml:2:19: key `max-file-size`: the size limit must be at least 1 byte"
                ),
                "{msg}"
            );
        }
    }

    #[test]
    fn keys_are_found_across_multi_line_arrays() {
        let text = "[allowlist]\npaths = [\n  \"a=b\",\n  [\"x\"],\n  3,\n]\n";
        let at = text.find('3').unwrap();
        assert_eq!(key_at(text, at), "allowlist.paths");
        assert_eq!(key_at("[[x]] # c\ny = 1\n", 12), "x.y");
        assert_eq!(key_at("\"quoted key\" = 1\n", 15), "quoted key");
        assert_eq!(known_key("allowlist.paths".into(), false), "allowlist.paths");
        assert_eq!(known_key("allowlist.pathz".into(), true), "allowlist.pathz");
        assert_eq!(known_key("allowlist.pathz".into(), false), "");
        assert_eq!(known_key("riG8Q~p-69WAm".into(), true), ""); // azleak:allow (not a key)
        // Fuzz target config_parse: garbage taken for a key quoted an array element.
        assert_eq!(known_key("YYYYYYYYYYYYYYY\", \"te)stonly".into(), false), "");
    }
}
