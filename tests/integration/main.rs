//! The one integration test binary: every module drives the real `azleak` binary (or the
//! library) on real files in temporary directories.

mod allow;
mod app_inventory;
mod azure_keys;
mod baseline;
mod ci;
mod ci_snippets;
mod config;
mod expand;
mod fuzz_regressions;
mod hardening_followups;
mod hardening_fs;
mod hardening_git;
mod hardening_output;
mod hardening_scale;
mod history_packs;
mod history_parallel;
mod legacy_quality;
mod org;
mod org_enrich;
mod org_incremental;
mod org_store_merge;
mod output_formats;
mod pairing;
mod pipeline;
mod pipeline_dir;
mod report;
mod report_html;
mod rules;
mod rules_data;
mod scan_fs;
mod scan_git;
mod stdin;
mod util;
mod verify;
mod verify_paired;
