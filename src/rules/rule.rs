//! One detection rule: its syntax as written in a TOML file, and its compiled form.
//!
//! [`RuleSyntax`] mirrors the file exactly (unknown fields are rejected); [`Rule::compile`] turns
//! it into a [`Rule`] with a compiled regex and validated filters, once, at load time.

use regex_automata::meta::Regex;
use serde::{Deserialize, Serialize};

use crate::finding::Confidence;
use crate::pair::PairKind;

use super::run::ValueRun;

/// A rule as written in a rule file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSyntax {
    /// Stable dotted identifier, e.g. `azure.entra.client-secret`.
    pub id: String,
    /// Short human name.
    pub name: String,
    /// What the rule finds and why it matters.
    pub description: String,
    /// Literals that must occur near a match; the prefilter. Each is searched as written, in
    /// lowercase, UPPERCASE and Capitalized.
    pub keywords: Vec<String>,
    /// Search keywords only exactly as written (for markers like `8Q~`).
    #[serde(default)]
    pub case_sensitive_keywords: bool,
    /// Regex with exactly one capture group, the secret (or a group named `secret`).
    pub pattern: String,
    /// Minimum Shannon entropy (bits per byte) of the secret.
    #[serde(default)]
    pub min_entropy: f32,
    /// Minimum number of character classes (lower, upper, digit, other) in the secret.
    #[serde(default)]
    pub min_char_classes: u8,
    /// Reject secrets that look like placeholders, references, GUIDs, paths or URLs.
    #[serde(default)]
    pub reject_placeholders: bool,
    /// Secrets matching any of these regexes are not reported by this rule.
    #[serde(default)]
    pub exclude_secrets: Vec<String>,
    /// A checksum the secret must pass: a name (`entra-client-secret`) or a table whose `kind`
    /// says which algorithm, with its parameters (`{ kind = "marvin32-base64", seeds =
    /// ["Default0"], signature = "+ASt", bytes = 64 }`).
    #[serde(default, deserialize_with = "checksum_field")]
    pub checksum: Option<ChecksumKind>,
    /// Query parameter of the matched text that holds the secret's expiry (`se` of a SAS
    /// token): reported with the finding, and whether it is already past.
    #[serde(default)]
    pub expiry_param: Option<String>,
    /// Confidence of a match (with a passing checksum, when the rule has one).
    pub confidence: Confidence,
    /// Confidence given when the checksum, entropy, character-class or placeholder checks fail.
    /// Without it such matches are dropped; with it they are kept at this (lower) confidence,
    /// which is how made-up examples of a real shape are reported.
    #[serde(default)]
    pub weak_confidence: Option<Confidence>,
    /// Bytes searched before and after each keyword hit (default 256).
    #[serde(default = "default_window")]
    pub window: usize,
    /// Texts that must produce a finding for this rule.
    #[serde(default)]
    pub examples: Vec<String>,
    /// Texts that must not produce a finding at the rule's confidence.
    #[serde(default)]
    pub negative_examples: Vec<String>,
    /// Literals that mark this rule's secrets (`8Q~`), found even when the secret is written
    /// encoded: their base64 signatures (at the three alignments) are base64 triggers, the
    /// escapes of their non-alphanumeric bytes (`%7E`, `\u007e`) are percent and JSON-escape
    /// triggers, and a string literal holding one is joined with the literals concatenated to it.
    /// Printable ASCII, at least 3 bytes.
    #[serde(default)]
    pub encoded_markers: Vec<String>,
    /// Which decoders the markers trigger (default: all of them).
    #[serde(default = "all_decoders")]
    pub decoders: Vec<Encoding>,
    /// What to do when the rule fires.
    pub remediation: String,
    /// One sentence of remediation for annotations and SARIF result messages (default: the
    /// first sentence of `remediation`).
    #[serde(default)]
    pub short_remediation: Option<String>,
    /// Documentation links.
    #[serde(default)]
    pub references: Vec<String>,
    /// `security-severity` score (0.0–10.0) used in SARIF.
    #[serde(default = "default_severity")]
    pub security_severity: f32,
    /// Identities to look for near each match and report with it (`tenant`, `client`,
    /// `authority`, `resource`, `endpoint`), read by the `[[pairing]]` extractors.
    #[serde(default)]
    pub pair: Vec<PairKind>,
    /// Identities a match needs near it to count: every entry lists kinds of which one must be
    /// found (`[["client"], ["tenant", "authority"]]`). Without them the match is dropped, or
    /// kept at `weak_confidence`; and such a rule never reports a secret another rule matched.
    #[serde(default)]
    pub pair_required: Vec<Vec<PairKind>>,
}

