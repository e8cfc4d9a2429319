//! Merging datastores (`azleak merge --datastore OUT IN...`): the shards of a run (`--shard K/N
//! --datastore shard-K.db`) merged into one store, as one process scanning every shard's
//! repositories would have written it.
//!
//! Each input run becomes a run of the output (a run already there, the same start time and
//! rule-set version, is the same run: merging the same store again adds nothing); repositories
//! and rule-set versions are matched by name and hash. Per repository, blob ids are united,
//! a finding keeps its earliest first sighting (and that sighting's data, with its introducing
//! commit) and its latest last sighting, the summary and the last complete walk are those of
//! the later run, and a triage status is the one set last. All of it in one transaction.

use std::path::Path;

use rusqlite::params;

use super::{SCHEMA_VERSION, Store, StoreError};

/// What a merge brought in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Merged {
    /// Runs of the input not in the output before.
    pub runs: usize,
    /// Repositories of the input.
    pub repositories: usize,
    /// Findings of the input.
    pub findings: usize,
}

impl Store {
    /// Merges the datastore at `input` into this one (see the module documentation).
    pub fn merge_from(&self, input: &Path) -> Result<Merged, StoreError> {
        let name = input.display().to_string();
        let bad = |message: String| StoreError::Sqlite { path: name.clone(), message };
        if !input.is_file() {
            return Err(bad("no such file".into()));
        }
        self.conn
            .execute("ATTACH DATABASE ?1 AS src", [input.to_string_lossy()])
            .map_err(|e| bad(e.to_string()))?;
        let result = self.merge_attached(&name);
        let _ = self.conn.execute_batch("DETACH DATABASE src");
        result
    }

