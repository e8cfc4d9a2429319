//! History scans: every commit reachable from all refs (or from a range), each unique blob read
//! and scanned once, each secret attributed to the commit that introduced it at each path.
//!
//! Three passes, so memory holds ids and paths, never contents:
//! 1. [`walk`](super::walk) the commits and record the first commit of each (blob, path) pair.
//! 2. Read and scan the unique blobs in parallel, one at a time per thread, oldest first (so
//!    neighbouring blobs share delta bases in the pack).
//! 3. Group matches by (rule, secret, path): the earliest commit among the pairs holding that
//!    secret there introduced it. The findings of one (rule, secret) at several paths share one
//!    [`CopyGroup`] listing each copy once, so a secret copied to 1,500 files costs 1,500
//!    locations, not 1,500².
//!
//! Alongside the blobs, the message and people of every walked commit (and, in whole-history
//! scans, every annotated tag) are scanned once (module `metadata`), and so is the name of every
//! path of the history (a file, directory, link or submodule named by a secret), once per path,
//! attributed to the first commit that has the path.
//!
//! In a range, pairs and paths that came from outside it are not scanned, and a secret is
//! reported only if no parent of its introducing commit already had it at that path.
//!
//! Commit fields are reported as written: the report-level redactor
//! ([`crate::report::Redactor`]) hides every secret the scan found wherever it is displayed.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use git2::{Oid, Repository};
use rayon::prelude::*;

use super::metadata::{Metadata, scan_metadata};
use super::pack::{Packed, Packs};
use super::places::{Place, Places};
use super::walk::{Id, OUTSIDE, Walk, walk_commits};
use super::{Earlier, GitError, Loaded, Progress, Source, commit_info, load_blob, open, short};
use crate::finding::{CommitInfo, CopyGroup, Finding, OtherLocation};
use crate::scan::ScanOutput;
use crate::source::{Blob, BlobScan, Origin, ScanError, Scanned, SkipReason, Skipped, name_start};

/// How to scan a history.
#[derive(Debug, Clone, Default)]
pub struct HistoryOptions {
    /// Only commits in this range (`A..B`: reachable from B, not from A; or a single revision:
    /// its whole history). `None`: every ref, HEAD and the stash.
    pub range: Option<String>,
    /// Blobs larger than this many bytes are skipped.
    pub max_file_size: u64,
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// Blob ids (raw SHA-1) not to read: already scanned under the current rules (incremental
    /// re-scans with a datastore). Their (blob, path) pairs are still walked. Empty: every blob.
    pub skip_blobs: Arc<std::collections::HashSet<[u8; 20]>>,
    /// Commits (raw SHA-1) whose history is not walked: the ref tips of an earlier complete
    /// scan (incremental re-scans). Only commits reachable from the refs and not from these
    /// are walked, and, as at the start of a range, what they inherit from the hidden commits
    /// (pairs, paths, secrets a parent already had at a path) is not theirs. Ignored with
    /// `range`. Empty: the whole history.
    pub hide: Vec<[u8; 20]>,
    /// Scan only the paths of this part (`--shard-by path`): a blob is read if one of its paths
    /// is in the part, and its secrets are reported at those paths only. Every part walks the
    /// whole history; the blobs' counts, skips and errors go to the part of the path that names
    /// the blob (its first), and what belongs to no path (metadata findings, the walk's errors,
    /// the number of commits) to the first part. Each finding carries a copy group, even alone
    /// in it, so the filter stage can list every copy for `azleak merge` to regroup. `None`:
    /// every path.
    pub part: Option<crate::source::PathShard>,
}

/// What reading one unique blob gave.
enum BlobResult {
    /// Read and handed to the scan stage.
    Scanned(Scanned),
    Skipped(SkipReason),
    Error(String),
}

/// (rule, secret, path, archive member) → (commit index, the match in the blob where that
/// commit has it).
type Introduced = BTreeMap<(String, String, u32, Option<String>), (u32, Finding)>;

