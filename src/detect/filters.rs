//! Checks on a captured secret: Shannon entropy (via the `entropy` crate), the mix of character
//! classes, and whether the value is a placeholder or a reference rather than a secret.

use std::sync::LazyLock;

use regex_automata::meta::Regex;

/// Shannon entropy of `bytes`, in bits per byte.
pub fn shannon_entropy(bytes: &[u8]) -> f32 {
    entropy::shannon_entropy(bytes)
}

/// How many of the classes lowercase, uppercase, digit and other occur in `bytes`.
pub fn char_classes(bytes: &[u8]) -> u8 {
    let (mut lower, mut upper, mut digit, mut other) = (false, false, false, false);
    for &b in bytes {
        match b {
            b'a'..=b'z' => lower = true,
            b'A'..=b'Z' => upper = true,
            b'0'..=b'9' => digit = true,
            _ => other = true,
        }
    }
    [lower, upper, digit, other].iter().filter(|&&x| x).count() as u8
}

/// Words that mark a value as an example or placeholder rather than a real secret.
const STOPWORDS: &[&str] = &[
    "changeme",
    "change_me",
    "change-me",
    "example",
    "placeholder",
    "replace",
    "your_",
    "your-",
    "yoursecret",
    "insert",
    "redacted",
    "dummy",
    "notasecret",
    "not_a_secret",
    "not-a-secret",
    "secretvalue",
    "secret_value",
    "password",
    "keyvault",
];

/// A word of an identifier: snake_case, ALL_CAPS or camelCase (random strings rarely are one).
const WORD: &str = r"(?:[a-z_$][a-z0-9_]*|[A-Z][A-Z0-9_]*|(?:[A-Z]?[a-z]+[0-9]*)+)";

/// Shapes of references and non-secrets: template syntax, variable lookups, GUIDs, paths, URLs,
/// timestamps, dotted identifiers (`config.azure.secret`) and calls (`getSecret(`).
static REFERENCE: LazyLock<Regex> = LazyLock::new(|| {
    let pattern = format!(
        r"(?x)
        \$\{{ | \$\( | \{{\{{ | \}}\}} | \#\{{ | \$\[ | <[A-Za-z_-]+> | :// | ^@
        | ^\$[A-Za-z_] | ^%[A-Za-z_][A-Za-z0-9_]*%$ | ^env[.:]
        | ^[0-9a-fA-F]{{8}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{12}}$
        | ^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}[T\x20][0-9]{{2}}:[0-9]{{2}}
        | ^(?:[A-Za-z]:)?(?:\.{{0,2}}[\\/])?(?:[A-Za-z0-9_.-]+[\\/]){{2,}}[A-Za-z0-9_.-]*$
        | ^{WORD}(?:(?:\.|::|->)(?:{WORD}))+(?:\(\))?$
        | ^{WORD}(?:(?:\.|::|->|:)(?:{WORD}))*[(\[]
        | ^[A-Z0-9_]+$"
    );
    crate::rules::build_regex(&pattern).expect("built-in placeholder regex compiles")
});

/// Whether a value is a placeholder, template, reference or other non-secret.
pub fn is_placeholder(value: &[u8]) -> bool {
    if REFERENCE.is_match(value) || has_long_run(value, 5) {
        return true;
    }
    let lower = value.to_ascii_lowercase();
    STOPWORDS.iter().any(|w| memchr::memmem::find(&lower, w.as_bytes()).is_some())
}

/// Whether some byte repeats `n` or more times in a row (`xxxxx`, `00000`).
fn has_long_run(value: &[u8], n: usize) -> bool {
    let mut run = 1;
    for pair in value.windows(2) {
        run = if pair[0] == pair[1] { run + 1 } else { 1 };
        if run >= n {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_and_references_are_recognised() {
        for p in [
            "<your-client-secret>",
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "${AZURE_CLIENT_SECRET}",
            "$(ClientSecret)",
            "{{ .Values.azure.clientSecret }}",
            "%CLIENT_SECRET%",
            "#{ClientSecret}#",
            "$AZURE_CLIENT_SECRET",
            "process.env.AZURE_CLIENT_SECRET",
            "azuread_application_password.app.value",
            "os.environ[\"AZURE_CLIENT_SECRET\"]",
            "9c98c90c-a8ac-4f02-9ae0-3cd24347f72f",
            "/etc/azure/secrets/client-secret.txt",
            "https://kv.vault.azure.net/secrets/x",
            "changeme-changeme-changeme-12345",
            "AZURE_CLIENT_SECRET_FOR_PRODUCTION",
            "2024-03-07T02:50:56.464790+00:00",
            "config.Azure.ClientSecretForTheApp",
        ] {
            assert!(is_placeholder(p.as_bytes()), "{p}");
        }
    }

    #[test]
    fn random_secrets_are_not_placeholders() {
        for s in [
            "vkSikIWXgwvaeHts.swmrso[P*0JaYSw",
            "_vmjVVbr4s08LGNHd69dbqLxwUkn6u8jg-",
            "OSR-Dl.A6a0@qlu*7FcXKzaM8jAfnO-+",
            "lJzRc1YdHaAA2KCNJJ1tkYwF/+mKK6Ygw0NGe170Xu5=",
            "u2olZU6uqbgsYlV.vsSKuvinX_zMqf9OgXluCZz8",
        ] {
            assert!(!is_placeholder(s.as_bytes()), "{s}");
        }
    }

    #[test]
    fn classes_and_entropy() {
        assert_eq!(char_classes(b"abcABC123-"), 4);
        assert_eq!(char_classes(b"abc"), 1);
        assert_eq!(shannon_entropy(b"aaaa"), 0.0);
        assert!(shannon_entropy(b"vkSikIWXgwvaeHts.swmrso[P*0JaYSw") > 4.0);
    }
}
