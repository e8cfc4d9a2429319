//! Command-line arguments (clap derive only). Raw input: [`super`] converts it once into typed
//! options; nothing below the CLI sees these types.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::parse_size;
use crate::finding::Confidence;
use crate::report::Format;

const AFTER_HELP: &str = "\
Exit codes:
  0  no findings at or above --min-confidence
  1  findings (secrets found)
  2  error: bad arguments, rules, config or baseline, unreadable root, or I/O errors and no
     findings

Settings come from azleak.toml (or .azleak.toml) at the repository root unless --config or
--no-config is given; `azleak init` writes a commented one. Lines marked azleak:allow are not
reported.

Secrets are redacted to their first 3 characters (the hint the Azure portal shows) unless
--show-secrets is given. azleak never contacts the network unless --verify (or the config
key [verify] enabled = true) is given; then only each secret's issuer is contacted.";

/// Find Microsoft Entra ID (Azure AD) client secrets in code, configs, logs and git history.
#[derive(Debug, Parser)]
#[command(name = "azleak", version, about, after_help = AFTER_HELP, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
// Parsed once per run: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Scan files, directories or standard input ('-') for secrets.
    #[command(after_help = AFTER_HELP)]
    Scan(ScanArgs),
    /// Scan a git repository: its whole history, a commit range, or the staged changes.
    #[command(after_help = GIT_AFTER_HELP)]
    Git(GitArgs),
    /// List the rules or check rule files against their own examples.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Write a commented starter azleak.toml (config file) in a directory.
    Init(InitArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) on standard output.
    #[command(after_help = COMPLETIONS_AFTER_HELP)]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print a man page (roff) on standard output: `azleak man > azleak.1`, and one per
    /// subcommand: `azleak man scan > azleak-scan.1`.
    Man {
        /// The subcommand whose page to print (scan, git, rules, init, completions, man).
        #[arg(value_name = "SUBCOMMAND")]
        command: Option<String>,
    },
    /// Merge the JSON reports of shards (--shard K/N) into the report one process would write.
    Merge(MergeArgs),
    /// Report from a datastore (--datastore) without scanning.
    Report(ReportArgs),
    /// Set the triage status of findings in a datastore, by fingerprint.
    Triage(TriageArgs),
}

/// `azleak merge`
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// JSON reports written by `azleak git ... --shard K/N --format json` (with --datastore:
    /// the shards' datastores).
    #[arg(value_name = "REPORT", required = true)]
    pub reports: Vec<PathBuf>,
    /// Merge datastores instead: the inputs are the shards' datastores (`--shard K/N
    /// --datastore shard-K.db`), merged into FILE (created if missing; merging a store again
    /// adds nothing). Report from FILE with `azleak report --datastore FILE`.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["format", "output", "sarif_category"])]
    pub datastore: Option<PathBuf>,
    /// Format of the merged report (json: the shards' findings exactly as written; any other
    /// format renders the merged findings).
    #[arg(short, long, value_enum, default_value_t = FormatArg::JSON)]
    pub format: FormatArg,
    /// Write the merged report to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// SARIF runAutomationDetails.id.
    #[arg(long, value_name = "ID")]
    pub sarif_category: Option<String>,
}

/// Triage statuses on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusArg {
    /// Not triaged (or re-opened).
    Open,
    /// A real secret, accepted as a known risk.
    Accepted,
    /// Not a secret.
    FalsePositive,
    /// Rotated: no longer valid.
    Rotated,
    /// Any status (reports only).
    All,
}

/// `azleak report`
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The datastore written by `azleak git --datastore FILE`.
    #[arg(long, value_name = "FILE")]
    pub datastore: PathBuf,
    /// Show only findings first seen after run RUN, or on or after DATE (YYYY-MM-DD).
    #[arg(long, value_name = "RUN|DATE")]
    pub new_since: Option<String>,
    /// Show only findings with this triage status (repeatable; default open).
    #[arg(long, value_enum, value_name = "STATUS")]
    pub status: Vec<StatusArg>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = FormatArg::TEXT)]
    pub format: FormatArg,
    /// Write the report to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print secrets in full (only those stored in full: scanned with --show-secrets).
    #[arg(long)]
    pub show_secrets: bool,
    /// Colour the text format.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
    /// SARIF runAutomationDetails.id.
    #[arg(long, value_name = "ID")]
    pub sarif_category: Option<String>,
    /// List every skipped path in the text report.
    #[arg(short, long)]
    pub verbose: bool,
    /// No warnings on standard error.
    #[arg(short, long)]
    pub quiet: bool,
}

