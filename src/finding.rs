//! Findings: what the detector reports, with location, confidence, redacted secret and
//! fingerprints. Owns redaction (a [`Secret`] prints redacted unless revealed on purpose) and the
//! deterministic order of findings. Does not know about output formats.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How sure a rule is that a match is a real, live secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// Right shape but made up (failed checksum, placeholder-like) or a loose shape.
    Low,
    /// Right shape without a checksum, or a legacy secret in context.
    Medium,
    /// Shape and checksum both match: almost certainly issued by Entra ID.
    High,
}

impl Confidence {
    /// Lowercase name, as used on the command line and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

impl fmt::Display for Confidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Result of a rule's checksum on a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChecksumStatus {
    /// The checksum matches.
    Valid,
    /// The rule has a checksum and the secret fails it.
    Invalid,
    /// The rule has no checksum.
    NotApplicable,
}

/// A secret value. `Display` and `Debug` show only its first 3 characters; the full text is
/// available through [`Secret::reveal`] alone.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The full secret. Call only where the user asked for secrets to be shown.
    pub fn reveal(&self) -> &str {
        &self.0
    }

    /// The redacted form: the first 3 characters (for current secrets, the hint the Azure portal
    /// shows) followed by `…`.
    pub fn redacted(&self) -> String {
        let hint: String = self.0.chars().take(3).collect();
        format!("{hint}…")
    }

    /// The secret as shown in a report: in full only if `show` is set.
    pub fn display(&self, show: bool) -> String {
        if show { self.0.clone() } else { self.redacted() }
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", self.redacted())
    }
}

/// Where a secret entered a git history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitInfo {
    /// Full commit id (hex).
    pub commit: String,
    /// Author name.
    pub author_name: String,
    /// Author e-mail.
    pub author_email: String,
    /// Author date, RFC 3339 with the author's offset.
    pub date: String,
    /// First line of the commit message.
    pub summary: String,
}

/// A place where a secret appears: one copy of it (same rule, same secret, its own path).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct OtherLocation {
    /// Path of the copy (an archive's path for a copy inside one).
    pub path: String,
    /// For a copy inside an archive: the member path, `!`-joined for nested archives
    /// (`lib/inner.jar!app.properties`), as in [`Finding::member`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    /// 1-based line.
    pub line: usize,
    /// 1-based column of the first character.
    pub column: usize,
    /// 1-based column just past the last character.
    pub end_column: usize,
    /// Commit that introduced this copy, in history scans.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

/// Every copy of one secret (same rule, same secret) in a history scan. One group is shared by
/// the findings at all its copies, so memory and reports stay linear in the number of copies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CopyGroup {
    /// Id of the group, derived from the rule and the group's first location, never from the
    /// secret (so it confirms no guess of it). Stable while that first copy is.
    pub id: String,
    /// Every copy, in report order (path, line, column), each path once.
    pub locations: Vec<OtherLocation>,
}

impl OtherLocation {
    /// Where the copy is, as text reports write it: the path, then `!member` inside an archive.
    pub fn location_path(&self) -> std::borrow::Cow<'_, str> {
        match &self.member {
            Some(m) => format!("{}!{m}", self.path).into(),
            None => self.path.as_str().into(),
        }
    }
}

impl CopyGroup {
    /// Groups copies of one secret found by `rule_id`; sorts them into report order.
    pub fn new(rule_id: &str, mut locations: Vec<OtherLocation>) -> CopyGroup {
        locations.sort();
        let id = locations.first().map_or_else(String::new, |first| {
            let (line, column) = (first.line.to_string(), first.column.to_string());
            let parts: [&[u8]; 5] = [
                b"azleak-copies-v1",
                rule_id.as_bytes(),
                first.path.as_bytes(),
                line.as_bytes(),
                column.as_bytes(),
            ];
            match &first.member {
                // A first copy inside an archive: its member is part of the place.
                Some(member) => {
                    let mut parts = parts.to_vec();
                    parts.push(member.as_bytes());
                    hash_parts(&parts)[..16].to_string()
                }
                None => hash_parts(&parts)[..16].to_string(),
            }
        });
        CopyGroup { id, locations }
    }
}

/// Which part of its source a secret was found in: the content (of a file, blob or standard
/// input), or the metadata around it.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Part {
    /// The bytes of the file, blob or standard input.
    #[default]
    Content,
    /// The file's path (a file or directory name holds the secret).
    Path,
    /// A commit's message.
    CommitMessage,
    /// A commit's author or committer name or e-mail.
    CommitAuthor,
    /// An annotated tag's message or tagger.
    TagMessage,
}