/// Scans the history of the repository at `repo_path`. Fails only if the repository, its refs or
/// the range cannot be read; unreadable objects are listed in the summary's errors.
pub fn scan_history<B: BlobScan>(
    scanner: &B,
    repo_path: &Path,
    options: &HistoryOptions,
    progress: &dyn Progress,
) -> Result<ScanOutput, GitError> {
    let started = Instant::now();
    let opened = open(repo_path)?;
    let repo = &opened.repo;
    let mut walk = Walk::default();
    walk.errors = opened.source.guard.corrupt.clone();
    let hide: Vec<Oid> = options.hide.iter().filter_map(|id| Oid::from_bytes(id).ok()).collect();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(options.threads).build().ok();
    let pool = pool.as_ref();
    let range = options.range.as_deref();
    walk_commits(repo, &opened.source, repo_path, range, &hide, &mut walk, progress, pool)?;

    // Which paths this part scans (every path without a part).
    let in_part: Vec<bool> = match options.part {
        Some(part) => walk.paths.iter().map(|p| part.holds(p.as_bytes())).collect(),
        None => vec![true; walk.paths.len()],
    };
    let first_part = options.part.is_none_or(|p| p.is_first());
    // Unique blobs, with every (path, commit) where they first appeared, oldest first: those
    // with a path in this part.
    let mut blobs: Vec<(Id, Vec<(u32, u32)>)> = std::mem::take(&mut walk.first_seen)
        .into_iter()
        .filter_map(|(blob, mut occ)| {
            occ.retain(|&(_, commit)| commit != OUTSIDE);
            occ.sort_by_key(|&(path, commit)| (commit, path));
            let skip = options.skip_blobs.contains(&blob);
            let wanted = occ.iter().any(|&(path, _)| in_part[path as usize]);
            (wanted && !skip).then_some((blob, occ))
        })
        .collect();
    blobs.sort_by_key(|(blob, occ)| (occ[0].1, *blob));
    // Read in pack order (libgit2's pack windows then move forward), each blob sized by its
    // pack entry; blobs in no pack index after them, oldest first.
    let wanted: Vec<Id> = blobs.iter().map(|(blob, _)| *blob).collect();
    let (packs, places) = Places::locate(&repo.commondir().join("objects"), &wanted);
    drop(wanted);
    let blobs: Vec<(Oid, Vec<(u32, u32)>)> = blobs
        .into_iter()
        .map(|(blob, occ)| (Oid::from_bytes(&blob).expect("20 bytes make an id"), occ))
        .collect();
    progress.blobs(blobs.len() as u64);
    let mut order: Vec<u32> = (0..blobs.len() as u32).collect();
    order.sort_by_key(|&i| (places[i as usize].is_none(), places[i as usize], i));

    let workers = pool.map_or_else(rayon::current_num_threads, |p| p.current_num_threads());
    let mapped = Packs::map(&packs.paths, workers, options.max_file_size);
    let source = &opened.source;
    let commits = &walk.commits;
    let (results, metadata, names) = in_pool(pool, || {
        let read =
            Reads { blobs: &blobs, order: &order, places: &places, packs: &packs, mapped: &mapped };
        let results = scan_blobs(scanner, source, &walk, &read, options, progress);
        // Tags are not part of a range: only a whole-history scan reads them.
        let metadata = scan_metadata(scanner, source, commits, options.range.is_none());
        let names = scan_names(scanner, &walk);
        (results, metadata, names)
    });

    let mut out = ScanOutput { part: options.part.is_some(), ..ScanOutput::default() };
    out.summary.commits = first_part.then_some(walk.commits.len() as u64);
    out.summary.shallow = Some(repo.is_shallow());
    if first_part {
        out.summary.errors = std::mem::take(&mut walk.errors);
    }
    for &path in walk.submodules.iter().filter(|&&p| in_part[p as usize]) {
        out.summary
            .skipped
            .push(Skipped::new(walk.paths[path as usize].clone(), SkipReason::Submodule));
    }
    // Each secret at a path is represented by its earliest copy; and, for the filter stage to
    // use when it honours `azleak:allow` markers, by its earliest copy without a marker, if it
    // has one (so an allowed test value does not hide the same secret used for real elsewhere
    // in the file).
    let mut introduced = Introduced::new();
    let mut unmarked = Introduced::new();
    for ((oid, occ), result) in blobs.iter().zip(results) {
        let (first_path, first_commit) = occ[0];
        // The part of the blob's first path counts it, and reports its skips and errors.
        let owned = in_part[first_path as usize];
        let name = || {
            format!(
                "{}:{}",
                short(walk.commits[first_commit as usize]),
                walk.paths[first_path as usize]
            )
        };
        match result {
            BlobResult::Scanned(scanned) => {
                let mut findings = Vec::new();
                if owned {
                    out.blob_ids.push(super::raw_id(*oid));
                    out.summary.add(scanned, &mut findings);
                } else {
                    findings = scanned.findings;
                }
                for f in findings {
                    for &(path, commit) in occ.iter().filter(|&&(p, _)| in_part[p as usize]) {
                        let secret = f.secret.reveal().to_string();
                        let key = (f.rule_id.clone(), secret, path, f.member.clone());
                        let allowed = f.allowed_inline;
                        let better = unmarked.get(&key).is_none_or(|(c, g)| {
                            (allowed, commit, f.line, f.column)
                                < (g.allowed_inline, *c, g.line, g.column)
                        });
                        if better {
                            unmarked.insert(key.clone(), (commit, f.clone()));
                        }
                        let earlier = introduced.get(&key).is_none_or(|(c, g)| {
                            (commit, f.line, f.column) < (*c, g.line, g.column)
                        });
                        if earlier {
                            introduced.insert(key, (commit, f.clone()));
                        }
                    }
                }
            }
            BlobResult::Skipped(_) | BlobResult::Error(_) if !owned => {}
            BlobResult::Skipped(reason) => {
                out.blob_ids.push(super::raw_id(*oid));
                out.summary.skipped.push(Skipped::new(name(), reason));
            }
            BlobResult::Error(message) => {
                out.summary
                    .errors
                    .push(ScanError { path: format!("blob {oid} ({})", name()), message });
            }
        }
    }
    // Most often the two agree: the second set is then not kept.
    let same = |(c, f): &(u32, Finding), (d, g): &(u32, Finding)| {
        (c, f.line, f.column) == (d, g.line, g.column)
    };
    let differ = introduced.iter().zip(&unmarked).any(|((_, a), (_, b))| !same(a, b));
    let mut unmarked = differ.then_some(unmarked);
    let mut errors = Vec::new();
    if options.range.is_some() || !hide.is_empty() {
        drop_inherited(scanner, repo, &walk, &mut introduced, &mut errors);
        if let Some(unmarked) = &mut unmarked {
            drop_inherited(scanner, repo, &walk, unmarked, &mut errors);
        }
    }
    let mut infos = CommitInfos::default();
    let singles = options.part.is_some();
    out.findings = assemble(repo, &walk, introduced, singles, &mut infos, &mut errors);
    out.honouring_allow =
        unmarked.map(|u| assemble(repo, &walk, u, singles, &mut infos, &mut errors));
    let mut others = Vec::new();
    for (path, mut f) in names.into_iter().filter(|&(p, _)| in_part[p as usize]) {
        let commit = walk.path_first[path as usize];
        f.commit = Some(infos.get(repo, &walk, commit, &mut errors));
        others.push(f);
    }
    let Metadata { findings, errors: mut metadata_errors } = metadata;
    if first_part {
        others.extend(findings);
    } else {
        // Reported by the first part; kept here to be hidden wherever this part displays them.
        out.also_secrets = findings.into_iter().map(|f| f.secret).collect();
        metadata_errors.clear();
    }
    if let Some(honouring) = &mut out.honouring_allow {
        honouring.extend(others.iter().cloned());
    }
    out.findings.extend(others);
    // The two sets read the same commits: an unreadable one is named once.
    errors.sort();
    errors.dedup();
    out.summary.errors.extend(errors);
    out.summary.errors.extend(metadata_errors);
    Ok(out.finish(started))
}