/// `azleak triage`
#[derive(Debug, Args)]
pub struct TriageArgs {
    /// Fingerprints of findings (the `fingerprint` field of JSON reports).
    #[arg(value_name = "FINGERPRINT")]
    pub fingerprints: Vec<String>,
    /// Also every finding of this JSON report.
    #[arg(long, value_name = "REPORT")]
    pub from: Option<PathBuf>,
    /// The new status.
    #[arg(long, value_enum)]
    pub status: StatusArg,
    /// Why (kept with the status).
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,
    /// The datastore.
    #[arg(long, value_name = "FILE")]
    pub datastore: PathBuf,
}

const COMPLETIONS_AFTER_HELP: &str = "\
Install:
  bash        azleak completions bash > ~/.local/share/bash-completion/completions/azleak
  zsh         azleak completions zsh > \"${fpath[1]}/_azleak\"
  fish        azleak completions fish > ~/.config/fish/completions/azleak.fish
  powershell  azleak completions powershell | Out-String | Invoke-Expression";

/// `azleak init`
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Directory to write azleak.toml in (normally the repository root).
    #[arg(value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
    /// Overwrite an existing azleak.toml (or .azleak.toml, if that is the one there).
    #[arg(long)]
    pub force: bool,
}

const GIT_AFTER_HELP: &str = "\
Modes:
  azleak git [REPO]                  every commit reachable from any ref (branches, remote
                                     branches, tags, HEAD, stash); each unique blob is scanned once
                                     and each secret is reported once per path with the commit
                                     that introduced it there, plus the other paths it appears at
  azleak git --range BASE..HEAD      only what the commits of a pull request added
  azleak git --staged                pre-commit: secrets the staged change (the index) adds

Submodules are listed as skipped; binary blobs and blobs over --max-file-size are skipped and
counted. Nothing from the repository is run (no hooks, filters or diff drivers).

Exit codes:
  0  no findings at or above --min-confidence
  1  findings (secrets found)
  2  error: not a repository, bad range, or unreadable objects and no findings

Secrets are redacted to their first 3 characters unless --show-secrets is given.";

/// `azleak rules ...`
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// List the built-in rules (and any given with --rules), with ids and confidence.
    List {
        /// Extra rule files or directories of *.toml files.
        #[arg(long = "rules", value_name = "FILE|DIR")]
        rules: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    /// Validate rule files: syntax, unique ids, regexes, and every example and negative example.
    /// Exits 0 when all pass, 1 when an example fails, 2 when a file cannot be loaded.
    Check {
        /// Rule files or directories of *.toml files (default: the built-in rules).
        #[arg(value_name = "FILE|DIR")]
        paths: Vec<PathBuf>,
    },
}

/// Formats of `rules list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// One rule per line.
    Text,
    /// A JSON array.
    Json,
}

/// An output format on the command line: [`Format`], with the names and help it gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormatArg(pub Format);

impl FormatArg {
    /// `text`.
    pub const TEXT: FormatArg = FormatArg(Format::Text);
    /// `json`.
    pub const JSON: FormatArg = FormatArg(Format::Json);
    const ALL: [FormatArg; Format::ALL.len()] = {
        let mut all = [FormatArg(Format::Text); Format::ALL.len()];
        let mut i = 0;
        while i < all.len() {
            all[i] = FormatArg(Format::ALL[i]);
            i += 1;
        }
        all
    };
}

impl ValueEnum for FormatArg {
    fn value_variants<'a>() -> &'a [Self] {
        &Self::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.0.name()).help(self.0.about()))
    }
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        f.0
    }
}

