//! The command-line front end: turns parsed [`args`] into typed options once, runs the command,
//! and reports. Writes only to the writers it is given (the binary passes stdout and stderr),
//! and returns an [`Outcome`] that maps to the exit code.

pub mod args;
mod enrich;
mod git;
mod org;

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::config::{self, BaselineMode, ConfigSource, Overrides, Settings};
use crate::report::{Redacted, Redactor, Report, ReportOptions, ScanKind, escape_display};
use crate::rules::RuleSet;
use crate::scan::{ScanOptions, ScanOutput, Scanner, scan_paths, scan_stdin_bytes};
use crate::source::fs::WalkOptions;
use args::{
    ArchiveArgs, Cli, ColorChoice, Command, InitArgs, ListFormat, OutputArgs, RulesCommand,
    ScanArgs,
};

/// How a command ended, short of a fatal error.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Findings that fail the run: those reported (with `--fail-unexpired-only`, less those
    /// whose every inventory candidate has expired).
    pub findings: usize,
    /// Per-path errors met along the way.
    pub errors: usize,
    /// Repositories that could not be scanned at all (runs over several repositories).
    pub failed_repositories: usize,
}

impl Outcome {
    /// 2 if a repository could not be scanned; else 1 if anything was found, else 2 if
    /// anything failed, else 0.
    pub fn exit_code(self) -> u8 {
        if self.failed_repositories > 0 {
            2
        } else if self.findings > 0 {
            1
        } else if self.errors > 0 {
            2
        } else {
            0
        }
    }
}

/// Writers for the report and for diagnostics.
pub struct Io<'a> {
    /// Standard output.
    pub stdout: &'a mut dyn Write,
    /// Standard error.
    pub stderr: &'a mut dyn Write,
    /// Whether standard output is a terminal (for `--color auto`).
    pub stdout_is_terminal: bool,
}

/// Runs a parsed command line.
pub fn run(cli: Cli, io: &mut Io<'_>) -> Result<Outcome> {
    match cli.command {
        Command::Scan(args) => scan(&args, io),
        Command::Git(args) => git::git(&args, io),
        Command::Rules(RulesCommand::List { rules, format }) => rules_list(&rules, format, io),
        Command::Rules(RulesCommand::Check { paths }) => rules_check(&paths, io),
        Command::Init(args) => init(&args, io),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "azleak", io.stdout);
            Ok(Outcome::default())
        }
        Command::Man { command } => {
            use clap::CommandFactory;
            let mut cli = Cli::command();
            cli.build();
            let page = match command {
                None => cli,
                Some(name) => cli
                    .find_subcommand(&name)
                    .cloned()
                    .ok_or_else(|| anyhow::anyhow!("no subcommand {}", escape_display(&name)))?
                    .name(format!("azleak-{name}")),
            };
            clap_mangen::Man::new(page).render(io.stdout)?;
            Ok(Outcome::default())
        }
        Command::Merge(args) => org::merge(&args, io),
        Command::Report(args) => org::report(&args, io),
        Command::Triage(args) => org::triage(&args, io),
    }
}

/// Loads the built-in rules plus user rule files.
pub fn load_rules(extra: &[PathBuf]) -> Result<RuleSet> {
    let mut rules = RuleSet::builtin().context("built-in rules are invalid")?;
    rules.add_paths(extra)?;
    Ok(rules)
}

/// The command-line overrides of the config file, from the options every scanning command
/// shares. Commands add their own (`--max-file-size`, `--hidden`) before loading.
pub fn overrides(opts: &OutputArgs) -> Overrides {
    let f = &opts.filter;
    Overrides {
        config: match (&f.config, f.no_config) {
            (_, true) => ConfigSource::Ignore,
            (Some(path), false) => ConfigSource::File(path.clone()),
            (None, false) => ConfigSource::Discover,
        },
        rules: opts.rules.clone(),
        min_confidence: opts.min_confidence.map(Into::into),
        max_file_size: None,
        hidden: None,
        no_inline_allow: f.no_inline_allow,
        app_inventory: opts.inventory.app_inventory.clone(),
        baseline: match (&f.baseline, &f.write_baseline) {
            (Some(path), _) => BaselineMode::Check { path: path.clone(), prune: f.prune_baseline },
            (None, Some(path)) => BaselineMode::Write { path: path.clone() },
            (None, None) => BaselineMode::Off,
        },
        verify: config::VerifyOverrides {
            enabled: match (opts.verify.verify, opts.verify.no_verify) {
                (true, _) => Some(true),
                (_, true) => Some(false),
                _ => None,
            },
            authority: opts.verify.authority.clone(),
            storage: opts.verify.storage_endpoint.clone(),
            timeout_secs: opts.verify.verify_timeout,
            rate: opts.verify.verify_rate,
        },
    }
}