/// Scans the name of every path the history (or the range) introduced, once per path: the
/// last name of the path, as in directory scans, so a directory's name is found once, at the
/// directory, not once per file in it. Returns (path id, finding) pairs.
fn scan_names<B: BlobScan>(scanner: &B, walk: &Walk) -> Vec<(u32, Finding)> {
    (0..walk.paths.len())
        .into_par_iter()
        .filter(|&i| walk.path_first[i] != OUTSIDE && !walk.paths[i].is_empty())
        .map_init(
            || scanner.scratch(),
            |scratch, i| {
                let path = &walk.paths[i];
                let findings = scanner.scan_name(scratch, path, name_start(path)..path.len());
                findings.into_iter().map(move |f| (i as u32, f)).collect::<Vec<_>>()
            },
        )
        .flatten()
        .collect()
}

/// Runs `f` on `pool` (or on the calling thread if it could not be built).
fn in_pool<T: Send>(pool: Option<&rayon::ThreadPool>, f: impl FnOnce() -> T + Send) -> T {
    match pool {
        Some(pool) => pool.install(f),
        None => f(),
    }
}

/// The unique blobs to read, and in what order.
struct Reads<'a> {
    /// Each blob with the (path, commit) pairs where it first appeared, oldest first.
    blobs: &'a [(Oid, Vec<(u32, u32)>)],
    /// Positions in `blobs`, in the order to read them.
    order: &'a [u32],
    /// Where each blob is in the packs, by position in `blobs`.
    places: &'a [Option<Place>],
    packs: &'a Places,
    /// The same packs, mapped, to read the blobs from.
    mapped: &'a Packs,
}

