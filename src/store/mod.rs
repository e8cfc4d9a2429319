//! The datastore (`--datastore FILE`): an SQLite file (through `rusqlite`, with SQLite built in)
//! that keeps, per repository, the git blobs already scanned and under which rule-set version,
//! every reported finding with the run that first and last saw it, each repository's latest
//! summary, triage statuses, and the refs and tips of each repository's last complete walk
//! (module `walked`). Re-scans walk only what that walk did not reach, or, without one, skip
//! the blobs recorded under the current rules; `azleak report` renders from it without
//! scanning; shards' stores merge into one (module `merge`).
//!
//! What is stored is what reports show: secrets (and every path or commit field holding one)
//! are redacted unless the scan was run with `--show-secrets`. Each repository's results are
//! written in one transaction, so a killed scan leaves the store as it was before that
//! repository, and the next run resumes with what was committed. Writers take SQLite's write
//! lock (`BEGIN IMMEDIATE`) and wait for it up to [`BUSY_TIMEOUT`]; past that they stop with
//! [`StoreError::Busy`].
//!
//! This module does not scan and does not format: it turns findings into rows and back.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::detect::Encoding;
use crate::finding::{
    ChecksumStatus, CommitInfo, Confidence, CopyGroup, Finding, OtherLocation, Owner, Pairing,
    Part, Secret, Verification,
};
use crate::report::Redactor;
use crate::scan::Summary;

mod merge;
mod walked;

pub use merge::Merged;
pub use walked::{FindingKey, Touch, Walked};

/// How long a writer waits for another process's write to end.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Version of the store's tables. 2: `findings` is a rowid table with a unique key (in
/// version 1 it was `WITHOUT ROWID`, where a row of a finding's size spills into an overflow
/// page: 1.9 KB per finding instead of about 1 KB). A version-1 store is migrated when opened.
const SCHEMA_VERSION: i64 = 2;

/// The `findings` table of schema version 2.
const FINDINGS_TABLE: &str = "CREATE TABLE IF NOT EXISTS findings(repo INTEGER NOT NULL,
    fingerprint TEXT NOT NULL, part TEXT NOT NULL, member TEXT NOT NULL, data TEXT NOT NULL,
    first_run INTEGER NOT NULL, last_run INTEGER NOT NULL,
    first_seen TEXT NOT NULL, last_seen TEXT NOT NULL,
    UNIQUE(repo, fingerprint, part, member));";

/// Errors of the datastore; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("datastore {path}: {message}")]
    Sqlite {
        /// The file.
        path: String,
        /// What SQLite said.
        message: String,
    },
    /// Another process holds the write lock for longer than [`BUSY_TIMEOUT`].
    #[error(
        "datastore {path} is being written by another azleak process (waited {secs} s); run again when it is done"
    )]
    Busy {
        /// The file.
        path: String,
        /// How long we waited.
        secs: u64,
    },
    /// The file was written by a newer azleak.
    #[error("datastore {path}: schema version {found}, this azleak reads version {SCHEMA_VERSION}")]
    Version {
        /// The file.
        path: String,
        /// Its version.
        found: i64,
    },
    /// `--new-since` is neither a run number nor a date.
    #[error(
        "--new-since {0:?}: expected a run number (azleak report --runs) or a date (2026-01-31)"
    )]
    Since(String),
}

/// A triage status of a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Not triaged yet (the default), or re-opened.
    Open,
    /// A real secret, accepted as a known risk.
    Accepted,
    /// Not a secret.
    FalsePositive,
    /// Rotated: no longer valid.
    Rotated,
}

impl Status {
    /// The name on the command line and in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Accepted => "accepted",
            Status::FalsePositive => "false-positive",
            Status::Rotated => "rotated",
        }
    }

    fn parse(s: &str) -> Status {
        match s {
            "accepted" => Status::Accepted,
            "false-positive" => Status::FalsePositive,
            "rotated" => Status::Rotated,
            _ => Status::Open,
        }
    }
}

/// Which findings a report shows.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Only findings with one of these statuses (empty: any).
    pub statuses: Vec<Status>,
    /// Only findings first seen after this run (`RUN`) or at or after this date (`DATE`).
    pub new_since: Option<String>,
}

