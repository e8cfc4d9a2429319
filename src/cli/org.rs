//! `azleak git` over several repositories (`REPO...`, `--repos`, `--repos-dir`, `--shard`,
//! `--datastore`), and the commands around it: `merge`, `report` and `triage`.
//!
//! Each repository is scanned on its own, with its own config file, allowlists and baseline;
//! its filtered output is recorded in the datastore (one transaction per repository), and the
//! outputs are combined ([`crate::org::combine`]) into one report through the usual reporters.
//! A repository that cannot be scanned is an error of the run, and the others go on.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

use super::args::{
    ColorChoice, FilterArgs, FormatArg, GitArgs, MergeArgs, OutputArgs, ReportArgs, ShardBy,
    StatusArg, TriageArgs,
};
use super::{Io, Outcome, emit, enrich, error_message, load_rules, overrides, scanner};
use crate::config::{self, Coverage, Settings};
use crate::enrich::Enriched;
use crate::finding::{Confidence, Secret};
use crate::org::{RepoOutput, Shard, combine, incremental, list_repos, repo_name};
use crate::report::{Redactor, ReportOptions, ScanKind};
use crate::rules::RuleSet;
use crate::scan::ScanOutput;
use crate::source::git::{HistoryOptions, NoProgress, scan_history};
use crate::store::{Query, Status, Store};

/// Runs `azleak git` over several repositories (or with a shard or a datastore).
pub(super) fn git_org(args: &GitArgs, io: &mut Io<'_>) -> Result<Outcome> {
    if args.range.is_some() || args.staged {
        bail!(
            "--range and --staged scan one repository; several repositories, --repos, \
             --repos-dir, --shard and --datastore scan whole histories"
        );
    }
    let filter = &args.output.filter;
    if filter.baseline.is_some() || filter.write_baseline.is_some() {
        bail!(
            "--baseline and --write-baseline name one repository's baseline; with several \
             repositories, set `baseline` in each repository's azleak.toml, or use --datastore \
             and `azleak triage`"
        );
    }
    // Each repository is verified with its own settings, on top of the command line; a gate on
    // verification needs it asked for on the command line, so that it holds for every one.
    if let (Some(flag), false) =
        (enrich::verification_gate(&args.output), args.output.verify.verify)
    {
        bail!(
            "{flag} needs --verify on the command line in a run over several repositories (or \
             with --datastore or --shard)"
        );
    }
    let shard = match (&args.shard, args.shard_count) {
        (Some(text), _) => Some(Shard::parse(text)?),
        (None, Some(count)) => {
            let index = std::env::var("JOB_COMPLETION_INDEX").map_err(|_| {
                anyhow::anyhow!(
                    "--shard-count {count} needs JOB_COMPLETION_INDEX (or use --shard K/N)"
                )
            })?;
            Some(Shard::from_job_index(&index, count)?)
        }
        (None, None) => None,
    };
    let listed = {
        let mut stdin = std::io::stdin().lock();
        list_repos(&args.repos, args.repos_file.as_deref(), args.repos_dir.as_deref(), &mut stdin)?
    };
    let listed = if listed.is_empty() && args.repos_file.is_none() && args.repos_dir.is_none() {
        vec![PathBuf::from(".")]
    } else {
        listed
    };
    // Named once each, in name order, so the report does not depend on the order given.
    let mut repos: Vec<(String, PathBuf)> =
        listed.into_iter().map(|path| (repo_name(&path), path)).collect();
    repos.sort();
    let before = repos.len();
    repos.dedup_by(|a, b| a.0 == b.0);
    if repos.len() < before && !args.output.quiet {
        writeln!(
            io.stderr,
            "azleak: warning: {} repositories were listed more than once (by path or origin URL) \
             and are scanned once",
            before - repos.len()
        )?;
    }
    let by_path = args.shard_by == ShardBy::Path;
    if by_path && shard.is_none() {
        bail!("--shard-by path needs --shard K/N or --shard-count N");
    }
    if by_path && args.datastore.is_some() {
        bail!(
            "--shard-by path cannot record into --datastore (a store holds whole repositories); \
             shard by repository, or merge the shards' JSON reports with `azleak merge`"
        );
    }
    // Split by path, every shard scans a part of every repository.
    let part = shard.filter(|_| by_path).map(|s| s.part());
    if let Some(shard) = shard.filter(|_| !by_path) {
        repos.retain(|(name, _)| shard.contains(name));
    }
    let store = args.datastore.as_deref().map(Store::open).transpose()?;
    let run = match &store {
        Some(s) => Some(s.begin_run(env!("CARGO_PKG_VERSION"))?),
        None => None,
    };
    let started = std::time::Instant::now();
    // One instant for the whole run: every repository's expiry is judged at the same time.
    let as_of = args.output.inventory.as_of.unwrap_or_else(chrono::Utc::now);
    let mut secrets: Vec<Secret> = Vec::new();
    let mut enriched = Enriched::default();
    let mut outputs = Vec::new();
    for (name, path) in repos {
        let output = match scan_repo(args, &name, &path, as_of, store.as_ref().zip(run), part) {
            Ok(Scanned { mut output, secrets: found, enriched: done }) => {
                secrets.extend(found);
                enriched.add(&name, done);
                // Each repository is counted by the first path shard only.
                if part.is_some_and(|p| !p.is_first()) {
                    output.summary.repositories = Some(0);
                }
                Ok(output)
            }
            Err(e) => Err(error_message(&e)),
        };
        outputs.push(RepoOutput { name, output });
    }
    if let (Some(store), Some(run)) = (&store, run) {
        store.finish_run(run)?;
    }
    let mut output = combine(outputs);
    if part.is_some_and(|p| !p.is_first()) {
        // A repository that could not be scanned is counted once, by the first path shard (its
        // error is in every shard's report; `azleak merge` keeps one).
        output.summary.repositories_failed = Some(0);
    }
    output.summary.elapsed = started.elapsed();
    if output.summary.repositories == Some(0) && shard.is_none() {
        output.summary.errors.push(crate::source::ScanError {
            path: "azleak git".to_string(),
            message: "no repository to scan".to_string(),
        });
    }
    let redactor =
        if args.output.show_secrets { Redactor::disabled() } else { Redactor::new(secrets.iter()) };
    let rules = load_rules(&args.output.rules)?;
    let min_confidence = args.output.min_confidence.map_or(Confidence::Medium, Into::into);
    let options = report_options(&args.output, min_confidence);
    let gated = enrich::gate(&mut output.findings, &enriched, &redactor, &args.output, io)?;
    let outcome = emit(output, redactor, &rules, options, &args.output, io)?;
    Ok(gated.apply(outcome))
}