/// Reads each unique blob once, in parallel, in the order of `read`, and hands it to the scan
/// stage; each thread has its own pack reader (see [`Packs`]), repository handle (for what the
/// pack reader leaves to libgit2) and scratch space, and holds one blob at a
/// time. A blob is named by the first (commit, path) it appears at. The results are by
/// position in `read.blobs`.
fn scan_blobs<B: BlobScan>(
    scanner: &B,
    source: &Source,
    walk: &Walk,
    read: &Reads<'_>,
    options: &HistoryOptions,
    progress: &dyn Progress,
) -> Vec<BlobResult> {
    let mut results: Vec<(u32, BlobResult)> = read
        .order
        .par_iter()
        .map_init(
            || (None, scanner.scratch()),
            |(repo, scratch), &i| {
                let (oid, occ) = &read.blobs[i as usize];
                let (path, commit) = occ[0];
                let origin = || Origin::Git {
                    commit: short(walk.commits[commit as usize]),
                    path: walk.paths[path as usize].clone(),
                };
                let place = read.places[i as usize];
                let packed = place.and_then(|place| {
                    read.mapped.read(place, |packed| match packed {
                        Packed::Bytes(bytes) => {
                            let origin = origin();
                            BlobResult::Scanned(
                                scanner.scan(scratch, Blob { bytes, origin: &origin }),
                            )
                        }
                        Packed::TooLarge => BlobResult::Skipped(SkipReason::TooLarge),
                    })
                });
                // Loose blobs, and packed ones the pack reader leaves to libgit2.
                let result = packed.unwrap_or_else(|| {
                    let size = place.and_then(|place| read.packs.size(place));
                    let repo = repo.get_or_insert_with(|| source.reopen());
                    let odb = match repo {
                        Ok(r) => r.odb(),
                        Err(e) => Err(git2::Error::from_str(e.message())),
                    };
                    match odb.and_then(|odb| {
                        Ok(match load_blob(&odb, *oid, options.max_file_size, size)? {
                            Loaded::Bytes(object) => {
                                let origin = origin();
                                let blob = Blob { bytes: object.data(), origin: &origin };
                                BlobResult::Scanned(scanner.scan(scratch, blob))
                            }
                            Loaded::Skipped(reason) => BlobResult::Skipped(reason),
                        })
                    }) {
                        Ok(result) => result,
                        Err(e) => BlobResult::Error(super::message(&e)),
                    }
                });
                let bytes = match &result {
                    BlobResult::Scanned(s) => s.bytes,
                    _ => 0,
                };
                progress.blob(bytes);
                (i, result)
            },
        )
        .collect();
    results.sort_unstable_by_key(|&(i, _)| i);
    results.into_iter().map(|(_, result)| result).collect()
}