fn scan(args: &ScanArgs, io: &mut Io<'_>) -> Result<Outcome> {
    let stdin = args.paths.iter().any(|p| p.as_os_str() == "-");
    if stdin && args.paths.len() > 1 {
        anyhow::bail!("'-' (standard input) cannot be combined with other paths");
    }
    let root = match args.paths.first() {
        Some(first) if !stdin => config::find_root(first),
        _ => config::find_root(Path::new(".")),
    };
    let mut overrides = overrides(&args.output);
    overrides.max_file_size = args.max_file_size;
    overrides.hidden = match (args.hidden, args.no_hidden) {
        (true, _) => Some(true),
        (false, true) => Some(false),
        (false, false) => None,
    };
    let mut settings = Settings::load(&root, &overrides)?;
    let scanner = scanner(&settings, &args.archives)?;
    let output = if stdin {
        let mut bytes = Vec::new();
        // Just past the limit is enough to know it is too large; a stream may never end.
        io::stdin()
            .lock()
            .take(settings.max_file_size.saturating_add(1))
            .read_to_end(&mut bytes)
            .context("cannot read standard input")?;
        scan_stdin_bytes(&scanner, &bytes, settings.max_file_size)
    } else {
        settings.cover_roots(&args.paths);
        let options = WalkOptions {
            roots: args.paths.clone(),
            respect_ignore: !args.no_ignore,
            hidden: settings.hidden,
            follow: args.follow,
            excludes: args.exclude.clone(),
            max_file_size: settings.max_file_size,
            threads: args.threads.unwrap_or(0),
        };
        scan_paths(&scanner, &options)?
    };
    finish(output, scanner.rules(), &settings, &args.output, ScanKind::Files, io)
}

/// The scan stage for the settings' rules and the archive options (`--no-archives` or the
/// config's `archives = false` turn expansion off).
pub fn scanner(settings: &Settings, archives: &ArchiveArgs) -> Result<Scanner> {
    let mut options = ScanOptions {
        archives: settings.archives && !archives.no_archives,
        ..ScanOptions::default()
    };
    options.limits.max_depth = usize::from(archives.max_archive_depth);
    options.limits.max_member_size = settings.max_file_size;
    // The binary detector loads the same rules again, only if a binary blob comes.
    let (paths, disabled) = (settings.rules.clone(), settings.disabled_rules.clone());
    let binary_rules = move || {
        let mut rules = RuleSet::builtin().ok()?;
        rules.add_paths(&paths).ok()?;
        rules.disable(&disabled);
        Some(rules)
    };
    Ok(Scanner::new(settings.load_rules()?, binary_rules, options))
}

/// Runs the filter stage ([`crate::filter::apply`]: threshold, allowlists, inline allow, baseline),
/// writes the baseline if asked, then the report and the per-path errors, and returns the
/// outcome. Shared by every scanning command.
pub fn finish(
    mut output: ScanOutput,
    rules: &RuleSet,
    settings: &Settings,
    opts: &OutputArgs,
    kind: ScanKind,
    io: &mut Io<'_>,
) -> Result<Outcome> {
    // Every secret found, before any filter drops its finding: a path, commit field or error
    // message that holds it is shown redacted even when the finding itself is not reported.
    let redactor = if opts.show_secrets {
        Redactor::disabled()
    } else {
        Redactor::new(output.findings.iter().map(|f| &f.secret))
    };
    if let (Some(flag), false) = (enrich::verification_gate(opts), settings.verify.enabled) {
        anyhow::bail!("{flag} needs --verify (or [verify] enabled = true in the config file)");
    }
    let update = crate::filter::apply(settings, &mut output, kind)?;
    if let Some(update) = &update {
        update.baseline.write(&update.path)?;
        if !opts.quiet {
            let what = match &settings.baseline_mode {
                BaselineMode::Check { .. } => format!(
                    "pruned {} stale {} from",
                    update.pruned,
                    if update.pruned == 1 { "entry" } else { "entries" }
                ),
                _ => format!(
                    "recorded {} {} in",
                    update.baseline.len(),
                    if update.baseline.len() == 1 { "entry" } else { "entries" }
                ),
            };
            let path = update.path.display().to_string();
            writeln!(io.stderr, "azleak: {what} baseline {}", escape_display(&path))?;
        }
    }
    // Owners and verification of the filtered findings only: what is allowlisted, allowed
    // inline, baselined or below the threshold is never sent anywhere.
    let enrichment = crate::enrich::Enrichment::from_settings(settings, opts.inventory.as_of);
    let enriched = crate::enrich::enrich(&mut output.findings, &enrichment);
    let gated = enrich::gate(&mut output.findings, &enriched, &redactor, opts, io)?;
    let here = settings.cwd().to_path_buf();
    let options = ReportOptions {
        show_secrets: opts.show_secrets,
        color: false,
        verbose: opts.verbose,
        min_confidence: settings.min_confidence,
        sarif_category: opts.sarif_category.clone(),
        kind,
        // In a git repository, SARIF paths are relative to its root (what code scanning's
        // %SRCROOT% is); elsewhere they stay relative to the current directory.
        source_root: settings.root.join(".git").exists().then(|| crate::report::SourceRoot {
            root: settings.root.clone(),
            cwd: settings.cwd().to_path_buf(),
        }),
        // Annotations resolve paths against the Actions workspace.
        workspace: workspace(here),
    };
    let outcome = emit(output, redactor, rules, options, opts, io)?;
    Ok(gated.apply(outcome))
}