fn all_decoders() -> Vec<Encoding> {
    vec![Encoding::Percent, Encoding::JsonEscape, Encoding::Base64, Encoding::Concat]
}

/// Longest default short remediation, in characters.
const MAX_SHORT_REMEDIATION: usize = 240;

fn default_window() -> usize {
    256
}

fn default_severity() -> f32 {
    9.0
}

/// How a secret was written: the decoders a rule's `decoders` field names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Encoding {
    /// Percent-encoding (`%7E`).
    Percent,
    /// JSON `\uXXXX` escapes.
    JsonEscape,
    /// Standard base64.
    Base64,
    /// Split into string literals joined by `+`, `.`, `&` or `..` (or adjacent literals).
    Concat,
}

impl Encoding {
    /// Short name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Percent => "percent",
            Encoding::JsonEscape => "json-escape",
            Encoding::Base64 => "base64",
            Encoding::Concat => "concat",
        }
    }
}

/// The checksums a rule can require, declared in the rule file. Every algorithm lives in
/// [`crate::detect::checksum`]; a rule only picks one and gives its parameters.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ChecksumKind {
    /// The Marvin32/base-66 checksum of current `8Q~` Entra ID client secrets.
    EntraClientSecret,
    /// Microsoft's identifiable keys: base64 of `bytes` bytes whose last 4 are the Marvin32 of
    /// the others (little-endian) under one of `seeds`, with `signature` just before the
    /// encoded checksum.
    Marvin32Base64 {
        /// Seed names, 8 ASCII characters each (`Default0`), read as big-endian integers.
        seeds: Vec<String>,
        /// The 4-character base64 signature before the encoded checksum.
        signature: String,
        /// Length of the decoded key in bytes.
        bytes: usize,
        /// URL-safe base64 (`-` and `_`), as Azure Functions keys use.
        #[serde(default)]
        url_safe: bool,
        /// Also accept the key with `+` and `/` written as `P` and `F` (Azure Cache for Redis).
        #[serde(default)]
        special_character_variant: bool,
    },
    /// Microsoft's common annotated security keys (`JQQJ9…`, 84 or 88 characters) whose
    /// provider signature at offset 76 is `signature`; Marvin32 with seed `Default0`, stored
    /// base62-encoded or raw.
    CommonAnnotated {
        /// The 4-character provider signature (`AZDO`, `ACOG`, ...), compared ignoring case.
        signature: String,
    },
    /// The legacy Azure DevOps personal access token: 52 base32 characters, a CRC32 of 28 of
    /// its bytes XORed with one of `magic`, stored in 4 scattered bytes.
    Crc32AdoPat {
        /// The magic numbers (user and application tokens).
        magic: Vec<u32>,
    },
}

impl ChecksumKind {
    /// Checks the parameters (seed names, signature shape, lengths).
    fn validate(&self) -> Result<(), String> {
        let bad = |m: &str| Err(format!("key `checksum`: {m}"));
        match self {
            ChecksumKind::EntraClientSecret => Ok(()),
            ChecksumKind::Marvin32Base64 { seeds, signature, bytes, .. } => {
                if seeds.is_empty() || seeds.iter().any(|s| s.len() != 8 || !s.is_ascii()) {
                    return bad("seeds must list names of exactly 8 ASCII characters");
                }
                if signature.len() != 4 || !signature.bytes().all(is_base64_char) {
                    return bad("signature must be 4 base64 characters");
                }
                if !(12..=4096).contains(bytes) {
                    return bad("bytes must be between 12 and 4096");
                }
                Ok(())
            }
            ChecksumKind::CommonAnnotated { signature } => {
                if signature.len() != 4 || !signature.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return bad("signature must be 4 letters or digits");
                }
                Ok(())
            }
            ChecksumKind::Crc32AdoPat { magic } => {
                if magic.is_empty() {
                    return bad("magic must list at least one number");
                }
                Ok(())
            }
        }
    }
}