impl Part {
    /// Kebab-case name, as in JSON reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Part::Content => "content",
            Part::Path => "path",
            Part::CommitMessage => "commit-message",
            Part::CommitAuthor => "commit-author",
            Part::TagMessage => "tag-message",
        }
    }
}

/// One reported secret.
#[derive(Debug, Clone)]
pub struct Finding {
    /// Id of the rule that found it.
    pub rule_id: String,
    /// How sure we are.
    pub confidence: Confidence,
    /// Path as given or found by the walk (`-` for standard input), `/`-separated. For a secret
    /// inside an archive, the archive's own path (the file on disk or in git).
    pub path: String,
    /// For a secret inside an archive, the member chain inside `path`, joined by `!`
    /// (`lib/inner.jar!config/app.env`); lines and columns count inside that member.
    pub member: Option<String>,
    /// Where in its source the secret was: content (the usual case) or metadata.
    pub part: Part,
    /// 1-based line of the secret's first character.
    pub line: usize,
    /// 1-based column (in characters) of the secret's first character.
    pub column: usize,
    /// 1-based column just past the secret's last character (so `end_column > column`).
    pub end_column: usize,
    /// The secret itself; redacted wherever it is displayed.
    pub secret: Secret,
    /// Shannon entropy of the secret, bits per byte.
    pub entropy: f32,
    /// Checksum result.
    pub checksum: ChecksumStatus,
    /// How the secret was written, when it was not written as is (percent, base64, ...).
    pub encoding: Option<crate::detect::Encoding>,
    /// Stable, secret-free fingerprint of (rule, path, secret); empty until the filter stage
    /// computes it (once, over the repository-relative path).
    pub fingerprint: String,
    /// Hash of the line with the secret masked, for SARIF `primaryLocationLineHash`.
    pub line_hash: String,
    /// The commit that introduced the secret at this path (history scans only).
    pub commit: Option<CommitInfo>,
    /// Every place the same secret appears, this one included, when there are two or more
    /// (history scans). Shared between the findings of one group.
    pub copies: Option<std::sync::Arc<CopyGroup>>,
    /// Whether the secret's line carries an inline `azleak:allow` marker (or the line before it
    /// an `azleak:allow-next-line` one). Set where findings are located; the filter stage drops
    /// such findings unless `--no-inline-allow` is given.
    pub allowed_inline: bool,
    /// Identities found near the secret (tenant, client id, account name): who it belongs to.
    /// Not secrets: reported in full. `None` until the pairing step finds any.
    pub pairing: Option<Pairing>,
    /// Outcome of `--verify` for this secret. `None` when verification was not asked for.
    pub verification: Option<Verification>,
    /// Credentials of the tenant's app registrations this secret may be (`--app-inventory`),
    /// best match first. `None` when no inventory was given.
    pub owners: Option<Vec<Owner>>,
    /// The repository the finding is in, when a run scanned several (`azleak git A B`,
    /// `--repos`, `--repos-dir`, a datastore report): its `origin` remote URL without
    /// credentials, else its path as given. `None` in single-repository and file scans.
    pub repository: Option<String>,
    /// When the credential expires, for rules that name an expiry (`expiry_param`, the `se=` of
    /// a SAS token). Not a secret: reported in full.
    pub expires: Option<Expiry>,
}

/// The expiry written in a credential (a SAS token's `se=`), and whether it is already past.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expiry {
    /// The expiry as written (percent-decoded), e.g. `2024-01-01T00:00:00Z`.
    pub at: String,
    /// Whether it was in the past when the scan ran (`None` if it could not be read as a date).
    pub expired: Option<bool>,
}

impl Expiry {
    /// In words, for reports: `expired 2021-06-30T17:07:53Z (already past)`,
    /// `expires 2099-01-01T00:00:00Z`, or `expiry 2099-13 (not a date azleak reads)`.
    pub fn describe(&self) -> String {
        match self.expired {
            Some(true) => format!("expired {} (already past)", self.at),
            Some(false) => format!("expires {}", self.at),
            None => format!("expiry {} (not a date azleak reads)", self.at),
        }
    }

