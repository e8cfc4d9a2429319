//! The HTML format: one self-contained page (inline CSS and script, no external asset, a
//! Content-Security-Policy that allows no network request) for the people who triage findings:
//! a summary by rule, confidence and (history scans) author, a timeline of when secrets entered
//! the history, a sortable and filterable table of findings, and each rule's remediation.
//!
//! Every string from scanned data or rule files (paths, member names, commit fields, pairing,
//! owners, verification details) goes through [`esc`]: control characters are made visible and
//! `& < > " '` become entities, so an attacker-chosen file name is text, never markup. The
//! script reads only `data-*` attributes and `textContent`; it never builds markup from data.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};

use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::{Report, Reporter, ScanKind, escape_display, human_bytes};
use crate::finding::{Confidence, Finding, Part};

const STYLE: &str = include_str!("style.css");
const SCRIPT: &str = include_str!("script.js");

/// Most other places listed under one finding; the rest are counted.
const MAX_PLACES: usize = 5;
/// Rows laid out before the script runs (it shows this many more at a time, on request).
const FIRST_ROWS: usize = 500;
/// Most bars on the timeline: a longer history is drawn by year instead of by month.
const MAX_MONTHS: usize = 120;

/// Writes the HTML format.
pub struct HtmlReporter;

/// `s` as HTML text or attribute value: control and bidi characters escaped as in the text
/// format, then `& < > " '` as entities.
pub(crate) fn esc(s: &str) -> Cow<'_, str> {
    let shown = escape_display(s);
    if !shown.contains(['&', '<', '>', '"', '\'']) {
        return shown;
    }
    let mut out = String::with_capacity(shown.len() + 16);
    for c in shown.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The CSP source of an inline element: `'sha256-…'` of its text.
fn csp_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(digest))
}

impl Reporter for HtmlReporter {
    fn report(&self, w: &mut dyn Write, report: &Report<'_>) -> io::Result<()> {
        let page = Page::new(report);
        let mut out = String::with_capacity(4096 + report.findings.len() * 700);
        page.head(&mut out);
        page.overview(&mut out);
        page.timeline(&mut out);
        page.table(&mut out);
        page.remediation(&mut out);
        let _ = writeln!(
            out,
            "<footer>azleak {} · {}</footer></main><script>{SCRIPT}</script></body></html>",
            env!("CARGO_PKG_VERSION"),
            if report.options.show_secrets {
                "secrets shown in full (--show-secrets)"
            } else {
                "secrets redacted to their first 3 characters"
            }
        );
        w.write_all(out.as_bytes())
    }
}

/// What the page is made of: the report and the keys it groups findings by.
struct Page<'r, 'a> {
    report: &'r Report<'a>,
    history: bool,
    authors: Vec<Option<String>>,
    months: Vec<Option<String>>,
}

impl<'r, 'a> Page<'r, 'a> {
    fn new(report: &'r Report<'a>) -> Self {
        let history = report.options.kind == ScanKind::History
            || report.findings.iter().any(|f| f.commit.is_some());
        let authors = report
            .findings
            .iter()
            .map(|f| {
                f.commit.as_ref().map(|c| {
                    let who = format!("{} <{}>", c.author_name, c.author_email);
                    report.redact(&who).into_owned()
                })
            })
            .collect();
        let months = report
            .findings
            .iter()
            .map(|f| f.commit.as_ref().and_then(|c| c.date.get(..7)).map(str::to_string))
            .collect();
        Page { report, history, authors, months }
    }

    /// A string from scanned data: redacted (again: cheap, and covers fields other stages
    /// fill) and escaped.
    fn text(&self, s: &str) -> String {
        esc(&self.report.redact(s)).into_owned()
    }