/// A finding as stored: the finding's fields, its secret as shown (redacted unless the scan
/// showed secrets).
#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    rule_id: String,
    confidence: Confidence,
    path: String,
    member: Option<String>,
    part: Part,
    line: usize,
    column: usize,
    end_column: usize,
    secret: String,
    entropy: f32,
    checksum: ChecksumStatus,
    encoding: Option<Encoding>,
    fingerprint: String,
    line_hash: String,
    commit: Option<CommitInfo>,
    group: Option<(String, Vec<OtherLocation>)>,
    pairing: Option<Pairing>,
    verification: Option<Verification>,
    owners: Option<Vec<Owner>>,
    #[serde(default)]
    expires: Option<crate::finding::Expiry>,
}

/// One repository's scan, as [`Store::record`] records it: the blobs it read, its reported
/// findings and its summary, in run `run` under the rule-set version `ruleset`. `redactor`
/// hides every secret of the scan in stored paths and commit fields; the secret itself is
/// stored in full only if `show_secrets`.
pub struct Recorded<'a> {
    /// The run (from [`Store::begin_run`]).
    pub run: i64,
    /// The repository's name.
    pub repo: &'a str,
    /// The rule-set version that scanned it.
    pub ruleset: &'a str,
    /// Ids of the blobs read.
    pub blobs: &'a [[u8; 20]],
    /// The reported findings: new ones are first seen now, known ones seen again.
    pub findings: &'a [Finding],
    /// Its summary.
    pub summary: &'a Summary,
    /// Hides the scan's secrets in what is stored.
    pub redactor: &'a Redactor,
    /// Store secrets in full.
    pub show_secrets: bool,
}

/// An open datastore.
pub struct Store {
    conn: Connection,
    path: String,
    timeout: Duration,
}