    /// Reads the value of `param` in the query string around `bytes[start..end]` (the same
    /// line, up to 2 KiB on each side): `se=2024-01-01T00:00:00Z`, `se=2024-01-01`, with `%3A`.
    pub fn find(bytes: &[u8], start: usize, end: usize, param: &str) -> Option<Expiry> {
        let from = memchr::memrchr(b'\n', &bytes[start.saturating_sub(2048)..start])
            .map_or(start.saturating_sub(2048), |i| start.saturating_sub(2048) + i + 1);
        let to = bytes.len().min(end + 2048);
        let to = memchr::memchr(b'\n', &bytes[end..to]).map_or(to, |i| end + i);
        let line = &bytes[from..to];
        let key = format!("{param}=");
        let mut at = 0;
        while let Some(i) = memchr::memmem::find(&line[at..], key.as_bytes()) {
            let k = at + i;
            at = k + 1;
            if k > 0 && !matches!(line[k - 1], b'?' | b'&' | b';' | b'"' | b'\'' | b' ') {
                continue;
            }
            let value = &line[k + key.len()..];
            let stop = value
                .iter()
                .position(|b| matches!(b, b'&' | b'"' | b'\'' | b' ' | b'<' | b'>' | b'#' | b'\r'))
                .unwrap_or(value.len());
            let raw = &value[..stop.min(64)];
            let text: String =
                percent_encoding::percent_decode(raw).decode_utf8_lossy().into_owned();
            if text.is_empty() {
                continue;
            }
            return Some(Expiry { expired: expired(&text, chrono::Utc::now()), at: text });
        }
        None
    }
}

/// Whether an RFC 3339 time or a `YYYY-MM-DD` date is before `now`.
fn expired(text: &str, now: chrono::DateTime<chrono::Utc>) -> Option<bool> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(t < now);
    }
    if let Ok(t) = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%MZ") {
        return Some(t.and_utc() < now);
    }
    let d = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some(d.and_hms_opt(0, 0, 0)?.and_utc() < now)
}

/// Identities found near a secret in the same blob (same object or block, or a few lines away).
/// None of these is a secret, so reporters show them in full.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pairing {
    /// Entra tenant ids near the secret (GUIDs, or `<name>.onmicrosoft.com` domains), nearest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tenant_ids: Vec<String>,
    /// Application (client) ids near the secret, nearest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub client_ids: Vec<String>,
    /// Authority host the secret is used with, when one is written near it
    /// (`https://login.microsoftonline.com`, a sovereign cloud's, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
    /// Account, namespace or resource name the key belongs to (storage account, Service Bus
    /// namespace, Cosmos account, registry, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Endpoint the key is used with, when written near it (`https://acct.blob.core.windows.net`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
}

impl Pairing {
    /// The identities in words, for text reports and annotations: `tenant T, client C,
    /// authority A` (further tenants or clients in parentheses, nearest first).
    pub fn describe(&self) -> String {
        let list = |label: &str, ids: &[String]| -> Option<String> {
            let (first, rest) = ids.split_first()?;
            Some(if rest.is_empty() {
                format!("{label} {first}")
            } else {
                format!("{label} {first} (also {})", rest.join(", "))
            })
        };
        let parts: Vec<String> = [
            list("tenant", &self.tenant_ids),
            list("client", &self.client_ids),
            self.authority.as_ref().map(|a| format!("authority {a}")),
            self.resource.as_ref().map(|r| format!("resource {r}")),
            self.endpoint.as_ref().map(|e| format!("endpoint {e}")),
        ]
        .into_iter()
        .flatten()
        .collect();
        parts.join(", ")
    }
}

/// Result of verifying one secret against its issuer (`--verify`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VerificationStatus {
    /// The issuer accepted it: a live secret.
    Valid,
    /// Accepted as a secret, but the identity is disabled or blocked (still a real secret).
    Blocked,
    /// The secret has expired.
    Expired,
    /// The issuer rejected the secret.
    Invalid,
    /// The application (client id) was not found.
    AppNotFound,
    /// The tenant was not found.
    TenantNotFound,
    /// Nothing to try it against (no client id or account near it).
    Unverifiable,
    /// Could not tell (network error, 5xx, timeout, rate limit after retries).
    Unknown,
}

/// What `--verify` learnt about a secret. Never holds a token or the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    /// The outcome.
    pub status: VerificationStatus,
    /// Why, in words (`AADSTS7000215: invalid client secret`, `no client id near the secret`).
    pub detail: String,
    /// When it was checked, RFC 3339 UTC.
    pub checked_at: String,
}

/// One app-registration credential a client secret may be (`--app-inventory`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    /// Application display name.
    pub app_name: String,
    /// Application (client) id.
    pub app_id: String,
    /// The credential's description (`displayName` of the passwordCredential).
    pub credential_name: String,
    /// The credential's Secret ID (`keyId`).
    pub key_id: String,
    /// Start date, as exported.
    pub start: Option<String>,
    /// End (expiry) date, as exported.
    pub end: Option<String>,
    /// Whether the credential had expired as of the scan (or `--as-of`).
    pub expired: bool,
    /// Whether the finding's paired client id equals this app id (ranked first).
    pub app_id_match: bool,
}