/// The GitHub Actions workspace (`GITHUB_WORKSPACE`), which annotations' paths are relative to.
pub(crate) fn workspace(cwd: PathBuf) -> Option<crate::report::SourceRoot> {
    std::env::var_os("GITHUB_WORKSPACE")
        .filter(|w| !w.is_empty())
        .map(|w| crate::report::SourceRoot { root: cwd.join(w), cwd })
}

/// Writes the per-path errors on standard error, then the report of a filtered output, and
/// returns the outcome. `options.color` is decided here, from `--color` and the terminal.
pub(crate) fn emit(
    output: ScanOutput,
    redactor: Redactor,
    rules: &RuleSet,
    mut options: ReportOptions,
    opts: &OutputArgs,
    io: &mut Io<'_>,
) -> Result<Outcome> {
    let outcome = Outcome {
        findings: output.findings.len(),
        errors: output.summary.errors.len(),
        failed_repositories: output.summary.repositories_failed.unwrap_or(0) as usize,
    };
    let output = Redacted::new(output.findings, output.summary, redactor);
    if !opts.quiet {
        for e in &output.summary().errors {
            writeln!(io.stderr, "azleak: {}", escape_display(&e.to_string()))?;
        }
        if crate::report::Format::from(opts.format) == crate::report::Format::Sarif
            && output.findings().len() > crate::report::MAX_SARIF_RESULTS
        {
            writeln!(
                io.stderr,
                "azleak: warning: {} findings, but a SARIF run holds at most {}; the rest are \
                 left out (use --format json to see all)",
                output.findings().len(),
                crate::report::MAX_SARIF_RESULTS
            )?;
        }
    }
    let to_stdout = output_file(opts).is_none();
    options.color = use_color(
        opts.color,
        to_stdout && io.stdout_is_terminal,
        std::env::var_os("NO_COLOR").as_deref(),
        std::env::var_os("TERM").as_deref(),
    );
    write_report(&output, rules, &options, opts, io)?;
    Ok(outcome)
}

fn init(args: &InitArgs, io: &mut Io<'_>) -> Result<Outcome> {
    // Either name counts: a second config file next to the first would make every scan fail.
    let existing =
        config::CONFIG_FILE_NAMES.iter().map(|name| args.dir.join(name)).find(|p| p.exists());
    if let (Some(path), false) = (&existing, args.force) {
        anyhow::bail!("{} already exists (use --force to overwrite it)", path.display());
    }
    let path = existing.unwrap_or_else(|| args.dir.join(config::CONFIG_FILE_NAMES[0]));
    std::fs::write(&path, config::STARTER_CONFIG)
        .with_context(|| format!("cannot write {}", path.display()))?;
    writeln!(io.stdout, "azleak: wrote {}", path.display())?;
    Ok(Outcome::default())
}

fn write_report(
    output: &Redacted,
    rules: &RuleSet,
    options: &ReportOptions,
    opts: &OutputArgs,
    io: &mut Io<'_>,
) -> Result<()> {
    let report = Report::new(output, rules, options);
    let reporter = crate::report::Format::from(opts.format).reporter();
    match output_file(opts) {
        Some(path) => {
            let file =
                File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
            let mut w = BufWriter::new(file);
            reporter
                .report(&mut w, &report)
                .with_context(|| format!("cannot write {}", path.display()))?;
            w.flush().with_context(|| format!("cannot write {}", path.display()))?;
            // A pipeline log shows what happened even though the report went to a file.
            if !opts.quiet {
                let n = report.findings.len();
                writeln!(io.stderr, "{}", crate::report::summary_line(&report))?;
                writeln!(
                    io.stderr,
                    "azleak: {n} {} written to {}",
                    if n == 1 { "finding" } else { "findings" },
                    escape_display(&path.display().to_string())
                )?;
            }
        }
        None => {
            let mut w = BufWriter::new(&mut *io.stdout);
            reporter.report(&mut w, &report)?;
            w.flush()?;
        }
    }
    Ok(())
}