impl Store {
    /// Opens (creating if needed) the datastore at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Store::open_with_timeout(path, BUSY_TIMEOUT)
    }

    /// [`Store::open`], waiting at most `timeout` for another writer.
    pub fn open_with_timeout(path: &Path, timeout: Duration) -> Result<Store, StoreError> {
        let name = path.display().to_string();
        let conn = Connection::open(path).map_err(|e| sqlite(&name, e, timeout))?;
        let store = Store { conn, path: name, timeout };
        store.conn.busy_timeout(timeout).map_err(|e| store.err(e))?;
        store.conn.pragma_update(None, "journal_mode", "WAL").map_err(|e| store.err(e))?;
        // A store already set up is only read here, so reports run beside a writing scan.
        let existing: Option<i64> = store
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'schema'", [], |r| r.get(0))
            .optional()
            .unwrap_or(None);
        match existing {
            Some(found) if found > SCHEMA_VERSION => {
                return Err(StoreError::Version { path: store.path.clone(), found });
            }
            Some(1) => {
                store.migrate_from_1()?;
                return Ok(store);
            }
            Some(_) => return Ok(store),
            None => {}
        }
        store.write(|tx| {
            tx.execute_batch(
                "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);
                 CREATE TABLE IF NOT EXISTS runs(id INTEGER PRIMARY KEY, started TEXT NOT NULL,
                     finished TEXT, ruleset TEXT NOT NULL);
                 CREATE TABLE IF NOT EXISTS repos(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL);
                 CREATE TABLE IF NOT EXISTS rulesets(id INTEGER PRIMARY KEY, hash TEXT UNIQUE NOT NULL);
                 CREATE TABLE IF NOT EXISTS blobs(repo INTEGER NOT NULL, blob BLOB NOT NULL,
                     ruleset INTEGER NOT NULL, PRIMARY KEY(repo, blob)) WITHOUT ROWID;
                 CREATE TABLE IF NOT EXISTS summaries(repo INTEGER PRIMARY KEY, run INTEGER NOT NULL,
                     summary TEXT NOT NULL);
                 CREATE TABLE IF NOT EXISTS triage(fingerprint TEXT PRIMARY KEY, status TEXT NOT NULL,
                     note TEXT, at TEXT NOT NULL);",
            )?;
            tx.execute_batch(FINDINGS_TABLE)?;
            let version: Option<i64> = tx
                .query_row("SELECT value FROM meta WHERE key = 'schema'", [], |r| r.get(0))
                .optional()?;
            if version.is_none() {
                tx.execute("INSERT INTO meta VALUES ('schema', ?1)", [SCHEMA_VERSION])?;
            }
            Ok(version)
        })
        .and_then(|version| match version {
            Some(found) if found > SCHEMA_VERSION => {
                Err(StoreError::Version { path: store.path.clone(), found })
            }
            _ => Ok(()),
        })?;
        Ok(store)
    }

    /// Moves a version-1 store's findings into the version-2 table, in one transaction (a
    /// process that opens the store at the same time waits, then finds version 2).
    fn migrate_from_1(&self) -> Result<(), StoreError> {
        self.write(|tx| {
            let version: i64 =
                tx.query_row("SELECT value FROM meta WHERE key = 'schema'", [], |r| r.get(0))?;
            if version != 1 {
                return Ok(());
            }
            tx.execute_batch("ALTER TABLE findings RENAME TO findings_v1;")?;
            tx.execute_batch(FINDINGS_TABLE)?;
            tx.execute_batch(
                "INSERT INTO findings SELECT * FROM findings_v1;
                 DROP TABLE findings_v1;",
            )?;
            tx.execute("UPDATE meta SET value = ?1 WHERE key = 'schema'", [SCHEMA_VERSION])?;
            Ok(())
        })
    }

    /// The file's name, as errors give it.
    pub fn path(&self) -> &str {
        &self.path
    }

    fn err(&self, e: rusqlite::Error) -> StoreError {
        sqlite(&self.path, e, self.timeout)
    }

    /// Runs `f` in a write transaction (`BEGIN IMMEDIATE`: the write lock is taken first, so
    /// two writers serialise instead of failing half-way).
    fn write<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, rusqlite::Error>,
    ) -> Result<T, StoreError> {
        self.conn.execute_batch("BEGIN IMMEDIATE").map_err(|e| self.err(e))?;
        match f(&self.conn) {
            Ok(value) => {
                self.conn.execute_batch("COMMIT").map_err(|e| self.err(e))?;
                Ok(value)
            }
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(self.err(e))
            }
        }
    }

    /// Starts a run under the rule-set version `ruleset`; returns its number.
    pub fn begin_run(&self, ruleset: &str) -> Result<i64, StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO runs(started, ruleset) VALUES (?1, ?2)",
                params![now(), ruleset],
            )?;
            Ok(tx.last_insert_rowid())
        })
    }

    /// Marks a run finished.
    pub fn finish_run(&self, run: i64) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute("UPDATE runs SET finished = ?1 WHERE id = ?2", params![now(), run])
        })
        .map(drop)
    }

    /// The blobs of `repo` already scanned under `ruleset`.
    pub fn scanned_blobs(
        &self,
        repo: &str,
        ruleset: &str,
    ) -> Result<HashSet<[u8; 20]>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT b.blob FROM blobs b JOIN repos r ON r.id = b.repo
                 JOIN rulesets s ON s.id = b.ruleset WHERE r.name = ?1 AND s.hash = ?2",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![repo, ruleset], |r| r.get::<_, Vec<u8>>(0))
            .map_err(|e| self.err(e))?;
        let mut set = HashSet::new();
        for row in rows {
            if let Ok(id) = <[u8; 20]>::try_from(row.map_err(|e| self.err(e))?.as_slice()) {
                set.insert(id);
            }
        }
        Ok(set)
    }

    /// The stored findings that `query` selects, each naming its repository, in report order,
    /// and the latest summary of each repository, added up.
    pub fn report(&self, query: &Query) -> Result<(Vec<Finding>, Summary), StoreError> {
        let since = match &query.new_since {
            None => None,
            Some(text) => Some(self.since(text)?),
        };
        let mut stmt = self
            .conn
            .prepare(
                "SELECT r.name, f.data, f.first_run, f.first_seen, t.status, f.fingerprint
                 FROM findings f JOIN repos r ON r.id = f.repo
                 LEFT JOIN triage t ON t.fingerprint = f.fingerprint",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut groups: HashMap<(String, String), Arc<CopyGroup>> = HashMap::new();
        let mut findings = Vec::new();
        for row in rows {
            let (repo, data, first_run, first_seen, status) = row.map_err(|e| self.err(e))?;
            let status = status.as_deref().map_or(Status::Open, Status::parse);
            if !query.statuses.is_empty() && !query.statuses.contains(&status) {
                continue;
            }
            match &since {
                Some(Since::Run(n)) if first_run <= *n => continue,
                Some(Since::Date(d)) if first_seen.as_str() < d.as_str() => continue,
                _ => {}
            }
            let stored: Stored = serde_json::from_str(&data).map_err(|e| StoreError::Sqlite {
                path: self.path.clone(),
                message: format!("a stored finding is damaged: {e}"),
            })?;
            findings.push(from_stored(stored, repo, &mut groups));
        }
        crate::finding::sort_findings(&mut findings);
        let mut summary = Summary { repositories: Some(0), ..Summary::default() };
        let mut stmt = self
            .conn
            .prepare("SELECT r.name, s.summary FROM summaries s JOIN repos r ON r.id = s.repo")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(|e| self.err(e))?;
        for row in rows {
            let (repo, text) = row.map_err(|e| self.err(e))?;
            if let Ok(s) = serde_json::from_str::<Summary>(&text) {
                crate::org::add_summary(&mut summary, crate::org::qualified_summary(&repo, s));
            }
        }
        summary.sort();
        Ok((findings, summary))
    }

    /// Sets the triage status (and note) of findings by fingerprint, in every repository;
    /// returns how many of the fingerprints are in the store.
    pub fn triage(
        &self,
        fingerprints: &[String],
        status: Status,
        note: Option<&str>,
    ) -> Result<usize, StoreError> {
        let at = now();
        self.write(|tx| {
            let mut known = 0;
            for fp in fingerprints {
                let n: i64 = tx.query_row(
                    "SELECT COUNT(*) FROM findings WHERE fingerprint = ?1",
                    [fp],
                    |r| r.get(0),
                )?;
                known += usize::from(n > 0);
                tx.execute(
                    "INSERT INTO triage VALUES (?1, ?2, ?3, ?4) ON CONFLICT(fingerprint)
                     DO UPDATE SET status = excluded.status, note = excluded.note, at = excluded.at",
                    params![fp, status.as_str(), note, at],
                )?;
            }
            Ok(known)
        })
    }

    fn since(&self, text: &str) -> Result<Since, StoreError> {
        if let Ok(run) = text.parse::<i64>() {
            return Ok(Since::Run(run));
        }
        let date = text.trim();
        let ok = date.len() >= 10
            && date.as_bytes()[..10].iter().enumerate().all(|(i, b)| match i {
                4 | 7 => *b == b'-',
                _ => b.is_ascii_digit(),
            });
        if ok {
            Ok(Since::Date(date.to_string()))
        } else {
            Err(StoreError::Since(text.to_string()))
        }
    }
}