/// One repository's part of a run.
struct Scanned {
    /// Its filtered, enriched findings (naming the repository) and summary.
    output: ScanOutput,
    /// Every secret found, before the filter (for redaction).
    secrets: Vec<Secret>,
    /// What the enrichment stage did.
    enriched: Enriched,
}

/// Scans one repository's history with its own settings, filters and enriches its findings
/// (the stages of a single scan), records it in the datastore, and returns its part of the run.
fn scan_repo(
    args: &GitArgs,
    name: &str,
    path: &Path,
    as_of: chrono::DateTime<chrono::Utc>,
    store: Option<(&Store, i64)>,
    part: Option<crate::source::PathShard>,
) -> Result<Scanned> {
    if !path.exists() {
        bail!("no such directory");
    }
    let mut overrides = overrides(&args.output);
    overrides.max_file_size = args.max_file_size;
    let mut settings = Settings::load(&config::find_root(path), &overrides)?;
    let scanner = scanner(&settings, &args.archives)?;
    let version = ruleset_version(scanner.rules(), &settings, args);
    let previous = match store {
        Some((store, _)) => store.walked(name, &version)?,
        None => None,
    };
    let plan = match store {
        Some((store, _)) => Some(incremental::plan(path, name, previous.as_ref(), store)?),
        None => None,
    };
    // After a complete walk, only what it did not reach is walked (and all its blobs read);
    // otherwise every commit is walked and blobs already scanned are not read again.
    let skip = match store {
        Some((store, _)) if previous.is_none() => store.scanned_blobs(name, &version)?,
        _ => Default::default(),
    };
    // Blobs skipped as already scanned are not seen again: baseline entries not found are not
    // stale on that account.
    let whole = skip.is_empty() && previous.is_none();
    settings.coverage = match part {
        _ if !whole => Coverage::Partial,
        Some(part) => Coverage::Shard(part),
        None => Coverage::Whole,
    };
    let options = HistoryOptions {
        range: None,
        max_file_size: settings.max_file_size,
        threads: args.threads.unwrap_or(0),
        skip_blobs: Arc::new(skip),
        hide: plan.as_ref().map(|p| p.hide.clone()).unwrap_or_default(),
        part,
    };
    let mut output = match &plan {
        Some(plan) if plan.unchanged => {
            let mut output = ScanOutput::default();
            output.summary.commits = Some(0);
            output.summary.shallow = Some(plan.shallow);
            output.finish(std::time::Instant::now())
        }
        _ => scan_history(&scanner, path, &options, &NoProgress)?,
    };
    let mut secrets: Vec<Secret> = output.findings.iter().map(|f| f.secret.clone()).collect();
    secrets.append(&mut output.also_secrets);
    if let Some(update) = crate::filter::apply(&settings, &mut output, ScanKind::History)? {
        update.baseline.write(&update.path)?;
    }
    crate::org::qualify(name, &mut output.findings);
    let enrichment = crate::enrich::Enrichment::from_settings(&settings, Some(as_of));
    let enriched = crate::enrich::enrich(&mut output.findings, &enrichment);
    if let (Some((store, run)), Some(plan)) = (store, &plan) {
        let show = args.output.show_secrets;
        let redactor = if show { Redactor::disabled() } else { Redactor::new(secrets.iter()) };
        // The walk is recorded only if it completed (no object or ref could not be read) and
        // the refs did not move while it ran.
        let complete = output.summary.errors.is_empty()
            && plan.refs.is_some()
            && (plan.unchanged || incremental::refs_now(path) == plan.refs);
        let walk = plan.refs.as_ref().filter(|_| complete);
        let scan = crate::store::Recorded {
            run,
            repo: name,
            ruleset: &version,
            blobs: &output.blob_ids,
            findings: &output.findings,
            summary: &output.summary,
            redactor: &redactor,
            show_secrets: show,
        };
        store.record(&scan, walk.map(|r| (r.digest.as_str(), r.tips.as_slice())), &plan.touch)?;
    }
    output.blob_ids = Vec::new();
    Ok(Scanned { output, secrets, enriched })
}

