//! Identity extractors: the `[[pairing]]` tables of rule files. Each is a regex whose named
//! groups (`tenant`, `client`, `authority`, `resource`, `endpoint`) capture identities written
//! near a secret: key names (`AZURE_TENANT_ID=`, `"appId":`), URLs
//! (`login.microsoftonline.com/<tenant>/`, `<account>.blob.core.windows.net`) and connection
//! string fields (`AccountName=`). They are data, so a new rule pairs by naming kinds in `pair`.

use regex_automata::meta::Regex;
use serde::{Deserialize, Serialize};

/// A kind of identity that pairing attaches to a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PairKind {
    /// An Entra tenant id (GUID) or `<name>.onmicrosoft.com` domain.
    Tenant,
    /// An application (client) id.
    Client,
    /// The authority host (`https://login.microsoftonline.com`, a sovereign cloud's).
    Authority,
    /// The account, namespace or resource name a key belongs to.
    Resource,
    /// The endpoint a key is used with.
    Endpoint,
}

impl PairKind {
    /// Every kind, in the order named groups are looked up.
    pub const ALL: [PairKind; 5] = [
        PairKind::Tenant,
        PairKind::Client,
        PairKind::Authority,
        PairKind::Resource,
        PairKind::Endpoint,
    ];

    /// Lowercase name: the rule-file spelling and the regex group name.
    pub fn as_str(self) -> &'static str {
        match self {
            PairKind::Tenant => "tenant",
            PairKind::Client => "client",
            PairKind::Authority => "authority",
            PairKind::Resource => "resource",
            PairKind::Endpoint => "endpoint",
        }
    }
}

/// An extractor as written in a rule file (`[[pairing]]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtractorSyntax {
    /// Stable dotted identifier, e.g. `tenant.key`.
    pub id: String,
    /// What it reads.
    #[serde(default)]
    pub description: String,
    /// Regex with at least one group named for a [`PairKind`]; the others are unnamed or `(?:)`.
    pub pattern: String,
    /// Texts from which the extractor must take at least one identity.
    #[serde(default)]
    pub examples: Vec<String>,
    /// Texts from which it must take none.
    #[serde(default)]
    pub negative_examples: Vec<String>,
}

/// A compiled extractor.
#[derive(Debug, Clone)]
pub struct Extractor {
    /// The extractor as written.
    pub syntax: ExtractorSyntax,
    pub(crate) regex: Regex,
    /// The kinds it captures, with their group index.
    pub(crate) groups: Vec<(PairKind, usize)>,
}

impl Extractor {
    /// Compiles the pattern and finds its identity groups.
    pub fn compile(syntax: ExtractorSyntax) -> Result<Extractor, String> {
        let regex = crate::rules::build_regex(&syntax.pattern)
            .map_err(|e| format!("key `pattern`: invalid regex: {e}"))?;
        let info = regex.group_info();
        let pid = regex_automata::PatternID::ZERO;
        let mut groups = Vec::new();
        for (index, name) in info.pattern_names(pid).enumerate() {
            let Some(name) = name else { continue };
            match PairKind::ALL.iter().find(|k| k.as_str() == name) {
                Some(&kind) => groups.push((kind, index)),
                None => {
                    return Err(format!(
                        "key `pattern`: group {name:?} is not one of tenant, client, authority, \
                         resource, endpoint"
                    ));
                }
            }
        }
        if groups.is_empty() {
            return Err("key `pattern`: name at least one group tenant, client, authority, \
                        resource or endpoint"
                .into());
        }
        Ok(Extractor { syntax, regex, groups })
    }

    /// The extractor's id.
    pub fn id(&self) -> &str {
        &self.syntax.id
    }

    /// Whether it captures any of `kinds`.
    pub(crate) fn captures_any(&self, kinds: &[PairKind]) -> bool {
        self.groups.iter().any(|(k, _)| kinds.contains(k))
    }
}

/// An identity value as reported, or `None` for a placeholder: GUIDs that are all one digit
/// (`00000000-0000-…`), names in angle brackets or made of `x`. Authorities are written as
/// `https://host`, lowercase.
pub(crate) fn normalize(kind: PairKind, raw: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(raw).ok()?.trim();
    if text.is_empty() {
        return None;
    }
    let hex: Vec<u8> = text.bytes().filter(|b| *b != b'-').collect();
    if hex.len() == 32
        && hex.iter().all(|b| b.is_ascii_hexdigit())
        && hex.iter().all(|b| *b == hex[0])
    {
        return None;
    }
    let lower = text.to_ascii_lowercase();
    let name = lower.split(['.', '/']).next().unwrap_or("");
    if name.bytes().all(|b| b == b'x') || matches!(name, "your" | "example" | "contoso-example") {
        return None;
    }
    Some(match kind {
        PairKind::Authority if !lower.starts_with("https://") => format!("https://{lower}"),
        PairKind::Authority => lower,
        PairKind::Tenant if text.contains('.') => lower,
        _ => text.to_string(),
    })
}