/// When to use colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// When writing the text format to a terminal, unless NO_COLOR is set (non-empty) or
    /// TERM is dumb.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Options shared by every scanning command: rules, thresholds and output.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = FormatArg::TEXT)]
    pub format: FormatArg,
    /// Write the report to FILE instead of standard output ('-' is standard output); the
    /// summary line and the number of findings written go to standard error.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Report (and fail on) findings of at least this confidence.
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub min_confidence: Option<ConfidenceArg>,
    /// Print secrets in full in every format (default: first 3 characters and '…').
    #[arg(long)]
    pub show_secrets: bool,
    /// Colour the text format.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
    /// Extra rule files or directories of *.toml rule files (repeatable).
    #[arg(long = "rules", value_name = "FILE|DIR")]
    pub rules: Vec<PathBuf>,
    /// List every skipped path in the text report.
    #[arg(short, long)]
    pub verbose: bool,
    /// Print nothing on standard error but fatal errors (no warnings, no progress).
    #[arg(short, long)]
    pub quiet: bool,
    /// SARIF runAutomationDetails.id, to upload several runs (e.g. "azleak/history/").
    #[arg(long, value_name = "ID")]
    pub sarif_category: Option<String>,
    /// Config file, allowlists and baseline.
    #[command(flatten)]
    pub filter: FilterArgs,
    /// App-registration inventory.
    #[command(flatten)]
    pub inventory: InventoryArgs,
    /// Verification of findings with their issuers (network, opt-in).
    #[command(flatten)]
    pub verify: VerifyArgs,
}

/// Help heading of [`InventoryArgs`].
const INVENTORY_HEADING: &str = "App registrations (offline)";

/// Options that name, offline, the app-registration credential each client secret is.
#[derive(Debug, Clone, Default, Args)]
pub struct InventoryArgs {
    /// Match client secrets to the credentials in this export (repeatable): the JSON of
    /// `az ad app list --all`, `az ad app credential list --id APP`, or Microsoft Graph
    /// `GET /applications?$select=appId,displayName,passwordCredentials` (pages may be
    /// concatenated). A secret whose first 3 characters equal a credential's hint is reported
    /// with that app, credential and expiry. Read locally; nothing is sent anywhere.
    #[arg(long, help_heading = INVENTORY_HEADING, value_name = "FILE")]
    pub app_inventory: Vec<PathBuf>,
    /// Decide which credentials have expired as of this date (YYYY-MM-DD or RFC 3339) instead
    /// of now, for reproducible reports.
    #[arg(long, help_heading = INVENTORY_HEADING, value_name = "DATE", value_parser = parse_as_of)]
    pub as_of: Option<chrono::DateTime<chrono::Utc>>,
    /// Exit 1 only for findings that may still work: a client secret whose every inventory
    /// candidate has expired is reported but does not fail the run.
    #[arg(long, help_heading = INVENTORY_HEADING)]
    pub fail_unexpired_only: bool,
}

fn parse_as_of(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    crate::inventory::parse_as_of(text)
        .map_err(|e| e.to_string().trim_start_matches("--as-of: ").to_string())
}

/// Help heading of [`VerifyArgs`].
const VERIFY_HEADING: &str = "Verification (contacts the network; off unless asked for)";

/// Options shared by every scanning command: `--verify` and where it sends requests.
#[derive(Debug, Clone, Default, Args)]
pub struct VerifyArgs {
    /// Ask each secret's issuer whether it still works: an Entra client secret with a tenant and
    /// client id near it gets one client-credentials token request, a storage account key one
    /// read-only signed list request. Only reported findings are verified. Config key:
    /// `[verify] enabled = true`.
    #[arg(long, help_heading = VERIFY_HEADING, overrides_with = "no_verify")]
    pub verify: bool,
    /// Do not verify, even if the config file says `[verify] enabled = true`.
    #[arg(long, help_heading = VERIFY_HEADING, overrides_with = "verify")]
    pub no_verify: bool,
    /// Entra authority to verify client secrets with (sovereign clouds, e.g.
    /// https://login.microsoftonline.us) [default: https://login.microsoftonline.com]. HTTPS
    /// only, except an explicit loopback address.
    #[arg(long, help_heading = VERIFY_HEADING, value_name = "URL",
          value_parser = |s: &str| crate::verify::Endpoint::parse(s).map_err(|e| e.to_string()))]
    pub authority: Option<crate::verify::Endpoint>,
    /// Blob endpoint to verify storage account keys with, `{account}` standing for the account
    /// (e.g. https://{account}.blob.core.usgovcloudapi.net), or a URL the account is appended to
    /// as a path [default: https://{account}.blob.core.windows.net].
    #[arg(long, help_heading = VERIFY_HEADING, value_name = "URL",
          value_parser = |s: &str| crate::verify::StorageEndpoint::parse(s).map_err(|e| e.to_string()))]
    pub storage_endpoint: Option<crate::verify::StorageEndpoint>,
    /// Connect plus read timeout of one verification request, in seconds [default: 10].
    #[arg(long, help_heading = VERIFY_HEADING, value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(1..=600))]
    pub verify_timeout: Option<u64>,
    /// Verification requests per second to one host [default: 10].
    #[arg(long, help_heading = VERIFY_HEADING, value_name = "N", value_parser = positive)]
    pub verify_rate: Option<f64>,
    /// Report only findings verified valid (live). Findings that could not be checked are not
    /// reported, but make the exit code 2 when no live one is found.
    #[arg(long, help_heading = VERIFY_HEADING)]
    pub only_verified: bool,
    /// Which findings make the exit code 1: any (default), or only those verified valid (CI
    /// gates that fail on live secrets). With `valid`, a finding that could not be checked
    /// makes the exit code 2 when no live one is found.
    #[arg(long, help_heading = VERIFY_HEADING, value_enum, value_name = "WHICH")]
    pub fail_on: Option<FailOn>,
}