/// A finding's row: (fingerprint, part, member, stored data).
type Row = (String, String, String, String);

/// The rows of `findings`, as [`Store::record`] stores them.
fn rows(findings: &[Finding], redactor: &Redactor, show_secrets: bool) -> Vec<Row> {
    findings
        .iter()
        .map(|f| {
            let stored = to_stored(f, redactor, show_secrets);
            let data = serde_json::to_string(&stored).unwrap_or_default();
            let member = stored.member.clone().unwrap_or_default();
            (stored.fingerprint, f.part.as_str().to_string(), member, data)
        })
        .collect()
}

/// Writes one repository's scan inside the transaction `tx`; returns the ids of the
/// repository and of the rule-set version.
#[allow(clippy::too_many_arguments)]
fn record_rows(
    tx: &Connection,
    scan: &Recorded<'_>,
    rows: &[Row],
    at: &str,
) -> Result<(i64, i64), rusqlite::Error> {
    let Recorded { run, repo, ruleset, blobs, summary, .. } = *scan;
    let summary = serde_json::to_string(summary).unwrap_or_default();
    tx.execute("INSERT OR IGNORE INTO repos(name) VALUES (?1)", [repo])?;
    let repo_id: i64 =
        tx.query_row("SELECT id FROM repos WHERE name = ?1", [repo], |r| r.get(0))?;
    tx.execute("INSERT OR IGNORE INTO rulesets(hash) VALUES (?1)", [ruleset])?;
    let rules_id: i64 =
        tx.query_row("SELECT id FROM rulesets WHERE hash = ?1", [ruleset], |r| r.get(0))?;
    {
        let mut put = tx.prepare_cached(
            "INSERT INTO blobs(repo, blob, ruleset) VALUES (?1, ?2, ?3)
             ON CONFLICT(repo, blob) DO UPDATE SET ruleset = excluded.ruleset",
        )?;
        for blob in blobs {
            put.execute(params![repo_id, &blob[..], rules_id])?;
        }
        let mut put = tx.prepare_cached(
            // A finding seen again keeps where it was first seen (its introducing commit:
            // an incremental run sees only a later copy), and takes this run's enrichment:
            // its owners and verification (`json_patch` removes the fields this run lacks).
            "INSERT INTO findings VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?7)
             ON CONFLICT(repo, fingerprint, part, member)
             DO UPDATE SET last_run = excluded.last_run, last_seen = excluded.last_seen,
                 data = json_patch(findings.data, json_object(
                     'owners', json_extract(excluded.data, '$.owners'),
                     'verification', json_extract(excluded.data, '$.verification')))",
        )?;
        for (fingerprint, part, member, data) in rows {
            put.execute(params![repo_id, fingerprint, part, member, data, run, at])?;
        }
    }
    tx.execute(
        "INSERT INTO summaries VALUES (?1, ?2, ?3)
         ON CONFLICT(repo) DO UPDATE SET run = excluded.run, summary = excluded.summary",
        params![repo_id, run, summary],
    )?;
    Ok((repo_id, rules_id))
}

