//! Where findings are placed: 1-based lines and columns counted in characters, whatever the
//! line endings, encoding errors or line length.

use super::{RULE_8Q, scan_json};
use crate::util::{SECRET_8Q, SECRET_8Q_2, TempTree, loc, locations};

#[test]
fn line_and_columns_are_one_based_and_counted_in_characters() {
    let t = TempTree::new();
    // 12 characters (20 bytes) before the secret: n a ï v e ␠ → ␠ 😀 : ␠ "
    t.file("multibyte.txt", format!("first line\nnaïve → 😀: \"{SECRET_8Q}\"\n"));
    t.file("ascii.txt", format!("{SECRET_8Q}\n"));

    let (_, doc, _) = scan_json(&t, &[]);
    assert_eq!(
        locations(&doc),
        [
            loc("ascii.txt", 1, 1, 41, RULE_8Q, "high"),
            loc("multibyte.txt", 2, 13, 53, RULE_8Q, "high")
        ]
    );
}

#[test]
fn crlf_line_endings_give_the_same_lines_and_columns() {
    let t = TempTree::new();
    t.file("win.env", format!("# settings\r\n\r\nAZURE_CLIENT_SECRET={SECRET_8Q}\r\nNEXT=1\r\n"));
    t.file("mac-classic.env", format!("# settings\rAZURE_CLIENT_SECRET={SECRET_8Q}\r"));

    let (_, doc, _) = scan_json(&t, &[]);
    assert_eq!(
        locations(&doc),
        [
            // A lone CR is not a line break (like git, editors in Unix mode, and SARIF viewers
            // that count LF), so the secret is on line 1 after "# settings\r".
            loc("mac-classic.env", 1, 32, 72, RULE_8Q, "high"),
            loc("win.env", 3, 21, 61, RULE_8Q, "high"),
        ]
    );
}

#[test]
fn invalid_utf8_around_a_secret_does_not_hide_it() {
    let t = TempTree::new();
    let mut bytes = b"\xff\xfe\xc3(\n".to_vec(); // invalid sequences on line 1
    bytes.extend_from_slice(b"\xe2\x82 key=");
    bytes.extend_from_slice(SECRET_8Q.as_bytes());
    bytes.extend_from_slice(b"\xff\xc0\n");
    t.file("latin1.cfg", &bytes);
    // Stray continuation bytes each count as one (replacement) character, like \xff above.
    let mut bytes = b"\x80\x80key=".to_vec();
    bytes.extend_from_slice(SECRET_8Q_2.as_bytes());
    bytes.extend_from_slice(b"\n");
    t.file("stray.cfg", &bytes);

    let (code, doc, _) = scan_json(&t, &[]);
    assert_eq!(code, 1);
    assert_eq!(
        locations(&doc),
        [
            // "\xe2\x82" is one truncated character, then " key=": column 7.
            loc("latin1.cfg", 2, 7, 47, RULE_8Q, "high"),
            loc("stray.cfg", 1, 7, 47, RULE_8Q, "high"),
        ]
    );
}

#[test]
fn two_secrets_on_one_line_are_both_reported() {
    let t = TempTree::new();
    t.file("pair.env", format!("a=\"{SECRET_8Q}\" b=\"{SECRET_8Q_2}\"\n"));

    let (_, doc, _) = scan_json(&t, &[]);
    assert_eq!(
        locations(&doc),
        [loc("pair.env", 1, 4, 44, RULE_8Q, "high"), loc("pair.env", 1, 49, 89, RULE_8Q, "high")]
    );
}

#[test]
fn huge_single_line_places_a_secret_near_its_end() {
    const CHUNK: &str = "var a=b+c;";
    const REPEAT: usize = 5_000_000; // 50 MB of minified code on one line
    let mut content = String::with_capacity(CHUNK.len() * REPEAT + 100);
    for _ in 0..REPEAT {
        content.push_str(CHUNK);
    }
    content.push_str(&format!("s=\"{SECRET_8Q}\";"));
    let t = TempTree::new();
    t.file("bundle.min.js", &content);

    let column = (CHUNK.len() * REPEAT + 4) as u64;
    let (code, doc, _) = scan_json(&t, &[]);
    assert_eq!(code, 1);
    assert_eq!(locations(&doc), [loc("bundle.min.js", 1, column, column + 40, RULE_8Q, "high")]);
}

#[test]
fn a_secret_deep_inside_a_long_base64_value_is_found_at_every_alignment() {
    use base64::Engine;
    // A Kubernetes Secret holding a whole appsettings.json: the secret is thousands of base64
    // characters from the start of the value.
    let t = TempTree::new();
    for pad in 3000..3003 {
        let settings = format!(
            "{{\"Logging\": \"{}\", \"AzureAd\": {{\"ClientSecret\": \"{SECRET_8Q}\"}}}}",
            "x".repeat(pad)
        );
        let encoded = base64::engine::general_purpose::STANDARD.encode(settings);
        t.file(&format!("secret-{pad}.yaml"), format!("data:\n  appsettings.json: {encoded}\n"));
    }
    let (code, doc, err) = scan_json(&t, &[]);
    assert_eq!(code, 1, "{err}");
    let found: Vec<(&str, &str)> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| (f["path"].as_str().unwrap_or(""), f["encoding"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(
        found,
        [
            ("secret-3000.yaml", "base64"),
            ("secret-3001.yaml", "base64"),
            ("secret-3002.yaml", "base64")
        ]
    );
}