fn positive(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() => Ok(v),
        _ => Err("expected a positive number".to_string()),
    }
}

/// `--fail-on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Any reported finding.
    Any,
    /// Only findings verified valid (needs verification).
    Valid,
}

/// Help heading of [`FilterArgs`].
const FILTER_HEADING: &str = "Config, allowlists and baseline";

/// Options shared by every scanning command: the config file, inline allows and the baseline.
#[derive(Debug, Clone, Default, Args)]
pub struct FilterArgs {
    /// Read settings from FILE instead of azleak.toml or .azleak.toml at the repository root.
    #[arg(long, help_heading = FILTER_HEADING, value_name = "FILE", conflicts_with = "no_config")]
    pub config: Option<PathBuf>,
    /// Ignore azleak.toml and .azleak.toml.
    #[arg(long, help_heading = FILTER_HEADING)]
    pub no_config: bool,
    /// Report only findings that are not in this baseline file (written by --write-baseline).
    #[arg(long, help_heading = FILTER_HEADING, value_name = "FILE", conflicts_with = "write_baseline")]
    pub baseline: Option<PathBuf>,
    /// Record every current finding in FILE (keeping the first-seen dates of entries already
    /// there) and report none: accept today's findings, then scan with --baseline FILE.
    #[arg(long, help_heading = FILTER_HEADING, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
    /// Rewrite the --baseline file without its stale entries (those no longer found).
    #[arg(long, help_heading = FILTER_HEADING, requires = "baseline")]
    pub prune_baseline: bool,
    /// Also report findings on lines marked azleak:allow or after azleak:allow-next-line (audits).
    #[arg(long, help_heading = FILTER_HEADING)]
    pub no_inline_allow: bool,
}

/// Confidence levels on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConfidenceArg {
    /// Only checksum-verified secrets.
    High,
    /// Checksum-verified, 7Q~ and legacy secrets in context (default).
    Medium,
    /// Everything, including made-up and loose look-alikes.
    Low,
}

impl From<ConfidenceArg> for Confidence {
    fn from(c: ConfidenceArg) -> Confidence {
        match c {
            ConfidenceArg::High => Confidence::High,
            ConfidenceArg::Medium => Confidence::Medium,
            ConfidenceArg::Low => Confidence::Low,
        }
    }
}

/// `azleak scan`
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files or directories to scan; '-' reads standard input. A path given here is read
    /// whatever it is (a FIFO, /dev/stdin, <(cmd)); inside directories only regular files are.
    #[arg(value_name = "PATH", default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Output, rules and thresholds.
    #[command(flatten)]
    pub output: OutputArgs,
    /// Also scan files ignored by .gitignore, .ignore and git excludes.
    #[arg(long)]
    pub no_ignore: bool,
    /// Skip hidden files and directories (by default dotfiles like .env are scanned).
    #[arg(long, overrides_with = "hidden")]
    pub no_hidden: bool,
    /// Scan hidden files and directories even if the config file says `scan-hidden = false`.
    #[arg(long, overrides_with = "no_hidden")]
    pub hidden: bool,
    /// Follow symbolic links (loops are detected and reported as skipped).
    #[arg(short = 'L', long)]
    pub follow: bool,
    /// Do not scan paths matching this gitignore-style glob (repeatable).
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Skip files larger than this (bytes, or with a K, M or G suffix) [default: 100M]. Standard
    /// input and other streams given as paths are scanned up to it and reported as truncated.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_file_size: Option<u64>,
    /// Worker threads (default: one per core).
    #[arg(short = 'j', long, value_name = "N")]
    pub threads: Option<usize>,
    /// Archive expansion.
    #[command(flatten)]
    pub archives: ArchiveArgs,
}

