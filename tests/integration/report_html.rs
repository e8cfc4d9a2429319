//! `--format html`: one self-contained page. Attacker-chosen paths, commit fields and the
//! fields other stages fill (pairing, verification, owners) are escaped text; secrets are
//! redacted unless `--show-secrets`; the page loads nothing (its CSP allows no fetch and its
//! inline style and script are allowed by hash); history scans get authors and a timeline.
//! (Rendering in a real browser is checked by scripts/check-html.sh, run by .ci/run.)

use base64::Engine as _;
use sha2::{Digest, Sha256};

use azleak::finding::{
    ChecksumStatus, CommitInfo, Confidence, Finding, Owner, Pairing, Part, Secret, Verification,
    VerificationStatus,
};
use azleak::report::{Format, Redacted, Redactor, Report, ReportOptions, ScanKind};
use azleak::scan::Summary;

use crate::util::{
    ALICE, BOB, SECRET_8Q, SECRET_8Q_2, SECRET_LEGACY, TempRepo, TempTree, azleak, run,
};

const XSS_DIR: &str = "<img src=x onerror=alert(1)>";

fn rows(html: &str) -> usize {
    html.matches("<tr data-rule=").count()
}

/// The text between `open` and the next `close` after it.
fn between<'a>(html: &'a str, open: &str, close: &str) -> &'a str {
    let start = html.find(open).unwrap_or_else(|| panic!("no {open}")) + open.len();
    let end = html[start..].find(close).unwrap_or_else(|| panic!("no {close}")) + start;
    &html[start..end]
}

fn sha256_source(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(digest))
}

/// The page's only markup is its own: one style, one script, both allowed by their hash, and
/// a policy that forbids every fetch.
fn assert_self_contained(html: &str) {
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_eq!(html.matches("<script").count(), 1, "one inline script");
    assert_eq!(html.matches("<style").count(), 1, "one inline style");
    for asset in ["<link", "<img", "<iframe", "<object", "src=\"", "url(", "@import"] {
        assert!(!html.contains(asset), "external asset or injected markup {asset:?}");
    }
    let csp = between(html, "http-equiv=\"Content-Security-Policy\" content=\"", "\"");
    assert!(csp.starts_with("default-src 'none';"), "{csp}");
    let style = between(html, "<style>", "</style>");
    let script = between(html, "<script>", "</script>");
    assert!(csp.contains(&format!("style-src {};", sha256_source(style))), "{csp}");
    assert!(csp.contains(&format!("script-src {};", sha256_source(script))), "{csp}");
}

