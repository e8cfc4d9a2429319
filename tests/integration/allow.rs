//! Inline allow: `azleak:allow` on a secret's line, or `azleak:allow-next-line` on the line
//! before it, in any comment syntax; counted in the summary, and reported anyway with
//! `--no-inline-allow`.

use crate::util::{SECRET_8Q, SECRET_LEGACY, TempTree, azleak, json, run};

fn scan(t: &TempTree, extra: &[&str]) -> (i32, serde_json::Value) {
    let (code, out, err) =
        run(azleak(t.path()).args(["scan", "--format", "json"]).args(extra).arg("."));
    assert!(code == 0 || code == 1, "exit {code}\n{out}\n{err}");
    (code, json(&out))
}

fn locations(doc: &serde_json::Value) -> Vec<String> {
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| format!("{}:{}", f["path"].as_str().unwrap(), f["line"]))
        .collect()
}

#[test]
fn allow_marker_works_in_every_comment_syntax() {
    let t = TempTree::new();
    t.file("a.sh", format!("AZURE_CLIENT_SECRET={SECRET_8Q} # azleak:allow\n"));
    t.file("b.js", format!("const s = \"{SECRET_8Q}\"; // azleak:allow test fixture\n"));
    t.file("c.html", format!("<p>{SECRET_8Q}</p> <!-- azleak:allow -->\n"));
    t.file("d.bat", format!("set AZURE_CLIENT_SECRET={SECRET_8Q}\r\nREM azleak:allow-next-line\r\nset X={SECRET_8Q}\r\n"));
    t.file(
        "e.sql",
        format!("-- azleak:allow-next-line\nSELECT '{SECRET_8Q}';\nSELECT 1; -- azleak:allow\n"),
    );
    t.file("f.cmd", format!("set AZURE_CLIENT_SECRET={SECRET_8Q} & REM azleak:allow\n"));
    t.file("g.lua", format!("secret = \"{SECRET_8Q}\" -- azleak:allow\n"));
    let (code, doc) = scan(&t, &[]);
    assert_eq!(code, 1);
    // Only the first line of d.bat is unmarked.
    assert_eq!(locations(&doc), ["d.bat:1"]);
    assert_eq!(doc["summary"]["allowed_inline"], 7, "{doc:#}");

    let (code, doc) = scan(&t, &["--no-inline-allow"]);
    assert_eq!(code, 1);
    assert_eq!(
        locations(&doc),
        ["a.sh:1", "b.js:1", "c.html:1", "d.bat:1", "d.bat:3", "e.sql:2", "f.cmd:1", "g.lua:1"]
    );
    assert_eq!(doc["summary"]["allowed_inline"], 0);
}

#[test]
fn next_line_marker_covers_exactly_the_next_line() {
    let t = TempTree::new();
    t.file(
        "app.py",
        format!(
            "# azleak:allow-next-line\nA = \"{SECRET_8Q}\"\nB = \"{SECRET_8Q}\"\nC = \"{SECRET_8Q}\"  # azleak:allow-next-line\n"
        ),
    );
    let (code, doc) = scan(&t, &[]);
    assert_eq!(code, 1);
    // Line 2 is allowed by line 1; line 3 is not; line 4's own next-line marker does not allow it.
    assert_eq!(locations(&doc), ["app.py:3", "app.py:4"]);
    assert_eq!(doc["summary"]["allowed_inline"], 1);
}

#[test]
fn legacy_secret_in_context_can_be_allowed_and_text_summary_counts() {
    let t = TempTree::new();
    t.file("one.env", format!("AZURE_CLIENT_SECRET=\"{SECRET_LEGACY}\" # azleak:allow\n"));
    t.file("two.env", format!("AZURE_CLIENT_SECRET={SECRET_8Q} # azleak:allow\n"));
    t.file("three.yaml", format!("# azleak:allow-next-line\nsecret: {SECRET_8Q}\n"));
    let (code, out, _) = run(azleak(t.path()).args(["scan", "--color", "never", "."]));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(", 0 findings, 3 allowed inline, "), "{out}");
    let (code, out, _) =
        run(azleak(t.path()).args(["scan", "--color", "never", "--no-inline-allow", "."]));
    assert_eq!(code, 1);
    assert!(out.contains(", 3 findings, "), "{out}");
    assert!(!out.contains(SECRET_8Q) && !out.contains(SECRET_LEGACY), "{out}");
}