fn is_base64_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_')
}

/// `checksum` as written: a bare name (`"entra-client-secret"`) or a table with `kind`.
fn checksum_field<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<ChecksumKind>, D::Error> {
    struct Field;
    impl<'de> serde::de::Visitor<'de> for Field {
        type Value = Option<ChecksumKind>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a checksum name (\"entra-client-secret\") or a table with `kind`")
        }
        fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<Self::Value, E> {
            match name {
                "entra-client-secret" => Ok(Some(ChecksumKind::EntraClientSecret)),
                other => Err(E::unknown_variant(other, &["entra-client-secret"])),
            }
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            ChecksumKind::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Some)
        }
    }
    d.deserialize_any(Field)
}

/// A compiled rule, ready to match.
#[derive(Debug)]
pub struct Rule {
    /// The rule as written.
    pub syntax: RuleSyntax,
    pub(crate) regex: Regex,
    pub(crate) secret_group: usize,
    pub(crate) exclude: Vec<Regex>,
    /// The run of bytes every secret it finds is made of, when long enough to check.
    pub(crate) run: Option<ValueRun>,
}

impl Rule {
    /// Compiles the rule's regexes and checks its fields.
    pub fn compile(syntax: RuleSyntax) -> Result<Rule, String> {
        if !is_valid_id(&syntax.id) {
            return Err(format!(
                "id {:?} must be lowercase dotted words of [a-z0-9-], e.g. azure.entra.client-secret",
                syntax.id
            ));
        }
        if syntax.keywords.is_empty() || syntax.keywords.iter().any(|k| k.is_empty()) {
            return Err("keywords must list at least one non-empty literal".into());
        }
        if !(0.0..=8.0).contains(&syntax.min_entropy) {
            return Err(format!("min_entropy {} is outside 0.0..=8.0", syntax.min_entropy));
        }
        if syntax.min_char_classes > 4 {
            return Err(format!("min_char_classes {} is above 4", syntax.min_char_classes));
        }
        if !(0.0..=10.0).contains(&syntax.security_severity) {
            return Err(format!(
                "security_severity {} is outside 0.0..=10.0",
                syntax.security_severity
            ));
        }
        if syntax.window == 0 {
            return Err("window must be at least 1 byte".into());
        }
        for (i, marker) in syntax.encoded_markers.iter().enumerate() {
            if marker.len() < 3 || !marker.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(format!(
                    "key `encoded_markers`, entry {i}: a marker is at least 3 printable ASCII \
                     characters without spaces"
                ));
            }
        }
        if let Some(checksum) = &syntax.checksum {
            checksum.validate()?;
        }
        if syntax.expiry_param.as_deref().is_some_and(|p| {
            p.is_empty() || !p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        }) {
            return Err("key `expiry_param`: a query parameter name of [A-Za-z0-9_-]".into());
        }
        if syntax.short_remediation.as_deref().is_some_and(|s| s.trim().is_empty()) {
            return Err("short_remediation must not be empty".into());
        }
        for (i, any) in syntax.pair_required.iter().enumerate() {
            if any.is_empty() || any.iter().any(|k| !syntax.pair.contains(k)) {
                return Err(format!(
                    "key `pair_required`, entry {i}: list one or more kinds, each also in `pair`"
                ));
            }
        }
        let regex = build_regex(&syntax.pattern)
            .map_err(|e| format!("key `pattern`: invalid regex: {e}"))?;
        let secret_group = secret_group(&regex).map_err(|e| format!("key `pattern`: {e}"))?;
        let exclude = syntax
            .exclude_secrets
            .iter()
            .enumerate()
            .map(|(i, p)| {
                build_regex(p)
                    .map_err(|e| format!("key `exclude_secrets`, entry {i}: invalid regex: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let run = ValueRun::of(&syntax.pattern, secret_group);
        Ok(Rule { syntax, regex, secret_group, exclude, run })
    }

    /// The rule's id.
    pub fn id(&self) -> &str {
        &self.syntax.id
    }

    /// One sentence saying what to do: `short_remediation`, else the first sentence of
    /// `remediation` (cut at a word boundary if it is very long), on one line.
    pub fn short_remediation(&self) -> String {
        let text = match &self.syntax.short_remediation {
            Some(short) => short.trim(),
            None => first_sentence(self.syntax.remediation.trim()),
        };
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if text.chars().count() <= MAX_SHORT_REMEDIATION {
            return text;
        }
        let cut: String = text.chars().take(MAX_SHORT_REMEDIATION).collect();
        let cut = cut.rfind(' ').map_or(cut.as_str(), |at| &cut[..at]);
        format!("{cut}…")
    }

    /// Whether the markers of this rule trigger `decoder`.
    pub fn decodes(&self, decoder: Encoding) -> bool {
        !self.syntax.encoded_markers.is_empty() && self.syntax.decoders.contains(&decoder)
    }
}

/// Text up to and including the first `.`, `!` or `?` followed by whitespace (or the end).
fn first_sentence(text: &str) -> &str {
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if matches!(b, b'.' | b'!' | b'?')
            && bytes.get(i + 1).is_none_or(|n| n.is_ascii_whitespace())
        {
            return &text[..=i];
        }
    }
    text
}

/// Compiles a pattern with the size limits we use everywhere. The error says what is wrong and
/// where (character column in the pattern), without quoting the pattern.
pub(crate) fn build_regex(pattern: &str) -> Result<Regex, String> {
    Regex::builder()
        .syntax(regex_automata::util::syntax::Config::new().utf8(false).unicode(false))
        .configure(Regex::config().nfa_size_limit(Some(20 << 20)))
        .build(pattern)
        .map_err(|e| {
            if let Some(syntax) = e.syntax_error() {
                syntax_problem(syntax)
            } else if let Some(limit) = e.size_limit() {
                format!("the compiled regex exceeds the size limit of {limit} bytes")
            } else {
                e.to_string()
            }
        })
}

/// A regex syntax error as `what is wrong (at character N)`, without the pattern.
fn syntax_problem(e: &regex_syntax::Error) -> String {
    match e {
        regex_syntax::Error::Parse(e) => {
            format!("{} (at character {})", e.kind(), e.span().start.column)
        }
        regex_syntax::Error::Translate(e) => {
            format!("{} (at character {})", e.kind(), e.span().start.column)
        }
        other => other.to_string(),
    }
}

/// What is wrong with a pattern the `regex` crate rejected, without quoting it (an allowlist
/// regex may hold a secret): its syntax error and column, else the error's own text (a size
/// limit, which does not quote the pattern).
pub(crate) fn regex_problem(pattern: &str, err: &regex::Error) -> String {
    match regex_syntax::Parser::new().parse(pattern) {
        Err(e) => syntax_problem(&e),
        Ok(_) => match err {
            regex::Error::CompiledTooBig(limit) => {
                format!("the compiled regex exceeds the size limit of {limit} bytes")
            }
            _ => "the regex is not supported".to_string(),
        },
    }
}

/// The capture group holding the secret: the one named `secret`, else the only one.
fn secret_group(regex: &Regex) -> Result<usize, String> {
    let info = regex.group_info();
    if let Some(index) = info.to_index(regex_automata::PatternID::ZERO, "secret") {
        return Ok(index);
    }
    match info.group_len(regex_automata::PatternID::ZERO) {
        2 => Ok(1),
        1 => Err("pattern needs a capture group for the secret".into()),
        n => Err(format!(
            "pattern has {} capture groups; name the secret's group (?P<secret>...) or use (?:...)",
            n - 1
        )),
    }
}

fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.split('.').all(|part| {
            !part.is_empty()
                && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}