enum Since {
    Run(i64),
    Date(String),
}

fn sqlite(path: &str, e: rusqlite::Error, waited: Duration) -> StoreError {
    if let rusqlite::Error::SqliteFailure(code, _) = &e {
        if matches!(
            code.code,
            rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
        ) {
            return StoreError::Busy { path: path.to_string(), secs: waited.as_secs() };
        }
    }
    StoreError::Sqlite { path: path.to_string(), message: e.to_string() }
}

/// Now, RFC 3339 UTC (sorts as text).
fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn to_stored(f: &Finding, r: &Redactor, show: bool) -> Stored {
    let red = |s: &str| r.redact(s).into_owned();
    Stored {
        rule_id: f.rule_id.clone(),
        confidence: f.confidence,
        path: red(&f.path),
        member: f.member.as_deref().map(red),
        part: f.part,
        line: f.line,
        column: f.column,
        end_column: f.end_column,
        secret: f.secret.display(show),
        entropy: f.entropy,
        checksum: f.checksum,
        encoding: f.encoding,
        fingerprint: f.fingerprint.clone(),
        line_hash: f.line_hash.clone(),
        commit: f.commit.as_ref().map(|c| CommitInfo {
            commit: c.commit.clone(),
            author_name: red(&c.author_name),
            author_email: red(&c.author_email),
            date: red(&c.date),
            summary: red(&c.summary),
        }),
        group: f.copies.as_ref().map(|g| {
            let locations = g
                .locations
                .iter()
                .map(|o| OtherLocation { path: red(&o.path), ..o.clone() })
                .collect();
            (g.id.clone(), locations)
        }),
        pairing: f.pairing.clone(),
        verification: f.verification.clone(),
        owners: f.owners.clone(),
        expires: f.expires.clone(),
    }
}