    fn merge_attached(&self, name: &str) -> Result<Merged, StoreError> {
        let bad = |message: String| StoreError::Sqlite { path: name.to_string(), message };
        let tables: Vec<String> = {
            let mut stmt = self
                .conn
                .prepare("SELECT name FROM src.sqlite_master WHERE type = 'table'")
                .map_err(|e| bad(e.to_string()))?;
            let rows = stmt.query_map([], |r| r.get(0)).map_err(|e| bad(e.to_string()))?;
            rows.collect::<Result<_, _>>().map_err(|e| bad(e.to_string()))?
        };
        for table in
            ["meta", "runs", "repos", "rulesets", "blobs", "findings", "summaries", "triage"]
        {
            if !tables.iter().any(|t| t == table) {
                return Err(bad(format!("not an azleak datastore (no {table} table)")));
            }
        }
        let version: i64 = self
            .conn
            .query_row("SELECT value FROM src.meta WHERE key = 'schema'", [], |r| r.get(0))
            .map_err(|e| bad(format!("not an azleak datastore ({e})")))?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::Version { path: name.to_string(), found: version });
        }
        let has_walks = tables.iter().any(|t| t == "walks");
        self.write(|tx| {
            tx.execute_batch(
                "CREATE TEMP TABLE IF NOT EXISTS run_map(src INTEGER PRIMARY KEY, dst INTEGER);
                 DELETE FROM temp.run_map;",
            )?;
            let runs: Vec<(i64, String, Option<String>, String)> = {
                let mut stmt = tx.prepare(
                    "SELECT id, started, finished, ruleset FROM src.runs ORDER BY started, id",
                )?;
                let rows =
                    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
                rows.collect::<Result<_, _>>()?
            };
            let mut merged = Merged::default();
            for (id, started, finished, ruleset) in runs {
                let known: Option<i64> = tx
                    .query_row(
                        "SELECT id FROM runs WHERE started = ?1 AND ruleset = ?2",
                        params![started, ruleset],
                        |r| r.get(0),
                    )
                    .ok();
                let dst = match known {
                    Some(dst) => {
                        tx.execute(
                            "UPDATE runs SET finished = coalesce(finished, ?1) WHERE id = ?2",
                            params![finished, dst],
                        )?;
                        dst
                    }
                    None => {
                        tx.execute(
                            "INSERT INTO runs(started, finished, ruleset) VALUES (?1, ?2, ?3)",
                            params![started, finished, ruleset],
                        )?;
                        merged.runs += 1;
                        tx.last_insert_rowid()
                    }
                };
                tx.execute("INSERT INTO temp.run_map VALUES (?1, ?2)", params![id, dst])?;
            }
            tx.execute_batch(
                "INSERT OR IGNORE INTO repos(name) SELECT name FROM src.repos;
                 INSERT OR IGNORE INTO rulesets(hash) SELECT hash FROM src.rulesets;
                 INSERT INTO blobs(repo, blob, ruleset)
                     SELECT dr.id, b.blob, ds.id FROM src.blobs b
                     JOIN src.repos sr ON sr.id = b.repo JOIN main.repos dr ON dr.name = sr.name
                     JOIN src.rulesets ss ON ss.id = b.ruleset
                     JOIN main.rulesets ds ON ds.hash = ss.hash
                     WHERE true ON CONFLICT(repo, blob) DO NOTHING;
                 INSERT INTO findings
                     SELECT dr.id, f.fingerprint, f.part, f.member, f.data, m1.dst, m2.dst,
                         f.first_seen, f.last_seen FROM src.findings f
                     JOIN src.repos sr ON sr.id = f.repo JOIN main.repos dr ON dr.name = sr.name
                     JOIN temp.run_map m1 ON m1.src = f.first_run
                     JOIN temp.run_map m2 ON m2.src = f.last_run
                     WHERE true ON CONFLICT(repo, fingerprint, part, member) DO UPDATE SET
                         data = CASE WHEN excluded.first_run < findings.first_run
                             THEN excluded.data ELSE findings.data END,
                         first_run = min(findings.first_run, excluded.first_run),
                         first_seen = min(findings.first_seen, excluded.first_seen),
                         last_run = max(findings.last_run, excluded.last_run),
                         last_seen = max(findings.last_seen, excluded.last_seen);
                 INSERT INTO summaries
                     SELECT dr.id, m.dst, s.summary FROM src.summaries s
                     JOIN src.repos sr ON sr.id = s.repo JOIN main.repos dr ON dr.name = sr.name
                     JOIN temp.run_map m ON m.src = s.run
                     WHERE true ON CONFLICT(repo) DO UPDATE SET
                         run = excluded.run, summary = excluded.summary
                     WHERE excluded.run >= summaries.run;
                 INSERT INTO triage SELECT fingerprint, status, note, at FROM src.triage
                     WHERE true ON CONFLICT(fingerprint) DO UPDATE SET
                         status = excluded.status, note = excluded.note, at = excluded.at
                     WHERE excluded.at > triage.at;",
            )?;
            if has_walks {
                tx.execute_batch(super::walked::TABLE)?;
                tx.execute_batch(
                    "INSERT INTO main.walks
                         SELECT dr.id, w.ruleset, m.dst, w.refs, w.tips FROM src.walks w
                         JOIN src.repos sr ON sr.id = w.repo
                         JOIN main.repos dr ON dr.name = sr.name
                         JOIN temp.run_map m ON m.src = w.run
                         WHERE true ON CONFLICT(repo) DO UPDATE SET ruleset = excluded.ruleset,
                             run = excluded.run, refs = excluded.refs, tips = excluded.tips
                         WHERE excluded.run >= walks.run;",
                )?;
            }
            merged.repositories = tx
                .query_row("SELECT COUNT(*) FROM src.repos", [], |r| r.get::<_, i64>(0))?
                as usize;
            merged.findings = tx
                .query_row("SELECT COUNT(*) FROM src.findings", [], |r| r.get::<_, i64>(0))?
                as usize;
            Ok(merged)
        })
    }
}