/// The file `-o` names, or `None` for standard output (no `-o`, or `-o -`).
fn output_file(opts: &OutputArgs) -> Option<&Path> {
    opts.output.as_deref().filter(|p| p.as_os_str() != "-")
}

/// Whether the text report is coloured: `--color always` and `never` decide alone; `auto`
/// colours a terminal unless `NO_COLOR` is set to a non-empty value (no-color.org: an empty one
/// does not count) or `TERM` is `dumb`.
pub fn use_color(
    choice: ColorChoice,
    terminal: bool,
    no_color: Option<&std::ffi::OsStr>,
    term: Option<&std::ffi::OsStr>,
) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            terminal && no_color.is_none_or(|v| v.is_empty()) && term.is_none_or(|t| t != "dumb")
        }
    }
}

fn rules_list(extra: &[PathBuf], format: ListFormat, io: &mut Io<'_>) -> Result<Outcome> {
    let rules = load_rules(extra)?;
    match format {
        ListFormat::Text => {
            let width = rules.iter().map(|r| r.id().len()).max().unwrap_or(0);
            for rule in rules.iter() {
                let s = &rule.syntax;
                let weak = s
                    .weak_confidence
                    .map(|c| format!(" (or {c} if it fails its checks)"))
                    .unwrap_or_default();
                writeln!(
                    io.stdout,
                    "{:width$}  {:6}  {}{weak}",
                    rule.id(),
                    s.confidence.as_str(),
                    s.name
                )?;
            }
        }
        ListFormat::Json => {
            let list: Vec<_> = rules
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "id": r.id(),
                        "name": r.syntax.name,
                        "confidence": r.syntax.confidence,
                        "weak_confidence": r.syntax.weak_confidence,
                        "keywords": r.syntax.keywords,
                        "description": r.syntax.description.trim(),
                    })
                })
                .collect();
            serde_json::to_writer_pretty(&mut *io.stdout, &list)?;
            writeln!(io.stdout)?;
        }
    }
    Ok(Outcome::default())
}

fn rules_check(paths: &[PathBuf], io: &mut Io<'_>) -> Result<Outcome> {
    let rules = if paths.is_empty() { RuleSet::builtin()? } else { RuleSet::from_paths(paths)? };
    let problems = crate::detect::check_examples(&rules);
    for p in &problems {
        writeln!(io.stdout, "{}: {}", p.rule_id, p.message)?;
    }
    let examples: usize =
        rules.iter().map(|r| r.syntax.examples.len() + r.syntax.negative_examples.len()).sum();
    writeln!(
        io.stdout,
        "{} rules, {examples} examples checked: {}",
        rules.len(),
        if problems.is_empty() {
            "all pass".to_string()
        } else {
            format!("{} problems", problems.len())
        }
    )?;
    // An example failure is reported like a finding: exit 1.
    Ok(Outcome { findings: problems.len(), ..Outcome::default() })
}

/// Whether standard output is a terminal.
pub fn stdout_is_terminal() -> bool {
    io::stdout().is_terminal()
}

/// The message for a fatal error, as the binary prints it after `azleak: error: `: the error
/// and its causes joined by `: `, each cause left out when the text before it already says it
/// (our errors name their I/O error, and libgit2 repeats its own), with control characters
/// escaped so a file name cannot forge lines on the terminal.
pub fn error_message(err: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if text.is_empty() || message.contains(&text) {
            continue;
        }
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&text);
    }
    escape_display(&message).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn colour_follows_no_color_org_and_term() {
        let auto = |terminal, no_color: Option<&str>, term: Option<&str>| {
            use_color(ColorChoice::Auto, terminal, no_color.map(OsStr::new), term.map(OsStr::new))
        };
        assert!(auto(true, None, Some("xterm-256color")));
        assert!(auto(true, Some(""), None), "an empty NO_COLOR does not disable colour");
        assert!(!auto(true, Some("1"), None));
        assert!(!auto(true, None, Some("dumb")));
        assert!(!auto(false, None, None), "not a terminal");
        for (no_color, term) in [(Some("1"), Some("dumb")), (None, None)] {
            let (n, t) = (no_color.map(OsStr::new), term.map(OsStr::new));
            assert!(use_color(ColorChoice::Always, false, n, t), "--color always wins");
            assert!(!use_color(ColorChoice::Never, true, n, t));
        }
    }
}