impl Finding {
    /// How many places the secret appears in (1 when it has no copies).
    pub fn copy_count(&self) -> usize {
        self.copies.as_ref().map_or(1, |g| g.locations.len())
    }

    /// The other places the same secret appears, in report order.
    pub fn other_locations(&self) -> impl Iterator<Item = &OtherLocation> {
        self.copies
            .iter()
            .flat_map(|g| g.locations.iter())
            .filter(|o| o.path != self.path || o.member != self.member)
    }

    /// Where the secret is, as text reports write it: the path, then `!member` inside an
    /// archive (`artifacts/release.zip!config/app.env`).
    /// In a run over several repositories, the repository comes first, then `: `
    /// (`https://github.com/org/app: config/app.env`).
    pub fn location_path(&self) -> std::borrow::Cow<'_, str> {
        let path = match &self.member {
            Some(m) => format!("{}!{m}", self.path).into(),
            None => self.path.as_str().into(),
        };
        match &self.repository {
            Some(repo) => format!("{repo}: {path}").into(),
            None => path,
        }
    }

    /// The deterministic order of reports: repository, path, member, line, column, rule.
    #[allow(clippy::type_complexity)]
    pub fn sort_key(&self) -> (Option<&str>, &str, Option<&str>, usize, usize, &str, &str) {
        let member = self.member.as_deref();
        let repo = self.repository.as_deref();
        (repo, &self.path, member, self.line, self.column, &self.rule_id, self.secret.reveal())
    }
}

/// Sorts findings into report order and removes exact duplicates.
pub fn sort_findings(findings: &mut Vec<Finding>) {
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    findings.dedup_by(|a, b| a.sort_key() == b.sort_key());
}

/// Hex SHA-256 of the given parts, separated by NUL, truncated to 32 hex digits.
pub(crate) fn hash_parts(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
        hasher.update([0u8]);
    }
    let digest = hasher.finalize();
    hex::encode(&digest[..16])
}

/// Version of the fingerprint derivation; it names SARIF's `partialFingerprints` key.
pub const FINGERPRINT_VERSION: u32 = 2;

/// argon2id memory cost, KiB. 8 MiB with 2 passes is about 10 ms on one core of a current
/// x86-64 CPU: slow enough that each guess at a secret costs an attacker that much CPU and
/// memory (which also keeps GPUs from running thousands of guesses at once), cheap enough that
/// a scan with thousands of distinct secrets stays within seconds.
const ARGON2_MEMORY_KIB: u32 = 8 * 1024;
/// argon2id passes over the memory.
const ARGON2_PASSES: u32 = 2;

/// The slow, memory-hard part of a fingerprint: argon2id of the secret, salted by the rule id
/// (a fixed salt, so the same secret gives the same key on every machine and run).
pub type SecretKey = [u8; 32];

/// Derives the [`SecretKey`] of a secret for a rule (about 10 ms).
pub fn derive_secret_key(rule_id: &str, secret: &str) -> SecretKey {
    derive_with_memory(rule_id, secret, &mut argon2_memory())
}

/// Working memory for one derivation, reused across the derivations of a thread.
fn argon2_memory() -> Vec<argon2::Block> {
    vec![argon2::Block::default(); ARGON2_MEMORY_KIB as usize]
}

thread_local! {
    /// One working memory per thread (8 MiB), so parallel derivations do not allocate.
    static MEMORY: std::cell::RefCell<Vec<argon2::Block>> =
        std::cell::RefCell::new(argon2_memory());
}

fn derive_with_memory(rule_id: &str, secret: &str, memory: &mut [argon2::Block]) -> SecretKey {
    let salt = Sha256::new()
        .chain_update(b"azleak-fingerprint-salt-v2\0")
        .chain_update(rule_id.as_bytes())
        .finalize();
    let params = argon2::Params::new(ARGON2_MEMORY_KIB, ARGON2_PASSES, 1, Some(32))
        .expect("argon2 parameters are valid");
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut key = [0u8; 32];
    argon
        .hash_password_into_with_memory(secret.as_bytes(), &salt[..16], &mut key, memory)
        .expect("argon2 accepts any secret with a 16-byte salt");
    key
}

/// The fingerprint of a secret at a path for a rule, from the secret's derived key: a hash of
/// (version, rule, path, key). Independent of line and commit, so moved lines, rebases and
/// squashes keep it; it does not reveal the secret, and checking a guessed secret against it
/// costs a full argon2id derivation.
pub fn fingerprint_from_key(rule_id: &str, path: &str, key: &SecretKey) -> String {
    hash_parts(&[b"azleak-fingerprint-v2", rule_id.as_bytes(), path.as_bytes(), key])
}