fn from_stored(
    s: Stored,
    repo: String,
    groups: &mut HashMap<(String, String), Arc<CopyGroup>>,
) -> Finding {
    let copies = s.group.map(|(id, locations)| {
        groups
            .entry((repo.clone(), id.clone()))
            .or_insert_with(|| Arc::new(CopyGroup { id, locations }))
            .clone()
    });
    Finding {
        rule_id: s.rule_id,
        confidence: s.confidence,
        path: s.path,
        member: s.member,
        part: s.part,
        line: s.line,
        column: s.column,
        end_column: s.end_column,
        secret: Secret::new(s.secret),
        entropy: s.entropy,
        checksum: s.checksum,
        encoding: s.encoding,
        fingerprint: s.fingerprint,
        line_hash: s.line_hash,
        commit: s.commit,
        copies,
        allowed_inline: false,
        pairing: s.pairing,
        verification: s.verification,
        owners: s.owners,
        expires: s.expires,
        repository: Some(repo),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_writer_waits_then_refuses_with_a_clear_message_and_the_store_stays_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("azleak.db");
        let first = Store::open(&path).unwrap();
        let run = first.begin_run("v").unwrap();
        // The first process holds the write lock (a scan in the middle of a repository).
        first.conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        first.conn.execute("INSERT INTO repos(name) VALUES ('half-written')", []).unwrap();
        let second = Store::open_with_timeout(&path, Duration::ZERO).unwrap();
        let err = second.begin_run("v").unwrap_err();
        assert!(matches!(err, StoreError::Busy { .. }), "{err}");
        assert!(err.to_string().contains("being written by another azleak process"), "{err}");
        // The first process is killed before it commits: nothing of that repository remains.
        drop(first);
        let again = Store::open(&path).unwrap();
        let repos: i64 =
            again.conn.query_row("SELECT COUNT(*) FROM repos", [], |r| r.get(0)).unwrap();
        assert_eq!(repos, 0);
        assert_eq!(again.begin_run("v").unwrap(), run + 1);
    }

    fn finding(path: &str) -> Finding {
        Finding { fingerprint: format!("fp-{path}"), ..crate::finding::sample(path, "riG…") }
    }

    #[test]
    fn a_version_1_store_is_migrated_when_opened_and_keeps_its_findings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("azleak.db");
        let store = Store::open(&path).unwrap();
        let run = store.begin_run("v").unwrap();
        let (summary, redactor) = (Summary::default(), Redactor::disabled());
        let findings = [finding("a.env"), finding("b.env")];
        let scan = Recorded {
            run,
            repo: "r",
            ruleset: "v",
            blobs: &[],
            findings: &findings,
            summary: &summary,
            redactor: &redactor,
            show_secrets: false,
        };
        store.record(&scan, None, &Touch::Nothing).unwrap();
        store.finish_run(run).unwrap();
        let before = store.report(&Query::default()).unwrap().0;
        assert_eq!(before.len(), 2);
        // Written by an azleak of schema version 1: findings in a WITHOUT ROWID table.
        store
            .conn
            .execute_batch(
                "ALTER TABLE findings RENAME TO f2;
                 CREATE TABLE findings(repo INTEGER NOT NULL, fingerprint TEXT NOT NULL,
                     part TEXT NOT NULL, member TEXT NOT NULL, data TEXT NOT NULL,
                     first_run INTEGER NOT NULL, last_run INTEGER NOT NULL,
                     first_seen TEXT NOT NULL, last_seen TEXT NOT NULL,
                     PRIMARY KEY(repo, fingerprint, part, member)) WITHOUT ROWID;
                 INSERT INTO findings SELECT * FROM f2; DROP TABLE f2;
                 UPDATE meta SET value = 1 WHERE key = 'schema';",
            )
            .unwrap();
        drop(store);
        let store = Store::open(&path).unwrap();
        let (version, sql): (i64, String) = store
            .conn
            .query_row(
                "SELECT (SELECT value FROM meta WHERE key = 'schema'), sql FROM sqlite_master
                 WHERE name = 'findings'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        assert!(!sql.contains("WITHOUT ROWID"), "{sql}");
        let after = store.report(&Query::default()).unwrap().0;
        let key = |f: &Finding| (f.path.clone(), f.fingerprint.clone(), f.line);
        assert_eq!(
            after.iter().map(key).collect::<Vec<_>>(),
            before.iter().map(key).collect::<Vec<_>>()
        );
        // Seen again in the migrated table: one row each still.
        let next = store.begin_run("v").unwrap();
        let scan = Recorded { run: next, ..scan };
        store.record(&scan, None, &Touch::Nothing).unwrap();
        assert_eq!(store.report(&Query::default()).unwrap().0.len(), 2);
    }
}