/// The version of what decides a blob's findings: azleak's version, every rule as loaded, and
/// the repository's settings and archive options. A blob scanned under another version is
/// scanned again.
fn ruleset_version(rules: &RuleSet, settings: &Settings, args: &GitArgs) -> String {
    let mut h = Sha256::new();
    h.update(env!("CARGO_PKG_VERSION"));
    for rule in rules.iter() {
        h.update(format!("{:?}\0", rule.syntax));
    }
    h.update(format!(
        "{:?}\0{:?}\0{:?}\0{}\0{}\0{}\0{:?}\0{:?}",
        settings.allowlist,
        settings.min_confidence,
        settings.disabled_rules,
        settings.max_file_size,
        settings.archives,
        settings.inline_allow,
        settings.baseline_mode,
        args.archives,
    ));
    hex::encode(&h.finalize()[..16])
}

fn report_options(opts: &OutputArgs, min_confidence: Confidence) -> ReportOptions {
    ReportOptions {
        show_secrets: opts.show_secrets,
        color: false,
        verbose: opts.verbose,
        min_confidence,
        sarif_category: opts.sarif_category.clone(),
        kind: ScanKind::History,
        source_root: None,
        workspace: super::workspace(std::env::current_dir().unwrap_or_default()),
    }
}

/// `azleak merge REPORT...`
pub(super) fn merge(args: &MergeArgs, io: &mut Io<'_>) -> Result<Outcome> {
    if let Some(out) = &args.datastore {
        return merge_datastores(out, &args.reports, io);
    }
    let mut reports = Vec::new();
    for path in &args.reports {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        reports.push((path.display().to_string(), text));
    }
    let merged = crate::org::merge::merge_reports(&reports)?;
    if args.format != FormatArg::JSON {
        let read = crate::org::merge::read_report("merged report", &merged)?;
        // The shards' secrets are as they wrote them: shown only if they were.
        let show = read.findings.iter().any(|f| !f.secret.reveal().ends_with('…'));
        let opts = OutputArgs {
            format: args.format,
            output: args.output.clone(),
            min_confidence: None,
            show_secrets: show,
            color: ColorChoice::Never,
            rules: Vec::new(),
            verbose: false,
            quiet: true,
            sarif_category: args.sarif_category.clone(),
            filter: FilterArgs::default(),
            inventory: Default::default(),
            verify: Default::default(),
        };
        let mut options = report_options(&opts, read.min_confidence);
        options.kind = read.kind;
        let output =
            ScanOutput { findings: read.findings, summary: read.summary, ..ScanOutput::default() };
        return emit(output, Redactor::disabled(), &load_rules(&[])?, options, &opts, io);
    }
    match &args.output {
        Some(path) => std::fs::write(path, &merged)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => io.stdout.write_all(merged.as_bytes())?,
    }
    let doc: serde_json::Value = serde_json::from_str(&merged)?;
    let count = |key: &str| doc[key].as_array().map_or(0, Vec::len);
    let failed = doc["summary"]["repositories_failed"].as_u64().unwrap_or(0) as usize;
    Ok(Outcome {
        findings: count("findings"),
        errors: doc["summary"]["errors"].as_array().map_or(0, Vec::len),
        failed_repositories: failed,
    })
}