/// The fingerprint of one secret at a path for a rule (derives its key: about 10 ms). To
/// fingerprint many findings, use a [`Fingerprinter`].
pub fn fingerprint(rule_id: &str, path: &str, secret: &str) -> String {
    fingerprint_from_key(rule_id, path, &derive_secret_key(rule_id, secret))
}

/// The derived keys of a set of (rule, secret) pairs, each derived once, in parallel.
#[derive(Debug, Default)]
pub struct Fingerprinter {
    keys: std::collections::HashMap<(String, String), SecretKey>,
}

impl Fingerprinter {
    /// Derives the key of every distinct (rule id, secret) pair.
    pub fn derive<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Fingerprinter {
        use rayon::prelude::*;
        let unique: std::collections::BTreeSet<(&str, &str)> = pairs.into_iter().collect();
        let unique: Vec<(&str, &str)> = unique.into_iter().collect();
        let keys = unique
            .par_iter()
            .map(|&(rule, secret)| {
                let key = MEMORY.with_borrow_mut(|memory| derive_with_memory(rule, secret, memory));
                ((rule.to_string(), secret.to_string()), key)
            })
            .collect();
        Fingerprinter { keys }
    }

    /// The key naming a (rule, secret) pair in [`crate::scan::ShardCopies`]: derived from the
    /// same slow key as its fingerprints, without a path.
    pub fn copy_key(&self, rule_id: &str, secret: &str) -> String {
        let key = match self.keys.get(&(rule_id.to_string(), secret.to_string())) {
            Some(key) => *key,
            None => derive_secret_key(rule_id, secret),
        };
        hash_parts(&[b"azleak-copy-key-v1", rule_id.as_bytes(), &key])
    }

    /// The fingerprint of a secret at a path; a pair not derived up front is derived now.
    pub fn fingerprint(&self, rule_id: &str, path: &str, secret: &str) -> String {
        match self.keys.get(&(rule_id.to_string(), secret.to_string())) {
            Some(key) => fingerprint_from_key(rule_id, path, key),
            None => fingerprint(rule_id, path, secret),
        }
    }
}

/// A history finding of a client secret at `path` (line 7), for unit tests.
#[cfg(test)]
pub(crate) fn sample(path: &str, secret: &str) -> Finding {
    Finding {
        rule_id: "azure.entra.client-secret".into(),
        confidence: Confidence::High,
        path: path.into(),
        member: None,
        part: Part::Content,
        line: 7,
        column: 1,
        end_column: 41,
        secret: Secret::new(secret),
        entropy: 4.0,
        checksum: ChecksumStatus::Valid,
        encoding: None,
        fingerprint: String::new(),
        line_hash: String::new(),
        commit: Some(CommitInfo {
            commit: "0123456789abcdef0123456789abcdef01234567".into(),
            author_name: "A".into(),
            author_email: "a@example.com".into(),
            date: "2024-01-01T00:00:00+00:00".into(),
            summary: "add config".into(),
        }),
        copies: None,
        allowed_inline: false,
        pairing: None,
        verification: None,
        owners: None,
        repository: None,
        expires: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_is_redacted_in_display_and_debug() {
        let s = Secret::new("abc8Q~0123456789");
        assert_eq!(s.to_string(), "abc…");
        assert_eq!(format!("{s:?}"), "Secret(abc…)");
        assert_eq!(s.display(true), "abc8Q~0123456789");
    }

    #[test]
    fn fingerprint_ignores_nothing_but_line_and_hides_the_secret() {
        let a = fingerprint("r", "p", "secret-value");
        assert_eq!(a, fingerprint("r", "p", "secret-value"));
        assert_ne!(a, fingerprint("r", "q", "secret-value"));
        assert_ne!(a, fingerprint("r2", "p", "secret-value"));
        assert!(!a.contains("secret"));
        assert_eq!(a.len(), 32);
        let f = Fingerprinter::derive([("r", "secret-value"), ("r", "secret-value")]);
        assert_eq!(f.fingerprint("r", "p", "secret-value"), a);
        assert_eq!(f.fingerprint("r", "p", "other"), fingerprint("r", "p", "other"));
    }

    const PINNED: &str = "0df737f59cc727e477a1a32c5426d17c";

    #[test]
    fn fingerprints_are_pinned_across_versions_of_azleak() {
        // A baseline written by one build must match the next: the derivation is fixed.
        assert_eq!(fingerprint("azure.entra.client-secret", "app.env", "abc"), PINNED);
    }
}