    fn head(&self, out: &mut String) {
        let r = self.report;
        let csp = format!(
            "default-src 'none'; style-src {}; script-src {}; img-src data:; base-uri 'none'; \
             form-action 'none'",
            csp_hash(STYLE),
            csp_hash(SCRIPT)
        );
        let what = match r.options.kind {
            ScanKind::Files => "files",
            ScanKind::History => "git history",
            ScanKind::Staged => "staged changes",
        };
        let n = r.findings.len();
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <meta name=\"referrer\" content=\"no-referrer\">\
             <title>azleak: {n} finding{}</title><style>{STYLE}</style></head><body>\
             <header><h1>azleak report: {n} finding{}</h1><p>Scan of {what} · findings of \
             confidence {} and above</p></header><main>",
            plural(n),
            plural(n),
            r.options.min_confidence,
        );
        if r.options.show_secrets {
            out.push_str(
                "<p class=\"warn\" id=\"shown\">This report shows secrets in full \
                 (--show-secrets). Do not share or publish it.</p>",
            );
        }
    }

    fn overview(&self, out: &mut String) {
        let r = self.report;
        out.push_str("<div class=\"cards\">");
        // By rule.
        let mut by_rule: BTreeMap<&str, usize> = BTreeMap::new();
        for f in r.findings {
            *by_rule.entry(&f.rule_id).or_insert(0) += 1;
        }
        out.push_str("<div class=\"card\" id=\"by-rule\"><h2>By rule</h2><table>");
        for (id, n) in &by_rule {
            let name = r.rules.get(id).map_or("", |rule| rule.syntax.name.as_str());
            let _ = write!(
                out,
                "<tr><td><button class=\"link\" data-set-rule=\"{id}\">{id}</button>\
                 <div class=\"muted\">{}</div></td><td class=\"n\">{n}</td></tr>",
                esc(name),
                id = esc(id),
            );
        }
        if by_rule.is_empty() {
            out.push_str("<tr><td class=\"muted\">No findings.</td></tr>");
        }
        out.push_str("</table></div>");
        // By confidence.
        out.push_str("<div class=\"card\" id=\"by-confidence\"><h2>By confidence</h2><table>");
        for c in [Confidence::High, Confidence::Medium, Confidence::Low] {
            let n = r.findings.iter().filter(|f| f.confidence == c).count();
            let _ = write!(
                out,
                "<tr><td><span class=\"badge c-{c}\">{c}</span> {}</td><td class=\"n\">{n}</td></tr>",
                confidence_words(c)
            );
        }
        out.push_str("</table></div>");
        // By author (history).
        if self.history {
            let mut by_author: BTreeMap<&str, usize> = BTreeMap::new();
            for a in self.authors.iter().flatten() {
                *by_author.entry(a).or_insert(0) += 1;
            }
            let mut sorted: Vec<(&str, usize)> = by_author.into_iter().collect();
            sorted.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            out.push_str("<div class=\"card\" id=\"by-author\"><h2>By author</h2><table>");
            for (who, n) in sorted.iter().take(20) {
                let who = esc(who);
                let _ = write!(
                    out,
                    "<tr><td><button class=\"link\" data-set-author=\"{who}\">{who}</button></td>\
                     <td class=\"n\">{n}</td></tr>"
                );
            }
            if sorted.len() > 20 {
                let _ = write!(
                    out,
                    "<tr><td class=\"muted\">and {} more (filter by author below)</td></tr>",
                    sorted.len() - 20
                );
            }
            out.push_str("</table></div>");
        }
        self.scanned(out);
        out.push_str("</div>");
    }

    fn scanned(&self, out: &mut String) {
        let s = self.report.summary;
        let unit = if self.report.options.kind == ScanKind::Files { "Files" } else { "Blobs" };
        out.push_str("<div class=\"card\" id=\"scanned\"><h2>Scanned</h2><dl class=\"kv\">");
        let mut item = |k: &str, v: String| {
            let _ = write!(out, "<dt>{k}</dt><dd>{}</dd>", esc(&v));
        };
        if let Some(c) = s.commits {
            let shallow = if s.shallow == Some(true) { " (shallow clone)" } else { "" };
            item("Commits", format!("{c}{shallow}"));
        }
        item(unit, format!("{} ({})", s.files, human_bytes(s.bytes)));
        if s.archive_members > 0 {
            item("In archives", s.archive_members.to_string());
        }
        item("Skipped", s.skipped.len().to_string());
        item("Errors", s.errors.len().to_string());
        item("Below threshold", s.below_threshold.to_string());
        item("Allowed inline", s.allowed_inline.to_string());
        item("Allowlisted", s.allowlisted.to_string());
        item("In baseline", s.in_baseline.to_string());
        out.push_str("</dl></div>");
    }

    /// Bars of how many secrets entered the history each month (or year, for long histories).
    fn timeline(&self, out: &mut String) {
        let mut by_month: BTreeMap<&str, usize> = BTreeMap::new();
        for m in self.months.iter().flatten() {
            *by_month.entry(m).or_insert(0) += 1;
        }
        let (Some(first), Some(last)) = (by_month.keys().next(), by_month.keys().next_back())
        else {
            return;
        };
        let months = month_range(first, last);
        let buckets: Vec<(String, usize)> = if months.len() <= MAX_MONTHS {
            months
                .into_iter()
                .map(|m| {
                    let n = by_month.get(m.as_str()).copied().unwrap_or(0);
                    (m, n)
                })
                .collect()
        } else {
            let mut years: BTreeMap<String, usize> = BTreeMap::new();
            for m in &months {
                *years.entry(m[..4].to_string()).or_insert(0) +=
                    by_month.get(m.as_str()).copied().unwrap_or(0);
            }
            years.into_iter().collect()
        };
        let max = buckets.iter().map(|b| b.1).max().unwrap_or(1).max(1);
        out.push_str(
            "<div class=\"card\" id=\"timeline\"><h2>When secrets entered the history</h2>\
             <div class=\"timeline\">",
        );
        for (bucket, n) in &buckets {
            let bucket = esc(bucket);
            let _ = write!(
                out,
                "<button data-month=\"{bucket}\" data-h=\"{}\" title=\"{bucket}: {n} secret{}\" \
                 aria-label=\"{bucket}: {n} secret{}\"></button>",
                n * 100 / max,
                plural(*n),
                plural(*n)
            );
        }
        let (a, b) = (esc(&buckets[0].0), esc(&buckets[buckets.len() - 1].0));
        let _ =
            write!(out, "</div><div class=\"axis\"><span>{a}</span><span>{b}</span></div></div>");
    }

    fn table(&self, out: &mut String) {
        let r = self.report;
        out.push_str(
            "<div class=\"filters\" role=\"search\"><input id=\"f-q\" type=\"search\" \
            placeholder=\"Filter: path, rule, commit…\" aria-label=\"Filter findings\">",
        );
        out.push_str(
            "<select id=\"f-rule\" aria-label=\"Rule\"><option value=\"\">All rules</option>",
        );
        let mut rules: Vec<&str> = r.findings.iter().map(|f| f.rule_id.as_str()).collect();
        rules.sort_unstable();
        rules.dedup();
        for id in rules {
            let id = esc(id);
            let _ = write!(out, "<option value=\"{id}\">{id}</option>");
        }
        out.push_str(
            "</select><select id=\"f-conf\" aria-label=\"Confidence\">\
             <option value=\"\">Any confidence</option><option value=\"high\">high</option>\
             <option value=\"medium\">medium and above</option></select>",
        );
        if self.history {
            out.push_str("<select id=\"f-author\" aria-label=\"Author\"><option value=\"\">All authors</option>");
            let mut authors: Vec<&str> =
                self.authors.iter().flatten().map(String::as_str).collect();
            authors.sort_unstable();
            authors.dedup();
            for a in authors {
                let a = esc(a);
                let _ = write!(out, "<option value=\"{a}\">{a}</option>");
            }
            out.push_str(
                "</select><button type=\"button\" id=\"f-period\" class=\"link\" hidden>\
                 </button>",
            );
        }
        out.push_str("<span id=\"count\" aria-live=\"polite\"></span></div>");
        out.push_str("<div class=\"wrap\"><table class=\"findings\" id=\"findings\"><thead><tr>");
        let mut heads = vec!["Location", "Rule", "Confidence", "Secret"];
        if self.history {
            heads.extend(["Commit", "Date", "Author"]);
        }
        for h in heads {
            let _ = write!(out, "<th><button type=\"button\">{h}</button></th>");
        }
        out.push_str("<th>Details</th></tr></thead><tbody>");
        for (i, f) in r.findings.iter().enumerate() {
            self.row(out, i, f);
        }
        out.push_str(
            "</tbody></table></div><p><button type=\"button\" id=\"more\" class=\"link\" \
             hidden>Show more</button></p>",
        );
        if r.findings.is_empty() {
            out.push_str("<p class=\"muted\">No findings at or above the threshold.</p>");
        }
    }

    fn row(&self, out: &mut String, i: usize, f: &Finding) {
        let show = self.report.options.show_secrets;
        let author = self.authors[i].as_deref().map(esc).unwrap_or_default();
        let month = self.months[i].as_deref().map(esc).unwrap_or_default();
        let rule = esc(&f.rule_id);
        let _ = write!(
            out,
            "<tr data-rule=\"{rule}\" data-conf=\"{}\" data-author=\"{author}\" data-month=\"{month}\"{}>",
            f.confidence,
            if i < FIRST_ROWS { "" } else { " class=\"off\"" }
        );
        let path = self.text(&f.location_path());
        let sort = format!("{} {:010} {:06}", f.location_path(), f.line, f.column);
        let _ = write!(
            out,
            "<td class=\"loc\" data-sort=\"{}\">{path}:{}:{}{}</td>",
            self.text(&sort),
            f.line,
            f.column,
            match f.part {
                Part::Content => String::new(),
                part => format!(" <span class=\"muted\">({})</span>", part.as_str()),
            }
        );
        let order = match f.confidence {
            Confidence::High => 0,
            Confidence::Medium => 1,
            Confidence::Low => 2,
        };
        let _ = write!(
            out,
            "<td>{rule}</td><td data-sort=\"{order}\"><span class=\"badge c-{c}\">{c}</span></td>\
             <td class=\"mono\">{}</td>",
            esc(&f.secret.display(show)),
            c = f.confidence
        );
        if self.history {
            match &f.commit {
                Some(c) => {
                    let short = c.commit.get(..12).unwrap_or(&c.commit);
                    let _ = write!(
                        out,
                        "<td class=\"mono\" title=\"{}\">{}</td><td class=\"date\" data-sort=\"{}\">{}</td><td>{author}</td>",
                        self.text(&c.summary),
                        self.text(short),
                        self.text(&c.date),
                        self.text(c.date.get(..10).unwrap_or(&c.date)),
                    );
                }
                None => out.push_str("<td></td><td></td><td></td>"),
            }
        }
        out.push_str("<td class=\"details\">");
        self.details(out, f);
        out.push_str("</td></tr>\n");
    }

    /// Checksum, encoding, copies, and what the pairing, verification and inventory stages found.
    fn details(&self, out: &mut String, f: &Finding) {
        let mut parts: Vec<String> = Vec::new();
        match f.checksum {
            crate::finding::ChecksumStatus::Valid => parts.push("checksum valid".into()),
            crate::finding::ChecksumStatus::Invalid => {
                parts.push("checksum invalid (probably made up)".into())
            }
            crate::finding::ChecksumStatus::NotApplicable => {}
        }
        if let Some(e) = f.encoding {
            parts.push(format!("{} encoded", e.as_str()));
        }
        if let Some(c) = &f.commit {
            parts.push(format!("commit: {}", self.text(&c.summary)));
        }
        if let Some(v) = &f.verification {
            let status = serde_json::to_value(v.status)
                .ok()
                .and_then(|s| s.as_str().map(str::to_string))
                .unwrap_or_default();
            parts.push(format!(
                "<b>verified: {}</b> {} <span class=\"muted\">({})</span>",
                esc(&status),
                self.text(&v.detail),
                self.text(&v.checked_at)
            ));
        }
        if let Some(p) = &f.pairing {
            let list = |v: &[String]| v.iter().map(|s| self.text(s)).collect::<Vec<_>>().join(", ");
            if !p.tenant_ids.is_empty() {
                parts.push(format!("<b>tenant</b> {}", list(&p.tenant_ids)));
            }
            if !p.client_ids.is_empty() {
                parts.push(format!("<b>client</b> {}", list(&p.client_ids)));
            }
            for (k, v) in
                [("authority", &p.authority), ("resource", &p.resource), ("endpoint", &p.endpoint)]
            {
                if let Some(v) = v {
                    parts.push(format!("<b>{k}</b> {}", self.text(v)));
                }
            }
        }
        for o in f.owners.iter().flatten() {
            parts.push(format!(
                "<b>owner</b> {} ({}) credential {} {}{}{}",
                self.text(&o.app_name),
                self.text(&o.app_id),
                self.text(&o.credential_name),
                self.text(&o.key_id),
                o.end.as_deref().map(|e| format!(", ends {}", self.text(e))).unwrap_or_default(),
                if o.expired { ", expired" } else { "" }
            ));
        }
        if f.copy_count() > 1 {
            let others: Vec<_> = f.other_locations().collect();
            let mut s = format!("appears in {} places", f.copy_count());
            for o in others.iter().take(MAX_PLACES) {
                let _ = write!(s, "<br>also {}:{}:{}", self.text(&o.path), o.line, o.column);
            }
            if others.len() > MAX_PLACES {
                let _ = write!(s, "<br>and {} more", others.len() - MAX_PLACES);
            }
            parts.push(s);
        }
        out.push_str(&parts.join("<br>"));
    }

    fn remediation(&self, out: &mut String) {
        let r = self.report;
        let mut ids: Vec<&str> = r.findings.iter().map(|f| f.rule_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return;
        }
        out.push_str("<section class=\"fix\" id=\"remediation\"><h2>How to fix</h2>");
        for id in ids {
            let Some(rule) = r.rules.get(id) else { continue };
            let _ = write!(
                out,
                "<h3 id=\"fix-{id}\">{id} <span class=\"muted\">{}</span></h3>",
                esc(&rule.syntax.name),
                id = esc(id)
            );
            for para in rule.syntax.remediation.split("\n\n").filter(|p| !p.trim().is_empty()) {
                let _ = write!(out, "<p>{}</p>", esc(para.trim()));
            }
            let refs: Vec<String> = rule
                .syntax
                .references
                .iter()
                .map(|u| {
                    if u.starts_with("https://") || u.starts_with("http://") {
                        format!("<a href=\"{u}\" rel=\"noreferrer noopener\">{u}</a>", u = esc(u))
                    } else {
                        esc(u).into_owned()
                    }
                })
                .collect();
            if !refs.is_empty() {
                let _ = write!(out, "<p class=\"muted\">References: {}</p>", refs.join(" · "));
            }
        }
        out.push_str("</section>");
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn confidence_words(c: Confidence) -> &'static str {
    match c {
        Confidence::High => "checksum verified",
        Confidence::Medium => "right shape or in context",
        Confidence::Low => "look-alikes",
    }
}

