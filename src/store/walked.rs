//! What incremental re-scans keep besides blob ids: per repository, the refs and the ref tips
//! (commit ids) of its last *complete* walk (no object or ref error), under the rule-set
//! version that walked them. The next run under the same version walks only the commits those
//! tips do not reach, or nothing when the refs are unchanged. Only the latest walk of each
//! repository is kept: a walk under another version, or a run that could not complete its walk,
//! replaces or removes it, so a recorded walk always describes the findings last seen in its run.

use rusqlite::{Connection, OptionalExtension, params};

use super::{Recorded, Store, StoreError, now, record_rows, rows};

/// The last complete walk of a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Walked {
    /// The run that walked.
    pub run: i64,
    /// A digest of the refs as they were (names and targets, HEAD included).
    pub refs: String,
    /// The commits the refs led to (raw SHA-1), sorted.
    pub tips: Vec<[u8; 20]>,
}

/// Which findings recorded before a run are still present after it, though the run did not
/// read them again (they are in history its walk left out): their last-seen run becomes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Touch {
    /// None.
    Nothing,
    /// Every finding of the repository last seen in this run (the history of that run's tips
    /// is all still there).
    AllOfRun(i64),
    /// These findings, by (fingerprint, part, member).
    Keys(Vec<FindingKey>),
}

/// A stored finding's key in its repository: (fingerprint, part, member or "").
pub type FindingKey = (String, String, String);

pub(super) const TABLE: &str = "CREATE TABLE IF NOT EXISTS walks(repo INTEGER PRIMARY KEY,
    ruleset TEXT NOT NULL, run INTEGER NOT NULL, refs TEXT NOT NULL, tips BLOB NOT NULL)";

impl Store {
    /// The last complete walk of `repo`, if it ran under `ruleset`.
    pub fn walked(&self, repo: &str, ruleset: &str) -> Result<Option<Walked>, StoreError> {
        if !self.has_walks()? {
            return Ok(None);
        }
        let row = self
            .conn
            .query_row(
                "SELECT w.run, w.refs, w.tips FROM walks w JOIN repos r ON r.id = w.repo
                 WHERE r.name = ?1 AND w.ruleset = ?2",
                params![repo, ruleset],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, Vec<u8>>(2)?)),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        Ok(row.map(|(run, refs, bytes)| Walked {
            run,
            refs,
            tips: bytes.chunks_exact(20).filter_map(|c| <[u8; 20]>::try_from(c).ok()).collect(),
        }))
    }

    /// The findings of `repo` last seen in run `run`, each with the id of the commit that
    /// introduced it (when it has one).
    pub fn last_seen_in(
        &self,
        repo: &str,
        run: i64,
    ) -> Result<Vec<(FindingKey, Option<String>)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT f.fingerprint, f.part, f.member, f.data FROM findings f
                 JOIN repos r ON r.id = f.repo WHERE r.name = ?1 AND f.last_run = ?2",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![repo, run], |r| {
                Ok((
                    (r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?),
                    r.get::<_, String>(3)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (key, data) = row.map_err(|e| self.err(e))?;
            let commit = serde_json::from_str::<serde_json::Value>(&data)
                .ok()
                .and_then(|v| v["commit"]["commit"].as_str().map(str::to_string));
            out.push((key, commit));
        }
        Ok(out)
    }

    /// Records one repository's scan in one transaction: its blobs, findings and summary
    /// ([`Recorded`]), the findings of `touch` marked seen in its run, and `walk` (refs digest
    /// and tips) recorded as the repository's last complete walk under its rule-set version,
    /// or, when `walk` is `None` (the walk met errors), any recorded walk removed. A killed run
    /// therefore records neither its findings nor its tips.
    pub fn record(
        &self,
        scan: &Recorded<'_>,
        walk: Option<(&str, &[[u8; 20]])>,
        touch: &Touch,
    ) -> Result<(), StoreError> {
        let rows = rows(scan.findings, scan.redactor, scan.show_secrets);
        let at = now();
        let (run, ruleset) = (scan.run, scan.ruleset);
        self.write(|tx| {
            let (repo_id, _) = record_rows(tx, scan, &rows, &at)?;
            touch_findings(tx, repo_id, run, &at, touch)?;
            tx.execute_batch(TABLE)?;
            match walk {
                Some((refs, tips)) => {
                    let bytes: Vec<u8> = tips.iter().flatten().copied().collect();
                    tx.execute(
                        "INSERT INTO walks VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(repo) DO UPDATE
                         SET ruleset = excluded.ruleset, run = excluded.run,
                             refs = excluded.refs, tips = excluded.tips",
                        params![repo_id, ruleset, run, refs, bytes],
                    )?;
                }
                None => {
                    tx.execute("DELETE FROM walks WHERE repo = ?1", [repo_id])?;
                }
            }
            Ok(())
        })
    }

    fn has_walks(&self) -> Result<bool, StoreError> {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'walks'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n > 0)
            .map_err(|e| self.err(e))
    }
}

