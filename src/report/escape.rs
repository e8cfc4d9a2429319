//! Terminal safety: escapes the characters that could forge lines or drive a terminal when a
//! path, a commit field or a message is printed as text (C0 controls, DEL, C1 controls, and
//! the Unicode bidirectional overrides and isolates that reorder what a reader sees). JSON and
//! SARIF need none of this: serde escapes control characters in strings.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether a character is escaped in human-facing text.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `s` with every control character (C0, DEL, C1) written as `\n`, `\r`, `\t`, `\x1b`, and
/// the bidirectional controls as `\u{202e}`, so printed text stays on its line and reads in
/// the order it is stored. Text without such characters is returned as is.
pub fn escape_display(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) && (c as u32) < 0x100 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_are_escaped() {
        assert_eq!(escape_display("plain/path.env"), "plain/path.env");
        assert_eq!(escape_display("a\nb\r\tc"), "a\\nb\\r\\tc");
        assert_eq!(escape_display("\x1b[31mred\x7f"), "\\x1b[31mred\\x7f");
        assert_eq!(escape_display("c1\u{9b}x"), "c1\\x9bx");
        assert_eq!(escape_display("evil\u{202e}txt.exe"), "evil\\u{202e}txt.exe");
        assert_eq!(escape_display("é ü ✓"), "é ü ✓");
    }
}