/// Every `YYYY-MM` from `first` to `last` (both such strings), or just the two if either is
/// not a month.
fn month_range(first: &str, last: &str) -> Vec<String> {
    let parse = |m: &str| -> Option<(i32, u32)> {
        let (y, mo) = m.split_once('-')?;
        let (y, mo) = (y.parse().ok()?, mo.parse().ok()?);
        (1..=12).contains(&mo).then_some((y, mo))
    };
    let (Some((mut y, mut m)), Some(end)) = (parse(first), parse(last)) else {
        return vec![first.to_string(), last.to_string()];
    };
    let mut out = Vec::new();
    while (y, m) <= end && out.len() <= 100_000 {
        out.push(format!("{y:04}-{m:02}"));
        (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_controls() {
        assert_eq!(esc("a/b.env"), "a/b.env");
        assert_eq!(
            esc("<img src=x onerror='alert(1)'>&\"\n"),
            "&lt;img src=x onerror=&#39;alert(1)&#39;&gt;&amp;&quot;\\n"
        );
    }

    #[test]
    fn months_fill_gaps_across_years() {
        assert_eq!(month_range("2023-11", "2024-02"), ["2023-11", "2023-12", "2024-01", "2024-02"]);
        assert_eq!(month_range("2024-05", "2024-05"), ["2024-05"]);
        assert_eq!(month_range("x", "y"), ["x", "y"]);
    }
}