/// How archives are opened, for `scan` and `git`.
#[derive(Debug, Clone, Args)]
pub struct ArchiveArgs {
    /// Do not open archives (zip, jar, nupkg, whl, tar, gz, bz2, xz, zst): scan them as binary
    /// files (checksum-verified secrets only). Config key: `archives = false`.
    #[arg(long)]
    pub no_archives: bool,
    /// How deep archives inside archives are opened; a deeper one is reported as skipped.
    #[arg(long, value_name = "N", default_value_t = 3,
          value_parser = clap::value_parser!(u8).range(1..=32))]
    pub max_archive_depth: u8,
}

/// What `--shard` splits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ShardBy {
    /// Each repository is in one shard.
    Repository,
    /// Each path of every repository is in one shard (every version of a file in the same).
    Path,
}

/// Help heading of the options for many repositories.
const ORG_HEADING: &str = "Many repositories, shards and the datastore";

/// `azleak git`
#[derive(Debug, Args)]
pub struct GitArgs {
    /// The repositories: each a working tree (or any directory inside it), or a bare repository
    /// (default: the one in .). Several repositories are scanned one after the other into one
    /// report, each finding naming its repository; copies of a secret are grouped per
    /// repository (two forks holding it have a group each, with different ids).
    #[arg(value_name = "REPO")]
    pub repos: Vec<PathBuf>,
    /// Also scan the repositories listed in FILE, one path per line ('-': standard input;
    /// blank lines and # comments are ignored).
    #[arg(long = "repos", value_name = "FILE", help_heading = ORG_HEADING)]
    pub repos_file: Option<PathBuf>,
    /// Also scan every subdirectory of DIR (a directory of clones).
    #[arg(long, value_name = "DIR", help_heading = ORG_HEADING)]
    pub repos_dir: Option<PathBuf>,
    /// Scan only shard K of N (1-based): each repository (or, with --shard-by path, each path of
    /// every repository) belongs to exactly one shard, by a hash of its name. Merge the shards'
    /// JSON reports with `azleak merge`.
    #[arg(long, value_name = "K/N", help_heading = ORG_HEADING)]
    pub shard: Option<String>,
    /// The number of shards, the shard being JOB_COMPLETION_INDEX + 1 (Kubernetes Indexed Jobs).
    #[arg(long, value_name = "N", conflicts_with = "shard", help_heading = ORG_HEADING,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub shard_count: Option<u32>,
    /// What the shards split: whole repositories, or the paths of each repository (for one
    /// huge repository: every shard walks all commits and reads only the blobs at its paths;
    /// the merged JSON report equals one process's).
    #[arg(long, value_enum, value_name = "WHAT", default_value_t = ShardBy::Repository,
          help_heading = ORG_HEADING)]
    pub shard_by: ShardBy,
    /// Record scanned blobs, findings and each repository's refs in this SQLite file; re-scans
    /// under the same rules walk only commits the last complete scan did not reach (nothing if
    /// the refs are unchanged). Report from it with `azleak report`; merge shards' stores with
    /// `azleak merge --datastore`.
    #[arg(long, value_name = "FILE", help_heading = ORG_HEADING)]
    pub datastore: Option<PathBuf>,
    /// Scan only a commit range, as on a pull request: with 'BASE..HEAD', only secrets added by
    /// commits reachable from HEAD and not from BASE. A single revision scans its history.
    #[arg(long, value_name = "BASE..HEAD")]
    pub range: Option<String>,
    /// Pre-commit: scan what is staged in the index (not the working tree) and report secrets the
    /// staged change adds.
    #[arg(long, conflicts_with = "range")]
    pub staged: bool,
    /// Skip blobs larger than this (bytes, or with a K, M or G suffix).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_file_size: Option<u64>,
    /// Worker threads (default: one per core).
    #[arg(short = 'j', long, value_name = "N")]
    pub threads: Option<usize>,
    /// Archive expansion.
    #[command(flatten)]
    pub archives: ArchiveArgs,
    /// Output, rules and thresholds.
    #[command(flatten)]
    pub output: OutputArgs,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