/// Range scans: drops secrets that a parent of their introducing commit already had at that
/// path (the range changed the file but did not add that secret).
fn drop_inherited<B: BlobScan>(
    scanner: &B,
    repo: &Repository,
    walk: &Walk,
    introduced: &mut Introduced,
    errors: &mut Vec<ScanError>,
) {
    let mut scratch = scanner.scratch();
    introduced.retain(|(_, _, path, _), (commit, f)| {
        let oid = walk.commits[*commit as usize];
        let path_id = path;
        let path = walk.git_path(*path);
        let path = path.as_path();
        let parents = match repo.find_commit(oid) {
            Ok(c) => c.parents().collect::<Vec<_>>(),
            Err(e) => {
                errors
                    .push(ScanError { path: format!("commit {oid}"), message: super::message(&e) });
                return true;
            }
        };
        !parents.iter().any(|parent| {
            let Ok(entry) = parent.tree().and_then(|t| t.get_path(path)) else { return false };
            match repo.find_blob(entry.id()) {
                Ok(blob) => {
                    let path_text = walk.paths[*path_id as usize].clone();
                    let origin = Origin::Git { commit: short(parent.id()), path: path_text };
                    Earlier::new(blob.content(), origin).holds(scanner, &mut scratch, f)
                }
                Err(_) => false,
            }
        })
    });
}

/// The report form of each commit a finding names, read once per commit.
#[derive(Default)]
struct CommitInfos(HashMap<u32, CommitInfo>);

impl CommitInfos {
    /// The details of the commit at `index` of the walk; a commit that cannot be read is
    /// reported and named by its id alone.
    fn get(
        &mut self,
        repo: &Repository,
        walk: &Walk,
        index: u32,
        errors: &mut Vec<ScanError>,
    ) -> CommitInfo {
        self.0
            .entry(index)
            .or_insert_with(|| {
                let oid = walk.commits[index as usize];
                repo.find_commit(oid).map(|c| commit_info(&c)).unwrap_or_else(|e| {
                    errors.push(ScanError {
                        path: format!("commit {oid}"),
                        message: super::message(&e),
                    });
                    CommitInfo {
                        commit: oid.to_string(),
                        author_name: String::new(),
                        author_email: String::new(),
                        date: String::new(),
                        summary: String::new(),
                    }
                })
            })
            .clone()
    }
}

/// Turns the introduced secrets into findings with commit details and the other paths where
/// each secret appears.
fn assemble(
    repo: &Repository,
    walk: &Walk,
    introduced: Introduced,
    singles: bool,
    infos: &mut CommitInfos,
    errors: &mut Vec<ScanError>,
) -> Vec<Finding> {
    let mut findings = Vec::with_capacity(introduced.len());
    for ((_rule, _secret, path, _member), (commit, mut f)) in introduced {
        f.path = walk.paths[path as usize].clone();
        f.commit = Some(infos.get(repo, walk, commit, errors));
        findings.push(f);
    }
    // Every path where the same rule found the same secret: one group, shared by its findings
    // (with `singles`, also for a secret found at one path only).
    let mut by_secret: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
    for (i, f) in findings.iter().enumerate() {
        by_secret.entry((&f.rule_id, f.secret.reveal())).or_default().push(i);
    }
    let groups: Vec<(Vec<usize>, Arc<CopyGroup>)> = by_secret
        .into_iter()
        .filter(|(_, members)| singles || members.len() > 1)
        .map(|((rule, _), members)| {
            let locations = members
                .iter()
                .map(|&i| {
                    let f = &findings[i];
                    OtherLocation {
                        path: f.path.clone(),
                        member: f.member.clone(),
                        line: f.line,
                        column: f.column,
                        end_column: f.end_column,
                        commit: f.commit.as_ref().map(|c| c.commit.clone()),
                    }
                })
                .collect();
            let group = Arc::new(CopyGroup::new(rule, locations));
            (members, group)
        })
        .collect();
    for (members, group) in groups {
        for i in members {
            findings[i].copies = Some(Arc::clone(&group));
        }
    }
    findings
}