fn touch_findings(
    tx: &Connection,
    repo: i64,
    run: i64,
    at: &str,
    touch: &Touch,
) -> Result<(), rusqlite::Error> {
    match touch {
        Touch::Nothing => {}
        Touch::AllOfRun(previous) => {
            tx.execute(
                "UPDATE findings SET last_run = ?1, last_seen = ?2 WHERE repo = ?3 AND last_run = ?4",
                params![run, at, repo, previous],
            )?;
        }
        Touch::Keys(keys) => {
            let mut put = tx.prepare_cached(
                "UPDATE findings SET last_run = ?1, last_seen = ?2
                 WHERE repo = ?3 AND fingerprint = ?4 AND part = ?5 AND member = ?6",
            )?;
            for (fingerprint, part, member) in keys {
                put.execute(params![run, at, repo, fingerprint, part, member])?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Redactor;
    use crate::scan::Summary;

    fn recorded<'a>(
        run: i64,
        blobs: &'a [[u8; 20]],
        summary: &'a Summary,
        redactor: &'a Redactor,
    ) -> Recorded<'a> {
        Recorded {
            run,
            repo: "r",
            ruleset: "v",
            blobs,
            findings: &[],
            summary,
            redactor,
            show_secrets: false,
        }
    }

    #[test]
    fn a_run_killed_while_recording_leaves_neither_its_findings_nor_its_tips() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("azleak.db")).unwrap();
        let redactor = Redactor::disabled();
        let summary = Summary::default();
        let run = store.begin_run("v").unwrap();
        let tips = [[1u8; 20]];
        let walk = Some(("refs-1", &tips[..]));
        store.record(&recorded(run, &[], &summary, &redactor), walk, &Touch::Nothing).unwrap();
        let first = Walked { run, refs: "refs-1".into(), tips: tips.to_vec() };
        assert_eq!(store.walked("r", "v").unwrap(), Some(first.clone()));
        assert_eq!(store.walked("r", "other rules").unwrap(), None);
        // The next run dies while writing its walk: its blobs and summary go too.
        let next = store.begin_run("v").unwrap();
        store
            .conn
            .execute_batch(
                "CREATE TEMP TRIGGER killed BEFORE UPDATE ON walks BEGIN
                 SELECT RAISE(ABORT, 'killed'); END",
            )
            .unwrap();
        let new_tips = [[2u8; 20]];
        let err = store
            .record(
                &recorded(next, &[[3u8; 20]], &summary, &redactor),
                Some(("refs-2", &new_tips[..])),
                &Touch::AllOfRun(run),
            )
            .unwrap_err();
        assert!(err.to_string().contains("killed"), "{err}");
        assert_eq!(store.walked("r", "v").unwrap(), Some(first));
        assert!(store.scanned_blobs("r", "v").unwrap().is_empty());
        let summary_run: i64 =
            store.conn.query_row("SELECT run FROM summaries", [], |r| r.get(0)).unwrap();
        assert_eq!(summary_run, run);
    }
}