/// `azleak merge --datastore OUT STORE...`
fn merge_datastores(out: &Path, inputs: &[PathBuf], io: &mut Io<'_>) -> Result<Outcome> {
    let store = Store::open(out)?;
    let (mut runs, mut repositories, mut findings) = (0, 0, 0);
    for input in inputs {
        if std::path::absolute(input).ok() == std::path::absolute(out).ok() {
            bail!("{}: is the output datastore", input.display());
        }
        let merged = store.merge_from(input)?;
        runs += merged.runs;
        repositories += merged.repositories;
        findings += merged.findings;
    }
    writeln!(
        io.stdout,
        "azleak: merged {} datastores into {}: {runs} new runs, {repositories} repositories, \
         {findings} findings",
        inputs.len(),
        out.display()
    )?;
    Ok(Outcome::default())
}

/// `azleak report --datastore FILE`
pub(super) fn report(args: &ReportArgs, io: &mut Io<'_>) -> Result<Outcome> {
    if !args.datastore.exists() {
        bail!("datastore {}: no such file", args.datastore.display());
    }
    let store = Store::open(&args.datastore)?;
    let statuses = if args.status.is_empty() { vec![StatusArg::Open] } else { args.status.clone() };
    let query = Query {
        statuses: if statuses.contains(&StatusArg::All) {
            Vec::new()
        } else {
            statuses.iter().map(|s| status(*s)).collect()
        },
        new_since: args.new_since.clone(),
    };
    let (findings, summary) = store.report(&query)?;
    let redactor = if args.show_secrets {
        Redactor::disabled()
    } else {
        Redactor::new(findings.iter().map(|f| &f.secret))
    };
    let opts = OutputArgs {
        format: args.format,
        output: args.output.clone(),
        min_confidence: None,
        show_secrets: args.show_secrets,
        color: args.color,
        rules: Vec::new(),
        verbose: args.verbose,
        quiet: args.quiet,
        sarif_category: args.sarif_category.clone(),
        filter: FilterArgs::default(),
        inventory: Default::default(),
        verify: Default::default(),
    };
    let rules = load_rules(&[])?;
    let options = report_options(&opts, Confidence::Low);
    let output = ScanOutput { findings, summary, ..ScanOutput::default() };
    emit(output, redactor, &rules, options, &opts, io)
}

/// `azleak triage FINGERPRINT... --status S`
pub(super) fn triage(args: &TriageArgs, io: &mut Io<'_>) -> Result<Outcome> {
    if args.status == StatusArg::All {
        bail!("--status all is for reports; triage sets one status");
    }
    let mut fingerprints = args.fingerprints.clone();
    if let Some(path) = &args.from {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let doc: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            anyhow::anyhow!("{}: not a JSON report: line {}", path.display(), e.line())
        })?;
        let findings = doc["findings"].as_array().cloned().unwrap_or_default();
        fingerprints
            .extend(findings.iter().filter_map(|f| f["fingerprint"].as_str()).map(str::to_string));
    }
    if fingerprints.is_empty() {
        bail!("name at least one fingerprint, or --from REPORT");
    }
    fingerprints.sort();
    fingerprints.dedup();
    if !args.datastore.exists() {
        bail!("datastore {}: no such file", args.datastore.display());
    }
    let store = Store::open(&args.datastore)?;
    let known = store.triage(&fingerprints, status(args.status), args.note.as_deref())?;
    writeln!(
        io.stdout,
        "azleak: {} {} marked {}{}",
        fingerprints.len(),
        if fingerprints.len() == 1 { "fingerprint" } else { "fingerprints" },
        status(args.status).as_str(),
        if known < fingerprints.len() {
            format!(" ({} not found in the store yet)", fingerprints.len() - known)
        } else {
            String::new()
        }
    )?;
    Ok(Outcome::default())
}

fn status(s: StatusArg) -> Status {
    match s {
        StatusArg::Open | StatusArg::All => Status::Open,
        StatusArg::Accepted => Status::Accepted,
        StatusArg::FalsePositive => Status::FalsePositive,
        StatusArg::Rotated => Status::Rotated,
    }
}