#[test]
fn html_escapes_attacker_chosen_paths_and_redacts_secrets() {
    let t = TempTree::new();
    t.file(&format!("{XSS_DIR}/a\"b'&c.env"), format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n"));
    t.file("conf/app.env", format!("AZURE_CLIENT_SECRET=\"{SECRET_LEGACY}\"\n"));
    let (code, out, err) = run(azleak(t.path()).args(["scan", "--format", "html", "."]));
    assert_eq!(code, 1, "{err}");
    assert_self_contained(&out);
    assert!(!out.contains(SECRET_8Q) && !out.contains(SECRET_LEGACY));
    assert!(out.contains("&lt;img src=x onerror=alert(1)&gt;/a&quot;b&#39;&amp;c.env:1:21</td>"));
    assert_eq!(rows(&out), 2);
    assert!(out.contains("<td class=\"mono\">zzz…</td>"), "hint shown");
    assert!(out.contains("<td class=\"mono\">vkS…</td>"), "hint shown");
    // Files mode: no author summary, no timeline, no commit columns.
    assert!(!out.contains("id=\"by-author\"") && !out.contains("id=\"timeline\""));
    assert!(!out.contains("<button type=\"button\">Commit</button>"));
    assert!(!out.contains("id=\"shown\""), "no show-secrets warning");
}

#[test]
fn html_summarises_by_rule_and_confidence_and_gives_each_rules_remediation() {
    let t = TempTree::new();
    t.file("a.env", format!("AZURE_CLIENT_SECRET={SECRET_8Q}\nX={SECRET_8Q_2}\n"));
    t.file("b.env", format!("AZURE_CLIENT_SECRET=\"{SECRET_LEGACY}\"\n"));
    let (code, out, _) = run(azleak(t.path()).args(["scan", "--format", "html", "."]));
    assert_eq!(code, 1);
    assert_eq!(rows(&out), 3);
    let by_rule = between(&out, "id=\"by-rule\"", "</table>");
    assert!(
        by_rule.contains(
            "data-set-rule=\"azure.entra.client-secret\">azure.entra.client-secret</button>"
        ),
        "{by_rule}"
    );
    assert!(by_rule.contains("<td class=\"n\">2</td>"), "{by_rule}");
    assert!(by_rule.contains("<td class=\"n\">1</td>"), "{by_rule}");
    let by_conf = between(&out, "id=\"by-confidence\"", "</table>");
    assert!(by_conf.contains("c-high\">high</span> checksum verified</td><td class=\"n\">2</td>"));
    // Each rule that fired has its own remediation text, and only those.
    let rules = azleak::RuleSet::builtin().unwrap();
    let fix = between(&out, "id=\"remediation\"", "</section>");
    let mut fired = 0;
    for rule in rules.iter() {
        let first = rule.syntax.remediation.split("\n\n").next().unwrap().trim();
        let shown = fix.contains(&format!("id=\"fix-{}\"", rule.id()));
        if out.contains(&format!("<tr data-rule=\"{}\"", rule.id())) {
            assert!(shown, "{} has no remediation section", rule.id());
            let first = first.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
            let first = first.replace('"', "&quot;").replace('\'', "&#39;");
            assert!(fix.contains(&first), "{}: remediation text missing", rule.id());
            fired += 1;
        } else {
            assert!(!shown, "{} did not fire", rule.id());
        }
    }
    assert_eq!(fired, 2);
}

#[test]
fn html_history_has_authors_commits_and_a_timeline() {
    let repo = TempRepo::new();
    let first = repo.snapshot(
        Some("refs/heads/main"),
        &[],
        &[("app.env", &format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n"))],
        "add <b>config</b>",
    );
    repo.snapshot_by(
        BOB,
        Some("refs/heads/main"),
        &[first],
        &[
            ("app.env", &format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n")),
            ("b.env", &format!("AZURE_CLIENT_SECRET={SECRET_8Q_2}\n")),
        ],
        "second",
    );
    let (code, out, err) = run(azleak(repo.path()).args(["git", "--format", "html", "."]));
    assert_eq!(code, 1, "{err}");
    assert_self_contained(&out);
    assert_eq!(rows(&out), 2);
    let by_author = between(&out, "id=\"by-author\"", "</table>");
    for (name, email) in [ALICE, BOB] {
        let who = format!("{name} &lt;{email}&gt;");
        assert!(by_author.contains(&format!("data-set-author=\"{who}\">{who}</button>")));
    }
    assert!(out.contains(&format!("data-author=\"{} &lt;{}&gt;\"", BOB.0, BOB.1)));
    // Both commits are from November 2023 (TempRepo's clock): one bar holding both.
    let timeline = between(&out, "id=\"timeline\"", "</div></div>");
    assert_eq!(timeline.matches("<button").count(), 1, "{timeline}");
    assert!(
        timeline.contains("data-month=\"2023-11\" data-h=\"100\" title=\"2023-11: 2 secrets\"")
    );
    assert!(out.contains(&format!(">{}</td>", &first.to_string()[..12])), "short commit id");
    assert!(out.contains("title=\"add &lt;b&gt;config&lt;/b&gt;\""), "commit summary escaped");
    assert!(out.contains(">2023-11-14</td>"), "commit date");
}

#[test]
fn html_shows_secrets_only_when_asked_and_says_so() {
    let t = TempTree::new();
    t.file("a.env", format!("AZURE_CLIENT_SECRET={SECRET_8Q}\n"));
    let (_, out, _) =
        run(azleak(t.path()).args(["scan", "--format", "html", "--show-secrets", "."]));
    assert!(out.contains(&format!("<td class=\"mono\">{SECRET_8Q}</td>")));
    assert!(out.contains("id=\"shown\""), "warning banner");
    let (_, out, _) = run(azleak(t.path()).args(["scan", "--format", "html", "."]));
    assert!(!out.contains(SECRET_8Q) && !out.contains("id=\"shown\""));
}

#[test]
fn html_with_no_findings_is_a_valid_page() {
    let t = TempTree::new();
    t.file("a.txt", "nothing here\n");
    let (code, out, _) = run(azleak(t.path()).args(["scan", "--format", "html", "."]));
    assert_eq!(code, 0);
    assert_self_contained(&out);
    assert_eq!(rows(&out), 0);
    assert!(out.contains("No findings at or above the threshold."));
    assert!(out.trim_end().ends_with("</html>"));
}

fn finding_with_identities() -> Finding {
    Finding {
        rule_id: "azure.entra.client-secret".into(),
        confidence: Confidence::High,
        path: "app.env".into(),
        member: Some("inner/<x>.env".into()),
        part: Part::Content,
        line: 3,
        column: 5,
        end_column: 45,
        secret: Secret::new(SECRET_8Q),
        entropy: 4.0,
        checksum: ChecksumStatus::Valid,
        encoding: None,
        fingerprint: String::new(),
        line_hash: String::new(),
        commit: Some(CommitInfo {
            commit: "0123456789abcdef0123456789abcdef01234567".into(),
            author_name: "Mallory <script>".into(),
            author_email: "m@example.com".into(),
            date: "2021-02-03T04:05:06+00:00".into(),
            summary: "oops".into(),
        }),
        copies: None,
        allowed_inline: false,
        repository: None,
        expires: None,
        pairing: Some(Pairing {
            tenant_ids: vec!["11111111-2222-3333-4444-555555555555".into()],
            client_ids: vec!["<svg onload=alert(1)>".into()],
            authority: Some("https://login.microsoftonline.com".into()),
            resource: None,
            endpoint: None,
        }),
        verification: Some(Verification {
            status: VerificationStatus::Expired,
            detail: "AADSTS7000222: expired \"secret\"".into(),
            checked_at: "2024-05-06T07:08:09Z".into(),
        }),
        owners: Some(vec![Owner {
            app_name: format!("billing {SECRET_8Q} app"),
            app_id: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee".into(),
            credential_name: "ci & <deploy>".into(),
            key_id: "k-1".into(),
            start: None,
            end: Some("2022-01-01".into()),
            expired: true,
            app_id_match: true,
        }]),
    }
}

#[test]
fn html_shows_pairing_verification_and_owners_escaped_and_redacted() {
    let f = finding_with_identities();
    let redactor = Redactor::new([&f.secret]);
    let output = Redacted::new(vec![f], Summary::default(), redactor);
    let rules = azleak::RuleSet::builtin().unwrap();
    let options = ReportOptions { kind: ScanKind::History, ..ReportOptions::default() };
    let mut out = Vec::new();
    Format::Html.reporter().report(&mut out, &Report::new(&output, &rules, &options)).unwrap();
    let html = String::from_utf8(out).unwrap();
    assert_self_contained(&html);
    assert!(!html.contains(SECRET_8Q), "a secret in an owner's name is redacted");
    let details = between(&html, "<td class=\"details\">", "</td>");
    assert!(details.contains("<b>tenant</b> 11111111-2222-3333-4444-555555555555"), "{details}");
    assert!(details.contains("<b>client</b> &lt;svg onload=alert(1)&gt;"), "{details}");
    assert!(details.contains("<b>authority</b> https://login.microsoftonline.com"), "{details}");
    assert!(details.contains("<b>verified: expired</b> AADSTS7000222: expired &quot;secret&quot;"));
    assert!(details.contains(
        "<b>owner</b> billing zzz… app (aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee) credential \
         ci &amp; &lt;deploy&gt; k-1, ends 2022-01-01, expired"
    ));
    assert!(html.contains("app.env!inner/&lt;x&gt;.env:3:5"), "member escaped");
    assert!(html.contains("Mallory &lt;script&gt; &lt;m@example.com&gt;"), "author escaped");
}
