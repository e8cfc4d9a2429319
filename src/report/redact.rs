//! The report-level redactor: every secret found by a scan, at any confidence and in any part
//! of its source, is replaced by its redacted hint (`abc…`) wherever it occurs in a string a
//! report shows (paths, other locations, commit author, e-mail and summary, skipped and error
//! entries). Reporters never see unredacted display strings: a [`Redacted`] output is the only
//! way to build a [`super::Report`], and it is redacted when it is made. `--show-secrets` uses
//! [`Redactor::disabled`].

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use aho_corasick::{AhoCorasick, MatchKind};

use crate::finding::{CopyGroup, Finding, Secret};
use crate::scan::Summary;

/// Replaces every known secret in a string by its redacted hint (one Aho-Corasick pass,
/// leftmost-longest, so a secret that contains another is replaced whole).
#[derive(Debug, Default)]
pub struct Redactor {
    automaton: Option<AhoCorasick>,
    hints: Vec<String>,
}

impl Redactor {
    /// A redactor of these secrets.
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a Secret>) -> Redactor {
        let unique: BTreeSet<&str> =
            secrets.into_iter().map(Secret::reveal).filter(|s| !s.is_empty()).collect();
        if unique.is_empty() {
            return Redactor::default();
        }
        let patterns: Vec<&str> = unique.into_iter().collect();
        let hints = patterns.iter().map(|s| Secret::new(*s).redacted()).collect();
        let automaton =
            AhoCorasick::builder().match_kind(MatchKind::LeftmostLongest).build(&patterns).ok();
        Redactor { automaton, hints }
    }

    /// A redactor that changes nothing (`--show-secrets`).
    pub fn disabled() -> Redactor {
        Redactor::default()
    }

    /// `text` with every secret replaced by its hint.
    pub fn redact<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let Some(ac) = &self.automaton else { return Cow::Borrowed(text) };
        if ac.find(text).is_none() {
            return Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for m in ac.find_iter(text) {
            out.push_str(&text[last..m.start()]);
            out.push_str(&self.hints[m.pattern().as_usize()]);
            last = m.end();
        }
        out.push_str(&text[last..]);
        Cow::Owned(out)
    }

    fn redact_in_place(&self, text: &mut String) {
        if let Cow::Owned(new) = self.redact(text) {
            *text = new;
        }
    }
}

/// Findings and summary ready to report: every displayed string already redacted.
#[derive(Debug)]
pub struct Redacted {
    pub(super) findings: Vec<Finding>,
    pub(super) summary: Summary,
    pub(super) redactor: Redactor,
}

impl Redacted {
    /// Redacts, in place, every string of the findings and summary that a report displays.
    pub fn new(mut findings: Vec<Finding>, mut summary: Summary, redactor: Redactor) -> Redacted {
        if redactor.automaton.is_some() {
            // Copy groups are shared by the findings of one secret: redact each group once.
            let mut groups: HashMap<String, Arc<CopyGroup>> = HashMap::new();
            for f in &mut findings {
                redact_finding(&redactor, f);
                if let Some(group) = &mut f.copies {
                    *group = groups
                        .entry(group.id.clone())
                        .or_insert_with(|| {
                            let mut copy = CopyGroup::clone(group);
                            for o in &mut copy.locations {
                                redactor.redact_in_place(&mut o.path);
                                if let Some(member) = &mut o.member {
                                    redactor.redact_in_place(member);
                                }
                            }
                            Arc::new(copy)
                        })
                        .clone();
                }
            }
            for s in &mut summary.skipped {
                redactor.redact_in_place(&mut s.path);
                if let Some(detail) = &mut s.detail {
                    redactor.redact_in_place(detail);
                }
            }
            for e in &mut summary.errors {
                redactor.redact_in_place(&mut e.path);
                redactor.redact_in_place(&mut e.message);
            }
            for c in &mut summary.shard_copies {
                if let Some(repo) = &mut c.repository {
                    redactor.redact_in_place(repo);
                }
                for o in &mut c.locations {
                    redactor.redact_in_place(&mut o.path);
                    if let Some(member) = &mut o.member {
                        redactor.redact_in_place(member);
                    }
                }
            }
        }
        Redacted { findings, summary, redactor }
    }

    /// The findings to report.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// The summary to report.
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// The redactor, for other strings shown next to the report (diagnostics on stderr).
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }
}

fn redact_finding(r: &Redactor, f: &mut Finding) {
    r.redact_in_place(&mut f.path);
    if let Some(repo) = &mut f.repository {
        r.redact_in_place(repo);
    }
    if let Some(member) = &mut f.member {
        r.redact_in_place(member);
    }
    if let Some(p) = &mut f.pairing {
        for id in p.tenant_ids.iter_mut().chain(p.client_ids.iter_mut()) {
            r.redact_in_place(id);
        }
        for value in [&mut p.authority, &mut p.resource, &mut p.endpoint].into_iter().flatten() {
            r.redact_in_place(value);
        }
    }
    if let Some(v) = &mut f.verification {
        r.redact_in_place(&mut v.detail);
    }
    if let Some(c) = &mut f.commit {
        r.redact_in_place(&mut c.author_name);
        r.redact_in_place(&mut c.author_email);
        r.redact_in_place(&mut c.summary);
        r.redact_in_place(&mut c.date);
    }
    // Names an administrator wrote in the portal: shown in full, but never with a secret.
    for o in f.owners.iter_mut().flatten() {
        r.redact_in_place(&mut o.app_name);
        r.redact_in_place(&mut o.credential_name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_occurrence_becomes_its_hint() {
        let a = Secret::new("abc8Q~secretsecret");
        let b = Secret::new("abc8Q~secretsecretLONGER");
        let r = Redactor::new([&a, &b]);
        assert_eq!(
            r.redact("x/abc8Q~secretsecret/y-abc8Q~secretsecretLONGER.env"),
            "x/abc…/y-abc….env"
        );
        assert!(matches!(r.redact("nothing here"), Cow::Borrowed(_)));
        assert_eq!(Redactor::disabled().redact("abc8Q~secretsecret"), "abc8Q~secretsecret");
    }
}
