//! `azleak git`: history, range and staged scans of a repository, with a progress bar on
//! standard error for long history scans (only on a terminal, not with `--quiet`, not in CI).

use std::io::IsTerminal;
use std::sync::Mutex;

use anyhow::Result;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::args::GitArgs;
use super::{Io, Outcome, finish, overrides, scanner};
use crate::config::{self, Coverage, Settings};
use crate::report::{ScanKind, human_bytes};
use crate::source::git::{HistoryOptions, Progress, env_root, scan_history, scan_staged};

/// Runs `azleak git`.
pub(super) fn git(args: &GitArgs, io: &mut Io<'_>) -> Result<Outcome> {
    let org = args.repos.len() > 1
        || args.repos_file.is_some()
        || args.repos_dir.is_some()
        || args.shard.is_some()
        || args.shard_count.is_some()
        || args.shard_by == super::args::ShardBy::Path
        || args.datastore.is_some();
    if org {
        return super::org::git_org(args, io);
    }
    let default = std::path::PathBuf::from(".");
    let repo = args.repos.first().unwrap_or(&default);
    // The config file, allowlists and baseline of the scanned repository (not of the current
    // directory), with command-line overrides on top.
    let mut overrides = overrides(&args.output);
    overrides.max_file_size = args.max_file_size;
    // A repository named by GIT_DIR / GIT_WORK_TREE (in a `git --git-dir=X --work-tree=Y` hook)
    // has its settings at the root of that working tree.
    let root = env_root(repo).unwrap_or_else(|| config::find_root(repo));
    let mut settings = Settings::load(&root, &overrides)?;
    let scanner = scanner(&settings, &args.archives)?;
    let max_file_size = settings.max_file_size;
    if args.staged {
        let output = scan_staged(&scanner, repo, max_file_size)?;
        return finish(output, scanner.rules(), &settings, &args.output, ScanKind::Staged, io);
    }
    // A full history sees every path, so baseline entries it does not find are stale; a range
    // sees only part of the history.
    settings.coverage = if args.range.is_some() { Coverage::Partial } else { Coverage::Whole };
    let options = HistoryOptions {
        skip_blobs: Default::default(),
        range: args.range.clone(),
        max_file_size,
        threads: args.threads.unwrap_or(0),
        hide: Vec::new(),
        part: None,
    };
    let show = !args.output.quiet
        && std::io::stderr().is_terminal()
        && std::env::var_os("CI").is_none_or(|v| v.is_empty() || v == "false");
    let bar = Bar::new(show);
    let output = scan_history(&scanner, repo, &options, &bar);
    bar.bar.finish_and_clear();
    finish(output?, scanner.rules(), &settings, &args.output, ScanKind::History, io)
}

/// The progress bar: a commit counter while walking, then blobs and bytes while scanning.
struct Bar {
    bar: ProgressBar,
    bytes: ByteCount,
}

/// The bytes scanned so far, counted by every scanning thread. Adding and showing happen under
/// one lock, so what is shown never goes backwards (two threads adding at once could otherwise
/// show their totals in the wrong order: the larger, then the smaller).
#[derive(Default)]
struct ByteCount(Mutex<u64>);

impl ByteCount {
    /// Adds `bytes` and shows the new total, both before any other thread adds.
    fn add(&self, bytes: u64, show: impl FnOnce(u64)) {
        // A thread that panicked while holding the lock left a count that is still a count.
        let mut total = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *total += bytes;
        show(*total);
    }
}

impl Bar {
    fn new(show: bool) -> Bar {
        let bar = if show {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template("{spinner} walking commits: {pos}") {
                bar.set_style(style);
            }
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        } else {
            ProgressBar::hidden()
        };
        Bar { bar, bytes: ByteCount::default() }
    }
}

impl Progress for Bar {
    fn commit(&self) {
        self.bar.inc(1);
    }

    fn blobs(&self, total: u64) {
        let commits = self.bar.position();
        self.bar.set_prefix(commits.to_string());
        self.bar.set_message(human_bytes(0));
        self.bar.set_length(total);
        self.bar.set_position(0);
        if let Ok(style) = ProgressStyle::with_template(
            "{prefix} commits, {bar:20} {pos}/{len} blobs, {msg}, ETA {eta}",
        ) {
            self.bar.set_style(style);
        }
    }

    fn blob(&self, bytes: u64) {
        self.bar.inc(1);
        let hidden = self.bar.is_hidden();
        self.bytes.add(bytes, |total| {
            if !hidden {
                self.bar.set_message(human_bytes(total));
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_byte_count_shown_never_goes_backwards() {
        let count = ByteCount::default();
        let shown = Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for t in 0..4u64 {
                let (count, shown) = (&count, &shown);
                s.spawn(move || {
                    for i in 0..2000u64 {
                        count.add(1 + (i + t) % 7, |total| shown.lock().unwrap().push(total));
                    }
                });
            }
        });
        let shown = shown.into_inner().unwrap();
        assert_eq!(shown.len(), 8000);
        assert!(shown.windows(2).all(|w| w[0] < w[1]), "a total went backwards");
        let expected: u64 =
            (0..4u64).flat_map(|t| (0..2000u64).map(move |i| 1 + (i + t) % 7)).sum();
        assert_eq!(*shown.last().unwrap(), expected);
    }
}
